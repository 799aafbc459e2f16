"""The control API under ``/_mock/`` (JSON in, JSON out) and the HTML state page.

Endpoints (all JSON):

* ``GET  /_mock/health``            readiness probe
* ``POST /_mock/reset``             wipe state, logs, faults; restore the start-up config
  (``{"keep_config": true}`` keeps the current config); a Graph call still in progress
  (held by a ``latency`` fault) is then neither carried out nor logged
* ``POST /_mock/seed``              create businesses / WABAs / numbers / templates / tokens
* ``POST /_mock/inbound``           simulate a customer message (opens the 24 h window)
* ``POST /_mock/emit``              account / quality / name / template / capability events
* ``GET|POST|DELETE /_mock/faults`` list / add / clear injected faults
* ``GET|DELETE /_mock/requests``    Graph calls received (Authorization redacted)
* ``GET|DELETE /_mock/webhooks``    webhook delivery attempts (``?wait=seconds`` waits until
  no delivery is pending)
* ``GET /_mock/state``              full state as JSON
* ``GET|POST /_mock/config``        read / change the configuration
* ``POST /_mock/signup``            non-interactive Embedded Signup (returns session info + code)
* ``GET /_mock/codes``              verification codes issued (``?phone_number_id=``)
* ``POST /_mock/clock``             ``{"advance": seconds}`` moves the mock's clock forward
* ``POST /_mock/patch``             ``{"kind", "id", "set": {...}}`` set raw attributes
* ``GET /_mock/``                   HTML page with the state and an inbound-message form
* ``GET /_mock/handset/``           HTML page: the SMS and calls with verification codes each
  number received (``?phone_number_id=`` for one number), as a tester's phone shows them
"""

from __future__ import annotations

import html
import json
import time
from collections.abc import Callable
from typing import Any

from werkzeug.exceptions import HTTPException
from werkzeug.routing import Map, Rule
from werkzeug.utils import redirect
from werkzeug.wrappers import Request, Response

from .errors import GraphError
from .faults import FaultInjector, RequestLog
from .scheduler import Scheduler
from .state import State
from .webhooks import WebhookDispatcher


def _clock(seconds: float) -> str:
    return time.strftime("%H:%M:%S", time.gmtime(seconds)) + " UTC"


def _handset_item(m: dict[str, Any]) -> str:
    """One code as the phone shows it: an SMS, or the words of a voice call."""
    esc = html.escape
    how = "Voice call" if m.get("method") == "VOICE" else "SMS"
    if m.get("used"):
        state = "used"
    elif m["valid"]:
        state = "valid until " + _clock(m["expires_at"])
    else:
        state = "no longer valid"
    language = f" · {esc(str(m['language']))}" if m.get("language") else ""
    return (
        f'<li class="message{"" if m["valid"] else " old"}" '
        f'data-phone="{esc(str(m.get("phone_number_id") or ""))}" data-code="{esc(m["code"])}" '
        f'data-valid="{"true" if m["valid"] else "false"}">'
        f"<p><strong>{how}</strong> to {esc(str(m.get('display_phone_number') or ''))} · "
        f"{_clock(m['issued_at'])}{language}</p>"
        f'<p class="text">{esc(m["text"])}</p>'
        f'<p class="meta">Code <code class="code">{esc(m["code"])}</code> · {state}</p></li>'
    )


def _json(payload: Any, status: int = 200) -> Response:
    return Response(json.dumps(payload, default=str), status=status, mimetype="application/json")


