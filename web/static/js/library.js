// Live placeholder preview of the saved-reply editor, with sample values.
"use strict";

(function () {
  const body = document.getElementById("body");
  const preview = document.getElementById("preview");
  if (!body || !preview) return;
  const { el, t } = window.replykit;
  const SAMPLE = {
    "customer.first_name": "Emma", "customer.name": "Emma Stone",
    "customer.email": "emma@example.com", "ticket.id": "T-1001", "order.id": "A-10452",
    "agent.name": preview.dataset.agent, "company.name": "Acme",
  };
  // as suggest/placeholders.py PLACEHOLDER: a name is text on one line without braces or "|"
  const PLACEHOLDER = /\{\{\s*([^\s{}|](?:[^{}|\n]*[^\s{}|])?)\s*(?:\|([^{}]*))?\}\}/g;

  function render() {
    const text = body.value;
    preview.replaceChildren();
    let position = 0, missing = 0;
    for (const match of text.matchAll(PLACEHOLDER)) {
      preview.append(text.slice(position, match.index));
      const value = SAMPLE[match[1]];
      if (value) preview.append(el("span", { class: "filled", title: match[1] }, value));
      else if (match[2] !== undefined) preview.append(el("span", { class: "fallback", title: t("(default)", { name: match[1] }) }, match[2]));
      else { preview.append(el("mark", { title: t("no value, no default") }, match[0])); missing++; }
      position = match.index + match[0].length;
    }
    preview.append(text.slice(position));
    const stray = text.replace(PLACEHOLDER, "").match(/\{\{|\}\}/);
    document.getElementById("preview-status").textContent =
      (stray ? t("stray braces") : "") + (missing ? t("no default left", { num: missing }) : "");
  }
  body.addEventListener("input", render);
  render();
})();
