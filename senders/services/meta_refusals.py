"""Meta's error for an action a person asked for, turned into a refusal that says what to do.

For the actions that call Meta while the person waits (changing a display name, asking
for the green badge, QR codes): the Graph error becomes one of our
:mod:`waba_portal.errors` family, so pages show it as a message and the API answers it
with the one error body. Its ``details`` name the troubleshooting entry
(``problem``: key, title, URL) and Meta's own code and words (``meta_error``).

- Meta refused the input (code 100 and the like): ``Invalid`` on the field, with
  Meta's words;
- Meta did not answer, or throttled: ``Conflict`` ``meta_unavailable`` ("nothing was
  changed, try again"); for a call that may have reached Meta (``GraphOutcomeUnknown``)
  it says so, since the next read of Meta settles it;
- access lost and everything else: ``Conflict`` with the troubleshooting entry's title
  and explanation.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _

from accounts.tenancy import require_tenant
from senders import troubleshooting as ts
from waba_portal.errors import Conflict, Invalid, ServiceError
from waba_portal.graph import errors as ge


def _problem(key: str) -> dict[str, Any]:
    entry = ts.get(key)
    return {"code": entry.key, "title": str(entry.title), "url": entry.url(require_tenant().slug)}


def _meta_error(error: ge.GraphError) -> dict[str, Any]:
    return {
        "code": error.code,
        "subcode": error.subcode,
        "message": str(error.details or error.message or ""),
    }


def refusal_for(error: ge.GraphError, *, step: str = "", field: str | None = None) -> ServiceError:
    """The refusal to raise for ``error`` (``raise refusal_for(exc) from exc``)."""
    meta = _meta_error(error)
    if isinstance(error, ge.GraphOutcomeUnknown):
        return Conflict(
            _(
                "Meta did not answer in time, so it is not known whether the change "
                "arrived. Wait a few minutes and look again before you repeat it."
            ),
            code="meta_unavailable",
            details={"problem": _problem(ts.META_UNAVAILABLE), "meta_error": meta},
        )
    if isinstance(error, ge.GraphTransientError | ge.GraphRateLimitError):
        return Conflict(
            _("Meta did not answer; nothing was changed. Try again in a few minutes."),
            code="meta_unavailable",
            details={"problem": _problem(ts.META_UNAVAILABLE), "meta_error": meta},
        )
    key = ts.problem_for_graph_error(error, step=step)
    if isinstance(error, ge.GraphInvalidRequestError) and key == ts.UNEXPECTED:
        words = meta["message"] or _("no reason given")
        return Invalid(
            _("Meta refused it: %(reason)s") % {"reason": words},
            field=field,
            code="meta_refused",
            details={"meta_error": meta},
        )
    entry = ts.get(key)
    return Conflict(
        f"{entry.title}: {entry.explanation}",
        code=key,
        details={"problem": _problem(key), "meta_error": meta},
    )
