// Shared helpers: JSON calls that carry the CSRF token, and small DOM builders.
"use strict";

window.replykit = (function () {
  function csrfToken() {
    const meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.content : "";
  }

  // With a `token` (the /embed panel inside a helpdesk's frame): sent as a bearer token,
  // without cookies and so without the CSRF token they need.
  async function api(method, url, body, token) {
    const options = { method, headers: { "Accept": "application/json" },
                      credentials: token ? "omit" : "same-origin" };
    if (body !== undefined) {
      options.headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(body);
    }
    if (token) options.headers.Authorization = `Bearer ${token}`;
    else if (method !== "GET") options.headers["X-CSRFToken"] = csrfToken();
    const response = await fetch(url, options);
    let data = null;
    try { data = await response.json(); } catch (e) { data = null; }
    if (!response.ok) {
      const error = new Error((data && data.error) || response.statusText);
      error.status = response.status;
      throw error;
    }
    return data;
  }

  // Put exactly `text` on the clipboard; where the async clipboard is refused (plain HTTP, a
  // helpdesk's iframe without the permission) through a one-off copy event.
  async function copyText(text) {
    try {
      await navigator.clipboard.writeText(text);
    } catch (e) {
      const put = (event) => { event.clipboardData.setData("text/plain", text); event.preventDefault(); };
      document.addEventListener("copy", put, { once: true });
      document.execCommand("copy");
    }
  }

  // el("li", {class: "x", dir: "auto"}, "text", child...) - text is always set as text.
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (key === "dataset") Object.assign(node.dataset, value);
      else node.setAttribute(key, value === true ? "" : String(value));
    }
    for (const child of children) {
      if (child === null || child === undefined) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  function debounce(fn, ms) {
    let timer = null;
    return function (...args) {
      clearTimeout(timer);
      timer = setTimeout(() => fn.apply(this, args), ms);
    };
  }

  // The page's messages in its language: the JSON in the data-messages of #i18n
  // (web/js_messages.py, from the gettext catalogs). parts("key", {name: value}) fills each
  // %(name)s and keeps a value that is a node (a <bdi> title) as a node, for el(); t() gives
  // the text. Numbers take the page's digits; a message with a plural picks its form by
  // values.num.
  let catalog = null;
  const lang = () => document.documentElement.lang || "en";
  function messages() {
    if (catalog === null) {
      const node = document.getElementById("i18n");
      catalog = node ? JSON.parse(node.dataset.messages || "{}") : {};
    }
    return catalog;
  }

  function number(n) {
    return n.toLocaleString(lang(), { useGrouping: false, maximumFractionDigits: 20 });
  }

  function parts(key, values = {}) {
    let text = messages()[key];
    if (text && typeof text === "object") text = values.num === 1 ? text.one : text.other;
    if (typeof text !== "string") text = key; // a key missing from js_messages (a test fails)
    const out = [];
    let position = 0;
    for (const m of text.matchAll(/%\((\w+)\)[sd]/g)) {
      const value = values[m[1]];
      out.push(text.slice(position, m.index),
        typeof value === "number" ? number(value) : value === undefined ? m[0] : value);
      position = m.index + m[0].length;
    }
    out.push(text.slice(position));
    return out.filter((p) => p !== "");
  }

  function t(key, values) {
    return parts(key, values).map((p) => (p instanceof Node ? p.textContent : p)).join("");
  }

  // a readable date and time in the page's language and the user's calendar
  function readableDate(iso) {
    const date = new Date(iso);
    if (!iso || Number.isNaN(date.getTime())) return "";
    const node = document.getElementById("i18n");
    const calendar = { buddhist: "buddhist", persian: "persian" }[node && node.dataset.calendar]
      || "gregory";
    return date.toLocaleString(lang(), { dateStyle: "medium", timeStyle: "short", calendar });
  }

  // Confirm buttons: <button data-confirm="Sure?">
  document.addEventListener("click", (event) => {
    const button = event.target.closest("[data-confirm]");
    if (button && !window.confirm(button.dataset.confirm)) event.preventDefault();
  });

  return { api, copyText, el, debounce, csrfToken, t, parts, number, readableDate, messages };
})();
