/*
 * An invitation e-mail links to /invitations/accept/#<token>. Browsers never send the
 * part after "#", so the token reaches no request line, access log or proxy; this
 * script moves it into the page's form and posts it. Without JavaScript the form stays
 * on the page and the person pastes the link into it.
 */
(function () {
  "use strict";
  var token = window.location.hash.slice(1);
  var form = document.getElementById("invitation-token-form");
  var field = form && form.querySelector("[name=token]");
  if (!token || !field) return;
  try {
    token = decodeURIComponent(token);
  } catch (e) {
    // not percent-encoded: keep it as it came
  }
  // Out of the address bar and the history first, so that neither keeps the token.
  window.history.replaceState(null, "", window.location.pathname + window.location.search);
  field.value = token;
  var opening = document.getElementById("invitation-opening");
  if (opening) {
    opening.hidden = false;
    form.hidden = true;
  }
  form.submit();
})();
