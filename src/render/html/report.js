"use strict";
// The report works without this script; with it, the table sorts and
// filters, and each connection's step-through moves a cursor over its ladder.
(function () {
  document.documentElement.classList.add("js");
  var table = document.getElementById("conns");
  if (table) {
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    var shown = document.getElementById("shown");
    var count = function () {
      var n = rows.filter(function (r) { return !r.classList.contains("hidden"); }).length;
      if (shown) { shown.textContent = n + " / " + rows.length; }
    };
    var value = function (row, col, numeric) {
      var cell = row.cells[col];
      if (!cell) { return numeric ? 0 : ""; }
      return numeric ? parseFloat(cell.textContent) : cell.textContent;
    };
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th) {
      var button = th.querySelector("button.sort");
      if (!button) { return; }
      button.addEventListener("click", function () {
        var col = Number(th.getAttribute("data-col"));
        var numeric = th.hasAttribute("data-numeric");
        var dir = th.getAttribute("aria-sort") === "ascending" ? -1 : 1;
        Array.prototype.forEach.call(table.tHead.rows[0].cells, function (o) { o.removeAttribute("aria-sort"); });
        th.setAttribute("aria-sort", dir === 1 ? "ascending" : "descending");
        var keyed = rows.map(function (r, i) { return [value(r, col, numeric), i, r]; });
        keyed.sort(function (a, b) {
          if (a[0] < b[0]) { return -dir; }
          if (a[0] > b[0]) { return dir; }
          return a[1] - b[1];
        });
        var frag = document.createDocumentFragment();
        keyed.forEach(function (k) { frag.appendChild(k[2]); });
        body.appendChild(frag);
      });
    });
    var filter = document.getElementById("filter");
    if (filter) {
      filter.addEventListener("input", function () {
        var words = filter.value.toLowerCase().split(/\s+/).filter(Boolean);
        rows.forEach(function (r) {
          var t = r.textContent.toLowerCase();
          var match = words.every(function (w) { return t.indexOf(w) >= 0; });
          r.classList.toggle("hidden", !match);
        });
        count();
      });
    }
    count();
  }

  // The step-through: the one last used (or the first) follows the arrow keys.
  var current = null;
  Array.prototype.forEach.call(document.querySelectorAll("section.conn"), function (sec) {
    var stepper = sec.querySelector(".stepper");
    if (!stepper) { return; }
    var ladder = sec.querySelector("figure.ladder-fig svg");
    var items = sec.querySelectorAll("ol.steps > li");
    var pos = stepper.querySelector(".pos");
    var cs = stepper.querySelector(".cs");
    var ss = stepper.querySelector(".ss");
    var narration = stepper.querySelector(".narration");
    var at = 0;
    var control = {
      show: function (k) {
        if (items.length === 0) { return; }
        at = Math.max(0, Math.min(items.length - 1, k));
        if (ladder) {
          Array.prototype.forEach.call(ladder.querySelectorAll("g.arrow.cur"), function (a) { a.classList.remove("cur"); });
          var arrow = ladder.querySelector('g.arrow[data-step="' + at + '"]');
          if (arrow) { arrow.classList.add("cur"); }
        }
        var li = items[at];
        var line = li.querySelector(".line");
        pos.textContent = (at + 1) + " / " + items.length + "  " + (line ? line.textContent : "");
        var sides = li.querySelector(".states").textContent.split("·");
        cs.textContent = (sides[0] || "").trim();
        ss.textContent = (sides[1] || "").trim();
        var narr = li.querySelector(".narr");
        narration.textContent = narr ? narr.textContent : "";
        stepper.setAttribute("data-at", String(at));
        stepper.setAttribute("data-client", li.getAttribute("data-client"));
        stepper.setAttribute("data-server", li.getAttribute("data-server"));
      },
      at: function () { return at; }
    };
    var use = function () {
      if (current && current.stepper !== stepper) { current.stepper.classList.remove("current"); }
      current = { control: control, stepper: stepper };
      stepper.classList.add("current");
    };
    stepper.querySelector(".prev").addEventListener("click", function () { use(); control.show(at - 1); });
    stepper.querySelector(".next").addEventListener("click", function () { use(); control.show(at + 1); });
    sec.addEventListener("click", use);
    sec.addEventListener("focusin", use);
    if (!current) { use(); }
    control.show(0);
  });
  document.addEventListener("keydown", function (e) {
    if (!current || (e.target && e.target.tagName === "INPUT")) { return; }
    if (e.key === "ArrowRight") { current.control.show(current.control.at() + 1); e.preventDefault(); }
    if (e.key === "ArrowLeft") { current.control.show(current.control.at() - 1); e.preventDefault(); }
  });
})();
