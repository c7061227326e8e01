// Placeholders in reply text, for the pages' scripts: find the {{name|fallback}} still to
// fill, strip or add the invisible isolate marks (LRI ... PDI) that keep {{name}} readable
// inside right-to-left text, and spot a half-deleted placeholder before text leaves replykit.
"use strict";

window.replykit.placeholders = (function () {
  // a placeholder name: text on one line without braces or "|" (suggest/placeholders.py NAME)
  const NAME = "[^\\s{}|](?:[^{}|\\n]*[^\\s{}|])?";
  const LRI = "\u2066", PDI = "\u2069";
  const PLACEHOLDER = new RegExp(`${LRI}?\\{\\{\\s*(${NAME})\\s*(?:\\|([^{}]*))?\\}\\}${PDI}?`, "g");

  // the text as the customer should get it: the isolate marks around placeholders removed
  function plain(text) {
    return text.replace(new RegExp(`${LRI}(\\{\\{[^{}]*\\}\\})${PDI}`, "g"), "$1")
      .replaceAll(LRI + PDI, ""); // the marks of a placeholder the agent deleted by hand
  }

  function isolated(text) {
    return plain(text).replace(PLACEHOLDER, (m) => LRI + m + PDI);
  }

  // [{name, fallback, start, end}] of each placeholder in `text`
  function unfilled(text) {
    return [...text.matchAll(PLACEHOLDER)].map((m) => ({
      name: m[1], fallback: m[2] === undefined ? null : m[2], start: m.index, end: m.index + m[0].length,
    }));
  }

  // half a placeholder ("{{order.id}" after an edit): the text around it, or null
  function broken(text) {
    const found = /[^\s{}]*\{\{[^\n]{0,30}|[^\n]{0,30}\}\}/.exec(text);
    return found ? { text: found[0].trim(), start: found.index, end: found.index + found[0].length } : null;
  }

  return { PLACEHOLDER, plain, isolated, unfilled, broken };
})();
