// The console's progressive enhancement: keyboard review (j/k move, a/r/e decide, u undo) and
// a live connections page. Every action is still a plain form; without JavaScript nothing is lost.
(function () {
  "use strict";

  function typing(target) {
    var tag = (target && target.tagName) || "";
    return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || (target && target.isContentEditable);
  }

  function reviewKeys() {
    var queue = document.getElementById("queue");
    if (!queue) { return; }
    var items = Array.prototype.slice.call(queue.querySelectorAll("li.proposal"));
    if (!items.length) { return; }
    var current = 0;
    function select(index, focus) {
      current = Math.max(0, Math.min(items.length - 1, index));
      items.forEach(function (el, i) { el.setAttribute("data-current", i === current ? "true" : "false"); });
      if (focus) { items[current].focus(); items[current].scrollIntoView({block: "nearest"}); }
    }
    items.forEach(function (el, i) { el.addEventListener("focus", function () { select(i, false); }); });
    var firstOpen = items.findIndex(function (el) { return el.classList.contains("status-open"); });
    select(firstOpen >= 0 ? firstOpen : 0, false);
    document.addEventListener("keydown", function (event) {
      if (event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) { return; }
      var key = event.key;
      if (key === "j") { select(current + 1, true); event.preventDefault(); return; }
      if (key === "k") { select(current - 1, true); event.preventDefault(); return; }
      if (key === "u") {
        var undo = document.getElementById("undo-form");
        if (undo) { undo.submit(); event.preventDefault(); }
        return;
      }
      var form = items[current].querySelector('form[data-key="' + key + '"]');
      if (!form) { return; }
      event.preventDefault();
      if (key === "e") { form.querySelector('input[name="target"]').focus(); return; }
      var button = form.querySelector("button");
      if (button && !button.disabled) { form.submit(); }
    });
  }

  function liveConnections() {
    var marker = document.querySelector("[data-live]");
    if (!marker) { return; }
    var url = marker.getAttribute("data-live");
    function poll() {
      fetch(url, {credentials: "same-origin", headers: {"Accept": "application/json"}})
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (data) {
          if (!data) { return; }
          if (!data.active) { window.location.reload(); return; }
          marker.textContent = "Syncing: " + data.runs.map(function (r) {
            return r.connection + " " + r.status + " (" + r.read + " read)";
          }).join(", ");
          window.setTimeout(poll, 1500);
        })
        .catch(function () { window.setTimeout(poll, 3000); });
    }
    window.setTimeout(poll, 1000);
  }

  document.addEventListener("DOMContentLoaded", function () { reviewKeys(); liveConnections(); });
})();
