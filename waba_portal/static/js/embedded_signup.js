/*
 * Embedded Signup, one code path for Meta's SDK (production) and the mock Meta
 * server's dialog (local runs and tests).
 *
 * Meta's window posts the session info ({type: "WA_EMBEDDED_SIGNUP", event, data})
 * to this page; the OAuth code arrives in FB.login's callback (production) or as a
 * second message {type: "WA_EMBEDDED_SIGNUP_CODE", code} from the mock's dialog.
 * When both are here (or the session says CANCEL / ERROR), they are posted to the
 * portal, which runs the onboarding and answers with the page that shows progress.
 */
(function () {
  "use strict";
  var button = document.getElementById("connect-whatsapp");
  var configNode = document.getElementById("signup-config");
  if (!button || !configNode) return;
  var config = JSON.parse(configNode.textContent);
  var status = document.getElementById("connect-status");
  var csrf = (document.querySelector("[name=csrfmiddlewaretoken]") || {}).value || "";
  var session = null;
  var code = null;
  var sent = false;
  var codeTimer = null;
  var closedTimer = null;

  function say(text, isError) {
    if (!status) return;
    status.textContent = text;
    status.classList.toggle("text-danger", Boolean(isError));
  }

  function allowedOrigin(origin) {
    if (config.dialogUrl) {
      return origin === new URL(config.dialogUrl, window.location.href).origin;
    }
    try {
      var host = new URL(origin).hostname;
      return host === "facebook.com" || host.endsWith(".facebook.com");
    } catch (e) {
      return false;
    }
  }

  function submitWhenReady() {
    if (sent) return;
    if (!session && code) {
      // Meta sent no session info: the server finds the WABA with debug_token.
      if (!codeTimer) {
        codeTimer = window.setTimeout(function () {
          session = session || { type: "WA_EMBEDDED_SIGNUP", event: "FINISH_ONLY_WABA", data: {} };
          submitWhenReady();
        }, 3000);
      }
      return;
    }
    if (!session) return;
    var event = session.event || "";
    if (event.indexOf("FINISH") === 0 && !code) return; // the code is on its way
    sent = true;
    say(config.messages.saving, false);
    fetch(config.connectUrl, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf },
      body: JSON.stringify({ code: code, session: session })
    })
      .then(function (response) {
        return response.json().then(function (body) { return { ok: response.ok, body: body }; },
                                      function () { return { ok: false, body: {} }; });
      })
      .then(function (result) {
        if (result.ok && result.body.url) {
          window.location.assign(result.body.url);
          return;
        }
        var error = result.body.error || {};
        say(error.message || config.messages.failed, true);
        reset();
      })
      .catch(function () {
        say(config.messages.failed, true);
        reset();
      });
  }

  function stopWatching() {
    if (closedTimer) window.clearInterval(closedTimer);
    closedTimer = null;
  }

  // The window closed with its own close button posts nothing: notice it, and let the
  // user try again (unless what it posted is being sent already).
  function watchClosing(popup) {
    stopWatching();
    closedTimer = window.setInterval(function () {
      var closed;
      try { closed = popup.closed; } catch (e) { closed = false; }
      if (!closed) return;
      stopWatching();
      // Give a message posted just before closing the time to arrive.
      window.setTimeout(function () {
        if (sent || session || code) return;
        say(config.messages.cancelled, true);
        button.disabled = false;
      }, 1000);
    }, 500);
  }

  function reset() {
    stopWatching();
    sent = false;
    session = null;
    code = null;
    if (codeTimer) window.clearTimeout(codeTimer);
    codeTimer = null;
    button.disabled = false;
  }

  window.addEventListener("message", function (event) {
    if (!allowedOrigin(event.origin)) return;
    var data = event.data;
    if (typeof data === "string") {
      try { data = JSON.parse(data); } catch (e) { return; }
    }
    if (!data || typeof data !== "object") return;
    if (data.type === "WA_EMBEDDED_SIGNUP") {
      session = data;
      submitWhenReady();
    } else if (data.type === "WA_EMBEDDED_SIGNUP_CODE" && data.code) {
      code = data.code;
      submitWhenReady();
    }
  });

  function openMockDialog() {
    var url = new URL(config.dialogUrl, window.location.href);
    url.searchParams.set("app_id", config.appId);
    url.searchParams.set("config_id", config.configId);
    url.searchParams.set("origin", window.location.origin);
    url.searchParams.set("extras", JSON.stringify({ setup: {}, sessionInfoVersion: "3" }));
    var popup = window.open(url.toString(), "wa-embedded-signup", "width=720,height=820");
    if (!popup) {
      say(config.messages.popupBlocked, true);
      button.disabled = false;
      return;
    }
    watchClosing(popup);
  }

  function openMetaSignup() {
    if (!window.FB) {
      say(config.messages.sdkMissing, true);
      button.disabled = false;
      return;
    }
    window.FB.login(function (response) {
      if (response && response.authResponse && response.authResponse.code) {
        code = response.authResponse.code;
        submitWhenReady();
      } else if (!session) {
        say(config.messages.cancelled, true);
        button.disabled = false;
      }
    }, {
      config_id: config.configId,
      response_type: "code",
      override_default_response_type: true,
      extras: { setup: {}, sessionInfoVersion: "3" }
    });
  }

  button.addEventListener("click", function () {
    reset();
    button.disabled = true;
    say(config.messages.opened, false);
    if (config.dialogUrl) openMockDialog(); else openMetaSignup();
  });

  if (!config.dialogUrl && config.appId) {
    // Production: Meta's SDK can only come from Meta.
    window.fbAsyncInit = function () {
      window.FB.init({ appId: config.appId, autoLogAppEvents: true, xfbml: false,
                       version: config.graphVersion });
    };
    var script = document.createElement("script");
    script.async = true;
    script.defer = true;
    script.crossOrigin = "anonymous";
    script.src = "https://connect.facebook.net/en_US/sdk.js";
    document.head.appendChild(script);
  }
})();
