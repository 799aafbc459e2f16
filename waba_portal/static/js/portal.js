/*
 * Behaviour that pages declare in data attributes instead of inline handlers (the
 * Content-Security-Policy runs scripts from our own origin only):
 *
 *   <form data-confirm="Remove Ada?">    asks before the form is sent;
 *   <select data-autosubmit>            sends its form when the choice changes (not for
 *                                       navigation-like choices: WCAG 3.2.2);
 *   [aria-invalid="true"]               the first one on the page is focused on load, so
 *                                       a form sent back with errors says where.
 */
(function () {
  "use strict";

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!(form instanceof HTMLFormElement) || !form.dataset.confirm) return;
    if (!window.confirm(form.dataset.confirm)) event.preventDefault();
  });

  document.addEventListener("change", function (event) {
    var field = event.target;
    if (!(field instanceof HTMLSelectElement) || !field.hasAttribute("data-autosubmit")) return;
    if (!field.form) return;
    if (field.form.requestSubmit) field.form.requestSubmit(); else field.form.submit();
  });

  function focusFirstInvalid() {
    var invalid = document.querySelector("main [aria-invalid='true']");
    if (invalid) invalid.focus();
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", focusFirstInvalid);
  } else {
    focusFirstInvalid();
  }
})();

/*
 * htmx forms marked data-swap-errors (channel settings, H5): a 400 answer is the form
 * sent back with its errors, so it is swapped in like a 200 (htmx leaves 4xx answers
 * out by default), and the first field with an error is focused after the swap.
 */
(function () {
  "use strict";

  var sentBack = false;

  document.addEventListener("htmx:beforeSwap", function (event) {
    var detail = event.detail;
    if (!detail || !detail.xhr || detail.xhr.status !== 400) return;
    var source = detail.requestConfig && detail.requestConfig.elt;
    if (!source || !source.closest || !source.closest("[data-swap-errors]")) return;
    detail.shouldSwap = true;
    detail.isError = false;
    sentBack = true;
  });

  document.addEventListener("htmx:afterSettle", function () {
    if (!sentBack) return;
    sentBack = false;
    var invalid = document.querySelector("main [aria-invalid='true']");
    if (invalid) invalid.focus();
  });
})();

/*
 * Business profile (H4):
 *   <textarea data-count-to="ID">   keeps the element #ID saying how many characters
 *                                   are left of its maxlength ("12 of 139 left");
 *   #profile-editor swapped by htmx focuses its first field with an error, or else its
 *                                   notice, so keyboard and screen reader users land on
 *                                   the result of what they sent.
 */
(function () {
  "use strict";

  function count(field) {
    var target = document.getElementById(field.dataset.countTo || "");
    var max = parseInt(field.getAttribute("maxlength") || "0", 10);
    if (!target || !max) return;
    var used = field.value.replace(/\r\n/g, "\n").length;
    var template = target.dataset.countTemplate || "%(left)s / %(max)s";
    target.textContent = template
      .replace("%(left)s", String(Math.max(max - used, 0)))
      .replace("%(max)s", String(max));
  }

  function countAll(root) {
    var fields = (root || document).querySelectorAll("textarea[data-count-to]");
    for (var i = 0; i < fields.length; i++) count(fields[i]);
  }

  document.addEventListener("input", function (event) {
    var field = event.target;
    if (field instanceof HTMLTextAreaElement && field.dataset.countTo) count(field);
  });

  document.addEventListener("htmx:afterSettle", function (event) {
    var root = event.target;
    if (!(root instanceof Element) || root.id !== "profile-editor") return;
    countAll(root);
    var focus = root.querySelector("[aria-invalid='true']") || root.querySelector("#profile-notice");
    if (focus) {
      if (!focus.hasAttribute("tabindex") && focus.id === "profile-notice") focus.setAttribute("tabindex", "-1");
      focus.focus();
    }
  });

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { countAll(document); });
  } else {
    countAll(document);
  }
})();

/*
 * QR codes and message links (H3): <button data-copy-target="#field-id"> copies that
 * field's text to the clipboard; the button reads data-copied ("Copied") for a moment,
 * and the element named by data-copy-status (a polite live region) says it too.
 */
(function () {
  "use strict";

  function copied(button) {
    var label = button.getAttribute("data-label") || button.textContent;
    button.setAttribute("data-label", label);
    button.textContent = button.getAttribute("data-copied") || label;
    var status = document.querySelector(button.getAttribute("data-copy-status") || "");
    if (status) status.textContent = button.getAttribute("data-copied") || "";
    window.setTimeout(function () {
      button.textContent = label;
      if (status) status.textContent = "";
    }, 2000);
  }

  document.addEventListener("click", function (event) {
    var target = event.target;
    var button = target instanceof Element ? target.closest("[data-copy-target]") : null;
    if (!button) return;
    var field = document.querySelector(button.getAttribute("data-copy-target"));
    if (!field) return;
    var text = field.value !== undefined ? field.value : field.textContent;
    function fallback() {
      field.focus();
      if (field.select) field.select();
      try {
        if (document.execCommand("copy")) copied(button);
      } catch (e) {
        /* the text stays selected: the person copies it by hand */
      }
    }
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(function () { copied(button); }, fallback);
    } else {
      fallback();
    }
  });
})();

