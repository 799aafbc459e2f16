"""The webhook POST: checked, stored and answered, from plain WSGI or from Django's view.

Meta's POSTs carry no session, no user, no language and no tenant in the URL, so
Django's middleware chain has nothing to do for them; on this endpoint it cost about as
much as our own work. :class:`WebhookIntake` wraps the WSGI application
(``waba_portal.wsgi``) and answers ``POST /webhooks/meta/`` itself, with
:func:`answer_post`; everything else, the verification GET included, goes to Django.
The Django view calls :func:`answer_post` too, so the test client, ASGI and the fast
path give the same answers.

The fast path takes only requests that Django would have handed to the view: a secure
request when ``SECURE_SSL_REDIRECT`` is on, and a host from ``ALLOWED_HOSTS``. Any
other request goes to Django, which redirects or refuses it as usual. Like Django's own
handler it sends ``request_started`` and ``request_finished``, so database connections
are kept and recycled by the same rules, and its answers carry the browser security
headers every answer of Django carries (:data:`HEADER_MIDDLEWARE`).
"""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core import signals
from django.core.handlers.wsgi import WSGIRequest
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse
from django.http.request import split_domain_port, validate_host
from django.urls import get_script_prefix, reverse
from django.utils.module_loading import import_string

from waba_portal.errors import error_body
from waba_portal.graph.webhooks import SignatureResult, check_signature
from waba_portal.webhooks import services

logger = logging.getLogger(__name__)

# PostgreSQL down: every POST meets it. Said when it starts (with the error) and when it
# ends, not with a traceback per POST; the answers are 500 meanwhile, and Meta retries.
database_outage = services.Outage(
    "webhook intake: the database is unreachable; POSTs are answered 500 (Meta delivers "
    "them again) until it is back",
    "webhook intake: the database is reachable again",
    log=logger,
)

StartResponse = Callable[..., Any]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]

# The middleware whose whole part in an answer is its browser security headers:
# nosniff, Referrer-Policy, Cross-Origin-Opener-Policy and HSTS (on secure requests),
# X-Frame-Options, Content-Security-Policy, Permissions-Policy. Those of them that
# MIDDLEWARE lists give the intake's answers exactly what they give Django's.
HEADER_MIDDLEWARE = (
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "waba_portal.security_headers.PermissionsPolicyMiddleware",
)


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    body: dict[str, Any]

    @classmethod
    def error(cls, status: int, code: str, message: str) -> Answer:
        return cls(status, error_body(code, message))

    def content(self) -> bytes:
        return json.dumps(self.body, separators=(",", ":")).encode()


def answer_post(
    *, declared_length: int, read: Callable[[int], bytes], signature: str | None
) -> Answer:
    """Check a webhook POST and store it; nothing else happens before the answer.

    ``read(n)`` returns at most ``n`` bytes of the body. Checks run in this order:
    size (413), signature (401 missing, 403 otherwise; counted, nothing stored), JSON
    (400), then the raw body is stored once (see :func:`services.delivery_store`).
    """
    limit = settings.WEBHOOK_MAX_BODY_BYTES
    if declared_length > limit:
        return _too_large(limit)
    body = read(limit + 1)
    if len(body) > limit:
        return _too_large(limit)

    result = check_signature(body, signature, settings.META_APP_SECRET)
    if result is not SignatureResult.VALID:
        services.signature_failure_count(reason=result.value)
        status = 401 if result is SignatureResult.MISSING else 403
        return Answer.error(status, f"signature_{result.value}", "X-Hub-Signature-256 is not valid")
    try:
        payload = json.loads(body)
    except ValueError:
        return Answer.error(400, "malformed_json", "the body is not JSON")
    if not isinstance(payload, dict):
        return Answer.error(400, "malformed_json", "the body is not a JSON object")

    delivery_id, created = services.delivery_store(body=body)
    return Answer(200, {"stored": created, "id": delivery_id})


def _too_large(limit: int) -> Answer:
    return Answer.error(413, "too_large", f"bodies above {limit} bytes are refused")


def declared_length(value: str | None) -> int:
    try:
        return max(int(value or 0), 0)
    except ValueError:
        return 0


