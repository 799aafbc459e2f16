"""The templates list in the browser: filters and search in place, Sync now, every width."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import requests
from playwright.sync_api import expect

from tests.browser.test_accessibility import check_pages, sign_in
from tests.factories import PhoneNumberFactory, TemplateFactory, World
from tests.fixtures_senders import ConnectWaba

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = Path("/tmp/shots/t1")


def _body(text: str) -> list[dict[str, Any]]:
    return [{"type": "BODY", "text": text, "example": {"body_text": [["Ann", "A-1"]]}}]


def test_the_list_filters_and_searches_in_place_and_syncs(
    live_server: Any, page: Any, world: World, connect_waba: ConnectWaba, mock_meta: Any
) -> None:
    mock_meta.config(review_delay=600)  # Meta's review decides nothing during this test
    shop = connect_waba(world.tenant, name="Acme Shop")
    support = connect_waba(world.tenant, name="Acme Support")
    PhoneNumberFactory(waba=support.waba, display_phone_number="+1 555-0100999")

    def template(c: Any, name: str, text: str, *, mine: bool = True, **fields: Any) -> None:
        """A template at Meta; with ``mine``, known here too, as the last sync left it."""
        made = requests.post(
            f"{mock_meta.graph_url}/{c.waba_id}/message_templates",
            json={
                "name": name,
                "language": fields.get("language", "en_US"),
                "category": fields.get("category", "UTILITY"),
                "components": _body(text),
            },
            headers={"Authorization": f"Bearer {c.token}"},
            timeout=5,
        )
        made.raise_for_status()
        meta = {
            k: v
            for k, v in fields.items()
            if k in ("status", "rejected_reason", "previous_category", "quality_score")
        }
        mock_meta.patch("template", made.json()["id"], **({"status": "APPROVED"} | meta))
        if mine:
            TemplateFactory(
                waba=c.waba,
                name=name,
                components=_body(text),
                meta_template_id=made.json()["id"],
                **fields,
            )

    template(
        shop,
        "summer_offer",
        "Hi {{1}}, take 20% off with code {{2}} this week only.",
        category="MARKETING",
        quality_score="GREEN",
    )
    template(
        shop,
        "summer_offer",
        "Hallo {{1}}, 20% Rabatt mit Code {{2}} nur diese Woche.",
        language="de",
        status="PENDING",
        category="MARKETING",
    )
    template(
        shop,
        "payment_receipt",
        "Thanks {{1}}, we received your payment {{2}} for the invoice.",
        status="REJECTED",
        rejected_reason="PROMOTIONAL",
    )
    template(
        support,
        "survey_invite",
        "Hello {{1}}, tell us about your visit {{2}} in two minutes.",
        status="PAUSED",
        previous_category="UTILITY",
        category="MARKETING",
        status_detail={"other_info": {"title": "FIRST_PAUSE", "description": "Paused 3 hours."}},
    )
    template(
        support,
        "login_code",
        "Your code {{1}} for account {{2}} expires soon.",
        category="AUTHENTICATION",
    )
    # Made in WhatsApp Manager: Sync now imports it (and skips Meta's sample).
    template(
        support, "made_in_manager", "Your booking {{1}} is confirmed, {{2}}, thanks.", mine=False
    )
    template(
        support,
        "sample_flight_confirmation",
        "Flight {{1}} is confirmed for {{2}} today.",
        mine=False,
    )

    sign_in(page, live_server, world.owner.user)
    page.goto(live_server.url + "/t/acme/templates/")
    names = page.locator(".template-name")
    expect(names).to_have_count(5)
    page.screenshot(path=str(SHOTS / "list-1280.png"), full_page=True)

    # Filters answer in place: the page is not reloaded (a marker on window survives).
    page.evaluate("window.__same_page = true")
    page.select_option("#id_status", "REJECTED")
    expect(names).to_have_count(1)
    expect(names.first).to_have_text("payment_receipt")
    assert "status=REJECTED" in page.url  # the URL says what is shown, for a reload or a link
    page.select_option("#id_status", "")
    page.select_option("#id_category", "MARKETING")
    expect(names).to_have_count(3)
    page.select_option("#id_category", "")
    page.fill("#id_q", "received your payment")  # the body text
    expect(names).to_have_count(1)
    expect(names.first).to_have_text("payment_receipt")
    page.fill("#id_q", "")
    expect(names).to_have_count(5)
    page.select_option("#id_phone", label="+1 555-0100999")
    expect(names).to_have_count(2)
    page.screenshot(path=str(SHOTS / "list-filtered-1280.png"), full_page=True)
    assert page.evaluate("window.__same_page") is True

    # Sync now: progress in place, then the page shows what it read.
    page.goto(live_server.url + "/t/acme/templates/")
    page.click("#templates-sync")
    synced = page.locator("main .alert-success", has_text="Acme Support")
    expect(synced).to_contain_text("1 new", timeout=15_000)
    expect(synced).to_contain_text("0 deleted at Meta, 1 Meta samples skipped")
    expect(page.locator("main .alert-success", has_text="Acme Shop")).to_contain_text(
        "3 templates read from Meta — 0 new, 0 changed"
    )
    expect(names).to_have_count(6)
    expect(page.locator(".template-name", has_text="sample_flight")).to_have_count(0)
    page.screenshot(path=str(SHOTS / "list-synced-1280.png"), full_page=True)

    page.set_viewport_size({"width": 390, "height": 900})
    page.goto(live_server.url + "/t/acme/templates/")
    page.screenshot(path=str(SHOTS / "list-390.png"), full_page=True)

    # The detail of the paused template says what it means and what to do.
    page.set_viewport_size({"width": 1280, "height": 900})
    page.click("text=survey_invite")
    expect(page.locator("#template-problem")).to_contain_text("Template paused by Meta")
    expect(page.locator("#previous-category")).to_contain_text("Utility")
    page.screenshot(path=str(SHOTS / "detail-1280.png"), full_page=True)
    detail = page.url
    page.set_viewport_size({"width": 390, "height": 900})
    page.goto(detail)
    page.screenshot(path=str(SHOTS / "detail-390.png"), full_page=True)

    found = check_pages(
        page,
        live_server,
        [
            "/t/acme/templates/",
            "/t/acme/templates/?status=PAUSED",
            detail.replace(live_server.url, ""),
        ],
    )
    assert not found, "\n".join(found)
