"""The templates REST API: list with filters, read, submit, edit, delete, sync; roles, tenants."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from accounts.models import Membership
from accounts.tenancy import tenant_scope
from templates_app import troubleshooting as tts
from templates_app.models import Submission, Template, TemplateStatus
from tests.factories import TemplateFactory, World
from tests.fixtures_senders import Connected
from tests.templates_app.support import body, reload

pytestmark = pytest.mark.django_db(transaction=True)  # tasks run at commit

BASE = "/api/v1/t/acme/templates/"


def api(m: Membership) -> APIClient:
    client = APIClient()
    client.force_authenticate(m.user)
    client.force_login(m.user)  # the tenant middleware reads the session
    return client


def new_template(c: Connected, **overrides: Any) -> dict[str, Any]:
    return {
        "waba": c.waba.pk,
        "name": "api_order_update",
        "language": "en_US",
        "category": "UTILITY",
        "components": body(),
    } | overrides


def test_submit_read_edit_delete_through_the_api(
    world: World, c: Connected, mock_meta: Any
) -> None:
    owner = api(world.owner)
    created = owner.post(BASE, new_template(c), format="json")
    assert created.status_code == 201, created.content
    data = created.json()
    assert (data["status"], data["status_label"], data["in_flight"]) == (
        "PENDING",
        "In review at Meta",
        False,
    )
    assert data["meta_template_id"]
    assert [h["kind"] for h in data["history"]] == ["status", "created"]  # newest first

    read = owner.get(f"{BASE}{data['id']}/").json()
    assert read["components"] == body() and read["category_label"] == "Utility"

    mock_meta.patch("template", data["meta_template_id"], status="REJECTED")
    with tenant_scope(c.tenant):
        Template.objects.filter(pk=data["id"]).update(status="REJECTED", rejected_reason="SCAM")
    rejected = owner.get(f"{BASE}{data['id']}/").json()
    assert rejected["problem"]["code"] == tts.TEMPLATE_REJECTED_SCAM
    assert any(
        "PATCH /api/v1/t/<workspace>/templates/<id>/" in s for s in rejected["problem"]["steps"]
    )

    new = body("Hello {{1}}, order {{2}} left our warehouse this morning.")
    edited = owner.patch(f"{BASE}{data['id']}/", {"components": new}, format="json")
    assert edited.status_code == 200, edited.content
    assert edited.json()["status"] == "PENDING" and edited.json()["components"] == new

    deleted = owner.delete(f"{BASE}{data['id']}/")
    assert deleted.status_code == 202
    assert deleted.json()[0]["status"] == "DELETED" and deleted.json()[0]["deleted_at"]


def test_a_retried_submission_with_its_key_is_sent_once(
    world: World, c: Connected, mock_meta: Any
) -> None:
    owner = api(world.owner)
    key = {"HTTP_IDEMPOTENCY_KEY": "submit-order-update-1"}
    first = owner.post(BASE, new_template(c), format="json", **key)
    again = owner.post(BASE, new_template(c), format="json", **key)
    assert first.status_code == again.status_code == 201
    assert again["Idempotent-Replayed"] == "true" and again.json()["id"] == first.json()["id"]
    with tenant_scope(c.tenant):
        assert Template.objects.count() == 1
    creates = [r for r in mock_meta.requests() if r["method"] == "POST"]
    assert len(creates) == 1


def test_bad_input_answers_the_validators_fields(world: World, c: Connected) -> None:
    response = api(world.owner).post(
        BASE, new_template(c, name="Bad Name", components=body("{{1}} starts it")), format="json"
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "template_invalid"
    assert {"name", "components.body.text"} <= set(error["details"]["fields"])
    missing = api(world.owner).post(BASE, {"waba": c.waba.pk}, format="json")
    assert missing.status_code == 400 and "name" in missing.json()["error"]["details"]["fields"]
    not_a_list = api(world.owner).post(BASE, new_template(c, components={"a": 1}), format="json")
    assert not_a_list.json()["error"]["details"]["fields"] == {
        "components": ["components must be a list of Meta's component objects."]
    }


def test_list_filters_and_pages(world: World, c: Connected) -> None:
    TemplateFactory(waba=c.waba, name="alpha", category="MARKETING")
    TemplateFactory(waba=c.waba, name="beta", status="REJECTED", rejected_reason="SCAM")
    TemplateFactory(
        waba=c.waba,
        name="gamma",
        language="de",
        components=body("Hallo {{1}}, Bestellung {{2}} ist unterwegs zu Ihnen."),
    )
    agent = api(world.agent)  # every member reads
    everything = agent.get(BASE).json()
    assert {t["name"] for t in everything["results"]} == {"alpha", "beta", "gamma"}
    assert set(everything) == {"next", "previous", "results"}
    assert [t["name"] for t in agent.get(BASE, {"status": "REJECTED"}).json()["results"]] == [
        "beta"
    ]
    assert [t["name"] for t in agent.get(BASE, {"q": "bestellung"}).json()["results"]] == ["gamma"]
    assert [t["name"] for t in agent.get(BASE, {"category": "MARKETING"}).json()["results"]] == [
        "alpha"
    ]
    page = agent.get(BASE, {"limit": 2}).json()
    assert len(page["results"]) == 2 and page["next"]
    bad = agent.get(BASE, {"status": "BOGUS"})
    assert bad.status_code == 400 and "status" in bad.json()["error"]["details"]["fields"]


def test_agents_read_but_do_not_write(world: World, c: Connected) -> None:
    mine = TemplateFactory(waba=c.waba)
    agent = api(world.agent)
    assert agent.get(f"{BASE}{mine.pk}/").status_code == 200
    assert agent.post(BASE, new_template(c), format="json").status_code == 403
    assert (
        agent.patch(f"{BASE}{mine.pk}/", {"components": body()}, format="json").status_code == 403
    )
    assert agent.delete(f"{BASE}{mine.pk}/").status_code == 403
    assert agent.post(f"{BASE}sync/", {}, format="json").status_code == 403
    assert reload(mine).submission == Submission.NONE


def test_another_workspace_is_not_found(
    world: World, c: Connected, other_connected_waba: Connected
) -> None:
    theirs = TemplateFactory(waba=other_connected_waba.waba)
    owner = api(world.owner)
    assert owner.get(f"{BASE}{theirs.pk}/").status_code == 404
    assert owner.delete(f"{BASE}{theirs.pk}/").status_code == 404
    assert owner.post(BASE, new_template(other_connected_waba), format="json").status_code == 404
    assert (
        owner.post(
            f"{BASE}sync/", {"waba": other_connected_waba.waba.pk}, format="json"
        ).status_code
        == 404
    )
    assert reload(theirs).status == TemplateStatus.APPROVED
    assert api(world.other_owner).get(BASE).status_code == 404  # not their workspace


def test_sync_through_the_api(world: World, c: Connected, mock_meta: Any) -> None:
    started = api(world.admin).post(f"{BASE}sync/", {}, format="json")
    assert started.status_code == 202
    (item,) = started.json()
    assert item["state"] == "done" and item["waba"] == c.waba.pk
    latest = api(world.agent).get(f"{BASE}sync/", {"waba": c.waba.pk, "limit": 1}).json()
    assert [s["id"] for s in latest["results"]] == [item["id"]]
