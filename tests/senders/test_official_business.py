"""The Official Business Account badge: the request checked, sent to the mock Meta,
and Meta's decision read by the periodic task (or at once), recorded and notified."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from accounts.models import Membership, Notification
from accounts.services.notifications import notification_body, notification_title
from accounts.tenancy import tenant_scope
from senders import troubleshooting as ts
from senders.models import (
    AccountHistory,
    HistoryKind,
    OfficialBusinessRequest,
    OfficialBusinessStatus,
    PhoneNumber,
)
from senders.services import official_business
from senders.services.graph import graph_client
from tests.factories import World
from tests.fixtures_celery import wait_for
from tests.fixtures_senders import Connected
from waba_portal.errors import Conflict, Invalid

pytestmark = pytest.mark.django_db(transaction=True)

GOOD = {
    "business_website_url": "https://www.acme.example",
    "primary_country_of_operation": "DE",
    "primary_language": "de",
    "supporting_links": "https://news.example/acme-opens\nhttps://paper.example/acme",
    "parent_business_or_brand": "Acme Group",
    "additional_supporting_information": "Acme is a well-known grocer.",
}


def login(m: Membership) -> Client:
    c = Client()
    c.force_login(m.user)
    return c


def url(c: Connected, tail: str = "") -> str:
    return f"/t/acme/settings/whatsapp/numbers/{c.phone.pk}/name/{tail}"


def notes(c: Connected) -> list[Notification]:
    with tenant_scope(c.tenant):
        return list(Notification.objects.order_by("id"))


def requests_of(c: Connected) -> list[OfficialBusinessRequest]:
    with tenant_scope(c.tenant):
        return list(OfficialBusinessRequest.objects.filter(phone_number_id=c.phone.pk))


def oba_calls(mock_meta, c: Connected, method: str = "POST") -> list[dict[str, Any]]:  # type: ignore[no-untyped-def]
    return [
        r
        for r in mock_meta.requests()
        if r["method"] == method
        and r["path"].endswith(f"/{c.phone_number_id}/official_business_account")
    ]


def meta_status(c: Connected) -> str:
    client = graph_client(token=c.token)
    try:
        return str(client.official_business_account_get(c.phone_number_id)["oba_status"])
    finally:
        client.close()


@pytest.fixture
def reviewing(mock_meta, connected_waba: Connected) -> Connected:  # type: ignore[no-untyped-def]
    mock_meta.config(
        oba_review_delay=0.2,
        oba_rules=[
            {
                "match": "body_contains",
                "value": "blog.example",
                "decision": "REJECTED",
                "reason": "The business is not notable enough.",
            }
        ],
    )
    return connected_waba


# --- The request, checked ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("business_website_url", "", "Enter the address"),
        ("business_website_url", "acme.example", "starts with https://"),
        ("business_website_url", "https://localhost/shop", "public website"),
        ("business_website_url", "https://" + "a" * 250 + ".example", "at most 256"),
        ("primary_country_of_operation", "XX", "Choose the country"),
        ("primary_language", "klingon", "Choose the main language"),
        ("supporting_links", "", "you gave 0"),
        ("supporting_links", "\n".join(f"https://n{i}.example/a" for i in range(6)), "gave 6"),
        ("supporting_links", "https://news.example/a\nnot a link", "not a link: Enter a full"),
        ("supporting_links", "https://news.example/a\nhttps://news.example/a", "each link once"),
        ("parent_business_or_brand", "x" * 257, "at most 256"),
        ("additional_supporting_information", "x" * 1001, "at most 1000"),
    ],
)
def test_every_field_is_checked_before_meta_is_asked(field: str, value: str, message: str) -> None:
    with pytest.raises(Invalid) as refused:
        official_business.oba_input_check({**GOOD, field: value})
    assert refused.value.field == field
    assert any(message in m for m in refused.value.details["fields"][field]), refused.value.details


def test_the_form_shows_the_errors_beside_their_fields(
    mock_meta, world: World, connected_waba: Connected
) -> None:  # type: ignore[no-untyped-def]
    c = connected_waba
    response = login(world.owner).post(
        url(c, "official/"),
        {**GOOD, "business_website_url": "acme", "supporting_links": ""},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert html.count('aria-invalid="true"') == 2 and "you gave 0" in html
    assert oba_calls(mock_meta, c) == [] and requests_of(c) == []


def test_what_meta_requires_first_is_said(
    mock_meta, world: World, connected_waba: Connected
) -> None:  # type: ignore[no-untyped-def]
    c = connected_waba
    with tenant_scope(c.tenant):
        c.waba.business_verification_status = "pending"
        c.waba.save(update_fields=["business_verification_status"])
        PhoneNumber.objects.filter(pk=c.phone.pk).update(name_status="PENDING_REVIEW")
        with pytest.raises(Conflict) as refused:
            official_business.oba_submit(actor=world.owner, phone=c.reload_phone(), data=GOOD)
    assert "Verify the business" in refused.value.message
    assert "approves the display name" in refused.value.message
    page = login(world.owner).get(url(c)).content.decode()
    assert 'id="oba-blockers"' in page and 'id="oba-form"' not in page
    assert oba_calls(mock_meta, c) == []


# --- Decided ------------------------------------------------------------------------------


def test_approved_by_meta_and_read_by_the_periodic_task(
    mock_meta, world: World, reviewing: Connected
) -> None:  # type: ignore[no-untyped-def]
    c = reviewing
    client = login(world.owner)
    response = client.post(url(c, "official/"), GOOD, headers={"HX-Request": "true"})
    assert response.status_code == 200, response.content
    assert 'data-status="PENDING"' in response.content.decode()
    (call,) = oba_calls(mock_meta, c)
    assert call["body"]["supporting_links"] == [
        "https://news.example/acme-opens",
        "https://paper.example/acme",
    ]
    assert call["body"]["primary_country_of_operation"] == "DE"
    (row,) = requests_of(c)
    assert (row.status, row.submitted_by_id) == (
        OfficialBusinessStatus.PENDING,
        world.owner.user_id,
    )

    wait_for(lambda: meta_status(c) == "APPROVED", timeout=10)
    assert official_business.oba_fan_out() == 1  # the beat's round; the task runs eagerly
    (row,) = requests_of(c)
    assert row.status == OfficialBusinessStatus.APPROVED and row.decided_at is not None
    assert c.reload_phone().is_official_business_account is True
    with tenant_scope(c.tenant):
        history = list(
            AccountHistory.objects.filter(phone_number_id=c.phone.pk, kind=HistoryKind.OFFICIAL)
            .order_by("id")
            .values_list("new_value", flat=True)
        )
    assert history == ["PENDING", "APPROVED"]
    note = notes(c)[0]
    assert "is an Official Business Account now" in notification_title(note)
    assert official_business.oba_fan_out() == 0  # nothing in review any more
    assert len(notes(c)) == 2  # owner and admin, once
    page = client.get(url(c)).content.decode()
    assert 'data-status="APPROVED"' in page and 'id="oba-badge"' in page


def test_rejected_by_meta_with_its_reason_and_the_fix(
    mock_meta, world: World, reviewing: Connected
) -> None:  # type: ignore[no-untyped-def]
    c = reviewing
    client = login(world.owner)
    data = {**GOOD, "supporting_links": "https://blog.example/acme"}
    assert client.post(url(c, "official/"), data, headers={"HX-Request": "true"}).status_code == 200
    wait_for(lambda: meta_status(c) == "REJECTED", timeout=10)

    # "Check with Meta now" reads it at once.
    answer = client.post(url(c, "official/refresh/"), headers={"HX-Request": "true"})
    assert answer.status_code == 200
    html = answer.content.decode()
    assert 'data-status="REJECTED"' in html and "not notable enough" in html
    assert f'data-problem="{ts.OFFICIAL_BUSINESS_REJECTED}"' in html
    (row,) = requests_of(c)
    assert (row.status, row.rejection_reason) == (
        OfficialBusinessStatus.REJECTED,
        "The business is not notable enough.",
    )
    assert c.reload_phone().is_official_business_account is False
    note = notes(c)[0]
    assert "did not grant" in notification_title(note)
    body = notification_body(note)
    assert "not notable enough" in body and "30 days after the rejection" in body

    # Meta takes a new request 30 days after a rejection.
    with tenant_scope(c.tenant), pytest.raises(Conflict, match="30 days after a rejection"):
        official_business.oba_submit(actor=world.owner, phone=c.reload_phone(), data=GOOD)
    with time_machine.travel(timezone.now() + timedelta(days=31)), tenant_scope(c.tenant):
        assert official_business.oba_blockers(phone=c.reload_phone()) == []


def test_a_request_in_review_is_not_sent_twice_and_agents_cannot_ask(
    mock_meta, world: World, connected_waba: Connected
) -> None:  # type: ignore[no-untyped-def]
    c = connected_waba
    mock_meta.config(oba_review_delay=None)
    assert login(world.agent).post(url(c, "official/"), GOOD).status_code == 403
    assert login(world.agent).post(url(c, "official/refresh/")).status_code == 403
    assert login(world.owner).post(url(c, "official/"), GOOD).status_code == 302
    with tenant_scope(c.tenant), pytest.raises(Conflict, match="reviewing"):
        official_business.oba_submit(actor=world.owner, phone=c.reload_phone(), data=GOOD)
    assert len(oba_calls(mock_meta, c)) == 1
    assert login(world.agent).get(url(c)).status_code == 200


def test_meta_unavailable_changes_nothing(
    mock_meta, world: World, connected_waba: Connected
) -> None:  # type: ignore[no-untyped-def]
    c = connected_waba
    mock_meta.fault(
        "POST", f"/{c.phone_number_id}/official_business_account", code=2, http_status=503, times=5
    )
    with tenant_scope(c.tenant), pytest.raises(Conflict) as refused:
        official_business.oba_submit(actor=world.owner, phone=c.reload_phone(), data=GOOD)
    assert refused.value.code == "meta_unavailable"
    assert requests_of(c) == []


def test_another_tenants_number_is_not_found(
    world: World, connected_waba: Connected, other_connected_waba: Connected
) -> None:
    theirs = other_connected_waba
    owner = login(world.owner)
    assert owner.post(url(theirs, "official/"), GOOD).status_code == 404
    assert owner.post(url(theirs, "official/refresh/")).status_code == 404
