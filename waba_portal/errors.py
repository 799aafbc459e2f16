"""The one family of errors that services raise when they refuse an action.

A service says no by raising one of these; it never returns a flag and never raises
Django's ``PermissionDenied`` or ``Http404`` itself. Each error carries a stable
``code`` (for programs) and a ``message`` that a person can act on, already translated
into the active language by the service (``gettext``). They are turned into answers in
exactly two places:

- the REST API: ``waba_portal.api.exception_handler`` answers ``error_body(...)`` with
  the error's HTTP ``status``;
- pages: ``waba_portal.middleware.ServiceErrorMiddleware`` answers ``NotAllowed`` with
  the 403 page, ``NotFound`` with the 404 page, and the others with a flash message and
  a redirect back to the page the user came from.

Views therefore call services without ``try``; only a view that shows the error beside
a form field catches it (``form_add_error``).

Every JSON error the product answers, from the API, a page's JSON endpoint, the
middleware or the webhook intake, has the shape ``error_body()`` builds.
"""

from __future__ import annotations

from typing import Any, TypeVar

from django.core.exceptions import ValidationError
from django.db.models import Model, QuerySet
from django.utils.text import capfirst
from django.utils.translation import gettext as _

M = TypeVar("M", bound=Model)


class ServiceError(Exception):
    """A business rule refused the action. ``message`` says what to do instead."""

    code = "invalid"
    status = 400

    def __init__(
        self,
        message: str,
        *,
        field: str | None = None,
        code: str | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        if code is not None:
            self.code = code
        self.details = dict(details or {})

    def body(self) -> dict[str, Any]:
        details = dict(self.details)
        if self.field and "fields" not in details:
            details["fields"] = {self.field: [self.message]}
        return error_body(self.code, self.message, details)


class Invalid(ServiceError):
    """The input breaks a rule; ``field`` names the field to fix, when there is one."""

    code = "invalid"
    status = 400


class NotAllowed(ServiceError):
    """The actor's role does not allow this action."""

    code = "permission_denied"
    status = 403


class NotFound(ServiceError):
    """No such object for this tenant: a missing and a foreign object alike."""

    code = "not_found"
    status = 404


class Conflict(ServiceError):
    """The object's current state does not allow the action (retry after it changes)."""

    code = "conflict"
    status = 409


def error_body(code: str, message: str, details: Any = None) -> dict[str, Any]:
    """The JSON body of every error answer: ``{"error": {"code", "message", "details"}}``."""
    return {"error": {"code": code, "message": str(message), "details": details or {}}}


def form_add_error(form: Any, exc: ServiceError) -> None:
    """Show a refusal beside the form field it names (or above the form)."""
    form.add_error(exc.field if exc.field in form.fields else None, exc.message)


def get_or_not_found(queryset: QuerySet[M], **lookup: Any) -> M:
    """The one row of ``queryset`` matching ``lookup``, else :class:`NotFound`.

    Start ``queryset`` from the tenant (or a scoped manager): a missing id, another
    tenant's id and a malformed id ("abc" for an integer) then answer the same.
    """
    try:
        obj = queryset.filter(**lookup).first()
    except (ValueError, TypeError, ValidationError, OverflowError):
        obj = None
    if obj is None:
        raise NotFound(_not_found_message(queryset.model))
    return obj


def _not_found_message(model: type[Model]) -> str:
    return _("%(thing)s not found.") % {"thing": capfirst(str(model._meta.verbose_name))}