class WebhookIntake:
    """WSGI middleware answering Meta's webhook POSTs without Django's request cycle."""

    def __init__(self, application: WSGIApp) -> None:
        self.application = application
        self._path: str | None = None
        # Per kind of request (secure or not), as Django's middleware reads its
        # settings: once, when the application is built.
        self._headers: dict[bool, list[tuple[str, str]]] = {}

    @property
    def path(self) -> str:
        """The endpoint's path as PATH_INFO carries it (without any SCRIPT_NAME prefix)."""
        if self._path is None:
            self._path = "/" + reverse("webhooks:meta", urlconf=None).removeprefix(
                get_script_prefix()
            )
        return self._path

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        if (
            environ.get("REQUEST_METHOD") != "POST"
            or environ.get("PATH_INFO") != self.path
            or not self._reaches_view(environ)
        ):
            return self.application(environ, start_response)

        signals.request_started.send(sender=self.__class__, environ=environ)
        try:
            answer = answer_post(
                declared_length=declared_length(environ.get("CONTENT_LENGTH")),
                read=_reader(environ),
                signature=environ.get("HTTP_X_HUB_SIGNATURE_256"),
            )
        except (InterfaceError, OperationalError):
            # Meta retries anything but a 200; the body was not stored, or was stored whole.
            database_outage.failed(exc_info=True)
            signals.got_request_exception.send(sender=self.__class__, request=None)
            answer = Answer.error(500, "server_error", "the delivery could not be stored")
        except Exception:
            logger.exception("webhook intake failed")
            signals.got_request_exception.send(sender=self.__class__, request=None)
            answer = Answer.error(500, "server_error", "the delivery could not be stored")
        else:
            if answer.status == 200:
                database_outage.succeeded()
        finally:
            signals.request_finished.send(sender=self.__class__)

        content = answer.content()
        headers = [("Content-Type", "application/json"), ("Content-Length", str(len(content)))]
        headers += self._security_headers(environ)
        start_response(f"{answer.status} {_REASONS.get(answer.status, '')}".rstrip(), headers)
        return [content]

    def _security_headers(self, environ: dict[str, Any]) -> list[tuple[str, str]]:
        """What the header middleware of MIDDLEWARE add to an answer to this request.

        They run, in their order, around an empty JSON answer to a bodiless copy of the
        request, once per kind of request (only HSTS depends on it: whether the
        request is secure); the headers they added are the intake's.
        """
        secure = _is_secure(environ)
        headers = self._headers.get(secure)
        if headers is None:
            probe = WSGIRequest({**environ, "wsgi.input": io.BytesIO(b""), "CONTENT_LENGTH": "0"})

            def empty_answer(request: HttpRequest) -> HttpResponse:
                return HttpResponse(b"", content_type="application/json")

            handler: Callable[[HttpRequest], Any] = empty_answer
            for path in reversed([m for m in settings.MIDDLEWARE if m in HEADER_MIDDLEWARE]):
                handler = import_string(path)(handler)
            added = handler(probe).headers
            headers = [
                (k, v) for k, v in added.items() if k not in {"Content-Type", "Content-Length"}
            ]
            self._headers[secure] = headers
        return headers

    @staticmethod
    def _reaches_view(environ: dict[str, Any]) -> bool:
        """Whether Django would hand this request to the view (else Django answers it)."""
        if settings.SECURE_SSL_REDIRECT and not _is_secure(environ):
            return False
        if settings.USE_X_FORWARDED_HOST and "HTTP_X_FORWARDED_HOST" in environ:
            return False
        host = environ.get("HTTP_HOST") or environ.get("SERVER_NAME", "")
        domain, _port = split_domain_port(host)
        return bool(domain) and validate_host(domain, settings.ALLOWED_HOSTS)


def _is_secure(environ: dict[str, Any]) -> bool:
    """As Django's ``request.is_secure()``: the proxy's header, when present, decides."""
    header = settings.SECURE_PROXY_SSL_HEADER
    if header:
        name, secure_value = header
        value = environ.get(name)
        if value is not None:
            return bool(value.split(",", 1)[0].strip() == secure_value)
    return environ.get("wsgi.url_scheme") == "https"


def _reader(environ: dict[str, Any]) -> Callable[[int], bytes]:
    """``read(n)`` on the request body, never past its Content-Length.

    As Django's request does: a body without a Content-Length reads as empty (and so
    fails its signature), and a read never waits for bytes past the declared length.
    """
    stream = environ["wsgi.input"]
    remaining = declared_length(environ.get("CONTENT_LENGTH"))

    def read(size: int) -> bytes:
        nonlocal remaining
        chunk = stream.read(min(size, remaining)) if remaining > 0 else b""
        remaining -= len(chunk)
        return chunk  # type: ignore[no-any-return]

    return read


_REASONS = {
    200: "OK",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    413: "Request Entity Too Large",
    500: "Internal Server Error",
}
