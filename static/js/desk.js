// Progressive enhancement for the desk: every 20 seconds, fetch the state panel and swap in
// each book's card, except a card someone is using (focus inside, or a form with typing in
// it); drop the cards of books no longer on the desk. Without JavaScript the page shows when
// it was made and a Refresh link.
(function () {
  "use strict";
  var panel = document.getElementById("desk-state");
  if (!panel || !window.fetch || !window.DOMParser) { return; }
  var url = panel.getAttribute("data-state-url");
  var EVERY_MS = 20000;

  function isDirty(card) {
    return Array.prototype.some.call(card.querySelectorAll("input, textarea, select"), function (el) {
      if (el.type === "hidden") { return false; }
      if (el.type === "checkbox" || el.type === "radio") { return el.checked !== el.defaultChecked; }
      if (el.tagName === "SELECT") {
        return Array.prototype.some.call(el.options, function (o) { return o.selected !== o.defaultSelected; });
      }
      return el.value !== el.defaultValue;
    });
  }

  function inUse(card) {
    return card.contains(document.activeElement) || isDirty(card);
  }

  function openReadings(card) {
    var open = {};
    card.querySelectorAll("details[open]").forEach(function (d) {
      var reading = d.closest(".desk-reading");
      open[(reading ? reading.id : "") + "|" + d.className] = true;
    });
    return open;
  }

  function reopen(card, open) {
    card.querySelectorAll("details").forEach(function (d) {
      var reading = d.closest(".desk-reading");
      if (open[(reading ? reading.id : "") + "|" + d.className]) { d.open = true; }
    });
  }

  function swap(html) {
    var fresh = new DOMParser().parseFromString(html, "text/html");
    var stamp = fresh.querySelector("[data-desk-generated]");
    // Not the desk's state (the sign-in page, say, once the session ran out): change nothing.
    if (!stamp) { return; }
    var oldStamp = panel.querySelector("[data-desk-generated]");
    if (oldStamp) { oldStamp.replaceWith(document.importNode(stamp, true)); }
    fresh.querySelectorAll("[data-desk-card]").forEach(function (card) {
      var old = document.getElementById(card.id);
      if (!old) { panel.appendChild(document.importNode(card, true)); return; }
      if (inUse(old)) { return; }
      var open = openReadings(old);
      var copy = document.importNode(card, true);
      reopen(copy, open);
      old.replaceWith(copy);
    });
    // A book with no readings left on the day (retired, its readings cancelled) goes too.
    panel.querySelectorAll("[data-desk-card]").forEach(function (old) {
      if (!fresh.getElementById(old.id) && !inUse(old)) { old.remove(); }
    });
  }

  function refresh() {
    if (document.hidden) { return; }
    fetch(url, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (response) {
        return response.ok && !response.redirected ? response.text() : null;
      })
      .then(function (html) { if (html) { swap(html); } })
      .catch(function () { /* offline for a moment: keep what is shown, try again later */ });
  }

  window.setInterval(refresh, EVERY_MS);
  document.addEventListener("visibilitychange", function () {
    if (!document.hidden) { refresh(); }
  });
})();
