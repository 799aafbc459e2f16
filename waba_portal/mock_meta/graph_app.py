"""Routing of the Graph API paths (``/{version}/...``) onto :class:`State` operations."""

from __future__ import annotations

import base64
import contextlib
import json
import logging
import os
import socket
import time
from collections.abc import Callable
from typing import Any

from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound
from werkzeug.routing import BaseConverter, Map, Rule
from werkzeug.wrappers import Request, Response

from .errors import GraphError, new_trace_id, not_found
from .faults import FaultInjector, RequestLog, redact_headers, redact_params
from .models import Token
from .state import State
from .webhooks import verify_callback

log = logging.getLogger(__name__)


class VersionConverter(BaseConverter):
    regex = r"v[0-9]+\.[0-9]+"


class ConnectionDropped(ConnectionAbortedError):
    """Raised after the socket was shut down on purpose (fault ``drop``)."""


def _maybe_json(value: str) -> Any:
    text = value.strip()
    if text[:1] in ("{", "[") or text in ("true", "false"):
        try:
            return json.loads(text)
        except ValueError:
            return value
    return value


def request_params(request: Request) -> dict[str, Any]:
    """POST parameters may come as JSON body, form body or query string (NOTES §0)."""
    params: dict[str, Any] = {k: _maybe_json(v) for k, v in request.args.items()}
    ctype = request.mimetype or ""
    if ctype == "application/json":
        body = request.get_json(silent=True)
        if isinstance(body, dict):
            params.update(body)
        elif request.get_data():
            raise GraphError(100, "The request body is not valid JSON.")
    elif ctype in ("application/x-www-form-urlencoded", "multipart/form-data"):
        params.update({k: _maybe_json(v) for k, v in request.form.items()})
    return params


def bearer(request: Request, params: dict[str, Any]) -> str | None:
    header = request.headers.get("Authorization", "")
    if header:
        scheme, _, value = header.partition(" ")
        if scheme.lower() in ("bearer", "oauth") and value.strip():
            return value.strip()
    token = params.get("access_token")
    return str(token) if token else None


