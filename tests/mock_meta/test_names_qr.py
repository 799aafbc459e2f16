"""The mock's display-name review, Official Business Account review and message_qrdls,
against the spec (responses validated with the contract tests' ``validate``) and NOTES."""

from __future__ import annotations

import time
from typing import Any

import pytest

from waba_portal.mock_meta.control_client import MockMeta

from .conftest import Graph, Receiver, error_of
from .test_contract import validate

QRS = "/{Version}/{Phone-Number-ID}/message_qrdls"
QR = "/{Version}/{Phone-Number-ID}/message_qrdls/{QR-Code-ID}"
OBA = "/{Version}/{Phone-Number-ID}/official_business_account"
APPLICATION = {
    "business_website_url": "https://www.acme.example",
    "primary_country_of_operation": "US",
    "primary_language": "en",
    "supporting_links": ["https://news.example/acme"],
}


def wait_until(predicate: Any, timeout: float = 5.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


# --- message_qrdls ------------------------------------------------------------------------


def test_qr_codes_follow_the_spec(graph: Graph, seeded: dict[str, Any]) -> None:
    pid = seeded["phone_number_id"]
    first = graph.post(f"{pid}/message_qrdls", {"prefilled_message": "First"})
    assert first.status_code == 200
    validate(QRS, "post", first.json())
    second = graph.post(
        f"{pid}/message_qrdls", {"prefilled_message": "Second", "generate_qr_image": "SVG"}
    ).json()
    assert second["qr_image_url"].endswith(".svg")
    assert "qr_image_url" not in first.json()

    listed = graph.get(
        f"{pid}/message_qrdls",
        fields="code,prefilled_message,creation_time,qr_image_url.format(PNG)",
    )
    validate(QRS, "get", listed.json())
    data = listed.json()["data"]
    # Newest first; the image in the format asked for; creation_time when asked for.
    assert [q["prefilled_message"] for q in data] == ["Second", "First"]
    assert all(q["qr_image_url"].endswith(".png") and q["creation_time"] > 0 for q in data)
    assert "creation_time" not in graph.get(f"{pid}/message_qrdls").json()["data"][0]

    page = graph.get(f"{pid}/message_qrdls", limit=1).json()
    assert len(page["data"]) == 1 and "next" in page["paging"]
    after = graph.get(f"{pid}/message_qrdls", limit=1, after=page["paging"]["cursors"]["after"])
    assert [q["prefilled_message"] for q in after.json()["data"]] == ["First"]
    only = graph.get(f"{pid}/message_qrdls", code=second["code"]).json()["data"]
    assert [q["code"] for q in only] == [second["code"]]

    one = graph.get(f"{pid}/message_qrdls/{second['code']}")
    validate(QR, "get", one.json())
    updated = graph.post(
        f"{pid}/message_qrdls", {"code": first.json()["code"], "prefilled_message": "Changed"}
    ).json()
    assert updated["prefilled_message"] == "Changed"
    assert updated["deep_link_url"] == first.json()["deep_link_url"]


@pytest.mark.parametrize(
    ("call", "status", "code", "path", "method"),
    [
        (
            lambda g, p: g.post(f"{p}/message_qrdls", {"prefilled_message": "x" * 141}),
            400,
            100,
            QRS,
            "post",
        ),
        (
            lambda g, p: g.post(f"{p}/message_qrdls", {"prefilled_message": ""}),
            400,
            100,
            QRS,
            "post",
        ),
        (
            lambda g, p: g.post(
                f"{p}/message_qrdls", {"prefilled_message": "Hi", "generate_qr_image": "GIF"}
            ),
            400,
            100,
            QRS,
            "post",
        ),
        (lambda g, p: g.get(f"{p}/message_qrdls", limit=26), 400, 100, QRS, "get"),
        (lambda g, p: g.get(f"{p}/message_qrdls", fields="code,colour"), 400, 100, QRS, "get"),
        (lambda g, p: g.get(f"{p}/message_qrdls/ABC"), 400, 100, QR, "get"),
        (lambda g, p: g.get(f"{p}/message_qrdls/AAAAAAAAAAAAAA"), 404, 803, QR, "get"),
        (lambda g, p: g.delete(f"{p}/message_qrdls/AAAAAAAAAAAAAA"), 404, 803, QR, "delete"),
        (
            lambda g, p: g.post(
                f"{p}/message_qrdls", {"code": "AAAAAAAAAAAAAA", "prefilled_message": "Hi"}
            ),
            404,
            803,
            QRS,
            "post",
        ),
    ],
)
def test_qr_code_errors_are_metas(
    graph: Graph, seeded: dict[str, Any], call: Any, status: int, code: int, path: str, method: str
) -> None:
    response = call(graph, seeded["phone_number_id"])
    assert response.status_code == status, response.text
    assert error_of(response)["code"] == code
    validate(path, method, response.json(), status=str(status))


def test_a_message_of_140_characters_is_taken(graph: Graph, seeded: dict[str, Any]) -> None:
    pid = seeded["phone_number_id"]
    made = graph.post(f"{pid}/message_qrdls", {"prefilled_message": "é" * 140})
    assert made.status_code == 200 and made.json()["prefilled_message"] == "é" * 140


# --- Official Business Account ------------------------------------------------------------


def test_an_application_is_reviewed_by_the_rules_after_the_delay(
    graph: Graph, mock_meta: MockMeta, seeded: dict[str, Any]
) -> None:
    pid = seeded["phone_number_id"]
    mock_meta.config(oba_review_delay=0.2)
    assert graph.get(f"{pid}/official_business_account").json()["oba_status"] == "NOT_STARTED"
    sent = graph.post(f"{pid}/official_business_account", APPLICATION)
    assert sent.status_code == 200
    validate(OBA, "post", sent.json())
    assert sent.json()["updated_status"]["oba_status"] == "PENDING"
    again = graph.post(f"{pid}/official_business_account", APPLICATION)
    assert again.status_code == 400
    assert "already under review" in error_of(again)["error_data"]["details"]

    approved = wait_until(
        lambda: (
            (body := graph.get(f"{pid}/official_business_account").json())["oba_status"]
            == "APPROVED"
            and body
        )
    )
    validate(OBA, "get", approved)
    phone = graph.get(pid, fields="is_official_business_account").json()
    assert phone["is_official_business_account"] is True
    assert graph.post(f"{pid}/official_business_account", APPLICATION).status_code == 400


def test_an_application_matching_a_rule_is_rejected_with_its_reason(
    graph: Graph, mock_meta: MockMeta, seeded: dict[str, Any]
) -> None:
    pid = seeded["phone_number_id"]
    mock_meta.config(oba_review_delay=0.1)  # the default rules reject "reject"
    body = {**APPLICATION, "additional_supporting_information": "please reject this"}
    assert graph.post(f"{pid}/official_business_account", body).status_code == 200
    rejected = wait_until(
        lambda: (
            (b := graph.get(f"{pid}/official_business_account").json())["oba_status"] == "REJECTED"
            and b
        )
    )
    assert "not notable enough" in rejected["status_message"]
    # A new application after a rejection is taken.
    assert graph.post(f"{pid}/official_business_account", APPLICATION).status_code == 200


def test_an_application_can_be_withdrawn_and_is_checked(
    graph: Graph, mock_meta: MockMeta, seeded: dict[str, Any]
) -> None:
    pid = seeded["phone_number_id"]
    mock_meta.config(oba_review_delay=None)
    for bad in (
        {**APPLICATION, "business_website_url": "acme"},
        {**APPLICATION, "supporting_links": [f"https://n{i}.example" for i in range(6)]},
        {k: v for k, v in APPLICATION.items() if k != "primary_language"},
        {"action": "SOMETHING"},
    ):
        refused = graph.post(f"{pid}/official_business_account", bad)
        assert refused.status_code == 400 and error_of(refused)["code"] == 100, bad
    assert graph.post(f"{pid}/official_business_account", APPLICATION).status_code == 200
    withdrawn = graph.post(f"{pid}/official_business_account", {"action": "WITHDRAW_APPLICATION"})
    assert withdrawn.json()["updated_status"]["oba_status"] == "CANCELLED"
    assert (
        graph.post(
            f"{pid}/official_business_account", {"action": "WITHDRAW_APPLICATION"}
        ).status_code
        == 400
    )


# --- Display names ------------------------------------------------------------------------


def test_a_change_of_an_approved_name_is_reviewed_beside_it(
    graph: Graph, mock_meta: MockMeta, seeded: dict[str, Any], receiver: Receiver
) -> None:
    pid = seeded["phone_number_id"]
    mock_meta.config(name_review_delay=0.2)
    assert graph.post(pid, {"new_display_name": "Acme Deliveries"}).json() == {"success": True}
    during = graph.get(pid, fields="verified_name,name_status,new_display_name,new_name_status")
    assert during.json() == {
        "id": pid,
        "verified_name": seeded["businesses"][0]["wabas"][0]["name"],
        "name_status": "APPROVED",
        "new_display_name": "Acme Deliveries",
        "new_name_status": "PENDING_REVIEW",
    }
    changes = receiver.wait(
        lambda cs: any(c["field"] == "phone_number_name_update" for c in cs), timeout=5
    )
    (value,) = [c["value"] for c in changes if c["field"] == "phone_number_name_update"]
    assert (value["decision"], value["requested_verified_name"]) == ("APPROVED", "Acme Deliveries")
    after = graph.get(pid, fields="verified_name,new_name_status").json()
    # Approved, shown once the number is registered again (DOC:D26).
    assert (after["new_name_status"], after["verified_name"]) == (
        "APPROVED",
        seeded["businesses"][0]["wabas"][0]["name"],
    )


def test_a_name_not_yet_approved_is_replaced_and_changes_are_limited(
    graph: Graph, mock_meta: MockMeta, seeded: dict[str, Any]
) -> None:
    pid = seeded["phone_number_id"]
    mock_meta.config(name_review_delay=None)
    mock_meta.patch("phone", pid, name_status="DECLINED")
    assert graph.post(pid, {"new_display_name": "Acme Foods"}).status_code == 200
    now = graph.get(pid, fields="verified_name,name_status,new_display_name").json()
    assert (now["verified_name"], now["name_status"], now.get("new_display_name")) == (
        "Acme Foods",
        "PENDING_REVIEW",
        None,
    )
    for n in range(9):
        assert graph.post(pid, {"new_display_name": f"Acme Foods {n}"}).status_code == 200
    eleventh = graph.post(pid, {"new_display_name": "Acme Foods 10"})
    assert (
        eleventh.status_code == 400
        and "10 times in 30 days" in error_of(eleventh)["error_data"]["details"]
    )
    mock_meta.advance_clock(31 * 24 * 3600)
    assert graph.post(pid, {"new_display_name": "Acme Foods 11"}).status_code == 200
