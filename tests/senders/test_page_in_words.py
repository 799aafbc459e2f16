"""The WhatsApp account page in words (issue #10): no raw Meta codes, in en, de and ru."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.utils import timezone, translation

from accounts.tenancy import tenant_scope
from senders import selectors
from senders import troubleshooting as ts
from senders.api.accounts import problem_payload
from senders.models import AccountHistory, ConnectionStatus, HistoryKind, PhoneStatus
from senders.services import snapshots
from tests.fixtures_senders import Connected

pytestmark = pytest.mark.django_db

LANGUAGES = ["en", "de", "ru"]
UNVERIFIED_HEALTH = {
    "can_send_message": "LIMITED",
    "entities": [
        {
            "entity_type": "WABA",
            "id": "1",
            "can_send_message": "LIMITED",
            "errors": [
                {
                    "error_code": 141006,
                    "error_description": "There is an error with the payment method.",
                    "possible_solution": "Add a valid payment method.",
                }
            ],
        },
        {
            "entity_type": "BUSINESS",
            "id": "1638000000000001",
            "can_send_message": "LIMITED",
            "errors": [
                {
                    "error_code": 141010,
                    "error_description": "The business has not passed business verification.",
                    "possible_solution": "Complete business verification.",
                }
            ],
        },
    ],
}


def page_of(c: Connected, language: str = "en") -> str:
    client = Client()
    with tenant_scope(c.tenant):
        owner = c.tenant.memberships.get(role="owner").user
        owner.language = language
        owner.save()
    client.force_login(owner)
    return client.get(
        f"/t/{c.tenant.slug}/settings/whatsapp/accounts/{c.waba.pk}/"
    ).content.decode()


def section(page: str, element_id: str) -> str:
    """The text of the element with ``element_id``, tags and Meta's kept originals removed."""
    start = page.index(f'id="{element_id}"')
    end = page.index("</ul>", start) if "<ul" in page[start - 40 : start] else None
    chunk = page[start:end] if end else page[start : page.index("</dd>", start)]
    chunk = re.sub(r"<details.*?</details>", "", chunk, flags=re.S)
    return re.sub(r"<[^>]+>", " ", chunk)


def add_history(c: Connected, kind: str, old: str, new: str, phone: bool = False) -> None:
    AccountHistory.objects.create(
        tenant=c.tenant,
        waba=c.waba,
        phone_number=c.phone if phone else None,
        kind=kind,
        old_value=old,
        new_value=new,
        source="webhook",
        occurred_at=timezone.now(),
    )


@pytest.mark.parametrize("language", LANGUAGES)
def test_history_is_in_words_without_no_ops(connected_waba: Connected, language: str) -> None:
    c = connected_waba
    with tenant_scope(c.tenant):
        AccountHistory.objects.filter(waba=c.waba).delete()
        add_history(c, HistoryKind.STATUS, "PENDING", "CONNECTED", phone=True)
        add_history(c, HistoryKind.CONNECTION, "", "PARTNER_APP_INSTALLED")
        add_history(c, HistoryKind.CONNECTION, "connected", "connected")
        add_history(c, HistoryKind.VERIFICATION, "not_verified", "verified")
        add_history(c, HistoryKind.QUALITY, "GREEN", "RED", phone=True)
    text = section(page_of(c, language), "history")
    for raw in ("PENDING", "CONNECTED", "PARTNER_APP_INSTALLED", "not_verified", "GREEN"):
        assert raw not in text, raw
    for raw in ("sync", "webhook", "onboarding"):
        assert not re.search(rf"\b{raw}\b", text), raw
    with translation.override(language):
        assert str(PhoneStatus.CONNECTED.label) in text
    assert text.count("→") == 4  # the no-op row is not shown


def test_history_record_writes_no_no_op_rows(connected_waba: Connected) -> None:
    c = connected_waba
    with tenant_scope(c.tenant):
        before = AccountHistory.objects.count()
        row = snapshots.history_record(
            waba=c.waba,
            kind=HistoryKind.CONNECTION,
            old="connected",
            new="connected",
            source="sync",
        )
        assert row is None
        assert AccountHistory.objects.count() == before
        assert snapshots.history_record(
            waba=c.waba, kind=HistoryKind.CONNECTION, old="pending", new="connected", source="sync"
        )


