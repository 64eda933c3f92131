// Progressive enhancement: a "Copy" button next to each read-only link field.
// Without JavaScript the field is still there to select and copy by hand.
(function () {
  "use strict";
  document.querySelectorAll("input.copy-source").forEach(function (input) {
    var button = document.createElement("button");
    var status = document.createElement("span");
    button.type = "button";
    button.className = "button button-small button-secondary";
    button.textContent = "Copy link";
    status.setAttribute("role", "status");
    status.className = "copy-status";
    button.addEventListener("click", function () {
      input.select();
      var done = function () { status.textContent = "Copied."; };
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(input.value).then(done, function () {
          status.textContent = "Press Ctrl+C (or ⌘C) to copy.";
        });
      } else {
        try { document.execCommand("copy"); done(); }
        catch (e) { status.textContent = "Press Ctrl+C (or ⌘C) to copy."; }
      }
    });
    input.insertAdjacentElement("afterend", status);
    input.insertAdjacentElement("afterend", button);
  });
})();
