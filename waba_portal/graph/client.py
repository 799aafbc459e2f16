"""The one module that speaks HTTP to Meta's Graph API.

``GraphClient`` wraps a ``requests.Session`` with:

* base URL and version from Django settings (:meth:`GraphClient.from_settings`) or from
  explicit arguments, connect and read timeouts on every call;
* ``Authorization: Bearer <token>`` per call (client token, or ``token=`` per call);
* every failure turned into a typed :mod:`waba_portal.graph.errors` exception;
* a stated :class:`~waba_portal.graph.retry.RetryPolicy`; each operation says whether it
  is idempotent (see the ``idempotent=`` argument of each call below), and a
  non-idempotent call whose request may have reached Meta raises
  :class:`~waba_portal.graph.errors.GraphOutcomeUnknown` instead of being re-sent;
* one log line per HTTP attempt on logger ``waba_portal.graph`` with method, path
  (secrets redacted), status, duration, fbtrace_id and attempt number. Request and
  response bodies are never logged.

Idempotency of POST operations (decided here, per operation):

=========================================  ===========  ==================================
operation                                  idempotent   why
=========================================  ===========  ==================================
waba_update, business_profile_update        yes          sets values; repeating is harmless
subscribed_apps_subscribe                   yes          subscribing twice is a no-op
mark_read                                   yes          marking read twice is harmless
resumable upload (session, bytes @0)        yes          an extra session/offset-0 upload
                                                         has no visible effect
send_message and helpers                    no           a retry may deliver twice
phone_number_add, template_create,          no           creates a second object / counts
qr_code_create, media_upload                             against a limit
request_code, verify_code                   no           sends an SMS/call; codes are single
                                                         use
register, deregister                        no           10 per 72 h (error 133016)
phone_number_update, template_edit,         no           triggers a review / edits limited
official_business_account_request                        per period
=========================================  ===========  ==================================
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import requests
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError

from .errors import (
    GraphConnectionError,
    GraphError,
    GraphInvalidRequestError,
    GraphOutcomeUnknown,
    GraphTransientError,
    PaginationLimitExceeded,
    error_from_envelope,
    error_from_response,
)
from .redact import redact
from .retry import DEFAULT_RETRY_POLICY, RetryPolicy

__all__ = [
    "DEFAULT_BASE_URL",
    "DEFAULT_VERSION",
    "GraphClient",
    "SendResult",
    "TokenInfo",
]

logger = logging.getLogger("waba_portal.graph")

DEFAULT_BASE_URL = "https://graph.facebook.com"
DEFAULT_VERSION = "v23.0"
USER_AGENT = "waba-portal-graph/1.0"
_IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "DELETE"})

Fields = str | Iterable[str] | None


@dataclass(frozen=True)
class SendResult:
    """The answer to a message send: Meta's message id (``wamid…``) and the recipient."""

    message_id: str
    wa_id: str | None
    input: str | None
    message_status: str | None
    raw: dict[str, Any] = field(repr=False)

    @classmethod
    def from_response(cls, body: Mapping[str, Any]) -> SendResult:
        messages = body.get("messages") or []
        contacts = body.get("contacts") or []
        if not messages or not isinstance(messages[0], dict) or not messages[0].get("id"):
            raise GraphInvalidRequestError(
                "Send response has no message id", raw=dict(body), http_status=200
            )
        first_contact = contacts[0] if contacts and isinstance(contacts[0], dict) else {}
        return cls(
            message_id=str(messages[0]["id"]),
            wa_id=first_contact.get("wa_id"),
            input=first_contact.get("input"),
            message_status=messages[0].get("message_status"),
            raw=dict(body),
        )


def _ts(value: Any) -> datetime | None:
    if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
        return datetime.fromtimestamp(value, tz=UTC)
    return None


@dataclass(frozen=True)
class TokenInfo:
    """Parsed ``debug_token`` answer. ``waba_ids`` are the WABAs the token was granted."""

    app_id: str | None
    type: str | None
    is_valid: bool
    expires_at: datetime | None
    data_access_expires_at: datetime | None
    scopes: tuple[str, ...]
    granular_scopes: tuple[dict[str, Any], ...]
    user_id: str | None
    raw: dict[str, Any] = field(repr=False)

    @classmethod
    def from_response(cls, body: Mapping[str, Any]) -> TokenInfo:
        data = body.get("data")
        if not isinstance(data, dict):
            raise GraphInvalidRequestError("debug_token response has no data", http_status=200)
        return cls(
            app_id=str(data["app_id"]) if data.get("app_id") is not None else None,
            type=data.get("type"),
            is_valid=bool(data.get("is_valid")),
            expires_at=_ts(data.get("expires_at")),
            data_access_expires_at=_ts(data.get("data_access_expires_at")),
            scopes=tuple(data.get("scopes") or ()),
            granular_scopes=tuple(
                g for g in data.get("granular_scopes") or () if isinstance(g, dict)
            ),
            user_id=str(data["user_id"]) if data.get("user_id") is not None else None,
            raw=redact(dict(body)),
        )

    def target_ids(self, scope: str) -> list[str]:
        ids: list[str] = []
        for grant in self.granular_scopes:
            if grant.get("scope") == scope:
                ids.extend(str(t) for t in grant.get("target_ids") or ())
        return ids

    @property
    def waba_ids(self) -> list[str]:
        seen: dict[str, None] = {}
        for scope in ("whatsapp_business_management", "whatsapp_business_messaging"):
            for target in self.target_ids(scope):
                seen.setdefault(target, None)
        return list(seen)


