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

A conversation keeps at most ``WORDS_MAX`` distinct words in at most ``WORDS_BYTES`` (a
``tsvector`` holds 1 MB, and PostgreSQL refuses a longer one): past that, new words are
not added, and a refresh keeps the earliest. No conversation written by people comes near.
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
WORDS_BYTES = 1_000_000  # of the words a refresh keeps, each with its 4-byte entry
# Words are added while the conversation's are under this (its words as text and a byte
# each, about their size in a tsvector), which leaves room for a large batch's new ones.
WORDS_BYTES_ADDING = 800_000


def words_added_sql(text: str) -> str:
    """The value of ``search_words`` with the words of the SQL expression ``text`` added
    (an UPDATE's), unless the conversation's are full."""
    return (
        f"CASE WHEN length(COALESCE(search_words, ''::tsvector)) >= {WORDS_MAX} "
        f"OR octet_length(search_words::text) + length(search_words) >= {WORDS_BYTES_ADDING} "
        "THEN search_words "
        f"ELSE strip(COALESCE(search_words, ''::tsvector) "
        f"|| to_tsvector('{SEARCH_CONFIG}'::regconfig, {text})) END"
    )


def words_text(texts: Iterable[str], *, names: Iterable[str] = ()) -> str:
    """The text whose words are added: the messages' texts and the contact's names."""
    return " ".join(t for t in (*texts, *names) if t)


# The words of each conversation worked out again: its contact's names and the distinct
# words of its messages' texts, the earliest first, as many as fit ``WORDS_MAX`` and
# ``WORDS_BYTES`` (the configuration: SEARCH_CONFIG). The caller adds what to refresh.
REFRESH_SQL = f"""
UPDATE inbox_conversation c SET search_words = strip(
    to_tsvector('{SEARCH_CONFIG}'::regconfig,
                COALESCE(ct.name, '') || ' ' || COALESCE(ct.profile_name, ''))
    || COALESCE((
        SELECT array_to_tsvector(array_agg(kept.lexeme))
        FROM (
            SELECT found.lexeme,
                   sum(octet_length(found.lexeme) + 4) OVER earliest AS upto,
                   row_number() OVER earliest AS n
            FROM (
                SELECT word.lexeme, min(m.id) AS first_id
                FROM inbox_message m
                CROSS JOIN LATERAL unnest(to_tsvector('{SEARCH_CONFIG}'::regconfig, m.text)) word
                WHERE m.conversation_id = c.id AND m.text <> ''
                GROUP BY word.lexeme
            ) found
            WINDOW earliest AS (ORDER BY found.first_id, found.lexeme)
        ) kept
        WHERE kept.upto <= {WORDS_BYTES} AND kept.n <= {WORDS_MAX}
    ), ''::tsvector)
)
FROM inbox_contact ct
WHERE ct.id = c.contact_id
"""  # noqa: S608 (only this module's constants are put in)


def words_added(texts: Iterable[str], *, names: Iterable[str] = ()) -> RawSQL | None:
    """The conversation's words with those of ``texts`` and the contact's ``names``
    added, as the value of an UPDATE of ``search_words``; ``None`` on SQLite."""
    if connection.vendor != "postgresql":
        return None
    text = words_text(texts, names=names)
    return RawSQL(words_added_sql("%s"), [text], output_field=SearchVectorField())  # noqa: S611 (text: a parameter)


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
