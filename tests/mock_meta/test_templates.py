"""Template creation, review, limits, listing, editing and deletion."""

from __future__ import annotations

import time
from typing import Any

from waba_portal.mock_meta.control_client import MockMeta

from .conftest import Graph, error_of


def _create(
    graph: Graph,
    waba: str,
    name: str,
    body: str = "Hi {{1}}, your order is ready.",
    language: str = "en_US",
    category: str = "UTILITY",
) -> Any:
    return graph.post(
        f"{waba}/message_templates",
        {
            "name": name,
            "language": language,
            "category": category,
            "components": [{"type": "BODY", "text": body, "example": {"body_text": [["Ann"]]}}],
        },
    )


def _wait_status(graph: Graph, template_id: str, timeout: float = 5.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        tpl = graph.get(template_id, fields="status,rejected_reason,name").json()
        if tpl["status"] != "PENDING":
            return dict(tpl)
        time.sleep(0.05)
    raise AssertionError("template stayed PENDING")


def test_created_pending_then_approved(graph: Graph, seeded: dict[str, Any]) -> None:
    resp = _create(graph, seeded["waba_id"], "shipping_update")
    body = resp.json()
    assert resp.status_code == 200 and body["status"] == "PENDING"
    assert body["category"] == "UTILITY" and body["id"].isdigit()
    assert _wait_status(graph, body["id"])["status"] == "APPROVED"


def test_rejected_by_default_rules(graph: Graph, seeded: dict[str, Any]) -> None:
    a = _create(graph, seeded["waba_id"], "please_reject_me").json()["id"]
    b = _create(
        graph,
        seeded["waba_id"],
        "promo",
        body="Win the jackpot at our casino, {{1}}!",
        category="MARKETING",
    ).json()["id"]
    assert _wait_status(graph, a) | {"id": a} == {
        "id": a,
        "status": "REJECTED",
        "rejected_reason": "INVALID_FORMAT",
        "name": "please_reject_me",
    }
    assert _wait_status(graph, b)["rejected_reason"] == "ABUSIVE_CONTENT"


def test_review_rules_are_configurable(
    graph: Graph, mock_meta: MockMeta, seeded: dict[str, Any]
) -> None:
    mock_meta.config(
        review_rules=[
            {
                "match": "category",
                "value": "MARKETING",
                "decision": "REJECTED",
                "reason": "PROMOTIONAL",
            }
        ]
    )
    tid = _create(graph, seeded["waba_id"], "reject_is_fine_now").json()["id"]
    mid = _create(graph, seeded["waba_id"], "sale", category="MARKETING").json()["id"]
    assert _wait_status(graph, tid)["status"] == "APPROVED"
    assert _wait_status(graph, mid)["rejected_reason"] == "PROMOTIONAL"


def test_unique_per_language(graph: Graph, seeded: dict[str, Any]) -> None:
    waba = seeded["waba_id"]
    assert _create(graph, waba, "greeting").ok
    err = error_of(_create(graph, waba, "greeting"))
    assert (err["code"], err["error_subcode"]) == (100, 2388024)
    assert _create(graph, waba, "greeting", language="de").ok


def test_limit_of_250_names(mock_meta: MockMeta) -> None:
    seed = mock_meta.seed(
        businesses=[{"name": "B", "wabas": [{"name": "W", "filler_templates": 250}]}]
    )
    graph = Graph(mock_meta, seed["token"])
    err = error_of(_create(graph, seed["waba_id"], "one_too_many"))
    assert (err["code"], err["error_subcode"]) == (100, 2388019)
    # another language of an existing name does not count as a new template
    assert _create(graph, seed["waba_id"], "filler_0001", language="fr").ok


def test_validation_errors(graph: Graph, seeded: dict[str, Any]) -> None:
    waba = seeded["waba_id"]
    assert error_of(_create(graph, waba, "Bad Name"))["code"] == 100
    assert error_of(_create(graph, waba, "x", category="OTHER"))["code"] == 100
    err = error_of(_create(graph, waba, "var_start", body="{{1}} is your code"))
    assert err["error_subcode"] == 2388299
    err = error_of(_create(graph, waba, "long", body="a" * 1025))
    assert err["error_subcode"] == 2388040
    resp = graph.post(
        f"{waba}/message_templates",
        {"name": "nobody", "language": "en_US", "category": "UTILITY", "components": []},
    )
    assert error_of(resp)["code"] == 100


def test_list_filters_pagination_and_summary(graph: Graph, seeded: dict[str, Any]) -> None:
    waba = seeded["waba_id"]
    for i in range(3):
        assert _create(graph, waba, f"bulk_{i}").ok
    all_items = graph.get(f"{waba}/message_templates").json()["data"]
    assert len(all_items) == 5  # 2 seeded + 3 new
    pending = graph.get(f"{waba}/message_templates", status="PENDING").json()["data"]
    assert {t["name"] for t in pending} == {"bulk_0", "bulk_1", "bulk_2"}
    named = graph.get(f"{waba}/message_templates", name="hello_world").json()["data"]
    assert [t["name"] for t in named] == ["hello_world"]
    page1 = graph.get(f"{waba}/message_templates", limit=2).json()
    assert len(page1["data"]) == 2 and "next" in page1["paging"]
    page2 = graph.get(
        f"{waba}/message_templates", limit=2, after=page1["paging"]["cursors"]["after"]
    ).json()
    assert {t["id"] for t in page2["data"]}.isdisjoint({t["id"] for t in page1["data"]})
    summary = graph.get(
        f"{waba}/message_templates", summary="total_count", fields="name,status"
    ).json()
    assert summary["summary"] == {"total_count": 5}  # the summary fields asked for
    assert set(summary["data"][0]) == {"id", "name", "status"}
    everything = graph.get(
        f"{waba}/message_templates",
        summary="total_count,message_template_count,message_template_limit,"
        "are_translations_complete",
    ).json()["summary"]
    assert everything == {
        "total_count": 5,
        "message_template_count": 5,
        "message_template_limit": 250,
        "are_translations_complete": True,
    }
    assert _create(graph, waba, "bulk_0", language="de").ok  # one name in a second language
    incomplete = graph.get(f"{waba}/message_templates", summary="are_translations_complete").json()[
        "summary"
    ]
    assert incomplete == {"are_translations_complete": False}
    assert error_of(graph.get(f"{waba}/message_templates", summary="bogus"))["code"] == 100


def test_delete_by_name_and_hsm_id(graph: Graph, seeded: dict[str, Any]) -> None:
    waba = seeded["waba_id"]
    en = _create(graph, waba, "bye").json()["id"]
    de = _create(graph, waba, "bye", language="de").json()["id"]
    assert graph.delete(f"{waba}/message_templates", name="bye", hsm_id=de).json() == {
        "success": True
    }
    assert graph.get(en).ok
    assert error_of(graph.get(de))["code"] == 100
    assert graph.delete(f"{waba}/message_templates", name="bye").ok
    assert error_of(graph.delete(f"{waba}/message_templates", name="bye"))["code"] == 100


def test_edit_template_goes_back_to_review(graph: Graph, seeded: dict[str, Any]) -> None:
    tid = _create(graph, seeded["waba_id"], "editable").json()["id"]
    assert _wait_status(graph, tid)["status"] == "APPROVED"
    resp = graph.post(tid, {"components": [{"type": "BODY", "text": "New text {{1}} here."}]})
    assert resp.json() == {"success": True, "id": tid, "name": "editable", "category": "UTILITY"}
    assert graph.get(tid, fields="status").json()["status"] == "PENDING"
    assert _wait_status(graph, tid)["status"] == "APPROVED"
    assert graph.get(tid).json()["components"][0]["text"] == "New text {{1}} here."


# -- templates (T1): Meta's edit rules, the pause ladder, quality and category events ----


def _approved(graph: Graph, waba: str, name: str) -> str:
    tid = str(_create(graph, waba, name).json()["id"])
    assert _wait_status(graph, tid)["status"] == "APPROVED"
    return tid


def test_an_approved_template_keeps_its_category_and_is_edited_once_a_day(
    graph: Graph, mock_meta: MockMeta, seeded: dict[str, Any]
) -> None:
    tid = _approved(graph, seeded["waba_id"], "edit_rules")
    err = error_of(graph.post(tid, {"category": "MARKETING", "components": _BODY}))
    assert err["code"] == 100 and "category" in err["error_data"]["details"]
    assert graph.post(tid, {"components": _BODY}).ok
    assert _wait_status(graph, tid)["status"] == "APPROVED"
    err = error_of(graph.post(tid, {"components": _BODY}))
    assert err["code"] == 100 and "1 time(s) in 1 day(s)" in err["error_data"]["details"]
    mock_meta.advance_clock(86401)
    assert graph.post(tid, {"components": _BODY}).ok  # a day later


def test_name_language_and_variable_kind_cannot_be_edited(
    graph: Graph, seeded: dict[str, Any]
) -> None:
    tid = _approved(graph, seeded["waba_id"], "fixed_parts")
    for change in ({"name": "other_name"}, {"language": "de"}, {"parameter_format": "NAMED"}):
        assert error_of(graph.post(tid, {"components": _BODY, **change}))["code"] == 100


def test_a_rejected_template_may_change_its_category(
    graph: Graph, mock_meta: MockMeta, seeded: dict[str, Any]
) -> None:
    tid = str(_create(graph, seeded["waba_id"], "please_reject_this").json()["id"])
    assert _wait_status(graph, tid)["status"] == "REJECTED"
    mock_meta.config(review_rules=[])
    resp = graph.post(tid, {"category": "MARKETING", "components": _BODY})
    assert resp.json()["category"] == "MARKETING"
    tpl = graph.get(tid, fields="category,previous_category").json()
    assert (tpl["category"], tpl["previous_category"]) == ("MARKETING", "UTILITY")


def test_pauses_last_3_then_6_hours_and_the_third_disables(
    graph: Graph, mock_meta: MockMeta, seeded: dict[str, Any], receiver: Any
) -> None:
    tid = _approved(graph, seeded["waba_id"], "paused_often")

    def statuses() -> list[tuple[str, str | None]]:
        return [
            (c["value"]["event"], (c["value"].get("other_info") or {}).get("title"))
            for c in receiver.changes()
            if c["field"] == "message_template_status_update"
        ]

    mock_meta.emit(field="message_template_status_update", template_id=tid, event="PAUSED")
    receiver.wait(lambda _: ("PAUSED", "FIRST_PAUSE") in statuses())
    assert graph.get(tid, fields="status").json()["status"] == "PAUSED"
    mock_meta.advance_clock(3 * 3600 - 60)
    assert graph.get(tid, fields="status").json()["status"] == "PAUSED"  # not yet
    mock_meta.advance_clock(61)
    receiver.wait(lambda _: statuses().count(("APPROVED", None)) == 2)  # review + pause over
    assert graph.get(tid, fields="status").json()["status"] == "APPROVED"

    mock_meta.emit(field="message_template_status_update", template_id=tid, event="PAUSED")
    receiver.wait(lambda _: ("PAUSED", "SECOND_PAUSE") in statuses())
    mock_meta.advance_clock(3 * 3600 + 1)
    assert graph.get(tid, fields="status").json()["status"] == "PAUSED"  # 6 hours this time
    mock_meta.advance_clock(3 * 3600)
    assert graph.get(tid, fields="status").json()["status"] == "APPROVED"

    mock_meta.emit(field="message_template_status_update", template_id=tid, event="PAUSED")
    changes = receiver.wait(lambda _: ("DISABLED", None) in statuses())
    disabled = next(c for c in changes if c["value"].get("event") == "DISABLED")["value"]
    assert "disable_date" in disabled["disable_info"]
    assert graph.get(tid, fields="status").json()["status"] == "DISABLED"
    assert error_of(graph.post(tid, {"components": _BODY}))["code"] == 100  # not editable


def test_quality_and_category_events(
    graph: Graph, mock_meta: MockMeta, seeded: dict[str, Any], receiver: Any
) -> None:
    tid = _approved(graph, seeded["waba_id"], "rated")
    mock_meta.emit(
        field="message_template_quality_update", template_id=tid, new_quality_score="RED"
    )
    changes = receiver.wait(
        lambda cs: any(c["field"] == "message_template_quality_update" for c in cs)
    )
    quality = next(c for c in changes if c["field"] == "message_template_quality_update")["value"]
    assert quality == {
        "previous_quality_score": "UNKNOWN",
        "new_quality_score": "RED",
        "message_template_id": int(tid),
        "message_template_name": "rated",
        "message_template_language": "en_US",
    }
    assert graph.get(tid, fields="quality_score").json()["quality_score"]["score"] == "RED"

    mock_meta.emit(field="template_category_update", template_id=tid, new_category="MARKETING")
    changes = receiver.wait(lambda cs: any(c["field"] == "template_category_update" for c in cs))
    moved = next(c for c in changes if c["field"] == "template_category_update")["value"]
    assert (moved["previous_category"], moved["new_category"]) == ("UTILITY", "MARKETING")


def test_an_approved_name_is_kept_from_reuse_even_if_paused_when_deleted(
    graph: Graph, mock_meta: MockMeta, seeded: dict[str, Any]
) -> None:
    waba = seeded["waba_id"]
    tid = _approved(graph, waba, "was_approved")
    mock_meta.emit(field="message_template_status_update", template_id=tid, event="PAUSED")
    assert graph.delete(f"{waba}/message_templates", name="was_approved").ok
    assert error_of(_create(graph, waba, "was_approved"))["error_subcode"] == 2388023
    never = str(_create(graph, waba, "never_reviewed").json()["id"])
    assert graph.delete(f"{waba}/message_templates", name="never_reviewed", hsm_id=never).ok
    assert _create(graph, waba, "never_reviewed").ok  # never approved: free at once


_BODY = [{"type": "BODY", "text": "Your parcel {{1}} is on its way to you."}]
