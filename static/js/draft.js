// The draft partnership email: keep "Open in email" in step with the edited text,
// copy subject and body to the clipboard (or select them when the browser won't),
// and make Send submit once.
(function () {
  "use strict";
  var form = document.querySelector("form[data-draft]");
  if (!form) return;
  var subject = form.querySelector("[name=subject]");
  var body = form.querySelector("[name=body]");
  var open = document.getElementById("open-in-email");
  var copy = document.getElementById("copy-to-clipboard");
  var status = document.getElementById("copy-status");
  var to = form.getAttribute("data-to") || "";

  function encode(text) {
    // RFC 6068: every reserved character percent-encoded, line breaks as CRLF.
    return encodeURIComponent(text.replace(/\r?\n/g, "\r\n"));
  }

  function update() {
    if (!open) return;
    open.href = "mailto:" + encodeURIComponent(to).replace("%40", "@") +
      "?subject=" + encode(subject.value) + "&body=" + encode(body.value);
  }

  function text() {
    return subject.value + "\n\n" + body.value;
  }

  function say(message) {
    if (status) status.textContent = message;
  }

  function fallback() {
    // No clipboard permission (or an insecure context): put the whole message in the
    // textarea's selection so the person can copy it with the keyboard.
    var previous = body.value;
    body.value = text();
    body.focus();
    body.select();
    var copied = false;
    try { copied = document.execCommand("copy"); } catch (e) { copied = false; }
    body.value = previous;
    if (copied) {
      say(copy.getAttribute("data-copied"));
    } else {
      body.value = text();
      body.select();
      say(copy.getAttribute("data-select-hint"));
      body.addEventListener("blur", function restore() {
        body.value = previous;
        update();
        body.removeEventListener("blur", restore);
      });
    }
  }

  if (subject && body) {
    subject.addEventListener("input", update);
    body.addEventListener("input", update);
    update();
  }

  if (copy) {
    copy.addEventListener("click", function () {
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(text()).then(function () {
          say(copy.getAttribute("data-copied"));
        }, fallback);
      } else {
        fallback();
      }
    });
  }

  form.addEventListener("submit", function (event) {
    var button = form.querySelector("[data-once]");
    if (!button) return;
    if (button.getAttribute("aria-disabled") === "true") {
      event.preventDefault();
      return;
    }
    button.setAttribute("aria-disabled", "true");
  });
})();
