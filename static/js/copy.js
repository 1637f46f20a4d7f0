// "Copy to clipboard" buttons: data-copy-target lists the ids whose text to copy.
// Without clipboard permission the text is selected instead, for Ctrl+C.
(function () {
  "use strict";
  document.querySelectorAll("[data-copy-target]").forEach(function (button) {
    var status = document.getElementById("copy-status");
    var ids = button.getAttribute("data-copy-target").split(" ");
    function text() {
      return ids.map(function (id) {
        var el = document.getElementById(id);
        return el ? el.textContent.trim() : "";
      }).join("\n");
    }
    function say(message) { if (status) status.textContent = message; }
    function selectTargets() {
      var first = document.getElementById(ids[0]);
      var last = document.getElementById(ids[ids.length - 1]);
      if (!first || !last) return;
      var range = document.createRange();
      range.setStartBefore(first);
      range.setEndAfter(last);
      var selection = window.getSelection();
      selection.removeAllRanges();
      selection.addRange(range);
      var copied = false;
      try { copied = document.execCommand("copy"); } catch (e) { copied = false; }
      say(button.getAttribute(copied ? "data-copied" : "data-select-hint"));
    }
    button.addEventListener("click", function () {
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(text()).then(function () {
          say(button.getAttribute("data-copied"));
        }, selectTargets);
      } else {
        selectTargets();
      }
    });
  });
})();