/*
 * Secrets shown once (REST API, A1: API keys, event webhook secrets):
 *   <button data-copy-from="ID" data-copied-text="Copied">   copies the value of the
 *                                   field #ID to the clipboard and says so on the button
 *                                   (the field stays selectable for copying by hand).
 */
(function () {
  "use strict";

  document.addEventListener("click", function (event) {
    var button = event.target instanceof Element ? event.target.closest("[data-copy-from]") : null;
    if (!button) return;
    var field = document.getElementById(button.getAttribute("data-copy-from") || "");
    if (!field) return;
    var done = function () {
      var text = button.getAttribute("data-copied-text");
      if (text) button.textContent = text;
    };
    field.select();
    if (navigator.clipboard && navigator.clipboard.writeText) {
      navigator.clipboard.writeText(field.value).then(done, function () {});
    } else if (document.execCommand && document.execCommand("copy")) {
      done();
    }
  });
})();

/*
 * Numbers (H2): after htmx swapped in the answer of a step (a number's verification,
 * registration, PIN), focus the element it marks with data-focus-after-swap — the
 * refusal or the result — so keyboard and screen-reader users land on the answer.
 * The mark is removed once used, so a later swap elsewhere does not jump back to it.
 */
(function () {
  "use strict";

  document.addEventListener("htmx:afterSettle", function () {
    var target = document.querySelector("main [data-focus-after-swap]");
    if (!target) return;
    target.removeAttribute("data-focus-after-swap");
    target.focus();
  });
})();

/*
 * Inbox (I1):
 *   #thread-messages                 shows its newest message on load, and again after
 *                                    htmx swapped the thread in (a poll, an action) when
 *                                    the reader was at the bottom before;
 *   [data-window-closes="<ms>"]      the 24-hour window's time left, kept current every
 *                                    30 s in its [data-window-left]: data-text-open with
 *                                    %(hours)s and %(minutes)s, data-text-closed once over.
 */
(function () {
  "use strict";

  var atBottom = true;

  function thread() {
    return document.getElementById("thread-messages");
  }

  function toBottom() {
    var box = thread();
    if (box) box.scrollTop = box.scrollHeight;
  }

  function windowLeft() {
    var boxes = document.querySelectorAll("[data-window-closes]");
    for (var i = 0; i < boxes.length; i++) {
      var box = boxes[i];
      var target = box.querySelector("[data-window-left]");
      var closes = parseInt(box.getAttribute("data-window-closes") || "0", 10);
      if (!target || !closes) continue;
      var left = closes - Date.now();
      if (left <= 0) {
        target.textContent = box.getAttribute("data-text-closed") || "";
        continue;
      }
      var minutes = Math.floor(left / 60000);
      target.textContent = (box.getAttribute("data-text-open") || "")
        .replace("%(hours)s", String(Math.floor(minutes / 60)))
        .replace("%(minutes)s", String(minutes % 60));
    }
  }

  document.addEventListener("htmx:beforeSwap", function () {
    var box = thread();
    if (box) atBottom = box.scrollHeight - box.scrollTop - box.clientHeight < 40;
  });

  document.addEventListener("htmx:afterSettle", function () {
    if (atBottom) toBottom();
    windowLeft();
  });

  function start() {
    toBottom();
    windowLeft();
    window.setInterval(windowLeft, 30000);
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();

/*
 * Inbox replies (I2):
 *   [data-composer-form]   the reply composer's forms. Their text and template values
 *                          are kept across the thread's polls (hx-preserve); once a
 *                          reply is accepted they are emptied for the next one, and
 *                          "composer:sent" is dispatched on the document (detail.form:
 *                          the form that was sent) for the other parts to empty theirs.
 * The forms live in the thread, which a poll may swap while a reply is on its way: the
 * form that sent it is then detached and htmx's afterRequest never reaches the document.
 * So the answer is watched on the request itself, and the kept fields are found by id
 * wherever the swap moved them.
 */
(function () {
  "use strict";

  function sent(form) {
    var text = document.getElementById("reply-text");
    if (text) text.value = "";
    var choice = document.getElementById("template-choice");
    if (choice) choice.value = "";
    var fields = document.getElementById("template-fields");
    if (fields) fields.innerHTML = "";
    document.dispatchEvent(new CustomEvent("composer:sent", { detail: { form: form } }));
  }

  document.addEventListener("htmx:beforeSend", function (event) {
    var detail = event.detail;
    var form = detail && ((detail.requestConfig && detail.requestConfig.elt) || detail.elt);
    if (!form || !form.matches || !form.matches("[data-composer-form]") || !detail.xhr) return;
    var xhr = detail.xhr;
    // htmx's own onload (the swap) was set before this event, so it runs first.
    xhr.addEventListener("load", function () {
      if (xhr.status >= 200 && xhr.status < 300) sent(form);
    });
  });
})();
