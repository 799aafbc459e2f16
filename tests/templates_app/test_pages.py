"""The templates pages: the list with its filters and search, one template, delete, Sync now."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client

from accounts.models import Membership
from accounts.tenancy import tenant_scope
from templates_app.models import Submission, Template, TemplateSync
from tests.factories import PhoneNumberFactory, TemplateFactory, WhatsAppAccountFactory, World
from tests.templates_app.support import body

pytestmark = pytest.mark.django_db


def client_of(m: Membership) -> Client:
    client = Client()
    client.force_login(m.user)
    return client


def names(html: str) -> list[str]:
    return re.findall(r'class="template-name">([^<]+)<', html)


@pytest.fixture
def catalogue(world: World) -> dict[str, Any]:
    """Two accounts of Acme with templates of every kind; one of Globex."""
    shop = WhatsAppAccountFactory(tenant=world.tenant, name="Shop")
    support = WhatsAppAccountFactory(tenant=world.tenant, name="Support")
    phone = PhoneNumberFactory(waba=support)
    t = {
        "offer": TemplateFactory(
            waba=shop,
            name="summer_offer",
            category="MARKETING",
            components=body("Hi {{1}}, take 20% off with code {{2}} this week."),
            quality_score="GREEN",
        ),
        "offer_de": TemplateFactory(
            waba=shop, name="summer_offer", language="de", category="MARKETING", status="PENDING"
        ),
        "receipt": TemplateFactory(
            waba=shop,
            name="payment_receipt",
            status="REJECTED",
            rejected_reason="PROMOTIONAL",
            components=body("Thanks {{1}}, we received payment {{2}} for your invoice."),
        ),
        "code": TemplateFactory(waba=support, name="login_code", category="AUTHENTICATION"),
        "paused": TemplateFactory(
            waba=support, name="survey_invite", status="PAUSED", previous_category="UTILITY"
        ),
        "gone": TemplateFactory(waba=support, name="old_notice", deleted_at="2026-01-01T00:00Z"),
    }
    other = TemplateFactory(waba__tenant=world.other_tenant, name="globex_secret")
    return {"shop": shop, "support": support, "phone": phone, "t": t, "other": other}


def list_page(m: Membership, **query: Any) -> str:
    response = client_of(m).get("/t/acme/templates/", query)
    assert response.status_code == 200
    return response.content.decode()


def test_the_list_shows_every_template_in_words(world: World, catalogue: dict[str, Any]) -> None:
    html = list_page(world.agent)  # agents read
    assert names(html) == [
        "payment_receipt",
        "summer_offer",
        "summer_offer",
        "login_code",
        "survey_invite",
    ]
    assert "globex_secret" not in html and "old_notice" not in html
    assert "Rejected: promotional content in a Utility or Authentication template" in html
    assert "Meta's reason: Promotional content" in html
    assert "Template paused by Meta" in html and "was Utility" in html
    assert "In review at Meta" in html and "Authentication" in html and "High" in html
    assert 'id="templates-sync"' not in html  # Sync now is for managers
    assert 'id="templates-sync"' in list_page(world.admin)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"status": "REJECTED"}, ["payment_receipt"]),
        ({"status": "PENDING"}, ["summer_offer"]),
        ({"category": "MARKETING"}, ["summer_offer", "summer_offer"]),
        ({"category": "AUTHENTICATION"}, ["login_code"]),
        ({"language": "de"}, ["summer_offer"]),
        ({"q": "offer"}, ["summer_offer", "summer_offer"]),
        ({"q": "received payment"}, ["payment_receipt"]),  # the body text
        ({"q": "20% OFF"}, ["summer_offer"]),
        ({"q": "nothing like this"}, []),
        ({"category": "MARKETING", "language": "en_US"}, ["summer_offer"]),
    ],
)
def test_filters_and_search(
    world: World, catalogue: dict[str, Any], query: dict[str, str], expected: list[str]
) -> None:
    assert names(list_page(world.owner, **query)) == expected


def test_filter_by_account_and_by_number(world: World, catalogue: dict[str, Any]) -> None:
    support, phone = catalogue["support"], catalogue["phone"]
    assert names(list_page(world.owner, waba=support.pk)) == ["login_code", "survey_invite"]
    assert names(list_page(world.owner, phone=phone.pk)) == ["login_code", "survey_invite"]


def test_a_bad_filter_says_so_and_another_tenants_ids_are_no_choice(
    world: World, catalogue: dict[str, Any]
) -> None:
    other_waba = catalogue["other"].waba
    html = list_page(world.owner, waba=other_waba.pk, status="NOT_A_STATUS")
    assert html.count("Select a valid choice") == 2
    assert len(names(html)) == 5  # the bad filters are left out, not guessed
    assert "globex_secret" not in html


def test_htmx_filtering_answers_the_results_only(world: World, catalogue: dict[str, Any]) -> None:
    response = client_of(world.owner).get(
        "/t/acme/templates/",
        {"status": "PAUSED"},
        headers={"HX-Request": "true", "HX-Target": "template-results"},
    )
    html = response.content.decode()
    assert html.startswith('<div id="template-results"') and "<nav" not in html
    assert names(html) == ["survey_invite"]


def test_the_detail_page_shows_components_history_and_other_languages(
    world: World, catalogue: dict[str, Any]
) -> None:
    offer = catalogue["t"]["offer"]
    html = client_of(world.agent).get(f"/t/acme/templates/{offer.pk}/").content.decode()
    assert "Hi {{1}}, take 20% off with code {{2}} this week." in html
    assert 'id="other-languages"' in html and ">Deutsch</a>" in html
    assert 'id="delete-language"' not in html  # agents cannot delete
    html = client_of(world.owner).get(f"/t/acme/templates/{offer.pk}/").content.decode()
    assert 'id="delete-language"' in html and 'id="delete-name"' in html


def test_another_workspaces_template_is_not_found(world: World, catalogue: dict[str, Any]) -> None:
    other = catalogue["other"]
    owner = client_of(world.owner)
    assert owner.get(f"/t/acme/templates/{other.pk}/").status_code == 404
    assert owner.post(f"/t/acme/templates/{other.pk}/delete/").status_code == 404
    assert owner.get(f"/t/acme/templates/{other.pk}/state/").status_code == 404


def test_agents_cannot_delete(world: World, catalogue: dict[str, Any]) -> None:
    offer = catalogue["t"]["offer"]
    assert client_of(world.agent).post(f"/t/acme/templates/{offer.pk}/delete/").status_code == 403
    with tenant_scope(world.tenant):
        assert Template.objects.get(pk=offer.pk).submission == Submission.NONE


def test_delete_from_the_page_is_queued_and_said(
    world: World, catalogue: dict[str, Any], django_capture_on_commit_callbacks: Any
) -> None:
    offer = catalogue["t"]["offer"]
    with django_capture_on_commit_callbacks(execute=False) as queued:
        response = client_of(world.admin).post(
            f"/t/acme/templates/{offer.pk}/delete-name/", follow=True
        )
    assert len(queued) == 1  # one call at Meta for the whole name
    html = response.content.decode()
    assert "are being deleted at Meta" in html
    with tenant_scope(world.tenant):
        assert set(
            Template.objects.filter(name="summer_offer").values_list("submission", flat=True)
        ) == {Submission.DELETING}


def test_sync_now_shows_progress_in_place_then_reloads(
    world: World, catalogue: dict[str, Any], django_capture_on_commit_callbacks: Any
) -> None:
    admin = client_of(world.admin)
    htmx = {"HX-Request": "true"}
    with django_capture_on_commit_callbacks(execute=False):
        box = admin.post("/t/acme/templates/sync/", headers=htmx)
    html = box.content.decode()
    assert 'data-sync-state="running"' in html and "waiting to start" in html
    since = re.search(r"since=([0-9.]+)", html)
    assert since is not None
    with tenant_scope(world.tenant):
        syncs = list(TemplateSync.objects.all())
        assert len(syncs) == 2  # both connected accounts
        TemplateSync.objects.filter(waba=catalogue["shop"]).update(state="running", read=40)
    poll = admin.get(f"/t/acme/templates/sync/status/?since={since.group(1)}", headers=htmx)
    assert "40 templates read" in poll.content.decode() and "HX-Refresh" not in poll
    with tenant_scope(world.tenant):
        TemplateSync.objects.update(state="done", read=3, created=1)
    done = admin.get(f"/t/acme/templates/sync/status/?since={since.group(1)}", headers=htmx)
    assert done["HX-Refresh"] == "true"
    page = admin.get("/t/acme/templates/").content.decode()
    assert "3 templates read from Meta — 1 new" in page


def test_languages_are_named_not_metas_codes(world: World, catalogue: dict[str, Any]) -> None:
    html = list_page(world.owner)
    assert "English (US)" in html and "Deutsch" in html
    assert ">en_US<" not in html
    offer = catalogue["t"]["offer"]
    detail = client_of(world.owner).get(f"/t/acme/templates/{offer.pk}/").content.decode()
    assert "English (US)" in detail and ">Deutsch</a>" in detail