def _join_fields(fields: Fields) -> str | None:
    if fields is None:
        return None
    if isinstance(fields, str):
        return fields
    return ",".join(fields)


def _encode_param(value: Any) -> Any:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list | tuple):
        return json.dumps(value, separators=(",", ":"))
    return value


def _drop_none(mapping: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in mapping.items() if v is not None}


def _never_sent(exc: requests.exceptions.ConnectionError) -> bool:
    """True when the connection could not be opened, so no byte of the request left."""
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return True
    seen: set[int] = set()
    stack: list[Any] = [exc]
    while stack:
        cur = stack.pop()
        if cur is None or id(cur) in seen:
            continue
        seen.add(id(cur))
        if isinstance(cur, NewConnectionError | ConnectTimeoutError | ConnectionRefusedError):
            return True
        stack.extend(getattr(cur, "args", ()))
        stack.append(getattr(cur, "reason", None))
        stack.append(cur.__cause__ if isinstance(cur, BaseException) else None)
    return False


class GraphClient:
    """Client for Meta's Graph API (WhatsApp Business Management and Cloud API).

    Construct with explicit arguments, or with :meth:`from_settings` inside Django.
    ``token`` is the default access token; every operation also takes ``token=``.
    """

    def __init__(
        self,
        *,
        token: str | None = None,
        base_url: str = DEFAULT_BASE_URL,
        version: str = DEFAULT_VERSION,
        connect_timeout: float = 5.0,
        read_timeout: float = 30.0,
        app_id: str | None = None,
        app_secret: str | None = None,
        retry_policy: RetryPolicy = DEFAULT_RETRY_POLICY,
        session: requests.Session | None = None,
        max_pages: int = 500,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not version.startswith("v"):
            raise ValueError(f"Graph API version must look like v23.0, got {version!r}")
        if connect_timeout <= 0 or read_timeout <= 0:
            raise ValueError("Graph API timeouts must be positive")
        self.token = token
        self.base_url = base_url.rstrip("/")
        self.version = version
        self.connect_timeout = float(connect_timeout)
        self.read_timeout = float(read_timeout)
        self.app_id = app_id
        self.app_secret = app_secret
        self.retry_policy = retry_policy
        self.max_pages = max_pages
        self._sleep = sleep
        if session is None:
            session = requests.Session()
            session.headers["User-Agent"] = USER_AGENT
        self.session = session

    @classmethod
    def from_settings(cls, token: str | None = None, **overrides: Any) -> GraphClient:
        """A client configured from Django settings (``GRAPH_API_*``, ``META_APP_*``)."""
        from django.conf import settings

        kwargs: dict[str, Any] = {
            "token": token,
            "base_url": getattr(settings, "GRAPH_API_BASE_URL", DEFAULT_BASE_URL),
            "version": getattr(settings, "GRAPH_API_VERSION", DEFAULT_VERSION),
            "connect_timeout": getattr(settings, "GRAPH_API_CONNECT_TIMEOUT", 5.0),
            "read_timeout": getattr(settings, "GRAPH_API_READ_TIMEOUT", 30.0),
            "app_id": getattr(settings, "META_APP_ID", None) or None,
            "app_secret": getattr(settings, "META_APP_SECRET", None) or None,
        }
        kwargs.update(overrides)
        return cls(**kwargs)

    def __repr__(self) -> str:
        return f"GraphClient(base_url={self.base_url!r}, version={self.version!r})"

    def close(self) -> None:
        self.session.close()

    def __enter__(self) -> GraphClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # ------------------------------------------------------------------ transport

    @property
    def graph_url(self) -> str:
        return f"{self.base_url}/{self.version}"

    def url(self, path: str) -> str:
        """Absolute URL for a Graph path (``"123/phone_numbers"``) or an absolute URL."""
        if path.startswith(("http://", "https://")):
            return path
        return f"{self.graph_url}/{path.lstrip('/')}"

    def _secrets(self, token: str | None, extra: Iterable[str]) -> tuple[str, ...]:
        values = [self.token, token, self.app_secret, *extra]
        return tuple(v for v in values if v)

    def _log_path(
        self, url: str, params: Mapping[str, Any] | None, secrets: tuple[str, ...]
    ) -> str:
        parts = urlsplit(url)
        path = parts.path
        query = parts.query
        if params:
            extra = "&".join(f"{k}={v}" for k, v in params.items())
            query = f"{query}&{extra}" if query else extra
        text = f"{path}?{query}" if query else path
        return redact(text, secrets=secrets)

    def request_raw(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json_body: Any = None,
        data: Any = None,
        files: Any = None,
        headers: Mapping[str, str] | None = None,
        token: str | None = None,
        auth_scheme: str = "Bearer",
        idempotent: bool | None = None,
        fields: Fields = None,
        secrets: Iterable[str] = (),
    ) -> requests.Response:
        """Send one logical call (with retries) and return the successful response.

        Raises a :class:`GraphError` subclass for anything but a 2xx answer.
        """
        method = method.upper()
        if idempotent is None:
            idempotent = method in _IDEMPOTENT_METHODS
        url = self.url(path)
        query: dict[str, Any] = {
            k: _encode_param(v) for k, v in (params or {}).items() if v is not None
        }
        joined = _join_fields(fields)
        if joined:
            query["fields"] = joined
        send_headers = dict(headers or {})
        # token=None: the client's token; token="": send no Authorization header.
        use_token = token if token is not None else self.token
        if use_token:
            send_headers["Authorization"] = f"{auth_scheme} {use_token}"
        all_secrets = self._secrets(use_token, secrets)
        log_path = self._log_path(url, query, all_secrets)

        attempt = 0
        while True:
            attempt += 1
            started = time.monotonic()
            status: int | None = None
            fbtrace: str | None = None
            exc: GraphError | None = None
            response: requests.Response | None = None
            try:
                response = self.session.request(
                    method,
                    url,
                    params=query or None,
                    json=json_body,
                    data=data,
                    files=files,
                    headers=send_headers,
                    timeout=(self.connect_timeout, self.read_timeout),
                )
            except requests.exceptions.RequestException as err:
                exc = self._network_error(err, method, log_path, idempotent=idempotent)
            else:
                status = response.status_code
                fbtrace = response.headers.get("x-fb-trace-id")
                exc = self._response_error(
                    response, method, log_path, idempotent=idempotent, secrets=all_secrets
                )
                if exc is not None and exc.fbtrace_id:
                    fbtrace = exc.fbtrace_id
            duration_ms = int((time.monotonic() - started) * 1000)
            self._log(method, log_path, status, duration_ms, fbtrace, attempt, exc)
            if exc is None:
                assert response is not None
                return response
            if not self.retry_policy.should_retry(exc, attempt=attempt, idempotent=idempotent):
                raise exc
            self._sleep(self.retry_policy.delay(attempt, exc.retry_after))

    def _network_error(
        self, err: requests.exceptions.RequestException, method: str, path: str, *, idempotent: bool
    ) -> GraphError:
        timeout = isinstance(err, requests.exceptions.Timeout)
        if isinstance(err, requests.exceptions.ConnectionError) and _never_sent(err):
            return GraphConnectionError(
                f"Could not connect to the Graph API ({type(err).__name__})",
                request_sent=False,
                timeout=timeout,
                method=method,
                path=path,
            )
        if isinstance(
            err,
            requests.exceptions.ConnectionError
            | requests.exceptions.ChunkedEncodingError
            | requests.exceptions.ContentDecodingError
            | requests.exceptions.Timeout,
        ):
            what = "timed out waiting for" if timeout else "lost the connection before"
            if not idempotent:
                return GraphOutcomeUnknown(
                    f"Graph API call {what} a response; it may have taken effect",
                    timeout=timeout,
                    method=method,
                    path=path,
                )
            return GraphConnectionError(
                f"Graph API call {what} a response",
                request_sent=True,
                timeout=timeout,
                method=method,
                path=path,
            )
        return GraphError(
            f"Graph API request failed ({type(err).__name__})", method=method, path=path
        )

    def _response_error(
        self,
        response: requests.Response,
        method: str,
        path: str,
        *,
        idempotent: bool,
        secrets: tuple[str, ...],
    ) -> GraphError | None:
        headers = dict(response.headers)
        if 200 <= response.status_code < 300:
            ctype = response.headers.get("Content-Type", "")
            if "json" in ctype or ctype.startswith("text/javascript"):
                try:
                    body = response.json()
                except ValueError:
                    msg = "Graph API answered 2xx with an unreadable JSON body"
                    if idempotent:
                        return GraphTransientError(
                            msg, http_status=response.status_code, method=method, path=path
                        )
                    return GraphOutcomeUnknown(
                        msg,
                        timeout=False,
                        http_status=response.status_code,
                        method=method,
                        path=path,
                    )
                if isinstance(body, dict) and isinstance(body.get("error"), dict):
                    return error_from_envelope(
                        body,
                        http_status=response.status_code,
                        headers=headers,
                        method=method,
                        path=path,
                        secrets=secrets,
                    )
            return None
        return error_from_response(
            response.status_code,
            response.content,
            headers,
            method=method,
            path=path,
            secrets=secrets,
        )

    def _log(
        self,
        method: str,
        path: str,
        status: int | None,
        duration_ms: int,
        fbtrace: str | None,
        attempt: int,
        exc: GraphError | None,
    ) -> None:
        extra = {
            "graph_method": method,
            "graph_path": path,
            "graph_status": status,
            "graph_duration_ms": duration_ms,
            "graph_fbtrace_id": fbtrace,
            "graph_attempt": attempt,
            "graph_error_code": exc.code if exc else None,
        }
        if exc is None:
            logger.info(
                "graph %s %s status=%s duration_ms=%d fbtrace_id=%s attempt=%d",
                method,
                path,
                status,
                duration_ms,
                fbtrace,
                attempt,
                extra=extra,
            )
        else:
            logger.warning(
                "graph %s %s status=%s duration_ms=%d fbtrace_id=%s attempt=%d "
                "error=%s code=%s subcode=%s",
                method,
                path,
                status,
                duration_ms,
                fbtrace,
                attempt,
                type(exc).__name__,
                exc.code,
                exc.subcode,
                extra=extra,
            )

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json_body: Any = None,
        query_body: Mapping[str, Any] | None = None,
        data: Any = None,
        files: Any = None,
        headers: Mapping[str, str] | None = None,
        token: str | None = None,
        auth_scheme: str = "Bearer",
        idempotent: bool | None = None,
        fields: Fields = None,
        secrets: Iterable[str] = (),
    ) -> dict[str, Any]:
        """One call returning the decoded JSON object.

        POST parameters go as a JSON body (``json_body``) or, like Meta's reference
        examples for request_code/verify_code, in the query string (``query_body``).
        """
        merged: dict[str, Any] = dict(params or {})
        if query_body:
            merged.update(query_body)
        response = self.request_raw(
            method,
            path,
            params=merged,
            json_body=json_body,
            data=data,
            files=files,
            headers=headers,
            token=token,
            auth_scheme=auth_scheme,
            idempotent=idempotent,
            fields=fields,
            secrets=secrets,
        )
        if not response.content:
            return {}
        try:
            body = response.json()
        except ValueError as err:
            raise GraphInvalidRequestError(
                "Graph API answered 2xx with a non-JSON body",
                http_status=response.status_code,
                method=method.upper(),
            ) from err
        if isinstance(body, dict):
            return body
        return {"data": body}

    def get(self, path: str, **kw: Any) -> dict[str, Any]:
        return self.request("GET", path, **kw)

    def post(self, path: str, **kw: Any) -> dict[str, Any]:
        return self.request("POST", path, **kw)

    def delete(self, path: str, **kw: Any) -> dict[str, Any]:
        return self.request("DELETE", path, **kw)

    def iter_pages(
        self,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        fields: Fields = None,
        limit: int | None = None,
        token: str | None = None,
        max_pages: int | None = None,
    ) -> Iterator[dict[str, Any]]:
        """Yield each page (``{"data": [...], "paging": {...}}``) of a cursor listing.

        Follows ``paging.cursors.after`` (re-sending the same query with ``after=``) while
        ``paging.next`` is present; falls back to ``paging.next`` when there is no cursor,
        but only on this client's own host. Stops on an empty page or a repeated cursor;
        raises :class:`PaginationLimitExceeded` beyond ``max_pages``.
        """
        bound = max_pages or self.max_pages
        base_params: dict[str, Any] = dict(params or {})
        if limit is not None:
            base_params["limit"] = limit
        seen_cursors: set[str] = set()
        next_url: str | None = None
        cursor: str | None = None
        pages = 0
        while True:
            if pages >= bound:
                raise PaginationLimitExceeded(
                    f"Listing {path} has more than {bound} pages", path=path, method="GET"
                )
            if next_url is not None:
                page = self.request("GET", next_url, token=token)
            else:
                call_params = dict(base_params)
                if cursor is not None:
                    call_params["after"] = cursor
                page = self.request("GET", path, params=call_params, fields=fields, token=token)
            pages += 1
            yield page
            data = page.get("data")
            paging = page.get("paging")
            if not data or not isinstance(paging, dict) or not paging.get("next"):
                return
            cursors = paging.get("cursors")
            after = cursors.get("after") if isinstance(cursors, dict) else None
            if after:
                if after in seen_cursors:
                    return
                seen_cursors.add(after)
                cursor, next_url = str(after), None
            else:
                nxt = str(paging["next"])
                if urlsplit(nxt).netloc != urlsplit(self.base_url).netloc:
                    # The URL carries an access token: name its host only.
                    raise GraphError(
                        "Refusing to follow paging.next to another host: "
                        f"{urlsplit(nxt).hostname!r}"
                    )
                if nxt in seen_cursors:
                    return
                seen_cursors.add(nxt)
                next_url = nxt

    def paginate(
        self,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        fields: Fields = None,
        limit: int | None = None,
        token: str | None = None,
        max_pages: int | None = None,
    ) -> Iterator[dict[str, Any]]:
        """Yield every item of every page of a cursor listing."""
        for page in self.iter_pages(
            path, params=params, fields=fields, limit=limit, token=token, max_pages=max_pages
        ):
            yield from page.get("data") or ()

    @staticmethod
    def _ok(body: dict[str, Any]) -> dict[str, Any]:
        if body.get("success") is False:
            raise GraphInvalidRequestError("Graph API answered success=false", raw=body)
        return body

    # ------------------------------------------------------------------ OAuth / tokens

    def _require_app(self) -> tuple[str, str]:
        if not self.app_id or not self.app_secret:
            raise ValueError("This call needs app_id and app_secret")
        return self.app_id, self.app_secret

    def exchange_code(self, code: str, *, redirect_uri: str | None = None) -> dict[str, Any]:
        """Embedded Signup: exchange the short-lived OAuth code for a business token.

        ``GET /oauth/access_token?client_id&client_secret&code`` →
        ``{"access_token", "token_type"}``. Idempotent at HTTP level (a GET), but codes
        are single use: a retried exchange after a lost response fails with code 100.
        """
        app_id, app_secret = self._require_app()
        return self.request(
            "GET",
            "oauth/access_token",
            params=_drop_none(
                {
                    "client_id": app_id,
                    "client_secret": app_secret,
                    "code": code,
                    "redirect_uri": redirect_uri,
                }
            ),
            token="",
            secrets=(code,),
        )

    def app_access_token(self) -> dict[str, Any]:
        """``GET /oauth/access_token?grant_type=client_credentials`` → the app token."""
        app_id, app_secret = self._require_app()
        return self.request(
            "GET",
            "oauth/access_token",
            params={
                "grant_type": "client_credentials",
                "client_id": app_id,
                "client_secret": app_secret,
            },
            token="",
        )

    def debug_token(self, input_token: str, *, token: str | None = None) -> TokenInfo:
        """Inspect a token; authenticated with ``token``, the client token, or the app
        token ``APP_ID|APP_SECRET``."""
        auth = token if token is not None else self.token
        if not auth:
            app_id, app_secret = self._require_app()
            auth = f"{app_id}|{app_secret}"
        body = self.request(
            "GET",
            "debug_token",
            params={"input_token": input_token},
            token=auth,
            secrets=(input_token,),
        )
        return TokenInfo.from_response(body)

    # ------------------------------------------------------------------ WABA

    def waba_get(
        self, waba_id: str, *, fields: Fields = None, token: str | None = None
    ) -> dict[str, Any]:
        return self.get(waba_id, fields=fields, token=token)

    def waba_update(
        self,
        waba_id: str,
        *,
        name: str | None = None,
        timezone_id: str | None = None,
        token: str | None = None,
    ) -> dict[str, Any]:
        body = _drop_none({"name": name, "timezone_id": timezone_id})
        return self._ok(self.post(waba_id, json_body=body, token=token, idempotent=True))

    def subscribed_apps_list(
        self, waba_id: str, *, token: str | None = None
    ) -> list[dict[str, Any]]:
        """Apps subscribed to the WABA's webhooks (items usually wrap
        ``whatsapp_business_api_data``)."""
        return list(self.paginate(f"{waba_id}/subscribed_apps", token=token))

    def subscribed_apps_subscribe(
        self,
        waba_id: str,
        *,
        override_callback_uri: str | None = None,
        verify_token: str | None = None,
        token: str | None = None,
    ) -> dict[str, Any]:
        body = _drop_none(
            {"override_callback_uri": override_callback_uri, "verify_token": verify_token}
        )
        return self._ok(
            self.post(
                f"{waba_id}/subscribed_apps",
                json_body=body or None,
                token=token,
                idempotent=True,
                secrets=(verify_token,) if verify_token else (),
            )
        )

    def subscribed_apps_unsubscribe(
        self, waba_id: str, *, token: str | None = None
    ) -> dict[str, Any]:
        return self._ok(self.delete(f"{waba_id}/subscribed_apps", token=token))

    def credit_line_attach(
        self, credit_line_id: str, waba_id: str, currency: str, *, token: str | None = None
    ) -> dict[str, Any]:
        """Solution partners: share the extended credit line with a client WABA.

        ``POST /{credit_line_id}/whatsapp_credit_sharing_and_attach`` with ``waba_id`` and
        ``waba_currency`` in the query → ``{"allocation_config_id", "waba_id"}``. Meta
        answers with the same allocation when it is attached already, so it is retried.
        """
        return self.post(
            f"{credit_line_id}/whatsapp_credit_sharing_and_attach",
            query_body={"waba_id": waba_id, "waba_currency": currency},
            token=token,
            idempotent=True,
        )

    def health_status(self, node_id: str, *, token: str | None = None) -> dict[str, Any]:
        """``health_status`` of a WABA, phone number or template node."""
        body = self.get(node_id, fields="health_status", token=token)
        health = body.get("health_status")
        return health if isinstance(health, dict) else {}

    # ------------------------------------------------------------------ phone numbers

    def phone_numbers_list(
        self,
        waba_id: str,
        *,
        fields: Fields = None,
        limit: int | None = None,
        filtering: list[dict[str, Any]] | None = None,
        sort: str | None = None,
        token: str | None = None,
    ) -> Iterator[dict[str, Any]]:
        """Every phone number of the WABA, across all pages."""
        return self.paginate(
            f"{waba_id}/phone_numbers",
            params=_drop_none({"filtering": filtering, "sort": sort}),
            fields=fields,
            limit=limit,
            token=token,
        )

    def phone_number_add(
        self,
        waba_id: str,
        *,
        cc: str,
        phone_number: str,
        verified_name: str,
        token: str | None = None,
    ) -> dict[str, Any]:
        """Add a number to the WABA → ``{"id": "<PHONE_NUMBER_ID>"}``. Not idempotent."""
        body = {"cc": cc, "phone_number": phone_number, "verified_name": verified_name}
        return self.post(f"{waba_id}/phone_numbers", json_body=body, token=token, idempotent=False)

    def phone_number_get(
        self, phone_number_id: str, *, fields: Fields = None, token: str | None = None
    ) -> dict[str, Any]:
        return self.get(phone_number_id, fields=fields, token=token)

    def phone_number_update(
        self,
        phone_number_id: str,
        *,
        pin: str | None = None,
        new_display_name: str | None = None,
        token: str | None = None,
        **extra: Any,
    ) -> dict[str, Any]:
        """Set the two-step PIN and/or request a display-name change (and other fields of
        ``updatePhoneNumberStatus`` via ``extra``)."""
        body = _drop_none({"pin": pin, "new_display_name": new_display_name, **extra})
        if not body:
            raise ValueError("phone_number_update needs at least one field")
        return self._ok(
            self.post(
                phone_number_id,
                json_body=body,
                token=token,
                idempotent=False,
                secrets=(pin,) if pin else (),
            )
        )

    def request_code(
        self,
        phone_number_id: str,
        *,
        code_method: str = "SMS",
        language: str = "en_US",
        token: str | None = None,
    ) -> dict[str, Any]:
        """Ask Meta to send a 6-digit code by ``SMS`` or ``VOICE``. Not idempotent."""
        if code_method not in ("SMS", "VOICE"):
            raise ValueError("code_method must be 'SMS' or 'VOICE'")
        return self._ok(
            self.post(
                f"{phone_number_id}/request_code",
                json_body={"code_method": code_method, "language": language},
                token=token,
                idempotent=False,
            )
        )

    def verify_code(
        self, phone_number_id: str, code: str, *, token: str | None = None
    ) -> dict[str, Any]:
        """Confirm the code received by SMS/voice. Not idempotent (codes are single use)."""
        return self._ok(
            self.post(
                f"{phone_number_id}/verify_code",
                json_body={"code": code},
                token=token,
                idempotent=False,
                secrets=(code,),
            )
        )

    def register(
        self,
        phone_number_id: str,
        pin: str,
        *,
        data_localization_region: str | None = None,
        token: str | None = None,
    ) -> dict[str, Any]:
        """Register the number on Cloud API with its two-step PIN. Not idempotent: each
        call counts toward 10 per 72 h (133016)."""
        body = _drop_none(
            {
                "messaging_product": "whatsapp",
                "pin": pin,
                "data_localization_region": data_localization_region,
            }
        )
        return self._ok(
            self.post(
                f"{phone_number_id}/register",
                json_body=body,
                token=token,
                idempotent=False,
                secrets=(pin,),
            )
        )

    def deregister(self, phone_number_id: str, *, token: str | None = None) -> dict[str, Any]:
        return self._ok(self.post(f"{phone_number_id}/deregister", token=token, idempotent=False))

    # ------------------------------------------------------------------ business profile

    PROFILE_FIELDS: tuple[str, ...] = (
        "about",
        "address",
        "description",
        "email",
        "profile_picture_url",
        "websites",
        "vertical",
        "messaging_product",
    )

    def business_profile_get(
        self, phone_number_id: str, *, fields: Fields = None, token: str | None = None
    ) -> dict[str, Any]:
        """The business profile, flat (``data[0]``; the spec's ``business_profile``
        wrapper is unwrapped too)."""
        body = self.get(
            f"{phone_number_id}/whatsapp_business_profile",
            fields=fields if fields is not None else self.PROFILE_FIELDS,
            token=token,
        )
        data = body.get("data")
        first = data[0] if isinstance(data, list) and data and isinstance(data[0], dict) else {}
        wrapped = first.get("business_profile")
        if isinstance(wrapped, dict):
            return {**{k: v for k, v in first.items() if k != "business_profile"}, **wrapped}
        return first

    def business_profile_update(
        self,
        phone_number_id: str,
        *,
        about: str | None = None,
        address: str | None = None,
        description: str | None = None,
        email: str | None = None,
        websites: list[str] | None = None,
        vertical: str | None = None,
        profile_picture_handle: str | None = None,
        token: str | None = None,
    ) -> dict[str, Any]:
        body = _drop_none(
            {
                "messaging_product": "whatsapp",
                "about": about,
                "address": address,
                "description": description,
                "email": email,
                "websites": websites,
                "vertical": vertical,
                "profile_picture_handle": profile_picture_handle,
            }
        )
        return self._ok(
            self.post(
                f"{phone_number_id}/whatsapp_business_profile",
                json_body=body,
                token=token,
                idempotent=True,
            )
        )

    def resumable_upload(
        self,
        data: bytes,
        mime_type: str,
        *,
        file_name: str | None = None,
        token: str | None = None,
    ) -> str:
        """Upload a file with Meta's Resumable Upload API and return its handle (``h``).

        1. ``POST /{app-id}/uploads?file_length&file_type[&file_name]`` →
           ``{"id": "upload:…"}``
        2. ``POST /{upload-session}`` with ``Authorization: OAuth <token>``,
           ``file_offset: 0`` and the bytes → ``{"h": "<handle>"}``
        """
        if not self.app_id:
            raise ValueError("resumable_upload needs app_id")
        session = self.post(
            f"{self.app_id}/uploads",
            params=_drop_none(
                {"file_length": len(data), "file_type": mime_type, "file_name": file_name}
            ),
            token=token,
            idempotent=True,
        )
        upload_id = session.get("id")
        if not isinstance(upload_id, str) or not upload_id:
            raise GraphInvalidRequestError("Upload session response has no id", raw=session)
        result = self.post(
            upload_id,
            data=data,
            headers={"file_offset": "0", "Content-Type": "application/octet-stream"},
            token=token,
            auth_scheme="OAuth",
            idempotent=True,
        )
        handle = result.get("h")
        if not isinstance(handle, str) or not handle:
            raise GraphInvalidRequestError("Upload response has no handle", raw=result)
        return handle

    def upload_profile_picture(
        self,
        phone_number_id: str,
        data: bytes,
        mime_type: str,
        *,
        file_name: str | None = None,
        token: str | None = None,
    ) -> str:
        """Upload a profile picture and set it on the business profile; returns the handle."""
        handle = self.resumable_upload(data, mime_type, file_name=file_name, token=token)
        self.business_profile_update(phone_number_id, profile_picture_handle=handle, token=token)
        return handle

    # ------------------------------------------------------------------ OBA, QR codes

    def official_business_account_get(
        self, phone_number_id: str, *, fields: Fields = None, token: str | None = None
    ) -> dict[str, Any]:
        return self.get(
            f"{phone_number_id}/official_business_account",
            fields=fields if fields is not None else ("oba_status", "status_message"),
            token=token,
        )

    def official_business_account_request(
        self,
        phone_number_id: str,
        *,
        action: str = "SUBMIT_APPLICATION",
        application_data: Mapping[str, Any] | None = None,
        token: str | None = None,
        **extra: Any,
    ) -> dict[str, Any]:
        """Request (or withdraw/resubmit) the green check. The spec's body is
        ``{action, application_data}``; Meta's real fields may be passed via ``extra``."""
        body = _drop_none(
            {
                "action": action,
                "application_data": dict(application_data) if application_data else None,
                **extra,
            }
        )
        return self.post(
            f"{phone_number_id}/official_business_account",
            json_body=body,
            token=token,
            idempotent=False,
        )

    def qr_codes_list(
        self, phone_number_id: str, *, fields: Fields = None, token: str | None = None
    ) -> Iterator[dict[str, Any]]:
        return self.paginate(f"{phone_number_id}/message_qrdls", fields=fields, token=token)

    def qr_code_create(
        self,
        phone_number_id: str,
        prefilled_message: str,
        *,
        generate_qr_image: str | None = "PNG",
        token: str | None = None,
    ) -> dict[str, Any]:
        body = _drop_none(
            {"prefilled_message": prefilled_message, "generate_qr_image": generate_qr_image}
        )
        return self.post(
            f"{phone_number_id}/message_qrdls", json_body=body, token=token, idempotent=False
        )

    def qr_code_update(
        self, phone_number_id: str, code: str, prefilled_message: str, *, token: str | None = None
    ) -> dict[str, Any]:
        body = {"code": code, "prefilled_message": prefilled_message}
        return self.post(
            f"{phone_number_id}/message_qrdls", json_body=body, token=token, idempotent=True
        )

    def qr_code_delete(
        self, phone_number_id: str, code: str, *, token: str | None = None
    ) -> dict[str, Any]:
        return self._ok(self.delete(f"{phone_number_id}/message_qrdls/{code}", token=token))

    # ------------------------------------------------------------------ templates

    def templates_list(
        self,
        waba_id: str,
        *,
        fields: Fields = None,
        limit: int | None = None,
        token: str | None = None,
        **filters: Any,
    ) -> Iterator[dict[str, Any]]:
        """Every template of the WABA, across pages; ``filters`` are query parameters
        such as ``name``, ``status``, ``category``, ``language``."""
        return self.paginate(
            f"{waba_id}/message_templates",
            params=_drop_none(filters),
            fields=fields,
            limit=limit,
            token=token,
        )

    def template_get(
        self, template_id: str, *, fields: Fields = None, token: str | None = None
    ) -> dict[str, Any]:
        return self.get(template_id, fields=fields, token=token)

    def template_create(
        self,
        waba_id: str,
        *,
        name: str,
        language: str,
        category: str,
        components: list[dict[str, Any]],
        parameter_format: str | None = None,
        message_send_ttl_seconds: int | None = None,
        allow_category_change: bool | None = None,
        token: str | None = None,
        **extra: Any,
    ) -> dict[str, Any]:
        """Submit a template for review → ``{"id", "status", "category"}``. Not idempotent."""
        body = _drop_none(
            {
                "name": name,
                "language": language,
                "category": category,
                "components": components,
                "parameter_format": parameter_format,
                "message_send_ttl_seconds": message_send_ttl_seconds,
                "allow_category_change": allow_category_change,
                **extra,
            }
        )
        return self.post(
            f"{waba_id}/message_templates", json_body=body, token=token, idempotent=False
        )

    def template_edit(
        self,
        template_id: str,
        *,
        components: list[dict[str, Any]] | None = None,
        category: str | None = None,
        message_send_ttl_seconds: int | None = None,
        token: str | None = None,
        **extra: Any,
    ) -> dict[str, Any]:
        body = _drop_none(
            {
                "components": components,
                "category": category,
                "message_send_ttl_seconds": message_send_ttl_seconds,
                **extra,
            }
        )
        if not body:
            raise ValueError("template_edit needs at least one field")
        return self._ok(self.post(template_id, json_body=body, token=token, idempotent=False))

    def template_delete(
        self,
        waba_id: str,
        name: str,
        *,
        hsm_id: str | None = None,
        token: str | None = None,
    ) -> dict[str, Any]:
        """Delete all languages of ``name``, or only template ``hsm_id``."""
        return self._ok(
            self.delete(
                f"{waba_id}/message_templates",
                params=_drop_none({"name": name, "hsm_id": hsm_id}),
                token=token,
            )
        )

    # ------------------------------------------------------------------ messages

    def send_message(
        self, phone_number_id: str, payload: Mapping[str, Any], *, token: str | None = None
    ) -> SendResult:
        """Send any message payload (``messaging_product`` is added). Never retried once
        the request may have reached Meta: a lost answer raises GraphOutcomeUnknown."""
        body = {"messaging_product": "whatsapp", **payload}
        if not body.get("to") or not body.get("type"):
            raise ValueError("A message payload needs 'to' and 'type'")
        response = self.post(
            f"{phone_number_id}/messages", json_body=body, token=token, idempotent=False
        )
        return SendResult.from_response(response)

    @staticmethod
    def _envelope(
        to: str,
        type_: str,
        content: Mapping[str, Any],
        reply_to: str | None,
        biz_opaque_callback_data: str | None,
    ) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": to,
            "type": type_,
            type_: dict(content),
        }
        if reply_to:
            payload["context"] = {"message_id": reply_to}
        if biz_opaque_callback_data:
            payload["biz_opaque_callback_data"] = biz_opaque_callback_data
        return payload

    def send_text(
        self,
        phone_number_id: str,
        to: str,
        body: str,
        *,
        preview_url: bool = False,
        reply_to: str | None = None,
        biz_opaque_callback_data: str | None = None,
        token: str | None = None,
    ) -> SendResult:
        payload = self._envelope(
            to,
            "text",
            {"body": body, "preview_url": preview_url},
            reply_to,
            biz_opaque_callback_data,
        )
        return self.send_message(phone_number_id, payload, token=token)

    def send_media(
        self,
        phone_number_id: str,
        to: str,
        media_type: str,
        *,
        media_id: str | None = None,
        link: str | None = None,
        caption: str | None = None,
        filename: str | None = None,
        reply_to: str | None = None,
        biz_opaque_callback_data: str | None = None,
        token: str | None = None,
    ) -> SendResult:
        """Send an image, video, audio, document or sticker by uploaded id or by link."""
        if media_type not in ("image", "video", "audio", "document", "sticker"):
            raise ValueError(f"Unsupported media type {media_type!r}")
        if bool(media_id) == bool(link):
            raise ValueError("Give exactly one of media_id or link")
        content = _drop_none(
            {"id": media_id, "link": link, "caption": caption, "filename": filename}
        )
        payload = self._envelope(to, media_type, content, reply_to, biz_opaque_callback_data)
        return self.send_message(phone_number_id, payload, token=token)

    def send_template(
        self,
        phone_number_id: str,
        to: str,
        name: str,
        language: str,
        *,
        components: list[dict[str, Any]] | None = None,
        language_policy: str | None = "deterministic",
        biz_opaque_callback_data: str | None = None,
        token: str | None = None,
    ) -> SendResult:
        lang: dict[str, Any] = {"code": language}
        if language_policy:
            lang["policy"] = language_policy
        content: dict[str, Any] = {"name": name, "language": lang}
        if components:
            content["components"] = components
        payload = self._envelope(to, "template", content, None, biz_opaque_callback_data)
        return self.send_message(phone_number_id, payload, token=token)

    def send_interactive(
        self,
        phone_number_id: str,
        to: str,
        interactive: Mapping[str, Any],
        *,
        reply_to: str | None = None,
        biz_opaque_callback_data: str | None = None,
        token: str | None = None,
    ) -> SendResult:
        """Send an interactive message (``button``, ``list``, ``cta_url``, ``flow`` …)."""
        payload = self._envelope(to, "interactive", interactive, reply_to, biz_opaque_callback_data)
        return self.send_message(phone_number_id, payload, token=token)

    def mark_read(
        self,
        phone_number_id: str,
        message_id: str,
        *,
        typing_indicator: bool = False,
        token: str | None = None,
    ) -> dict[str, Any]:
        """Mark an inbound message read (optionally show the typing indicator)."""
        body: dict[str, Any] = {
            "messaging_product": "whatsapp",
            "status": "read",
            "message_id": message_id,
        }
        if typing_indicator:
            body["typing_indicator"] = {"type": "text"}
        return self._ok(
            self.post(f"{phone_number_id}/messages", json_body=body, token=token, idempotent=True)
        )

    # ------------------------------------------------------------------ media

    def media_upload(
        self,
        phone_number_id: str,
        data: bytes,
        mime_type: str,
        *,
        filename: str = "file",
        token: str | None = None,
    ) -> str:
        """Upload media for sending; returns the media id. Not idempotent."""
        body = self.post(
            f"{phone_number_id}/media",
            data={"messaging_product": "whatsapp", "type": mime_type},
            files={"file": (filename, data, mime_type)},
            token=token,
            idempotent=False,
        )
        media_id = body.get("id")
        if not media_id:
            raise GraphInvalidRequestError("Media upload response has no id", raw=body)
        return str(media_id)

    def media_get(
        self, media_id: str, *, phone_number_id: str | None = None, token: str | None = None
    ) -> dict[str, Any]:
        """Media metadata: ``{url, mime_type, sha256, file_size, id}``; the URL is short-lived."""
        return self.get(
            media_id, params=_drop_none({"phone_number_id": phone_number_id}), token=token
        )

    # Hosts Meta serves media from; the token is sent to these (and our base URL) only.
    MEDIA_HOST_SUFFIXES = (".fbsbx.com", ".facebook.com", ".fbcdn.net", ".whatsapp.net")

    def media_download(self, url: str, *, token: str | None = None) -> bytes:
        """Download media bytes from the URL ``media_get`` returned (token required).

        The URL comes from Meta's answer, but it is still checked: the access token is
        only ever sent to Meta's media hosts or the configured Graph host.
        """
        parsed = urlsplit(url)
        if parsed.scheme not in ("http", "https") or not parsed.hostname:
            raise ValueError("media_download needs an absolute URL")
        host = parsed.hostname.lower()
        own = urlsplit(self.base_url).hostname
        if host != own and not host.endswith(self.MEDIA_HOST_SUFFIXES):
            raise ValueError(f"refusing to send the access token to {host}")
        if host != own and parsed.scheme != "https":
            raise ValueError(f"refusing to send the access token to {host} without TLS")
        return self.request_raw("GET", url, token=token).content

    def media_delete(
        self, media_id: str, *, phone_number_id: str | None = None, token: str | None = None
    ) -> dict[str, Any]:
        return self._ok(
            self.delete(
                media_id, params=_drop_none({"phone_number_id": phone_number_id}), token=token
            )
        )
