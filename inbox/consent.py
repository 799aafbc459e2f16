"""Consent keywords: a contact who writes YES, START or SUBSCRIBE opts in; STOP or
UNSUBSCRIBE opts out (DESIGN §2, HubSpot's keywords).

A message counts when it is the keyword and nothing else, read without case, spaces
and punctuation: "Stop!", " s t o p ", "UN-SUBSCRIBE." all count, "please stop" does not.
A workspace adds keywords of its own, in its customers' languages (``InboxSettings``:
"JA", "ABMELDEN", "СТОП"), read the same way. Pure rules, no writes.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from inbox.models import ConsentState

OPT_IN_KEYWORDS = ("YES", "START", "SUBSCRIBE")
OPT_OUT_KEYWORDS = ("STOP", "UNSUBSCRIBE")
KEYWORD_MAX_LENGTH = 64
_NOT_LETTERS = re.compile(r"[\W_]+")


def keyword_key(text: str | None) -> str:
    """``text`` as keywords are compared: case folded, no spaces or punctuation."""
    return _NOT_LETTERS.sub("", (text or "").casefold())


@dataclass(frozen=True)
class Keywords:
    """The keywords of one workspace: the built-in ones and its own, by their key."""

    opt_in: frozenset[str]
    opt_out: frozenset[str]

    @classmethod
    def of(cls, *, extra_in: Iterable[str] = (), extra_out: Iterable[str] = ()) -> Keywords:
        opt_in = {keyword_key(k) for k in (*OPT_IN_KEYWORDS, *extra_in)}
        opt_out = {keyword_key(k) for k in (*OPT_OUT_KEYWORDS, *extra_out)}
        opt_in.discard("")
        opt_out.discard("")
        return cls(frozenset(opt_in - opt_out), frozenset(opt_out))

    def state_for(self, text: str | None) -> ConsentState | None:
        """Opted in or out when ``text`` is a keyword, else None."""
        key = keyword_key(text)
        if not key or len(key) > KEYWORD_MAX_LENGTH:
            return None
        if key in self.opt_out:
            return ConsentState.OPTED_OUT
        if key in self.opt_in:
            return ConsentState.OPTED_IN
        return None


def keywords_parse(raw: str | Iterable[str]) -> list[str]:
    """Keywords as a member types them (one per line or comma-separated), trimmed, once each."""
    items = re.split(r"[,\n]", raw) if isinstance(raw, str) else list(raw)
    seen: dict[str, str] = {}
    for item in items:
        word = str(item).strip()
        key = keyword_key(word)
        if key and key not in seen:
            seen[key] = word
    return list(seen.values())