class GraphApp:
    def __init__(self, state: State, faults: FaultInjector, requests_log: RequestLog) -> None:
        self.state = state
        self.faults = faults
        self.log = requests_log
        self.url_map = Map(
            [
                Rule(
                    "/<version:version>/oauth/access_token",
                    endpoint="oauth",
                    methods=["GET", "POST"],
                ),
                Rule("/<version:version>/debug_token", endpoint="debug_token", methods=["GET"]),
                Rule(
                    "/<version:version>/<node>", endpoint="node", methods=["GET", "POST", "DELETE"]
                ),
                Rule(
                    "/<version:version>/<node>/<edge>",
                    endpoint="edge",
                    methods=["GET", "POST", "DELETE"],
                ),
                Rule(
                    "/<version:version>/<node>/message_qrdls/<code>",
                    endpoint="qr",
                    methods=["GET", "POST", "DELETE"],
                ),
                Rule("/whatsapp_business/attachments/", endpoint="download", methods=["GET"]),
                Rule("/pps/<media_id>", endpoint="public_media", methods=["GET"]),
            ],
            converters={"version": VersionConverter},
            strict_slashes=False,
        )

    def handles(self, path: str) -> bool:
        return path.startswith(("/v", "/whatsapp_business/", "/pps/"))

    # ------------------------------------------------------------------ WSGI
    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        request = Request(environ)
        started = time.monotonic()
        generation = self.log.generation  # a reset after this leaves the request unlogged
        trace = new_trace_id()
        version = request.path.split("/")[1] if request.path.count("/") >= 1 else "v23.0"
        entry: dict[str, Any] = {
            "method": request.method,
            "path": request.path,
            "query": redact_params(dict(request.args.items())),
            "headers": redact_headers(dict(request.headers.items())),
            "body": None,
        }
        response: Response
        waba_id: str | None = None
        try:
            params = request_params(request)
            entry["body"] = redact_params(
                {k: v for k, v in params.items() if k not in request.args}
            )
            fault = self.faults.take(request.method, request.path)
            if fault is not None:
                entry["fault"] = fault.id
                if fault.latency:
                    time.sleep(float(fault.latency))
                    if self.log.generation != generation:
                        # The mock was reset while the fault held this request: the world
                        # it was made in is gone, so it must not act on the new one.
                        raise GraphError(
                            2, "mock-meta was reset while this request was held", http_status=503
                        )
                if fault.drop:
                    entry["status"] = None
                    entry["dropped"] = True
                    self.log.add(entry, generation=generation)
                    self._drop(environ)
                if fault.code is not None or fault.http_status is not None:
                    raise GraphError(
                        fault.code if fault.code is not None else 1,
                        fault.details,
                        subcode=fault.subcode,
                        message=fault.message,
                        http_status=fault.http_status,
                        error_type=fault.error_type,
                        is_transient=fault.is_transient,
                    )
            adapter = self.url_map.bind_to_environ(environ)
            endpoint, args = adapter.match()
            node = args.get("node")
            if node:
                waba_id = self.state.waba_of_node(str(node))
            result = getattr(self, f"on_{endpoint}")(request, params, **args)
            response = result if isinstance(result, Response) else self._json(result)
        except GraphError as err:
            response = self._json(err.to_dict(trace), status=err.http_status)
            entry["error"] = {"code": err.code, "subcode": err.subcode}
        except NotFound:
            gerr = GraphError(
                100,
                f"Unknown path components: {request.path}",
                message=f"Unknown path components: {request.path}",
            )
            response = self._json(gerr.to_dict(trace), status=400)
            entry["error"] = {"code": 100, "subcode": None}
        except MethodNotAllowed:
            gerr = GraphError(
                100,
                f"Unsupported {request.method.lower()} request.",
                message=f"Unsupported {request.method.lower()} request.",
                error_type="GraphMethodException",
            )
            response = self._json(gerr.to_dict(trace), status=400)
            entry["error"] = {"code": 100, "subcode": None}
        except HTTPException as exc:  # pragma: no cover - defensive
            response = self._json({"error": {"message": str(exc), "code": 1}}, status=500)
        except ConnectionAbortedError:
            raise
        except Exception as exc:  # a bug in the mock: answer like Meta's "unknown error"
            log.exception("mock-meta internal error")
            gerr = GraphError(
                1, f"mock-meta internal error: {type(exc).__name__}: {exc}", http_status=500
            )
            response = self._json(gerr.to_dict(trace), status=500)
            entry["error"] = {"code": 1, "internal": repr(exc)}
        self._headers(response, trace, version, waba_id)
        entry["status"] = response.status_code
        entry["duration_ms"] = round((time.monotonic() - started) * 1000, 2)
        self.log.add(entry, generation=generation)
        return response(environ, start_response)

    @staticmethod
    def _drop(environ: dict[str, Any]) -> None:
        sock = environ.get("werkzeug.socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(
                    socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00"
                )
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        raise ConnectionDropped("connection dropped by fault injection")

    @staticmethod
    def _json(payload: Any, status: int = 200) -> Response:
        return Response(json.dumps(payload), status=status, mimetype="application/json")

    def _headers(self, response: Response, trace: str, version: str, waba_id: str | None) -> None:
        usage = {"call_count": 1, "total_cputime": 1, "total_time": 1}
        response.headers["x-fb-trace-id"] = trace
        response.headers["x-fb-request-id"] = base64.urlsafe_b64encode(os.urandom(12)).decode()
        response.headers["X-FB-Debug"] = base64.b64encode(os.urandom(36)).decode()
        response.headers["x-fb-rev"] = "1020304050"
        response.headers["facebook-api-version"] = version if version.startswith("v") else "v23.0"
        response.headers["x-app-usage"] = json.dumps(usage)
        if waba_id:
            response.headers["x-business-use-case-usage"] = json.dumps(
                {
                    waba_id: [
                        {
                            "type": "whatsapp_business_management",
                            **usage,
                            "estimated_time_to_regain_access": 0,
                        }
                    ]
                }
            )

    def _auth(self, request: Request, params: dict[str, Any]) -> Token:
        return self.state.authenticate(bearer(request, params))

    def _base(self, request: Request) -> str:
        return request.host_url.rstrip("/")

    def _url(self, request: Request) -> str:
        return request.base_url

    # ------------------------------------------------------------------ endpoints
    def on_oauth(self, request: Request, params: dict[str, Any], version: str) -> Any:
        return self.state.exchange_code(params)

    def on_debug_token(self, request: Request, params: dict[str, Any], version: str) -> Any:
        self._auth(request, params)
        input_token = params.get("input_token")
        if not input_token:
            raise GraphError(
                100,
                "The parameter input_token is required",
                message="(#100) The parameter input_token is required",
            )
        return self.state.debug_token(str(input_token))

    def on_node(self, request: Request, params: dict[str, Any], version: str, node: str) -> Any:
        tok = self._auth(request, params)
        method = request.method
        if node.startswith("upload:"):
            session = node.split(":", 1)[1]
            if method == "GET":
                return self.state.upload_status(tok, session)
            if method == "POST":
                offset = int(request.headers.get("file_offset") or 0)
                return self.state.upload_data(tok, session, request.get_data(), offset)
        kind = self.state.node_kind(node)
        fields = params.get("fields")
        if kind is None:
            raise not_found(node)
        handlers: dict[tuple[str, str], Callable[[], Any]] = {
            ("waba", "GET"): lambda: self.state.waba_get(tok, node, fields),
            ("waba", "POST"): lambda: self.state.waba_update(tok, node, params),
            ("phone", "GET"): lambda: self.state.phone_get(tok, node, fields),
            ("phone", "POST"): lambda: self._with_verified_override(
                lambda: self.state.phone_override(tok, node, params),
                lambda: self.state.phone_update(tok, node, params),
            ),
            ("template", "GET"): lambda: self.state.template_get(tok, node, fields),
            ("template", "POST"): lambda: self.state.template_edit(tok, node, params),
            ("media", "GET"): lambda: self.state.media_get(tok, node, self._base(request)),
            ("media", "DELETE"): lambda: self.state.media_delete(tok, node),
            ("business", "GET"): lambda: self.state.business_get(tok, node, fields),
            ("app", "GET"): lambda: {"id": node, "name": self.state.config.app_name},
        }
        handler = handlers.get((kind, method))
        if handler is None:
            raise GraphError(
                100,
                subcode=33,
                error_type="GraphMethodException",
                message=f"Unsupported {method.lower()} request. Object with ID "
                f"'{node}' does not support this operation.",
            )
        return handler()

    def on_edge(
        self, request: Request, params: dict[str, Any], version: str, node: str, edge: str
    ) -> Any:
        tok = self._auth(request, params)
        method = request.method
        kind = self.state.node_kind(node)
        if kind is None:
            raise not_found(node)
        st = self.state
        url = self._url(request)
        handlers: dict[tuple[str, str, str], Callable[[], Any]] = {
            ("waba", "subscribed_apps", "GET"): lambda: st.subscribed_apps_get(tok, node),
            ("waba", "subscribed_apps", "POST"): lambda: self._with_verified_override(
                lambda: st.subscribe_override(tok, node, params),
                lambda: st.subscribe(tok, node, params),
            ),
            ("waba", "subscribed_apps", "DELETE"): lambda: st.unsubscribe(tok, node),
            ("waba", "phone_numbers", "GET"): lambda: st.phones_list(tok, node, params, url),
            ("waba", "phone_numbers", "POST"): lambda: st.phone_add(tok, node, params),
            ("waba", "message_templates", "GET"): lambda: st.templates_list(tok, node, params, url),
            ("waba", "message_templates", "POST"): lambda: st.template_create(tok, node, params),
            ("waba", "message_templates", "DELETE"): lambda: st.template_delete(tok, node, params),
            ("phone", "request_code", "POST"): lambda: st.request_code(tok, node, params),
            ("phone", "verify_code", "POST"): lambda: st.verify_code(tok, node, params),
            ("phone", "register", "POST"): lambda: st.register(tok, node, params),
            ("phone", "deregister", "POST"): lambda: st.deregister(tok, node),
            ("phone", "settings", "GET"): lambda: st.settings_get(tok, node),
            ("phone", "settings", "POST"): lambda: st.settings_update(tok, node, params),
            ("phone", "whatsapp_business_profile", "GET"): lambda: st.profile_get(
                tok, node, params.get("fields")
            ),
            ("phone", "whatsapp_business_profile", "POST"): lambda: st.profile_update(
                tok, node, params, self._base(request)
            ),
            ("phone", "official_business_account", "GET"): lambda: st.oba_get(tok, node),
            ("phone", "official_business_account", "POST"): lambda: st.oba_post(tok, node, params),
            ("phone", "message_qrdls", "GET"): lambda: st.qr_list(tok, node, params, url),
            ("phone", "message_qrdls", "POST"): lambda: st.qr_upsert(tok, node, params),
            ("phone", "messages", "POST"): lambda: st.send(tok, node, params),
            ("phone", "media", "POST"): lambda: st.media_upload(
                tok, node, params, self._file(request)
            ),
            ("business", "owned_whatsapp_business_accounts", "GET"): lambda: st.business_wabas(
                tok, node, params, url
            ),
            ("business", "client_whatsapp_business_accounts", "GET"): lambda: st.business_wabas(
                tok, node, params, url
            ),
            ("app", "uploads", "POST"): lambda: st.upload_start(tok, node, params),
            ("credit_line", "whatsapp_credit_sharing_and_attach", "POST"): (
                lambda: st.credit_line_attach(tok, params)
            ),
        }
        handler = handlers.get((kind, edge, method))
        if handler is None:
            if any(k[0] == kind and k[1] == edge for k in handlers):
                raise GraphError(
                    100,
                    subcode=33,
                    error_type="GraphMethodException",
                    message=f"Unsupported {method.lower()} request.",
                )
            raise GraphError(
                2500,
                f"Unknown path components: /{edge}",
                message=f"Unknown path components: /{edge}",
                http_status=400,
            )
        return handler()

    def _with_verified_override(
        self,
        check: Callable[[], tuple[str, str] | None],
        apply: Callable[[], Any],
    ) -> Any:
        """Set a callback override only once its URL passed the verification GET.

        ``check`` validates the request and names the override it asks for (under the
        state lock); the GET goes out with the lock released; ``apply`` then makes the
        change (and checks the request again: the world may have moved meanwhile).
        """
        override = check()
        if override is not None:
            problem = verify_callback(
                override[0], override[1], timeout=float(self.state.config.webhook_timeout)
            )
            if problem is not None:
                raise GraphError(
                    100,
                    f"Callback verification failed: {problem}",
                    message="(#100) Callback verification failed",
                    user_title="Callback verification failed",
                    user_msg=problem,
                )
        return apply()

    @staticmethod
    def _file(request: Request) -> tuple[str, str, bytes] | None:
        storage = request.files.get("file")
        if storage is None:
            return None
        return (storage.filename or "file", storage.mimetype or "", storage.read())

    def on_qr(
        self, request: Request, params: dict[str, Any], version: str, node: str, code: str
    ) -> Any:
        tok = self._auth(request, params)
        if request.method == "GET":
            return self.state.qr_get(tok, node, code, params)
        if request.method == "DELETE":
            return self.state.qr_delete(tok, node, code)
        return self.state.qr_upsert(tok, node, {**params, "code": code})

    def on_download(self, request: Request, params: dict[str, Any]) -> Response:
        tok = self._auth(request, params)
        media = self.state.media_download(tok, str(params.get("mid") or ""))
        return Response(
            media.data, mimetype=media.mime_type, headers={"Content-Length": str(len(media.data))}
        )

    def on_public_media(self, request: Request, params: dict[str, Any], media_id: str) -> Response:
        media = self.state.media_public(media_id)
        if media is None:
            raise not_found(media_id)
        return Response(media.data, mimetype=media.mime_type)
