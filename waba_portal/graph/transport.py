"""HTTP to the Graph API: session, timeouts, retries, paging, logging without tokens.

:class:`GraphTransport` is the base of :class:`~waba_portal.graph.client.GraphClient`;
the resource mixins build their calls on :meth:`GraphTransport.request`. It gives:

* base URL and version from Django settings (:meth:`GraphTransport.from_settings`) or
  from explicit arguments, connect and read timeouts on every call;
* ``Authorization: Bearer <token>`` per call (client token, or ``token=`` per call);
* every failure turned into a typed :mod:`waba_portal.graph.errors` exception;
* a stated :class:`~waba_portal.graph.retry.RetryPolicy`; a call says whether it is
  idempotent, and a non-idempotent call whose request may have reached Meta raises
  :class:`~waba_portal.graph.errors.GraphOutcomeUnknown` instead of being re-sent;
* one log line per HTTP attempt on logger ``waba_portal.graph`` with method, path
  (secrets redacted), status, duration, fbtrace_id and attempt number. Request and
  response bodies are never logged.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, Self
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
    "Fields",
    "GraphTransport",
    "drop_none",
]

logger = logging.getLogger("waba_portal.graph")

DEFAULT_BASE_URL = "https://graph.facebook.com"
DEFAULT_VERSION = "v23.0"
USER_AGENT = "waba-portal-graph/1.0"
_IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "DELETE"})

Fields = str | Iterable[str] | None


def drop_none(mapping: Mapping[str, Any]) -> dict[str, Any]:
    """The mapping without its ``None`` values (optional parameters left unset)."""
    return {k: v for k, v in mapping.items() if v is not None}


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


def graph_session(base_url: str) -> requests.Session:
    """A session for the Graph API at ``base_url``, with the environment's proxy and CA
    bundle settings (``HTTPS_PROXY``, ``NO_PROXY``, ``REQUESTS_CA_BUNDLE``) read once, here:
    left to requests, they are read again from the whole environment on every request,
    which costs more than the rest of a kept-alive send."""
    session = requests.Session()
    session.headers["User-Agent"] = USER_AGENT
    session.proxies.update(requests.utils.get_environ_proxies(base_url))
    bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
    if bundle:
        session.verify = bundle
    session.trust_env = False
    return session


class GraphTransport:
    """Configuration and the HTTP layer shared by every Graph operation."""

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
        self.session = session if session is not None else graph_session(self.base_url)

    @classmethod
    def from_settings(cls, token: str | None = None, **overrides: Any) -> Self:
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
            "retry_policy": RetryPolicy(
                backoff_base=getattr(
                    settings, "GRAPH_API_RETRY_BACKOFF_BASE", DEFAULT_RETRY_POLICY.backoff_base
                )
            ),
        }
        kwargs.update(overrides)
        return cls(**kwargs)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(base_url={self.base_url!r}, version={self.version!r})"

    def close(self) -> None:
        self.session.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # ------------------------------------------------------------------ URLs, secrets

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

    # ------------------------------------------------------------------ one call

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

    @staticmethod
    def _ok(body: dict[str, Any]) -> dict[str, Any]:
        if body.get("success") is False:
            raise GraphInvalidRequestError("Graph API answered success=false", raw=body)
        return body

    # ------------------------------------------------------------------ paging

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
