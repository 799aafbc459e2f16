"""Every action the product writes to the audit log reads as a sentence.

The actions are found in the source (``action="..."`` literals), so a new one without
its sentence fails here instead of showing as "Phone number: pin changed" in the log.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.urls import get_resolver
from django.utils import translation

from accounts.models import AuditEvent
from accounts.services.audit import AUDIT_LABELS, audit_describe

ROOT = Path(__file__).resolve().parents[2]
APPS = ("accounts", "senders", "templates_app", "inbox", "waba_portal")
# action="x.y" keywords, and the action argument of helpers such as _audit(actor, "x.y", ...)
ACTION = re.compile(r'(?:action=|_audit\([a-z_]+, )"([a-z_]+\.[a-z_]+)"')


def _actions() -> set[str]:
    found: set[str] = set()
    for app in APPS:
        for path in (ROOT / app).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            found.update(ACTION.findall(path.read_text(encoding="utf-8")))
    return found


def test_the_source_writes_audit_actions() -> None:
    assert {"waba.connected", "phone_number.added", "api_key.created"} <= _actions()


@pytest.mark.parametrize("action", sorted(_actions()))
def test_every_audit_action_has_its_sentence(action: str) -> None:
    get_resolver().url_patterns  # noqa: B018 - loads every view, and the services they use
    assert action in AUDIT_LABELS, f"add a sentence for {action!r} to the audit labels"


@pytest.mark.parametrize("language", ["en", "de", "ru"])
def test_sentences_fill_in_without_raw_placeholders(language: str) -> None:
    event = AuditEvent(action="phone_number.pin_changed", target_repr="+49 30 123456")
    with translation.override(language):
        text = audit_describe(event)
    assert "+49 30 123456" in text
    assert "%(" not in text


def test_other_apps_codes_read_as_words() -> None:
    event = AuditEvent(
        action="conversation.moved",
        target_repr="Erika",
        metadata={"contact": "Erika", "from": "new", "to": "pending"},
    )
    with translation.override("de"):
        text = audit_describe(event)
    assert "pending" not in text, text
    assert "Ausstehend" in text, text
