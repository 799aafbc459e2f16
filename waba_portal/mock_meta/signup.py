"""The Embedded Signup dialog: a stand-in for the popup Meta opens from ``FB.login``.

``GET /dialog/embedded-signup?app_id=..&config_id=..&origin=<portal origin>&extras=<json>``

The person picks (or creates) a business portfolio and a WABA, enters a phone number in
E.164 form and a display name, receives a 6-digit code (shown on screen, as if by SMS),
types it, verifies and finishes. On finish the mock creates the business / WABA / number
(status PENDING, code_verification_status VERIFIED, **not registered** — registering is the
portal's job), issues a single-use OAuth code and queues the ``account_update`` webhooks
PARTNER_ADDED and PARTNER_APP_INSTALLED.

It then hands back to ``window.opener`` with two ``postMessage`` calls, both with target
origin = the ``origin`` query parameter and both carrying a JSON **string**:

1. the session info, exactly as Meta sends it::

       {"type":"WA_EMBEDDED_SIGNUP","event":"FINISH","version":3,
        "data":{"phone_number_id":"…","waba_id":"…","business_id":"…"}}

   (``FINISH_ONLY_WABA`` without a number, ``CANCEL`` with ``{"current_step": …}``,
   ``ERROR`` with ``{"error_message", "error_id", "session_id", "timestamp"}``);

2. **the code message** (mock only)::

       {"type":"WA_EMBEDDED_SIGNUP_CODE","code":"<OAuth code>"}

   The real SDK returns the code to the ``FB.login`` callback as
   ``response.authResponse.code``; the portal front end treats this second message as the
   stand-in for that callback and sends the code to its back end, which exchanges it at
   ``GET /{v}/oauth/access_token?client_id&client_secret&code``.

Stable element ids for browser tests: ``#business``, ``#business-name``, ``#waba``,
``#waba-name``, ``#next``, ``#phone``, ``#display-name``, ``#code-method``, ``#send-code``,
``#shown-code``, ``#code``, ``#verify``, ``#skip-phone``, ``#finish``, ``#cancel``,
``#error``, ``#result``.
"""

from __future__ import annotations

import html
import json
import re
import secrets
from collections.abc import Callable
from typing import Any

from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from .state import State, split_e164

E164_RE = re.compile(r"^\+[1-9][0-9]{6,14}$")


def _json(payload: Any, status: int = 200) -> Response:
    return Response(json.dumps(payload), status=status, mimetype="application/json")


