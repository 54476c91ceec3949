// The staff check-in page: Enter in a row's input records it (the row's form, through HTMX) and moves
// the cursor to the next row; a row that comes back with an error keeps the cursor.
(function () {
  var pending = null;
  function inputs() { return Array.prototype.slice.call(document.querySelectorAll("input.checkin-input")); }
  document.addEventListener("keydown", function (e) {
    if (e.key !== "Enter" || !e.target.classList || !e.target.classList.contains("checkin-input")) return;
    pending = inputs().indexOf(e.target);
  });
  document.addEventListener("htmx:afterSettle", function () {
    if (pending === null) return;
    var all = inputs();
    var same = all[pending];
    var target = same && same.getAttribute("aria-invalid") === "true" ? same : all[pending + 1];
    pending = null;
    if (target) { target.focus(); target.select(); }
  });
  var first = inputs()[0];
  if (first) first.focus();
})();
