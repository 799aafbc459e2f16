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