class ControlApp:
    def __init__(
        self,
        state: State,
        dispatcher: WebhookDispatcher,
        scheduler: Scheduler,
        faults: FaultInjector,
        requests_log: RequestLog,
    ) -> None:
        self.state = state
        self.dispatcher = dispatcher
        self.scheduler = scheduler
        self.faults = faults
        self.requests_log = requests_log
        self.url_map = Map(
            [
                Rule("/_mock/", endpoint="page", methods=["GET"]),
                Rule("/_mock/health", endpoint="health", methods=["GET"]),
                Rule("/_mock/reset", endpoint="reset", methods=["POST"]),
                Rule("/_mock/seed", endpoint="seed", methods=["POST"]),
                Rule("/_mock/inbound", endpoint="inbound", methods=["POST"]),
                Rule("/_mock/ui/inbound", endpoint="ui_inbound", methods=["POST"]),
                Rule("/_mock/emit", endpoint="emit", methods=["POST"]),
                Rule("/_mock/faults", endpoint="faults", methods=["GET", "POST", "DELETE"]),
                Rule("/_mock/requests", endpoint="requests", methods=["GET", "DELETE"]),
                Rule("/_mock/webhooks", endpoint="webhooks", methods=["GET", "DELETE"]),
                Rule("/_mock/state", endpoint="state", methods=["GET"]),
                Rule("/_mock/config", endpoint="config", methods=["GET", "POST"]),
                Rule("/_mock/signup", endpoint="signup", methods=["POST"]),
                Rule("/_mock/codes", endpoint="codes", methods=["GET", "POST"]),
                Rule("/_mock/clock", endpoint="clock", methods=["GET", "POST"]),
                Rule("/_mock/patch", endpoint="patch", methods=["POST"]),
                Rule("/_mock/handset/", endpoint="handset", methods=["GET"]),
            ],
            strict_slashes=False,
        )

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        request = Request(environ)
        try:
            endpoint, args = self.url_map.bind_to_environ(environ).match()
            body: dict[str, Any] = {}
            if request.method in ("POST", "DELETE") and request.mimetype == "application/json":
                loaded = request.get_json(silent=True)
                if loaded is not None and not isinstance(loaded, dict):
                    raise ValueError("the body must be a JSON object")
                body = loaded or {}
            result = getattr(self, f"on_{endpoint}")(request, body, **args)
            response = result if isinstance(result, Response) else _json(result)
        except (ValueError, KeyError, TypeError) as exc:
            response = _json({"error": str(exc)}, status=400)
        except GraphError as err:
            response = _json(err.to_dict(), status=err.http_status)
        except HTTPException as exc:
            response = _json({"error": exc.description}, status=exc.code or 500)
        return response(environ, start_response)

    # ------------------------------------------------------------------ endpoints
    def on_health(self, request: Request, body: dict[str, Any]) -> Any:
        return {"ok": True, "app_id": self.state.config.app_id}

    def on_reset(self, request: Request, body: dict[str, Any]) -> Any:
        self.scheduler.cancel_all()
        self.dispatcher.reset()
        # What the receiver did while the reset waited for its answer (a send's
        # statuses, say) was scheduled after the first cancel.
        self.scheduler.cancel_all()
        self.faults.clear()
        self.requests_log.reset()
        self.state.reset(keep_config=bool(body.get("keep_config")))
        return {"ok": True}

    def on_seed(self, request: Request, body: dict[str, Any]) -> Any:
        return self.state.seed(body)

    def on_inbound(self, request: Request, body: dict[str, Any]) -> Any:
        return self.state.inbound(body)

    def on_ui_inbound(self, request: Request, body: dict[str, Any]) -> Any:
        form = request.form
        self.state.inbound(
            {
                "phone_number_id": form.get("phone_number_id"),
                "from": form.get("from"),
                "name": form.get("name"),
                "type": "text",
                "text": form.get("text", ""),
            }
        )
        return redirect("/_mock/", code=303)

    def on_emit(self, request: Request, body: dict[str, Any]) -> Any:
        return self.state.emit(body)

    def on_faults(self, request: Request, body: dict[str, Any]) -> Any:
        if request.method == "POST":
            return {"fault": self.faults.add(body).to_dict()}
        if request.method == "DELETE":
            self.faults.clear()
            return {"ok": True}
        return {"faults": self.faults.list()}

    def on_requests(self, request: Request, body: dict[str, Any]) -> Any:
        if request.method == "DELETE":
            self.requests_log.clear()
            return {"ok": True}
        return {"requests": self.requests_log.list()}

    def on_webhooks(self, request: Request, body: dict[str, Any]) -> Any:
        if request.method == "DELETE":
            self.dispatcher.clear_log()
            return {"ok": True}
        wait = float(request.args.get("wait") or 0)
        deadline = time.monotonic() + wait
        while wait and self.dispatcher.pending() and time.monotonic() < deadline:
            time.sleep(0.02)
        return {"webhooks": self.dispatcher.entries(), "pending": self.dispatcher.pending()}

    def on_state(self, request: Request, body: dict[str, Any]) -> Any:
        return self.state.snapshot()

    def on_config(self, request: Request, body: dict[str, Any]) -> Any:
        if request.method == "POST":
            with self.state.lock:
                self.state.config.update(body)
        return {"config": self.state.config.to_dict()}

    def on_signup(self, request: Request, body: dict[str, Any]) -> Any:
        return self.state.signup(body)

    def on_codes(self, request: Request, body: dict[str, Any]) -> Any:
        phone_id = request.args.get("phone_number_id") or body.get("phone_number_id")
        codes = self.state.codes(phone_id)
        return {"codes": codes, "last": codes[0] if codes else None}

    def on_clock(self, request: Request, body: dict[str, Any]) -> Any:
        if request.method == "POST":
            with self.state.lock:
                if "offset" in body:
                    self.state.clock_offset = float(body["offset"])
                self.state.clock_offset += float(body.get("advance") or 0)
            self.state.templates_tick()  # pauses that ended on the new clock (templates, T1)
        return {"now": self.state.now(), "offset": self.state.clock_offset}

    def on_patch(self, request: Request, body: dict[str, Any]) -> Any:
        return {
            "object": self.state.patch(
                str(body["kind"]), str(body["id"]), dict(body.get("set") or {})
            )
        }

    # ------------------------------------------------------------------ the handset
    def on_handset(self, request: Request, body: dict[str, Any]) -> Response:
        """The verification codes the numbers "received", newest first: what a tester
        reads off the phone (by SMS, or what the voice call said)."""
        esc = html.escape
        phone_id = request.args.get("phone_number_id") or None
        messages = self.state.handset(phone_id)
        phones = self.state.snapshot()["phone_numbers"]
        options = "".join(
            f'<option value="{esc(p["id"])}"{" selected" if p["id"] == phone_id else ""}>'
            f"{esc(p['display_phone_number'])} ({esc(p['verified_name'])})</option>"
            for p in phones
        )
        rows = "".join(_handset_item(m) for m in messages)
        page = f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Handset · Mock Meta</title><style>body{{font-family:sans-serif;margin:1em;max-width:40em}}