@pytest.mark.parametrize("language", LANGUAGES)
def test_time_zone_is_named_not_a_bare_number(connected_waba: Connected, language: str) -> None:
    c = connected_waba
    with tenant_scope(c.tenant):
        c.waba.timezone_id = "47"
        c.waba.save()
    page = page_of(c, language)
    text = section(page, "timezone").split(">", 1)[1].strip()
    # Meta's 47 is TZ_EUROPE_BERLIN: its IANA name with the offset of today.
    assert text.startswith("Europe/Berlin, UTC+0"), text
    assert "47" not in text
    assert "Time zone id" not in page


@pytest.mark.parametrize("language", LANGUAGES)
def test_time_zone_outside_the_table_keeps_metas_number_in_words(
    connected_waba: Connected, language: str
) -> None:
    c = connected_waba
    with tenant_scope(c.tenant):
        c.waba.timezone_id = "987"
        c.waba.save()
    text = section(page_of(c, language), "timezone").split(">", 1)[1].strip()
    assert "987" in text
    assert text != "987"


@pytest.mark.parametrize("language", LANGUAGES)
def test_required_actions_one_entry_per_action_in_words(
    connected_waba: Connected, language: str
) -> None:
    c = connected_waba
    with tenant_scope(c.tenant):
        c.waba.health = UNVERIFIED_HEALTH
        c.waba.business_verification_status = "not_verified"
        c.waba.save()
        with translation.override(language):
            actions = selectors.waba_required_actions(waba=c.waba)
    titles = [a.title for a in actions]
    assert len(titles) == len(set(titles)) == 2  # payment method, verification: once each
    page = page_of(c, language)
    text = section(page, "required-actions")
    assert "BUSINESS" not in text and "1638" not in text and "WABA 1" not in text
    assert "has not passed business verification" not in text
    assert "error with the payment method" not in text
    # Meta's own words are kept, folded away, for support.
    assert "The business has not passed business verification." in page
    with translation.override(language):
        from django.utils.translation import gettext

        assert gettext("Verify your business") in text


@pytest.mark.parametrize("language", LANGUAGES)
def test_one_status_per_number(connected_waba: Connected, language: str) -> None:
    c = connected_waba
    with tenant_scope(c.tenant):
        c.phone.connection_status, c.phone.meta_status = ConnectionStatus.CONNECTED, "CONNECTED"
        c.phone.save()
    page = page_of(c, language)
    assert 'data-meta-status="CONNECTED"' not in page  # "Connected / Connected"
    with tenant_scope(c.tenant):
        c.phone.connection_status = ConnectionStatus.DISCONNECTED
        c.phone.is_primary = False
        c.phone.save()
    page = page_of(c, language)
    assert 'data-meta-status="CONNECTED"' not in page  # "Disconnected / Connected"
    with tenant_scope(c.tenant):
        c.phone.connection_status, c.phone.meta_status = ConnectionStatus.CONNECTED, "FLAGGED"
        c.phone.save()
    assert 'data-meta-status="FLAGGED"' in page_of(c, language)  # it says more: shown


@pytest.mark.parametrize("key", sorted(ts.CATALOGUE))
def test_api_steps_name_api_actions_not_page_buttons(key: str) -> None:
    with translation.override("en"):
        payload = problem_payload(key, "acme")
    assert payload is not None
    for step in payload["steps"]:
        for button in ("click", "Click", " here.", "Connect WhatsApp", "Sync now"):
            assert button not in step, (key, step)


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_signup_step_code_is_said_in_words(connected_waba: Connected, language: str) -> None:
    c = connected_waba
    with tenant_scope(c.tenant):
        c.waba.problem, c.waba.problem_detail = ts.SIGNUP_INCOMPLETE, "PHONE_NUMBER_SETUP"
        c.waba.connection_status = ConnectionStatus.ACTION_REQUIRED
        c.waba.save()
    page = page_of(c, language)
    assert 'data-problem="signup_incomplete"' in page
    assert "PHONE_NUMBER_SETUP" not in page


def test_meta_time_zone_table_names_real_zones() -> None:
    import zoneinfo

    from senders import meta_timezones

    for number, name in meta_timezones.META_TIMEZONES.items():
        assert zoneinfo.ZoneInfo(name), number
    assert meta_timezones.iana_name("1") == "America/Los_Angeles"
    assert meta_timezones.iana_name("116") == "Europe/Moscow"
    assert meta_timezones.iana_name("x") is None
