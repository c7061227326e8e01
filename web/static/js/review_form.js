// Live score of the review form: the rubric's formula (docs/rubrics.md) on the chosen ratings.
"use strict";

(function () {
  const form = document.getElementById("score-form");
  if (!form) return;
  const output = document.getElementById("live-score");
  const verdict = document.getElementById("live-verdict");
  const passAt = Number(form.dataset.pass);
  // the page's language: messages from the template's catalog, numbers in its digits
  const say = JSON.parse(form.dataset.messages || "{}");
  const lang = document.documentElement.lang || "en";
  const number = (n, digits) => n.toLocaleString(lang, { minimumFractionDigits: digits,
    maximumFractionDigits: digits, useGrouping: false });

  function update() {
    let weighted = 0, weights = 0, failed = false, rated = 0, total = 0;
    form.querySelectorAll("fieldset.category").forEach((set) => {
      total++;
      const checked = set.querySelector("input[type=radio]:checked");
      if (!checked) return;
      rated++;
      if (checked.value === "na") return;
      const min = Number(set.dataset.min), max = Number(set.dataset.max);
      const score = (100 * (Number(checked.value) - min)) / (max - min);
      if (set.dataset.critical === "true" && score < 50) failed = true;
      weighted += score * Number(set.dataset.weight);
      weights += Number(set.dataset.weight);
    });
    const score = failed ? 0 : weights ? weighted / weights : null;
    output.textContent = score === null ? "–" : number(score, 2);
    const counted = (say.rated || "{rated}/{total} rated")
      .replace("{rated}", number(rated, 0)).replace("{total}", number(total, 0));
    verdict.textContent = counted + (score === null ? "" : " · " + (failed
      ? say.failed || "failed a critical category"
      : score >= passAt ? say.good || "good" : say.below || "below the pass mark"));
  }
  form.addEventListener("change", update);
  update();
})();
