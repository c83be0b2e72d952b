// Small progressive enhancements; every screen works without this file.
(function () {
  "use strict";

  // Close open menus (details[data-menu]) on Escape or a click outside them.
  document.addEventListener("click", function (event) {
    document.querySelectorAll("details[data-menu][open]").forEach(function (menu) {
      if (!menu.contains(event.target)) menu.removeAttribute("open");
    });
  });
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") return;
    document.querySelectorAll("details[data-menu][open]").forEach(function (menu) {
      menu.removeAttribute("open");
      var summary = menu.querySelector("summary");
      if (summary) summary.focus();
    });
  });

  // The reply composer's article picker: insert a Markdown link at the cursor.
  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-insert-link]");
    if (!button) return;
    var box = document.querySelector(button.getAttribute("data-target"));
    if (!box) return;
    var link = button.getAttribute("data-insert-link");
    var at = box.selectionStart != null ? box.selectionStart : box.value.length;
    box.value = box.value.slice(0, at) + link + box.value.slice(box.selectionEnd || at);
    box.focus();
    box.selectionStart = box.selectionEnd = at + link.length;
  });

  // Move focus to an error summary when a form comes back with errors.
  document.addEventListener("DOMContentLoaded", function () {
    var errors = document.getElementById("form-errors");
    if (errors) errors.focus();
  });
})();
