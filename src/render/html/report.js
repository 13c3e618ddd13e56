"use strict";
// The report works without this script; with it, the table sorts and
// filters, and each connection's step-through moves a cursor over its ladder.
(function () {
  document.documentElement.classList.add("js");
  var conns = document.getElementById("conns");
  if (conns) {
    // The table is lines of text in blocks of 1000 (a browser lays out
    // hundreds of thousands of lines at once, not so many table rows). The
    // script reads them into arrays once, when first sorting or filtering,
    // then works on the arrays and writes the blocks afresh.
    var BLOCK = 1000;
    var total = Number(conns.getAttribute("data-rows")) || 0;
    var shown = document.getElementById("shown");
    var buttons = Array.prototype.slice.call(conns.querySelectorAll("pre.head button.sort"));
    var starts = buttons.map(function (b) { return Number(b.getAttribute("data-at")); });
    var data = null;
    var load = function () {
      if (data) { return data; }
      data = { html: [], text: [], keys: {} };
      Array.prototype.forEach.call(conns.querySelectorAll("pre.rows"), function (pre) {
        var h = pre.innerHTML.split("\n");
        var t = pre.textContent.split("\n");
        for (var i = 0; i < h.length; i++) { data.html.push(h[i]); data.text.push(t[i] || ""); }
      });
      data.lower = data.text.map(function (t) { return t.toLowerCase(); });
      data.order = data.text.map(function (_, i) { return i; });
      return data;
    };
    var cell = function (line, col) {
      var end = col + 1 < starts.length ? starts[col + 1] : line.length;
      return line.slice(starts[col], end).trim();
    };
    var count = function (n) {
      if (shown) { shown.textContent = n + " / " + total; }
    };
    var words = [];
    var draw = function () {
      var d = load();
      var rows = d.order.filter(function (i) {
        var t = d.lower[i];
        return words.every(function (w) { return t.indexOf(w) >= 0; });
      });
      Array.prototype.forEach.call(conns.querySelectorAll("pre.rows"), function (pre) { pre.remove(); });
      var frag = document.createDocumentFragment();
      for (var at = 0; at < rows.length; at += BLOCK) {
        var pre = document.createElement("pre");
        pre.className = "rows";
        pre.innerHTML = rows.slice(at, at + BLOCK).map(function (i) { return d.html[i]; }).join("\n");
        frag.appendChild(pre);
      }
      conns.appendChild(frag);
      count(rows.length);
    };
    buttons.forEach(function (button, col) {
      button.addEventListener("click", function () {
        var d = load();
        var numeric = button.hasAttribute("data-numeric");
        var dir = button.getAttribute("aria-sort") === "ascending" ? -1 : 1;
        buttons.forEach(function (o) { o.removeAttribute("aria-sort"); });
        button.setAttribute("aria-sort", dir === 1 ? "ascending" : "descending");
        if (!d.keys[col]) {
          d.keys[col] = d.text.map(function (t) {
            var c = cell(t, col);
            return numeric ? (parseFloat(c) || 0) : c;
          });
        }
        var k = d.keys[col];
        d.order.sort(function (a, b) {
          if (k[a] < k[b]) { return -dir; }
          if (k[a] > k[b]) { return dir; }
          return a - b;
        });
        draw();
      });
    });
    var filter = document.getElementById("filter");
    if (filter) {
      filter.addEventListener("input", function () {
        words = filter.value.toLowerCase().split(/\s+/).filter(Boolean);
        draw();
      });
    }
    count(total);
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
