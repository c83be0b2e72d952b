// The survey page: show the preset reasons that go with the chosen score (none before
// one is chosen), untick the others. Without this file every reason is shown, and the
// server checks that the ticked ones go with the score.
(function () {
  "use strict";

  function update(form) {
    var checked = form.querySelector('input[name="score"]:checked');
    var score = checked ? Number(checked.value) : null;
    var reasons = form.querySelector("[data-survey-reasons]");
    if (!reasons) return;
    var shown = 0;
    reasons.querySelectorAll("li[data-min]").forEach(function (item) {
      var fits = score !== null && (score >= Number(item.dataset.min) && score <= Number(item.dataset.max));
      item.hidden = !fits;
      if (fits) shown += 1;
      else item.querySelector("input").checked = false;
    });
    reasons.hidden = shown === 0;
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll(".survey__form").forEach(function (form) {
      update(form);
      form.addEventListener("change", function (event) {
        if (event.target.name === "score") update(form);
      });
    });
  });
})();
