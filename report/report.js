(function () {
  "use strict";
  document.querySelectorAll("[data-table]").forEach(function (box) {
    var table = document.getElementById(box.getAttribute("data-table"));
    var q = box.querySelector("input[name=q]"), kind = box.querySelector("select[name=kind]"), out = box.querySelector("output");
    var rows = Array.prototype.slice.call(table.tBodies[0].querySelectorAll("tr[data-row]"));
    function filter() {
      var s = q.value.trim().toLowerCase(), k = kind.value, shown = 0;
      rows.forEach(function (r) {
        var ok = (!s || r.textContent.toLowerCase().indexOf(s) >= 0) && (!k || r.getAttribute("data-kind") === k);
        r.hidden = !ok;
        if (ok) { shown++; }
      });
      out.textContent = shown + " of " + rows.length + " entries shown";
    }
    q.addEventListener("input", filter);
    kind.addEventListener("change", filter);
    box.hidden = false;
    filter();
  });
  // Printed, the charts' data tables and the policy diffs are shown.
  window.addEventListener("beforeprint", function () {
    document.querySelectorAll("details").forEach(function (d) { d.open = true; });
  });
  document.querySelectorAll("table.sortable").forEach(function (table) {
    var heads = table.tHead.rows[0].cells;
    Array.prototype.forEach.call(heads, function (th, col) {
      var b = document.createElement("button");
      b.type = "button";
      b.className = "sort";
      b.textContent = th.textContent;
      th.textContent = "";
      th.appendChild(b);
      b.addEventListener("click", function () {
        var asc = th.getAttribute("aria-sort") !== "ascending", num = th.getAttribute("data-type") === "num";
        Array.prototype.forEach.call(heads, function (h) { h.removeAttribute("aria-sort"); });
        th.setAttribute("aria-sort", asc ? "ascending" : "descending");
        var body = table.tBodies[0];
        var rs = Array.prototype.slice.call(body.querySelectorAll("tr[data-row]"));
        rs.sort(function (x, y) {
          var a = x.cells[col].textContent.trim(), c = y.cells[col].textContent.trim();
          var r = num ? (parseFloat(a) || 0) - (parseFloat(c) || 0) : a.localeCompare(c);
          return asc ? r : -r;
        });
        rs.forEach(function (r) { body.appendChild(r); });
      });
    });
  });
})();
