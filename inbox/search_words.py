"""The words a conversation is found by: ``Conversation.search_words`` (PostgreSQL).

A ``tsvector`` of the lexemes of its contact's names and of its messages' texts, in the
search's configuration (``simple``: no stemming, any language) and without positions
(``strip``: a search asks which words, never where). It grows as messages are stored,
in the UPDATE that already moves the conversation: an inbound batch's texts
(``inbox.services.inbound``), a reply's (``inbox.services.outbound``), each time with the
contact's names as they are then. A member renaming the contact works the words out
again (``words_refresh``), so the old name stops finding it; a profile name WhatsApp
reports changed is added, and the old one keeps finding the conversation until then.

A search then reads one GIN index of conversations (migration 0008) beside the list's
own filters and order, where matching messages would have to be read one by one for
their conversations: a common word is in tens of thousands of them.

A conversation keeps at most ``WORDS_MAX`` distinct words (a ``tsvector`` holds 1 MB);
past that, new words are not added. No conversation written by people comes near.
SQLite, the local demo, keeps none: its search matches with ``LIKE``.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.contrib.postgres.search import SearchVectorField
from django.db import connection
from django.db.models.expressions import RawSQL

from accounts.tenancy import require_tenant

SEARCH_CONFIG = "simple"
WORDS_MAX = 50_000

_ADDED = (
    f"CASE WHEN length(COALESCE(search_words, ''::tsvector)) >= {WORDS_MAX} THEN search_words "
    f"ELSE strip(COALESCE(search_words, ''::tsvector) "
    f"|| to_tsvector('{SEARCH_CONFIG}'::regconfig, %s)) END"
)

# The words of each conversation worked out again: its contact's names and every text
# of its messages (the configuration: SEARCH_CONFIG). The caller adds what to refresh.
REFRESH_SQL = """
UPDATE inbox_conversation c SET search_words = strip(
    to_tsvector('simple'::regconfig, COALESCE(ct.name, '') || ' ' || COALESCE(ct.profile_name, ''))
    || COALESCE((
        SELECT to_tsvector('simple'::regconfig, string_agg(m.text, ' '))
        FROM inbox_message m
        WHERE m.conversation_id = c.id AND m.text <> ''
    ), ''::tsvector)
)
FROM inbox_contact ct
WHERE ct.id = c.contact_id
"""


def words_added(texts: Iterable[str], *, names: Iterable[str] = ()) -> RawSQL | None:
    """The conversation's words with those of ``texts`` and the contact's ``names``
    added, as the value of an UPDATE of ``search_words``; ``None`` on SQLite."""
    if connection.vendor != "postgresql":
        return None
    text = " ".join(t for t in (*texts, *names) if t)
    return RawSQL(_ADDED, [text], output_field=SearchVectorField())  # noqa: S611 (text: a parameter)


def words_refresh(conversation_ids: Iterable[int]) -> None:
    """The words of the workspace's conversations ``conversation_ids`` worked out again
    from their contact and every message they hold (a renamed contact; rows written
    without the services: data moved in bulk, a seeded workspace)."""
    ids = sorted(set(conversation_ids))
    if not ids or connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute(
            REFRESH_SQL + " AND c.tenant_id = %s AND c.id = ANY(%s)", [require_tenant().pk, ids]
        )
