// New customer, step 1: the sign-in domain prefix follows what is typed as the primary
// domain (contoso.com → contoso) until the person types a prefix of their own. Without
// JavaScript the server does the same when the field is left empty.
(function () {
  "use strict";
  document.querySelectorAll("input[data-prefix-from]").forEach(function (prefix) {
    var domain = document.getElementById(prefix.getAttribute("data-prefix-from"));
    if (!domain) return;
    function firstLabel(value) {
      var host = value.trim().toLowerCase().replace(/^https?:\/\//, "").replace(/^www\./, "");
      return host.split(/[./]/)[0].replace(/[^a-z0-9-]/g, "").slice(0, 63);
    }
    var filled = prefix.value === "" || prefix.value === firstLabel(domain.value);
    // The script is deferred: a fast typist (or the browser's autofill) may have filled
    // the domain before it ran.
    if (filled && domain.value) prefix.value = firstLabel(domain.value);
    prefix.addEventListener("input", function () {
      filled = prefix.value === "";
    });
    domain.addEventListener("input", function () {
      if (filled) prefix.value = firstLabel(domain.value);
    });
  });
})();
