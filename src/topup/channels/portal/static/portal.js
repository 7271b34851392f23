/* topup portal: a few enhancements; every page works without them. */
(function () {
  "use strict";

  // The auto-renew switch saves itself when flipped (the Save button is for no-script).
  document.querySelectorAll("input[data-autosubmit]").forEach(function (box) {
    var form = box.form;
    form.querySelectorAll(".js-hide").forEach(function (button) { button.hidden = true; });
    box.addEventListener("change", function () {
      if (form.requestSubmit) { form.requestSubmit(); } else { form.submit(); }
    });
  });

  // An order form is sent once: a second press while the first is on its way does nothing.
  document.querySelectorAll("form[data-once]").forEach(function (form) {
    var sent = false;
    form.addEventListener("submit", function (event) {
      if (sent) { event.preventDefault(); return; }
      sent = true;
    });
  });

  // Typing an own amount chooses "Other amount".
  var custom = document.getElementById("f-custom_amount");
  var other = document.getElementById("f-amount-custom");
  if (custom && other) {
    custom.addEventListener("input", function () { other.checked = true; });
  }

  // The order page asks for its state until the order is settled, then reloads.
  var box = document.querySelector("[data-poll]");
  if (box) {
    var url = box.getAttribute("data-poll");
    var state = box.getAttribute("data-state");
    var tries = 0;
    var poll = function () {
      tries += 1;
      fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (data) {
          if (data && data.state !== state) { window.location.reload(); return; }
          if (tries < 400) { window.setTimeout(poll, 3000); }
        })
        .catch(function () { if (tries < 400) { window.setTimeout(poll, 6000); } });
    };
    window.setTimeout(poll, 2000);
  }

  // The service worker (sw.js) shows an offline page when the server cannot be reached and
  // makes the portal installable; it is told each page's language for that offline page.
  if ("serviceWorker" in navigator) {
    window.addEventListener("load", function () {
      navigator.serviceWorker.register("/sw.js", { scope: "/" }).then(function () {
        return navigator.serviceWorker.ready;
      }).then(function (registration) {
        if (registration.active) {
          registration.active.postMessage({ lang: document.documentElement.lang });
        }
      }).catch(function () { /* no worker (private window, old browser): pages still work */ });
    });
  }
})();
