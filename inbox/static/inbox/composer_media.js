/*
 * Inbox: the composer's file (inbox/_composer_media.html).
 *   [data-media-input]   the file input: once a file is chosen, #media-chosen says its
 *                        name, kind (the words come from its data-kind-* attributes)
 *                        and size; the server decides the kind from the bytes again.
 *   [data-media-form]    once the file is accepted ("composer:sent", from portal.js),
 *                        the input, the caption and the line are emptied for the next
 *                        one (they are kept across the thread's polls with hx-preserve).
 * Loaded once with the inbox page (inbox/inbox.html); listeners are delegated, so the
 * composer may be swapped in and out.
 */
(function () {
  "use strict";
  if (window.inboxComposerMedia) return;
  window.inboxComposerMedia = true;

  var KINDS = [
    ["image", /^image\/(jpeg|png)$/, /\.(jpe?g|png)$/i],
    ["sticker", /^image\/webp$/, /\.webp$/i],
    ["video", /^video\/(mp4|3gpp)$/, /\.(mp4|3gpp?)$/i],
    ["audio", /^audio\//, /\.(aac|amr|mp3|m4a|ogg|oga|opus)$/i],
    ["document", /^(application\/(pdf|msword|vnd\.)|text\/plain$)/, /\.(pdf|docx?|xlsx?|pptx?|txt)$/i]
  ];

  function kindOf(file) {
    for (var i = 0; i < KINDS.length; i++) {
      if (KINDS[i][2].test(file.name) || KINDS[i][1].test(file.type || "")) return KINDS[i][0];
    }
    return "other";
  }

  function sizeOf(bytes) {
    if (bytes >= 1048576) return (bytes / 1048576).toFixed(1) + " MB";
    return Math.max(1, Math.round(bytes / 1024)) + " KB";
  }

  function show(input) {
    var line = document.getElementById("media-chosen");
    if (!line) return;
    var file = input.files && input.files[0];
    if (!file) {
      line.textContent = "";
      return;
    }
    var kind = kindOf(file);
    line.setAttribute("data-kind", kind);
    line.textContent =
      file.name + " · " + (line.getAttribute("data-kind-" + kind) || kind) + " · " + sizeOf(file.size);
  }

  document.addEventListener("change", function (event) {
    var input = event.target;
    if (input && input.matches && input.matches("[data-media-input]")) show(input);
  });

  // Dispatched by portal.js once a composer form's reply was accepted.
  document.addEventListener("composer:sent", function (event) {
    var form = event.detail && event.detail.form;
    if (!form || !form.matches || !form.matches("[data-media-form]")) return;
    var input = document.getElementById("media-file");
    if (input) input.value = "";
    var caption = document.getElementById("media-caption");
    if (caption) caption.value = "";
    var line = document.getElementById("media-chosen");
    if (line) line.textContent = "";
  });
})();
