"""``inbox.display`` works out once per page what the templates used to work out per row:
each of its answers is the one the template filter or tag gives, in every language and
time zone, escaping included."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.template import Context, Template
from django.utils import timezone, translation
from django.utils.text import Truncator

from accounts.selectors import WorkspaceLink
from accounts.templatetags.portal_dates import when_text
from inbox import display
from inbox.models import Message, MessageStatus
from inbox.selectors import ConsentLine, OtherConversation

LANGUAGES = ("en", "de", "ru")
ZONES = ("UTC", "Europe/Berlin", "America/Los_Angeles", "Asia/Kolkata")


def _render(source: str, **context: object) -> str:
    return Template("{% load i18n %}" + source).render(Context(context))


@pytest.mark.parametrize(
    "text",
    [
        "",
        "short",
        "x" * 90,
        "x" * 91,
        "y" * 200,
        "e\u0301" * 60,  # combining accents count for nothing
        "e\u0301" * 95,
        "👍 " * 50,
        "<b>tags</b> & " * 10,
    ],
)
@pytest.mark.parametrize("limit", [1, 60, 90, 120])
def test_truncated_is_truncatechars(text: str, limit: int) -> None:
    assert display.truncated(text, limit) == Truncator(text).chars(limit)


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("zone", ZONES)
def test_times_are_the_when_and_date_filters(language: str, zone: str) -> None:
    start = datetime(2026, 3, 28, 23, 30, 59, tzinfo=UTC)  # across a DST change
    moments = [start + timedelta(minutes=37 * i) for i in range(120)]
    with translation.override(language), timezone.override(ZoneInfo(zone)):
        shown = display.Display()
        for value in moments:
            iso, when = shown.moment(value)
            assert when == shown.when(value) == when_text(value)
            assert iso == _render("{{ v|date:'c' }}", v=value)
        assert shown.moment(None) == ("", "")


@pytest.mark.parametrize("language", LANGUAGES)
def test_labels_and_unread_counts_are_the_templates(language: str) -> None:
    with translation.override(language):
        shown = display.Display()
        for count in (1, 2, 5, 21, 1200):
            tag = (
                "{% blocktranslate count n=n %}{{ n }} unread{% plural %}{{ n }} unread"
                "{% endblocktranslate %}"
            )
            assert display.unread_text(count) == _render(tag, n=count)
        for status in [*MessageStatus.values, "nonsense"]:
            assert shown.status_words(status) == display.status_words(status)
        assert shown.type_label("poll") == shown.type_label("nonsense") != ""
        words = display.list_words() | display.bubble_words()
        assert words["you"] == _render('{% translate "You:" %}')
        assert words["from_customer"] == _render("{% translate 'From the customer' %}")


def test_a_reaction_preview_escapes_the_emoji_as_blocktranslate_does() -> None:
    message = Message(type="reaction", text="<b>&</b>", direction="in")
    preview = display._preview(message, display.Display())
    expected = _render(
        "{% blocktranslate with emoji=t %}Reacted {{ emoji }}{% endblocktranslate %}",
        t=message.text,
    )
    assert preview == expected == "Reacted &lt;b&gt;&amp;&lt;/b&gt;"
    assert _render("{{ p }}", p=preview) == expected  # safe: not escaped twice
    plain = display._preview(Message(type="text", text="<i>x</i>"), display.Display())
    assert _render("{{ p }}", p=plain) == "&lt;i&gt;x&lt;/i&gt;"
    assert display._preview(None, display.Display()) == "—"


@pytest.mark.parametrize(
    ("viewname", "id_name"),
    [("inbox:conversation", "conversation_pk"), ("inbox:media_file", "media_pk")],
)
def test_a_path_reversed_once_is_the_path_reversed_for_each_id(viewname: str, id_name: str) -> None:
    from django.urls import reverse

    path = display.path_by_id(viewname, id_name, tenant_slug="acme")
    for pk in (1, 42, 987654321, 10**12):
        assert path(pk) == reverse(viewname, kwargs={"tenant_slug": "acme", id_name: pk})


def test_the_plain_rows_name_a_stored_value_as_the_models_do() -> None:
    """The list's and the panels' plain rows say a queue, a consent state and a role in
    words as ``get_FOO_display`` does, also a value no choice has (it shows as stored)."""
    when = datetime(2026, 12, 4, tzinfo=UTC)
    assert OtherConversation(1, "+1 555-0100", "pending", when).get_queue_display() == "Pending"
    assert OtherConversation(1, "+1 555-0100", "archived", when).get_queue_display() == "archived"
    line = ConsentLine("opted_out", "keyword", "STOP", "", "", "", when)
    assert line.get_state_display() == "Opted out"
    assert WorkspaceLink(1, "acme", "Acme", "owner").get_role_display() == "Owner"
    assert WorkspaceLink(1, "acme", "Acme", "auditor").get_role_display() == "auditor"
