// Agent workspace: suggestions as you type, placeholder prompts, editor, copy, review
// requests and proposals. Records feedback (shown / inserted / dismissed) and the drafting
// session (opened -> copied / sent for review) so edits and time saved can be measured.
"use strict";

(function () {
  const { api, el, debounce } = window.replykit;
  const root = document.getElementById("workspace");
  if (!root) return;
  const $ = (id) => document.getElementById(id);
  const query = $("query"), editor = $("editor"), list = $("suggestions");
  const REASONS = {
    example_question: "matched saved reply example",
    saved_reply: "matched saved reply text",
    past_question: "matched past question",
  };
  const PLACEHOLDER = /\{\{\s*[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*\s*(?:\|[^{}]*)?\}\}/g;

  const state = {
    conversationId: null, draft: null, finished: false, suggestions: [], selected: -1,
    shown: new Set(), inserted: null, pending: null, lastQuery: "", requestSeq: 0,
  };

  function status(id, text) { $(id).textContent = text; }

  // ---- drafting sessions
  async function ensureDraft() {
    if (state.draft && !state.finished) return state.draft;
    state.finished = false;
    state.shown = new Set();
    state.inserted = null;
    state.draft = api("POST", "/api/drafts", {
      query: query.value, conversation_id: state.conversationId,
    }).then((row) => row.id);
    return state.draft;
  }

  function finishFields() {
    const fields = { text: editor.value, query: query.value };
    if (state.inserted) {
      fields.suggestion_kind = state.inserted.kind;
      fields.suggestion_id = state.inserted.id;
      fields.inserted_text = state.inserted.text;
    }
    return fields;
  }

  // ---- suggestions
  function feedback(item, event) {
    return api("POST", `/api/suggestions/${encodeURIComponent(item.id)}/feedback`, {
      event, kind: item.kind, query: query.value, conversation_id: state.conversationId,
    }).catch(() => {});
  }

  const recordShown = debounce(() => {
    for (const item of state.suggestions) {
      const key = `${item.kind}:${item.id}`;
      if (!state.shown.has(key)) {
        state.shown.add(key);
        feedback(item, "shown");
      }
    }
  }, 1200);

  function renderSuggestions(data) {
    list.replaceChildren();
    state.suggestions = data.suggestions;
    state.selected = data.suggestions.length ? 0 : -1;
    if (!data.suggestions.length) {
      list.append(el("li", { class: "empty" }, "No suggestion for this message."));
      return;
    }
    data.suggestions.forEach((item, index) => {
      const reason = `${REASONS[item.reason.type] || item.reason.type}: “${item.reason.text.slice(0, 140)}”`;
      const tags = item.tags.map((t) => el("span", { class: "tag", dir: "auto" }, t));
      const li = el("li", { class: "suggestion", dataset: { index: String(index) } },
        el("div", { class: "suggestion-head" },
          el("strong", { dir: "auto", class: "title" }, item.title),
          el("span", { class: "score", title: "similarity score" }, item.score.toFixed(2))),
        el("div", { class: "meta" },
          el("span", { class: "kind" }, item.kind === "saved" ? "saved reply" : "past reply"),
          item.language ? el("span", { class: "lang" }, item.language) : null, ...tags),
        el("p", { class: "reason", dir: "auto" }, reason),
        el("p", { class: "body", dir: "auto" }, item.body.slice(0, 220) + (item.body.length > 220 ? "…" : "")),
        el("div", { class: "buttons" },
          el("button", { type: "button", class: "insert" }, "Insert"),
          el("button", { type: "button", class: "dismiss", title: "Not useful" }, "Dismiss")));
      list.append(li);
    });
    if (!data.confident) {
      list.prepend(el("li", { class: "notice" }, "No confident match: check before using."));
    }
    highlight();
    recordShown();
  }

  function highlight() {
    list.querySelectorAll(".suggestion").forEach((li) => {
      const on = Number(li.dataset.index) === state.selected;
      li.classList.toggle("selected", on);
      li.setAttribute("aria-selected", on ? "true" : "false");
    });
  }

  const fetchSuggestions = debounce(async () => {
    const text = query.value.trim();
    if (text === state.lastQuery) return;
    state.lastQuery = text;
    if (text.length < 3) { list.replaceChildren(); state.suggestions = []; return; }
    const seq = ++state.requestSeq;
    status("suggest-status", "searching…");
    try {
      ensureDraft();
      const data = await api("POST", "/api/suggest", { query: text, k: 5 });
      if (seq !== state.requestSeq) return;
      renderSuggestions(data);
      status("suggest-status", "");
    } catch (error) {
      status("suggest-status", error.message);
    }
  }, 300);

  // ---- insert: placeholders, prompts, editor
  async function choose(index) {
    const item = state.suggestions[index];
    if (!item) return;
    const rendered = await api("POST", "/api/render", {
      kind: item.kind, id: item.id, conversation_id: state.conversationId,
    });
    const open = rendered.placeholders.filter((p) => p.value === null);
    state.pending = item;
    if (!open.length) return insert(item, rendered.text);
    const fields = $("prompt-fields");
    fields.replaceChildren(...open.map((p) => el("label", {},
      el("span", { class: "name" }, p.name),
      el("input", {
        name: p.name, dir: "auto",
        placeholder: p.fallback !== null ? `default: ${p.fallback}` : "no default: stays highlighted",
      }))));
    $("prompts").hidden = false;
    fields.querySelector("input").focus();
  }

  async function submitPrompts(event) {
    event.preventDefault();
    const values = {};
    $("prompt-fields").querySelectorAll("input").forEach((input) => {
      if (input.value.trim()) values[input.name] = input.value;
    });
    const item = state.pending;
    const rendered = await api("POST", "/api/render", {
      kind: item.kind, id: item.id, conversation_id: state.conversationId, values,
    });
    $("prompts").hidden = true;
    insert(item, rendered.text);
  }

  function insert(item, text) {
    ensureDraft();
    editor.value = text;
    state.inserted = { kind: item.kind, id: item.id, text };
    feedback(item, "inserted");
    showUnfilled();
    editor.focus();
  }

  function showUnfilled() {
    const text = editor.value;
    const matches = [...text.matchAll(PLACEHOLDER)];
    $("unfilled").hidden = matches.length === 0;
    const preview = $("unfilled-preview");
    preview.replaceChildren();
    let position = 0;
    for (const match of matches) {
      preview.append(text.slice(position, match.index), el("mark", {}, match[0]));
      position = match.index + match[0].length;
    }
    preview.append(text.slice(position));
  }

  // ---- actions
  async function copyReply() {
    const text = editor.value;
    if (!text.trim()) { status("action-status", "Nothing to copy yet."); return; }
    try {
      await navigator.clipboard.writeText(text);
    } catch (e) {
      editor.select();
      document.execCommand("copy");
    }
    status("action-status", "Copied to the clipboard.");
    try {
      const id = await ensureDraft();
      await api("POST", `/api/drafts/${id}/finish`, { outcome: "copied", ...finishFields() });
      state.finished = true;
    } catch (error) { status("action-status", error.message); }
  }

  async function askReview() {
    if (!editor.value.trim()) { status("action-status", "Write or insert a reply first."); return; }
    try {
      const id = await ensureDraft();
      const result = await api("POST", `/api/drafts/${id}/review-request`,
        { ...finishFields(), reviewer: $("reviewer").value || null });
      state.finished = true;
      const link = el("a", { href: `/reviews/drafts/${result.review_draft_id}` },
        `Draft ${result.review_draft_id}`);
      $("action-status").replaceChildren("Sent for review: ", link);
      const requests = $("requests");
      requests.querySelector(".empty")?.remove();
      requests.prepend(el("li", {}, el("a", { href: link.href }, link.textContent), " — requested"));
    } catch (error) { status("action-status", error.message); }
  }

  async function propose(event) {
    event.preventDefault();
    try {
      const reply = await api("POST", "/api/saved-replies/proposals", {
        title: $("propose-title").value, body: editor.value, question: query.value,
        conversation_id: state.conversationId,
        language: $("propose-language").value || "en",
        tags: $("propose-tags").value.split(",").map((t) => t.trim()).filter(Boolean),
      });
      status("action-status", `Proposed “${reply.title}” to the leads (draft ${reply.id}).`);
    } catch (error) { status("action-status", error.message); }
  }

  // ---- queue
  async function loadQueue() {
    try {
      const data = await api("GET", "/api/conversations?limit=50");
      const pick = $("conversation-pick");
      for (const c of data.conversations) {
        pick.append(el("option", { value: c.id, dir: "auto" },
          `${c.id} · ${c.customer_name || "customer"} · ${c.subject || c.last.slice(0, 50)}`));
      }
    } catch (e) { /* the queue is optional */ }
  }

  async function pickConversation() {
    const id = $("conversation-pick").value;
    const thread = $("thread");
    state.conversationId = id || null;
    state.finished = true; // a new question: a new drafting session
    state.draft = null;
    if (!id) { thread.hidden = true; return; }
    const data = await api("GET", `/api/conversations/${encodeURIComponent(id)}`);
    thread.replaceChildren(...data.messages.slice(-4).map((m) =>
      el("div", { class: `message ${m.role}` },
        el("span", { class: "author", dir: "auto" }, m.author || m.role),
        el("p", { dir: "auto" }, m.body))));
    thread.hidden = false;
    query.value = data.question;
    ensureDraft();
    fetchSuggestions();
  }

  // ---- events
  query.addEventListener("input", () => {
    if (state.finished) { state.draft = null; }
    fetchSuggestions();
  });
  editor.addEventListener("input", showUnfilled);
  list.addEventListener("click", (event) => {
    const li = event.target.closest(".suggestion");
    if (!li) return;
    const index = Number(li.dataset.index);
    state.selected = index;
    highlight();
    if (event.target.closest(".insert")) choose(index);
    if (event.target.closest(".dismiss")) {
      feedback(state.suggestions[index], "dismissed");
      li.remove();
    }
  });
  $("prompts").addEventListener("submit", submitPrompts);
  $("prompts-cancel").addEventListener("click", () => { $("prompts").hidden = true; });
  $("copy").addEventListener("click", copyReply);
  $("ask-review").addEventListener("click", askReview);
  $("propose-form").addEventListener("submit", propose);
  $("conversation-pick").addEventListener("change", pickConversation);
  document.addEventListener("keydown", (event) => {
    if (!event.altKey) return;
    const count = state.suggestions.length;
    if (event.key === "ArrowDown" && count) {
      state.selected = (state.selected + 1) % count; highlight(); event.preventDefault();
    } else if (event.key === "ArrowUp" && count) {
      state.selected = (state.selected - 1 + count) % count; highlight(); event.preventDefault();
    } else if (event.key === "Enter" && state.selected >= 0) {
      choose(state.selected); event.preventDefault();
    } else if (event.key.toLowerCase() === "c") {
      copyReply(); event.preventDefault();
    }
  });
  loadQueue();
})();
