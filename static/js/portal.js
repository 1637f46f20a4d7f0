/*
 * Partner Portal: small progressive enhancements. Loaded with `defer`, no inline code
 * (the CSP forbids it). Everything is delegated from `document`, so it keeps working
 * after htmx swaps and is a no-op on pages without the elements it looks for.
 *
 * Disclosure menus (<details class="menu">):
 *  - opening one closes the others;
 *  - a click outside an open menu closes it;
 *  - Escape closes the open menu and returns focus to its <summary>;
 *  - tabbing out of an open menu closes it.
 */
(function () {
  "use strict";

  var MENU = "details.menu";

  function openMenus() {
    return Array.prototype.slice.call(document.querySelectorAll(MENU + "[open]"));
  }

  function closeMenu(menu, restoreFocus) {
    if (!menu || !menu.hasAttribute("open")) {
      return;
    }
    menu.removeAttribute("open");
    if (restoreFocus) {
      var summary = menu.querySelector("summary");
      if (summary) {
        summary.focus();
      }
    }
  }

  // Only one menu open at a time. "toggle" does not bubble, so listen in the capture phase.
  document.addEventListener(
    "toggle",
    function (event) {
      var target = event.target;
      if (!(target instanceof Element) || !target.matches(MENU) || !target.open) {
        return;
      }
      openMenus().forEach(function (menu) {
        if (menu !== target) {
          closeMenu(menu, false);
        }
      });
    },
    true
  );

  // Click (or tap) outside closes.
  document.addEventListener("click", function (event) {
    var target = event.target;
    openMenus().forEach(function (menu) {
      if (!(target instanceof Node) || !menu.contains(target)) {
        closeMenu(menu, false);
      }
    });
  });

  // Escape closes and gives focus back to the summary.
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape" && event.key !== "Esc") {
      return;
    }
    var menus = openMenus();
    if (!menus.length) {
      return;
    }
    var active = document.activeElement;
    menus.forEach(function (menu) {
      var focusWasInside = !active || active === document.body || menu.contains(active);
      closeMenu(menu, focusWasInside);
    });
    event.preventDefault();
  });

  // Keyboard focus leaving an open menu closes it (clicks are handled above).
  document.addEventListener("focusout", function (event) {
    var next = event.relatedTarget;
    if (!(next instanceof Node)) {
      return;
    }
    var target = event.target;
    if (!(target instanceof Element)) {
      return;
    }
    var menu = target.closest(MENU + "[open]");
    if (menu && !menu.contains(next)) {
      closeMenu(menu, false);
    }
  });
})();

// Expanding rows (Customers): the first click loads the details with htmx; later clicks
// show and hide them. Space works like Enter, as on a button. Without JavaScript the
// link opens the customer's details page.
(function () {
  "use strict";
  function detailsFor(link) {
    return document.getElementById(link.getAttribute("aria-controls"));
  }
  document.addEventListener("click", function (event) {
    var link = event.target.closest("[data-expander]");
    if (!link) return;
    var details = detailsFor(link);
    if (!details) return; // not loaded yet: htmx fetches it
    event.preventDefault();
    event.stopImmediatePropagation();
    var open = link.getAttribute("aria-expanded") === "true";
    details.hidden = open;
    link.setAttribute("aria-expanded", open ? "false" : "true");
  }, true);
  document.addEventListener("keydown", function (event) {
    var link = event.target.closest && event.target.closest("[data-expander]");
    if (link && (event.key === " " || event.key === "Spacebar")) {
      event.preventDefault();
      link.click();
    }
  });
  document.body.addEventListener("htmx:afterSwap", function (event) {
    var link = event.detail.requestConfig && event.detail.requestConfig.elt;
    if (link && link.hasAttribute && link.hasAttribute("data-expander")) {
      link.setAttribute("aria-expanded", "true");
      var details = detailsFor(link);
      if (details) details.querySelector("a, button") && details.querySelector("a, button").focus();
    }
  });
})();

// The language switcher changes language as soon as one is chosen; its button is only
// needed without JavaScript.
(function () {
  "use strict";
  document.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
    var button = select.form && select.form.querySelector("[data-autosubmit-button]");
    if (button) button.hidden = true;
    select.addEventListener("change", function () { select.form.submit(); });
  });
})();
