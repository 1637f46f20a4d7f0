// Forms marked data-submit-once send their [data-once] button's submit once: a double
// click must not post twice (the server also makes a repeat one order; this is UX).
(function () {
  "use strict";
  document.querySelectorAll("form[data-submit-once]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      var button = event.submitter;
      if (!button || !button.hasAttribute("data-once")) return;
      if (form.getAttribute("data-sent") === "true") {
        event.preventDefault();
        return;
      }
      form.setAttribute("data-sent", "true");
      button.setAttribute("aria-disabled", "true");
    });
  });
  // Back to a page kept in the browser's cache: the form may be sent again.
  window.addEventListener("pageshow", function () {
    document.querySelectorAll("form[data-sent]").forEach(function (form) {
      form.removeAttribute("data-sent");
      form.querySelectorAll("[data-once]").forEach(function (b) {
        b.removeAttribute("aria-disabled");
      });
    });
  });
})();
