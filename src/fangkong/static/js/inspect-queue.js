// Inspection page (查验): add persons; post the form once by client id; offline entries wait in
// localStorage and go when the network is back. No framework. The server is idempotent by client id.
(function () {
  "use strict";
  var KEY = "fk-inspect-queue";
  var form = document.getElementById("inspect-form");
  if (!form) return;
  var status = document.querySelector("[data-testid=queue-status]");
  function queue() { try { return JSON.parse(localStorage.getItem(KEY) || "[]"); } catch (e) { return []; } }
  function save(q) { localStorage.setItem(KEY, JSON.stringify(q)); show(q); }
  function show(q) {
    if (!status) return;
    status.hidden = q.length === 0;
    status.textContent = q.length ? (status.dataset.waiting || "待上传") + ": " + q.length : "";
  }
  function csrf() { var i = form.querySelector("input[name=csrf_token]"); return i ? i.value : ""; }
  function send(entry) {
    var body = new URLSearchParams(entry.fields);
    body.set("csrf_token", csrf());
    return fetch(form.action, {method: "POST", body: body, credentials: "same-origin",
      headers: {"Accept": "application/json", "X-CSRF-Token": csrf()}}).then(function (r) {
      if (r.status >= 500 || r.status === 0) throw new Error("retry");
      return r;
    });
  }
  function flush() {
    var q = queue();
    if (!q.length || !navigator.onLine) return;
    var entry = q[0];
    send(entry).then(function () { save(queue().filter(function (e) { return e.client_id !== entry.client_id; })); flush(); })
      .catch(function () { /* stays queued */ });
  }
  document.getElementById("add-person").addEventListener("click", function () {
    var hidden = form.querySelector("fieldset.person[hidden]");
    if (hidden) { hidden.hidden = false; var first = hidden.querySelector("input"); if (first) first.focus(); }
  });
  form.addEventListener("submit", function (ev) {
    clearTimeout(checkTimer);
    // an ID number typed in the first box that looks like a phone goes to the phone field
    form.querySelectorAll("fieldset.person").forEach(function (fs) {
      var n = fs.dataset.person, id = form.elements["p" + n + "_id_number"], ph = form.elements["p" + n + "_phone"];
      if (id && ph && /^1[3-9]\d{9}$/.test(id.value.replace(/\s/g, "")) && !ph.value) { ph.value = id.value; id.value = ""; }
    });
    if (navigator.onLine) return; // online: the ordinary post, the page answers
    ev.preventDefault();
    var fields = {};
    new FormData(form).forEach(function (v, k) { if (typeof v === "string") fields[k] = v; });
    if (!fields.inspected_at) fields.inspected_at = new Date().toISOString();
    var q = queue();
    if (!q.some(function (e) { return e.client_id === fields.client_id; })) q.push({client_id: fields.client_id, fields: fields});
    save(q);
    form.reset();
    form.elements.client_id.value = (crypto.randomUUID ? crypto.randomUUID() : String(Date.now()) + Math.random()).replace(/-/g, "");
  });
  // the answer at once: the e-pass verdict and each origin's risk level, fetched while the form is filled
  var checkTimer = null, checked = "";
  var CHECKED = /^(epass_token|plate|p\d+_(origin|tested_at))$/;
  function check() {
    if (!navigator.onLine || !form.dataset.check) return;
    var body = new URLSearchParams(), key = [];
    new FormData(form).forEach(function (v, k) {
      if (typeof v !== "string") return;
      body.append(k, v);
      if (CHECKED.test(k)) key.push(k + "=" + v);
    });
    if (key.join("&") === checked) return; // nothing the answer depends on changed
    checked = key.join("&");
    fetch(form.dataset.check, {method: "POST", body: body, credentials: "same-origin",
      headers: {"X-CSRF-Token": csrf()}}).then(function (r) { return r.ok ? r.text() : null; }).then(function (html) {
      var box = document.getElementById("inspect-check");
      if (html && box) box.outerHTML = html;
    }).catch(function () { /* offline or refused: the record still goes */ });
  }
  function soon() { clearTimeout(checkTimer); checkTimer = setTimeout(check, 250); }
  form.addEventListener("change", function (ev) {
    var name = ev.target && ev.target.name || "";
    if (CHECKED.test(name)) soon();
  });
  form.elements.epass_token.addEventListener("input", soon);
  window.addEventListener("online", flush);
  show(queue());
  flush();
})();