ul{{list-style:none;padding:0}}
li.message{{border:1px solid #bbb;border-radius:.5em;padding:.2em .8em;margin-bottom:.6em;
background:#eef8ee}}li.old{{background:#f4f4f4;color:#555}}
code.code{{font-size:1.3em;letter-spacing:.1em}}p{{margin:.3em 0}}</style></head><body>
<h1>Handset</h1><p>The SMS and voice calls with verification codes that Meta sent to the
numbers (newest first). <a href="/_mock/">Mock state</a></p>
<form method="get" action="/_mock/handset/"><label for="handset-phone">Number</label>
<select name="phone_number_id" id="handset-phone"><option value="">All numbers</option>{options}
</select> <button type="submit" id="handset-show">Show</button></form>
<ul id="handset-messages">{rows or "<li>No code received yet.</li>"}</ul></body></html>"""
        return Response(page, mimetype="text/html")

    # ------------------------------------------------------------------ HTML page
    def on_page(self, request: Request, body: dict[str, Any]) -> Response:
        snap = self.state.snapshot()
        esc = html.escape

        def table(title: str, rows: list[dict[str, Any]], cols: list[str]) -> str:
            head = "".join(f"<th>{esc(c)}</th>" for c in cols)
            lines = "".join(
                "<tr>" + "".join(f"<td>{esc(str(r.get(c, '')))}</td>" for c in cols) + "</tr>"
                for r in rows
            )
            return f"<h2>{esc(title)} ({len(rows)})</h2><table><tr>{head}</tr>{lines}</table>"

        hooks = self.dispatcher.entries()[-50:]
        hook_rows = [
            {
                "at": time.strftime("%H:%M:%S", time.localtime(h["at"])),
                "fields": ",".join(h["fields"]),
                "url": h["url"],
                "status": h["status"],
                "attempt": h["attempt"],
                "skipped": h["skipped"] or h["error"] or "",
            }
            for h in reversed(hooks)
        ]
        msgs = list(reversed(snap["messages"][-50:]))
        phones = snap["phone_numbers"]
        options = "".join(
            f'<option value="{esc(p["id"])}">{esc(p["display_phone_number"])} '
            f"({esc(p['verified_name'])})</option>"
            for p in phones
        )
        page = f"""<!doctype html><html><head><meta charset="utf-8"><title>Mock Meta state</title>
<style>body{{font-family:sans-serif;margin:1.5em}}table{{border-collapse:collapse;margin-bottom:1em}}
td,th{{border:1px solid #ccc;padding:3px 6px;font-size:13px;text-align:left}}
form input,form select{{margin-right:.5em}}</style></head><body>
<h1>Mock Meta server</h1><p><a href="/_mock/handset/" id="handset-link">Handset: verification
codes received</a></p><p>App id {esc(snap["config"]["app_id"])} &middot;
webhook url {esc(str(snap["config"]["webhook_url"]))}</p>
<h2>Simulate a customer message</h2>
<form id="inbound-form" method="post" action="/_mock/ui/inbound">
<select name="phone_number_id" id="inbound-phone">{options}</select>
<input name="from" id="inbound-from" placeholder="wa_id e.g. 16505551234" value="16505551234">
<input name="name" id="inbound-name" placeholder="profile name" value="Customer">
<input name="text" id="inbound-text" placeholder="message" size="40">
<button type="submit" id="inbound-send">Send</button></form>
{table("Businesses", snap["businesses"], ["id", "name", "verification_status", "messaging_limit"])}
{
            table(
                "WABAs",
                snap["wabas"],
                ["id", "business_id", "name", "status", "account_review_status", "ban_state"],
            )
        }
{
            table(
                "Phone numbers",
                phones,
                [
                    "id",
                    "waba_id",
                    "display_phone_number",
                    "verified_name",
                    "status",
                    "code_verification_status",
                    "platform_type",
                    "quality_rating",
                    "name_status",
                ],
            )
        }
{
            table(
                "Templates",
                snap["templates"],
                ["id", "waba_id", "name", "language", "category", "status", "rejected_reason"],
            )
        }
{table("Recent messages", msgs, ["id", "direction", "phone_number_id", "wa_id", "type", "status"])}
{table("Webhook deliveries", hook_rows, ["at", "fields", "url", "status", "attempt", "skipped"])}
</body></html>"""
        return Response(page, mimetype="text/html")
