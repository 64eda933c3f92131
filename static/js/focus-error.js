// After a form comes back with errors, move focus to the summary of what went wrong, so that
// keyboard and screen-reader users start there (without JavaScript, role="alert" announces it).
(function () {
  var summary = document.querySelector(".error-summary, [role='alert'][tabindex='-1']");
  if (summary) { summary.focus(); }
})();
