// Fangkong page glue: htmx settings and toasts. Kept tiny on purpose (phones on slow networks).
(function () {
  "use strict";
  function toastArea() { return document.getElementById("toasts"); }

  function showToast(text, level) {
    var area = toastArea();
    if (!area) { return; }
    var div = document.createElement("div");
    div.className = "toast toast-" + (level || "info");
    div.setAttribute("role", level === "error" ? "alert" : "status");
    var strong = document.createElement("strong");
    strong.textContent = text;
    div.appendChild(strong);
    area.appendChild(div);
    autoDismiss(div);
  }

  function autoDismiss(el) {
    window.setTimeout(function () { if (el.parentElement) { el.remove(); } }, 8000);
  }

  // Behaviour by data attributes, never inline handlers (the Content-Security-Policy forbids them).
  document.addEventListener("click", function (evt) {
    var close = evt.target.closest && evt.target.closest("[data-close-toast]");
    if (close && close.parentElement) { close.parentElement.remove(); }
    var once = evt.target.closest && evt.target.closest("[data-disable-on-click]");
    if (once) { window.setTimeout(function () { once.disabled = true; }, 0); }
    // menu sections: one open at a time; a click elsewhere closes them
    var here = evt.target.closest && evt.target.closest(".nav-group details");
    document.querySelectorAll(".nav-group details[open]").forEach(function (d) {
      if (d !== here) { d.removeAttribute("open"); }
    });
  });
  document.addEventListener("keydown", function (evt) {
    if (evt.key === "Escape") {
      document.querySelectorAll(".nav-group details[open]").forEach(function (d) { d.removeAttribute("open"); });
    }
  });
  document.addEventListener("change", function (evt) {
    if (evt.target.matches && evt.target.matches("[data-autosubmit]") && evt.target.form) {
      evt.target.form.submit();
    }
  });

  document.addEventListener("DOMContentLoaded", function () {
    if (!window.htmx) { return; }
    // Error responses carry a toast (HX-Retarget: #toasts), so 4xx/5xx bodies are swapped too.
    htmx.config.responseHandling = [
      { code: "204", swap: false },
      { code: "[23]..", swap: true },
      { code: "[45]..", swap: true, error: true },
      { code: "...", swap: false }
    ];
    htmx.config.historyCacheSize = 0; // pages hold personal data: keep none in localStorage
    document.body.addEventListener("htmx:sendError", function () {
      showToast(document.body.dataset.networkError || "Network error", "error");
    });
    document.body.addEventListener("htmx:afterSwap", function (evt) {
      if (evt.detail.target && evt.detail.target.id === "toasts") {
        var last = evt.detail.target.lastElementChild;
        if (last) { autoDismiss(last); }
      }
    });
  });
})();
