// The /embed panel beside a helpdesk ticket (web/embed.py): finds the conversation (address
// `?conversation=ID`, or Chatwoot's appContext message from a configured origin only), shows
// the suggestions for the customer's messages since the last agent reply, fills placeholders
// from the conversation and contact, and copies or sends the reply back to the helpdesk.
// Like the workspace, it refuses to copy or send while a {{placeholder}} is unfilled.
// Login: a token from the address's fragment or a postMessage (kept in memory only, sent as
// Authorization: Bearer), else the session cookie with the CSRF token.
"use strict";

(function () {
  const { el, api } = window.replykit;
  const P = window.replykit.placeholders;
  const root = document.getElementById("embed");
  if (!root) return;
  const $ = (id) => document.getElementById(id);
  const MESSAGES = JSON.parse($("embed-messages").textContent);
  const ORIGINS = JSON.parse(root.dataset.origins || "[]");
  const MAX_QUESTION = Number(root.dataset.maxQuestion) || 5000;
  const params = new URLSearchParams(location.search);
  const editor = $("embed-editor");
  const state = {
    token: null, conversationId: null, source: null, values: {}, question: "", suggestions: [],
    confident: true, revealed: false, inserted: null, seq: 0, contextSeq: 0, shownId: null,
    labels: new Map(Object.entries(JSON.parse(root.dataset.placeholderLabels || "{}"))),
  };

  function t(key, values) {
    return (MESSAGES[key] || key).replace(/%\((\w+)\)s/g, (m, name) => (values && name in values ? values[name] : m));
  }

  function status(id, text, warn) {
    $(id).textContent = text;
    $(id).classList.toggle("warn", Boolean(warn));
  }

  // not signed in: with sessions that live in the frame ([web] embed_cookies), a link to sign
  // in right here and come back; with a token there is nothing to sign in to in the frame
  function failed(error, id) {
    if (error.status !== 401) { status(id, error.message, true); return; }
    status(id, t("sign in"), true);
    if (root.dataset.signIn && !state.token) {
      $(id).append(" ", el("a", { href: root.dataset.signIn + "?" + new URLSearchParams({
        next: location.pathname + location.search }) }, t("sign in link")));
    }
  }

  // a token in the fragment never reaches a server log; it leaves the address bar at once
  const fragment = new URLSearchParams(location.hash.slice(1));
  if (fragment.get("token")) {
    state.token = fragment.get("token");
    history.replaceState(null, "", location.pathname + location.search);
  }

  function call(method, url, body) {
    return api(method, url, body, state.token);
  }

  function label(name) {
    if (state.labels.has(name)) return state.labels.get(name);
    const text = name.split(/[._]+/).filter(Boolean).join(" ").toLowerCase();
    return text ? text[0].toUpperCase() + text.slice(1) : name;
  }

  // text with each placeholder as a labelled chip, never as raw braces
  function chipped(text) {
    const nodes = [];
    let position = 0;
    for (const m of text.matchAll(P.PLACEHOLDER)) {
      nodes.push(P.plain(text.slice(position, m.index)),
        el("mark", { class: "chip", title: m[1] }, el("bdi", {}, label(m[1]))));
      position = m.index + m[0].length;
    }
    nodes.push(P.plain(text.slice(position)));
    return nodes;
  }

  // the first `size` characters, not cutting a placeholder in two
  function excerpt(text, size) {
    if (text.length <= size) return text;
    let cut = size;
    for (const m of text.matchAll(P.PLACEHOLDER)) {
      if (m.index < cut && m.index + m[0].length > cut) cut = m.index + m[0].length;
    }
    return text.slice(0, cut) + "…";
  }

  // the API takes a question of up to data-max-question characters: the latest words count
  function asked(text) {
    return text.length <= MAX_QUESTION ? text : "…" + text.slice(-(MAX_QUESTION - 1));
  }

  // ---- the conversation: from replykit (synced) or from Chatwoot's appContext
  function show(question, title) {
    state.question = question;
    $("embed-conversation").textContent = title;
    $("embed-question").hidden = !question;
    $("embed-question-text").textContent = question;
    if (!question.trim()) {
      status("embed-status", t("no question"));
      $("embed-suggestions").replaceChildren();
      return;
    }
    suggest();
  }

  // a conversation in replykit (synced): its question and placeholder values
  async function fromAddress(id) {
    try {
      const data = await call("GET", `/api/conversations/${encodeURIComponent(id)}`);
      state.conversationId = data.id;
      state.source = data.source; // the helpdesk it came from (null: from a file)
      state.values = { ...data.values, ...state.values };
      show(data.question, data.subject || t("conversation", { id: data.id }));
    } catch (error) { failed(error, "embed-status"); }
  }

  // the helpdesk's data is not ours: anything but text or a number counts as nothing
  function textOf(value) {
    return typeof value === "string" ? value.trim() : typeof value === "number" ? String(value) : "";
  }

  // Chatwoot messages: message_type 0 incoming (the customer), 1 outgoing (an agent);
  // private notes and activity messages are not part of the exchange
  function unanswered(messages) {
    const talk = (Array.isArray(messages) ? messages : []).filter((m) =>
      m && !m.private && (m.message_type === 0 || m.message_type === 1));
    let last = -1;
    talk.forEach((m, i) => { if (m.message_type === 1) last = i; });
    return talk.slice(last + 1).map((m) => textOf(m.content)).filter(Boolean);
  }

  function contactValues(contact, conversation) {
    const values = { "ticket.id": textOf(conversation.id) };
    const name = textOf(contact && contact.name);
    if (name) Object.assign(values, { "customer.name": name, "customer.first_name": name.split(/\s+/)[0] });
    if (textOf(contact && contact.email)) values["customer.email"] = textOf(contact.email);
    if (textOf(contact && contact.phone_number)) values["customer.phone"] = textOf(contact.phone_number);
    return values;
  }

  // another conversation: the reply written for the previous customer must not go to this one
  function resetReply() {
    editor.value = "";
    state.inserted = null;
    $("embed-reply").hidden = true;
    status("embed-action-status", "");
    showUnfilled();
  }

  async function fromChatwoot(context) {
    const conversation = context.conversation;
    const id = textOf(conversation.id);
    const seq = ++state.contextSeq;
    if (id !== state.shownId) resetReply(); // Chatwoot may send the same one again: keep it
    state.shownId = id;
    state.values = contactValues(context.contact, conversation);
    state.conversationId = state.source = null;
    const source = params.get("source");
    let synced = null;
    if (source) {
      try {
        synced = await call("GET", `/api/conversations/${encodeURIComponent(`${source}-${id}`)}`);
      } catch (e) { /* not synced (yet) */ }
    }
    if (seq !== state.contextSeq) return; // a newer conversation came in meanwhile
    if (synced) {
      Object.assign(state, { conversationId: synced.id, source: synced.source });
      state.values = { ...synced.values, ...state.values };
    }
    show(unanswered(conversation.messages).join("\n\n"), t("conversation", { id: `#${id}` }));
  }

  window.addEventListener("message", (event) => {
    // only the helpdesk page that frames the panel, from a configured origin
    if (!ORIGINS.includes(event.origin) || event.source !== window.parent) return;
    let data = event.data;
    if (typeof data === "string") {
      try { data = JSON.parse(data); } catch (e) { return; }
    }
    if (!data || typeof data !== "object") return;
    if (data.event === "appContext" && data.data && data.data.conversation
        && textOf(data.data.conversation.id)) {
      fromChatwoot(data.data);
    } else if (data.event === "replykit:token" && typeof data.token === "string") {
      state.token = data.token;
      if (params.get("conversation")) fromAddress(params.get("conversation"));
    }
  });

  // ---- suggestions
  async function suggest() {
    const seq = ++state.seq;
    status("embed-status", t("searching"));
    try {
      const data = await call("POST", "/api/suggest", { query: asked(state.question), k: 5 });
      if (seq !== state.seq) return;
      state.suggestions = data.suggestions;
      state.confident = data.confident !== false;
      state.revealed = false;
      status("embed-status", "");
      draw();
      for (const item of state.suggestions) feedback(item, "shown");
    } catch (error) { failed(error, "embed-status"); }
  }

  function feedback(item, event) {
    return call("POST", `/api/suggestions/${encodeURIComponent(item.id)}/feedback`, {
      event, kind: item.kind, query: asked(state.question), conversation_id: state.conversationId,
    }).catch(() => {});
  }

  function draw() {
    const list = $("embed-suggestions");
    $("embed-notice").hidden = true;
    if (!state.suggestions.length) {
      list.replaceChildren(el("li", { class: "empty" }, t("no suggestion")));
      return;
    }
    if (!state.confident && !state.revealed) {
      list.replaceChildren(el("li", { class: "notice no-confident" }, t("no confident"), " ",
        el("button", { type: "button", id: "embed-show-weak", class: "secondary" }, t("show anyway"))));
      return;
    }
    if (!state.confident) {
      $("embed-notice").textContent = t("weak");
      $("embed-notice").hidden = false;
    }
    list.replaceChildren(...state.suggestions.map((item, index) => el("li", { class: "embed-suggestion" },
      el("strong", { class: "title", dir: "auto" }, item.title),
      el("span", { class: "meta" }, t(item.kind === "saved" ? "saved reply" : "past reply")),
      el("p", { class: "body", dir: "auto" }, ...chipped(excerpt(item.body, 160))),
      el("button", { type: "button", class: "use", dataset: { index: String(index) } }, t("use")))));
  }

  async function use(item) {
    try {
      const rendered = await call("POST", "/api/render", {
        kind: item.kind, id: item.id, conversation_id: state.conversationId, values: state.values,
      });
      for (const p of rendered.placeholders) state.labels.set(p.name, p.label);
      editor.value = P.isolated(rendered.text);
      state.inserted = { kind: item.kind, id: item.id, text: rendered.text };
      $("embed-reply").hidden = false;
      status("embed-action-status", "");
      showUnfilled();
      feedback(item, "inserted");
      editor.focus();
      editor.setSelectionRange(0, 0); // the reply from its start
      editor.scrollTop = 0;
      $("embed-reply").scrollIntoView({ block: "nearest" });
    } catch (error) { failed(error, "embed-action-status"); }
  }

  // ---- blanks: each unfilled placeholder gets a field; Copy and Send refuse until filled
  function showUnfilled() {
    const names = [...new Set(P.unfilled(editor.value).map((p) => p.name))];
    const box = $("embed-unfilled");
    box.hidden = !names.length;
    box.replaceChildren(...names.map((name) => el("form", { class: "fill", dataset: { name } },
      el("label", {}, el("mark", { class: "chip", title: name }, el("bdi", {}, label(name))), " ",
        el("input", { name, dir: "auto", placeholder: t("type the value") })),
      el("button", { type: "submit", class: "secondary" }, t("fill")))));
  }

  function fill(name, value) {
    let text = editor.value;
    for (const p of P.unfilled(text).filter((p) => p.name === name).reverse()) {
      text = text.slice(0, p.start) + value + text.slice(p.end);
    }
    editor.value = text;
    showUnfilled();
  }

  // the reply as the customer gets it, or null (and why, shown) when it is not ready
  function ready() {
    const text = P.plain(editor.value);
    if (!text.trim()) { status("embed-action-status", t("nothing"), true); return null; }
    const open = P.unfilled(editor.value);
    if (open.length) {
      const names = [...new Set(open.map((p) => label(p.name)))].join(t("list separator"));
      status("embed-action-status", t("blanks", { names }), true);
      $("embed-unfilled").querySelector("input")?.focus();
      return null;
    }
    const broken = P.broken(text);
    if (broken) {
      status("embed-action-status", t("broken", { text: broken.text }), true);
      editor.focus();
      editor.setSelectionRange(broken.start, broken.end);
      return null;
    }
    return text;
  }

  async function copy() {
    const text = ready();
    if (text === null) return;
    await window.replykit.copyText(text);
    status("embed-action-status", t("copied"));
  }

  // posted through the helpdesk the conversation came from; then a saved reply's actions
  // (status, tags, assignee) go there too, and the status line says what the helpdesk applied
  async function send() {
    const text = ready();
    if (text === null) return;
    if (!state.source) {
      status("embed-action-status", t("not synced"), true);
      return;
    }
    const body = { text };
    const used = state.inserted;
    if (used) {
      Object.assign(body, { suggestion_kind: used.kind, suggestion_id: used.id, inserted_text: used.text });
    }
    $("embed-send").disabled = true;
    status("embed-action-status", t("sending"));
    try {
      await call("POST", `/api/conversations/${encodeURIComponent(state.conversationId)}/send`, body);
      state.inserted = null;
      status("embed-action-status", t("sent"));
    } catch (error) {
      failed(error, "embed-action-status");
      return;
    } finally { $("embed-send").disabled = false; }
    if (!used || used.kind !== "saved") return;
    try {
      const done = await call("POST", `/api/conversations/${encodeURIComponent(state.conversationId)}/actions`,
        { reply_id: used.id });
      if (done.results.length) status("embed-action-status", `${t("sent")} ${done.results.join(t("list separator"))}`);
    } catch (error) { status("embed-action-status", `${t("sent")} ${error.message}`, true); }
  }

  // ---- events
  $("embed-suggestions").addEventListener("click", (event) => {
    if (event.target.closest("#embed-show-weak")) { state.revealed = true; draw(); return; }
    const button = event.target.closest("button.use");
    if (button) use(state.suggestions[Number(button.dataset.index)]);
  });
  $("embed-unfilled").addEventListener("submit", (event) => {
    event.preventDefault();
    const form = event.target.closest("form.fill");
    const input = form.querySelector("input");
    if (!input.value.trim()) { input.focus(); return; }
    fill(form.dataset.name, input.value);
    $("embed-unfilled").querySelector("input")?.focus();
  });
  editor.addEventListener("input", showUnfilled);
  $("embed-copy").addEventListener("click", copy);
  $("embed-send").addEventListener("click", send);

  if (params.get("conversation")) {
    fromAddress(params.get("conversation"));
  } else if (window.parent !== window) {
    // Chatwoot answers with an appContext message (the message holds no secret)
    for (const origin of ORIGINS) window.parent.postMessage("chatwoot-dashboard-app:fetch-info", origin);
  }
})();