class SignupApp:
    def __init__(self, state: State) -> None:
        self.state = state
        self.url_map = Map(
            [
                Rule("/dialog/embedded-signup", endpoint="page", methods=["GET"]),
                Rule(
                    "/dialog/embedded-signup/api/send-code", endpoint="send_code", methods=["POST"]
                ),
                Rule("/dialog/embedded-signup/api/verify", endpoint="verify", methods=["POST"]),
                Rule("/dialog/embedded-signup/api/finish", endpoint="finish", methods=["POST"]),
            ],
            strict_slashes=False,
        )

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        request = Request(environ)
        endpoint, _ = self.url_map.bind_to_environ(environ).match()
        body = request.get_json(silent=True) or {} if request.method == "POST" else {}
        response = getattr(self, f"on_{endpoint}")(request, body)
        return response(environ, start_response)

    # ------------------------------------------------------------------ JSON steps
    def on_send_code(self, request: Request, body: dict[str, Any]) -> Response:
        phone = str(body.get("phone") or "").replace(" ", "")
        name = str(body.get("display_name") or "").strip()
        if not E164_RE.match(phone):
            return _json(
                {"error": "Enter the phone number in international format, e.g. +15551234567."}, 400
            )
        if not 2 <= len(name) <= 75:
            return _json({"error": "The display name must be 2 to 75 characters."}, 400)
        with self.state.lock:
            digits = phone[1:]
            other = next((p for p in self.state.phones.values() if p.e164_digits == digits), None)
            if other is not None and other.registered and other.waba_id != body.get("waba_id"):
                return _json(
                    {
                        "error": "This phone number is already registered on the "
                        "WhatsApp Business Platform with another account."
                    },
                    400,
                )
            code = f"{secrets.randbelow(10**6):06d}"
            session = secrets.token_urlsafe(12)
            self.state.signup_sessions[session] = {
                "phone": phone,
                "display_name": name,
                "code": code,
                "verified": False,
                "issued_at": self.state.now(),
                "attempts": 0,
            }
            _cc, _national = split_e164(phone)
            self.state.codes_log.append(
                {
                    "phone_number_id": None,
                    "display_phone_number": phone,
                    "code": code,
                    "method": str(body.get("code_method") or "SMS"),
                    "issued_at": self.state.now(),
                    "expires_at": self.state.now() + self.state.config.code_ttl,
                    "signup_session": session,
                }
            )
        return _json(
            {
                "session": session,
                "code": code,
                "message": f"Your WhatsApp Business verification code is {code}",
            }
        )

    def on_verify(self, request: Request, body: dict[str, Any]) -> Response:
        with self.state.lock:
            sess = self.state.signup_sessions.get(str(body.get("session")))
            if sess is None:
                return _json({"error": "Request a code first."}, 400)
            if sess["issued_at"] + self.state.config.code_ttl < self.state.now():
                return _json({"error": "The code has expired. Request a new code."}, 400)
            if str(body.get("code", "")).strip() != sess["code"]:
                sess["attempts"] += 1
                return _json({"error": "The code you entered is incorrect."}, 400)
            sess["verified"] = True
        return _json({"verified": True})

    def on_finish(self, request: Request, body: dict[str, Any]) -> Response:
        spec: dict[str, Any] = {}
        for key in ("business_id", "business_name", "waba_id", "waba_name"):
            if body.get(key):
                spec[key] = body[key]
        if not body.get("skip_phone"):
            with self.state.lock:
                sess = self.state.signup_sessions.get(str(body.get("session")))
            if sess is None or not sess["verified"]:
                return _json({"error": "Verify the phone number first."}, 400)
            spec["phone"] = sess["phone"]
            spec["display_name"] = sess["display_name"]
        result = self.state.signup(spec)
        return _json({"session_info": result["session_info"], "code": result.get("code")})

    # ------------------------------------------------------------------ page
    def on_page(self, request: Request, body: dict[str, Any]) -> Response:
        app_id = request.args.get("app_id", "")
        origin = request.args.get("origin") or "*"
        extras_raw = request.args.get("extras") or "{}"
        try:
            extras = json.loads(extras_raw)
        except ValueError:
            extras = {}
        with self.state.lock:
            businesses = [
                {
                    "id": b.id,
                    "name": b.name,
                    "wabas": [
                        {"id": w.id, "name": w.name}
                        for w in self.state.wabas.values()
                        if w.business_id == b.id
                    ],
                }
                for b in self.state.businesses.values()
            ]
            app_ok = app_id == self.state.config.app_id
        only_waba = isinstance(extras, dict) and extras.get("featureType") == "only_waba_sharing"
        data = {
            "origin": origin,
            "businesses": businesses,
            "app_ok": app_ok,
            "only_waba": only_waba,
            "app_id": app_id,
            "config_id": request.args.get("config_id", ""),
        }
        page = PAGE.replace(
            "__DATA__", html.escape(json.dumps(data), quote=False).replace("</", "<\\/")
        )
        return Response(page, mimetype="text/html")


PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>WhatsApp Business – Embedded Signup (mock)</title>
<style>
body{font-family:Helvetica,Arial,sans-serif;margin:0;background:#f0f2f5;color:#1c1e21}
main{max-width:460px;margin:24px auto;background:#fff;border-radius:8px;padding:20px 24px;
box-shadow:0 1px 3px rgba(0,0,0,.2)}
h1{font-size:18px}label{display:block;margin-top:12px;font-size:14px;font-weight:bold}
input,select{width:100%;box-sizing:border-box;padding:6px;margin-top:4px;font-size:14px}
button{margin-top:14px;margin-right:8px;padding:7px 14px;font-size:14px}
.step{display:none}.step.active{display:block}
#error{color:#b00020;min-height:1.2em;margin-top:10px}
#shown-code{background:#e7f3ff;padding:8px;margin-top:8px;font-family:monospace}
</style></head><body><main>
<h1>Connect WhatsApp to <span id="app-name">this app</span></h1>
<script type="application/json" id="es-data">__DATA__</script>
<section id="step-business" class="step active">
  <label for="business">Business portfolio</label><select id="business"></select>
  <label for="business-name">New business portfolio name</label>
  <input id="business-name" placeholder="My Company">
  <label for="waba">WhatsApp Business Account</label><select id="waba"></select>
  <label for="waba-name">New WhatsApp Business Account name</label>
  <input id="waba-name" placeholder="My Company Support">
  <label><input type="checkbox" id="skip-phone" style="width:auto"> Skip adding a phone number</label>
  <button id="next" type="button">Next</button>
</section>
<section id="step-phone" class="step">
  <label for="phone">Phone number (international format)</label>
  <input id="phone" placeholder="+15551234567" autocomplete="off">
  <label for="display-name">Display name</label><input id="display-name">
  <label for="code-method">Verification method</label>
  <select id="code-method"><option value="SMS">Text message</option><option value="VOICE">Phone call</option></select>
  <button id="send-code" type="button">Send code</button>
  <div id="shown-code" hidden></div>
  <label for="code">Verification code</label><input id="code" inputmode="numeric" maxlength="6">
  <button id="verify" type="button">Verify</button>
</section>
<div>
  <button id="finish" type="button" disabled>Finish</button>
  <button id="cancel" type="button">Cancel</button>
</div>
<div id="error" role="alert"></div>
<pre id="result" hidden></pre>
</main>
<script>
(function () {
  var data = JSON.parse(document.getElementById('es-data').textContent);
  var $ = function (id) { return document.getElementById(id); };
  var session = null, verified = false, step = 'BUSINESS_ACCOUNT_SELECTION';
  function fillBusinesses() {
    var sel = $('business');
    data.businesses.forEach(function (b) { sel.add(new Option(b.name + ' (' + b.id + ')', b.id)); });
    sel.add(new Option('Create a new business portfolio', '__new__'));
    fillWabas();
  }
  function fillWabas() {
    var sel = $('waba'); sel.innerHTML = '';
    var biz = data.businesses.filter(function (b) { return b.id === $('business').value; })[0];
    (biz ? biz.wabas : []).forEach(function (w) { sel.add(new Option(w.name + ' (' + w.id + ')', w.id)); });
    sel.add(new Option('Create a new WhatsApp Business Account', '__new__'));
  }
  function post(path, body) {
    return fetch('/dialog/embedded-signup/api/' + path, {method: 'POST',
      headers: {'Content-Type': 'application/json'}, body: JSON.stringify(body)})
      .then(function (r) { return r.json().then(function (j) { j._ok = r.ok; return j; }); });
  }
  function showError(msg) { $('error').textContent = msg || ''; }
  function send(messages) {
    $('result').hidden = false;
    $('result').textContent = messages.join('\\n');
    if (window.opener) {
      messages.forEach(function (m) { window.opener.postMessage(m, data.origin); });
      setTimeout(function () { window.close(); }, 300);
    }
  }
  function sessionInfo(event, payload) {
    return JSON.stringify({type: 'WA_EMBEDDED_SIGNUP', event: event, version: 3, data: payload});
  }
  function updateFinish() {
    $('finish').disabled = !($('skip-phone').checked || verified) || step === 'BUSINESS_ACCOUNT_SELECTION' && !$('skip-phone').checked;
  }
  if (!data.app_ok) {
    showError('Invalid app_id.');
    send([sessionInfo('ERROR', {error_message: 'Invalid app_id', error_id: '100',
      session_id: 'mock', timestamp: Math.floor(Date.now() / 1000)})]);
  }
  if (data.only_waba) { $('skip-phone').checked = true; }
  fillBusinesses();
  $('business').addEventListener('change', fillWabas);
  $('skip-phone').addEventListener('change', updateFinish);
  $('next').addEventListener('click', function () {
    showError('');
    if ($('skip-phone').checked) { updateFinish(); $('finish').disabled = false; return; }
    step = 'PHONE_NUMBER_SETUP';
    $('step-business').classList.remove('active'); $('step-phone').classList.add('active');
    updateFinish();
  });
  $('send-code').addEventListener('click', function () {
    showError('');
    post('send-code', {phone: $('phone').value.trim(), display_name: $('display-name').value.trim(),
      code_method: $('code-method').value, waba_id: $('waba').value}).then(function (j) {
      if (!j._ok) { showError(j.error); return; }
      session = j.session; step = 'PHONE_NUMBER_VERIFICATION';
      $('shown-code').hidden = false; $('shown-code').textContent = j.code;
      $('shown-code').setAttribute('data-message', j.message);
    });
  });
  $('verify').addEventListener('click', function () {
    showError('');
    post('verify', {session: session, code: $('code').value.trim()}).then(function (j) {
      if (!j._ok) { showError(j.error); return; }
      verified = true; $('verify').textContent = 'Verified'; updateFinish();
    });
  });
  $('finish').addEventListener('click', function () {
    showError('');
    var body = {session: session, skip_phone: $('skip-phone').checked};
    if ($('business').value === '__new__') { body.business_name = $('business-name').value || 'New Business'; }
    else { body.business_id = $('business').value; }
    if ($('waba').value === '__new__') { body.waba_name = $('waba-name').value || body.business_name || 'New WABA'; }
    else { body.waba_id = $('waba').value; }
    post('finish', body).then(function (j) {
      if (!j._ok) { showError(j.error); return; }
      var msgs = [JSON.stringify(j.session_info)];
      if (j.code) { msgs.push(JSON.stringify({type: 'WA_EMBEDDED_SIGNUP_CODE', code: j.code})); }
      if (j.session_info.event === 'ERROR') { showError(j.session_info.data.error_message); }
      $('finish').disabled = true;
      send(msgs);
    });
  });
  $('cancel').addEventListener('click', function () {
    send([sessionInfo('CANCEL', {current_step: step})]);
  });
})();
</script></body></html>
"""  # noqa: E501
