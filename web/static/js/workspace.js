// Agent workspace: suggestions as you type, placeholder prompts, editor, copy, review
// requests and proposals. Records feedback (shown / inserted / dismissed) and the drafting
// session (opened -> copied / sent for review) so edits and time saved can be measured.
//
// Trust rules: Copy refuses while a {{placeholder}} is unfilled (they show as labelled chips
// to fill); Insert goes in at the cursor through the browser's editing commands, so Ctrl+Z
// (or the Undo button) brings back what was there; a dismissed suggestion is never the
// selected one; below the confidence threshold the weak matches wait behind "Show anyway";
// when the session ends the draft is kept in sessionStorage and the agent is sent to sign in.
// The library panel lets the agent browse and insert any approved saved reply of their teams;
// a saved reply's attachments are download links (on the library preview, under the
// suggestion list for the selected card, and in the note after an insert).
"use strict";

(function () {
  const { api, el, debounce, t, parts, readableDate, messages } = window.replykit;
  const root = document.getElementById("workspace");
  if (!root) return;
  const $ = (id) => document.getElementById(id);
  const query = $("query"), editor = $("editor"), list = $("suggestions");
  // placeholders in reply text, with the invisible isolate marks (LRI ... PDI) put around
  // them on insert so that {{name}} reads right inside right-to-left text (placeholders.js,
  // shared with the /embed panel)
  const {
    PLACEHOLDER, plain, isolated, unfilled, broken: brokenPlaceholder,
  } = window.replykit.placeholders;
  const DRAFT_KEY = "replykit.workspace.draft";
  const RESTORED = t("restored");
  const WORDS = { id: "ID", url: "link", email: "e-mail" };

  const state = {
    conversationId: null, draft: null, finished: false, suggestions: [], selected: -1,
    confident: true, revealed: false, dismissed: new Set(),
    shown: new Set(), inserted: null, pending: null, lastQuery: "", requestSeq: 0,
    undo: null, labels: new Map(Object.entries(JSON.parse(root.dataset.placeholderLabels || "{}"))),
    sentText: null, signingOut: false, source: null,
  };

  function status(id, text, kind) {
    const node = $(id);
    node.textContent = text;
    node.classList.toggle("warn", kind === "warn");
  }

  // a placeholder's label: the catalog's (in the page's language), else the server's
  function label(name) {
    const known = messages().placeholders || {};
    if (Object.hasOwn(known, name)) return known[name];
    if (state.labels.has(name)) return state.labels.get(name);
    const words = name.split(/[._]+/).filter(Boolean).map((w) => WORDS[w.toLowerCase()] || w.toLowerCase());
    const text = words.join(" ");
    return text ? text[0].toUpperCase() + text.slice(1) : name;
  }

  // the API takes a question of up to data-max-question characters: a longer one (a pasted
  // log, a long thread) goes as its last part, where the customer's latest words are
  const MAX_QUESTION = Number(root.dataset.maxQuestion) || 5000;
  function asked(text = query.value) {
    if (text.length <= MAX_QUESTION) return text;
    const tail = text.slice(-(MAX_QUESTION - 1));
    const space = tail.search(/\s/); // start at a word where one starts nearby
    return "…" + (space >= 0 && space < 100 ? tail.slice(space + 1) : tail);
  }

  function noteLength() {
    $("query-note").hidden = query.value.length <= MAX_QUESTION;
  }

  // ---- errors: an ended session keeps the draft and asks to sign in again
  function failed(error, where) {
    if (error && error.status === 401) { sessionEnded(); return; }
    if (error && error.status === 400 && /^CSRF check failed/.test(error.message)) {
      // signed in again in another tab: this page's token is from the session before
      saveDraft();
      status(where, t("out of date"), "warn");
      return;
    }
    status(where, error.message, "warn");
  }

  function sessionEnded() {
    saveDraft();
    $("session-ended").hidden = false;
    $("session-ended").querySelector("a").focus();
  }

  function saveDraft() {
    if (state.signingOut) return;
    // nothing to keep: empty, or exactly what was just copied or sent for review
    if ((!query.value.trim() && !editor.value.trim()) || editor.value === state.sentText) {
      forgetDraft();
      return;
    }
    try {
      sessionStorage.setItem(DRAFT_KEY, JSON.stringify({
        user: root.dataset.user, query: query.value, text: editor.value,
        conversationId: state.conversationId, at: Date.now(),
      }));
    } catch (e) { /* storage full or disabled: nothing more to do */ }
  }
  const saveSoon = debounce(saveDraft, 400);

  function forgetDraft() {
    try { sessionStorage.removeItem(DRAFT_KEY); } catch (e) { /* storage disabled */ }
  }

  function restoreDraft() {
    let saved = null;
    try { saved = JSON.parse(sessionStorage.getItem(DRAFT_KEY) || "null"); } catch (e) { saved = null; }
    if (!saved) return null;
    // another user signing in on this tab never sees the draft; old drafts are dropped
    if (saved.user !== root.dataset.user || Date.now() - saved.at > 12 * 3600 * 1000) {
      forgetDraft();
      return null;
    }
    if (query.value.trim() || editor.value.trim()) return null;
    query.value = saved.query || "";
    noteLength();
    editor.value = saved.text || "";
    status("action-status", RESTORED);
    showUnfilled();
    return saved;
  }

  // ---- drafting sessions
  async function ensureDraft() {
    if (state.draft && !state.finished) return state.draft;
    state.finished = false;
    state.shown = new Set();
    state.inserted = null;
    state.draft = api("POST", "/api/drafts", {
      query: asked(), conversation_id: state.conversationId,
    }).then((row) => row.id);
    state.draft.catch(() => { state.draft = null; });
    return state.draft;
  }

  function finishFields() {
    const fields = { text: plain(editor.value), query: asked() };
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
      event, kind: item.kind, query: asked(), conversation_id: state.conversationId,
    }).catch(() => {});
  }

  const key = (item) => `${item.kind}:${item.id}`;

  // indexes of the suggestions on screen: not dismissed, and weak ones only once revealed
  function visible() {
    if (!state.confident && !state.revealed) return [];
    return state.suggestions.map((item, i) => i).filter((i) => !state.dismissed.has(key(state.suggestions[i])));
  }

  const recordShown = debounce(() => {
    for (const index of visible()) {
      const item = state.suggestions[index];
      if (!state.shown.has(key(item))) {
        state.shown.add(key(item));
        feedback(item, "shown");
      }
    }
  }, 1200);

  function renderSuggestions(data) {
    state.suggestions = data.suggestions;
    state.confident = data.confident !== false;
    state.revealed = false;
    state.selected = visible()[0] ?? -1;
    draw();
  }

  function card(item, index) {
    // a past question is templated ("order #{{order.id}}"): its placeholders are chips too
    const reason = [`${t(`reason.${item.reason.type}`)}: “`,
      ...chipped(excerpt(item.reason.text, 140)), "”"];
    const tags = item.tags.map((t) => el("span", { class: "tag", dir: "auto" }, t));
    return el("li", {
      class: state.confident ? "suggestion" : "suggestion weak", id: `suggestion-${index}`,
      role: "option", "aria-selected": "false", dataset: { index: String(index) },
      // named by its content, title first (a name of the title alone left the card's other
      // visible text out of it: axe's label-content-name-mismatch, a serious violation)
    },
      el("div", { class: "suggestion-head" },
        el("strong", { dir: "auto", class: "title", id: `suggestion-${index}-title` }, item.title),
        el("span", { class: "score", title: t("similarity score") }, item.score.toLocaleString(
          document.documentElement.lang || "en", { minimumFractionDigits: 2, maximumFractionDigits: 2 }))),
      el("div", { class: "meta" },
        el("span", { class: "kind" }, t(item.kind === "saved" ? "saved reply" : "past reply")),
        item.language ? el("span", { class: "lang" }, item.language) : null, ...tags),
      el("p", { class: "reason", dir: "auto" }, ...reason),
      el("p", { class: "body", dir: "auto", id: `suggestion-${index}-body` }, ...chipped(excerpt(item.body, 220))),
      item.attachments && item.attachments.length
        ? el("p", { class: "files-note" }, `${t("Files:")} `,
          ...item.attachments.flatMap((a, i) => [i ? ", " : "", el("bdi", {}, a.filename)]))
        : null,
      // for the mouse; an option holds nothing focusable: the keyboard has Enter and Delete
      // on the list (and Alt+Enter anywhere), announced by the list's description
      el("div", { class: "buttons", "aria-hidden": "true" },
        el("span", { class: "button insert" }, t("Insert")),
        el("span", { class: "button dismiss", title: t("Not useful") }, t("Dismiss"))));
  }

  // the list is a listbox (one Tab stop, arrows move the selection) only while it shows
  // suggestions; otherwise it holds a notice and is no stop at all
  function asListbox(on) {
    if (on) {
      list.setAttribute("role", "listbox");
      list.tabIndex = 0;
    } else {
      list.removeAttribute("role");
      list.removeAttribute("tabindex");
      list.removeAttribute("aria-activedescendant");
    }
  }

  function draw() {
    list.replaceChildren();
    $("suggest-notice").hidden = true;
    $("suggestion-files").hidden = true;
    const total = state.suggestions.length;
    const shown = visible();
    asListbox(shown.length > 0);
    if (!total) {
      list.append(el("li", { class: "empty" }, t("No suggestion")));
      return;
    }
    if (!state.confident && !state.revealed) {
      list.append(el("li", { class: "notice no-confident" },
        el("strong", {}, t("No confident suggestion")), t("weak", { num: total }),
        el("button", { type: "button", id: "show-weak", class: "secondary" }, t("Show anyway"))));
      return;
    }
    if (!state.confident) {
      $("suggest-notice").textContent = t("Weak matches");
      $("suggest-notice").hidden = false;
    }
    if (!shown.length) list.append(el("li", { class: "empty" }, t("All dismissed")));
    for (const index of shown) list.append(card(state.suggestions[index], index));
    highlight();
    recordShown();
  }

  function highlight() {
    let current = null;
    list.querySelectorAll(".suggestion").forEach((li) => {
      const on = Number(li.dataset.index) === state.selected;
      li.classList.toggle("selected", on);
      li.setAttribute("aria-selected", on ? "true" : "false");
      if (on) current = li;
    });
    if (current) {
      list.setAttribute("aria-activedescendant", current.id);
      current.scrollIntoView({ block: "nearest" });
    } else {
      list.removeAttribute("aria-activedescendant");
    }
    const item = current ? state.suggestions[state.selected] : null;
    const bar = $("suggestion-files");
    bar.hidden = !(item && item.attachments && item.attachments.length);
    bar.replaceChildren(...(bar.hidden ? []
      : [...parts("Files of", { title: el("bdi", {}, item.title) }), files(item.attachments)]));
  }

  function size(bytes) {
    return bytes < 1024 ? t("bytes", { size: bytes })
      : bytes < 1024 * 1024 ? t("kilobytes", { size: Math.round(bytes / 1024) })
        : t("megabytes", { size: Math.round(bytes / 1024 / 102.4) / 10 });
  }

  // download links of a saved reply's attachments (the server checks who may download)
  function files(items) {
    return el("ul", { class: "files" }, ...items.map((a) => el("li", {},
      el("a", { href: a.url, download: a.filename, dir: "auto", class: "file" }, a.filename),
      el("span", { class: "hint" }, ` (${size(a.size)})`))));
  }

  // Up/Down/Home/End inside the list stop at its ends (Alt+arrows from anywhere wrap)
  function moveTo(where) {
    const shown = visible();
    if (!shown.length) return;
    const at = shown.indexOf(state.selected);
    const to = where === "first" ? 0 : where === "last" ? shown.length - 1
      : Math.min(shown.length - 1, Math.max(0, (at < 0 ? 0 : at + where)));
    state.selected = shown[to];
    highlight();
  }

  function move(step) {
    const shown = visible();
    if (!shown.length) return;
    const at = shown.indexOf(state.selected);
    state.selected = shown[at < 0 ? 0 : (at + step + shown.length) % shown.length];
    highlight();
  }

  function dismiss(index) {
    const item = state.suggestions[index];
    feedback(item, "dismissed");
    const before = visible();
    state.dismissed.add(key(item));
    if (state.selected === index || !visible().includes(state.selected)) {
      // the next one down takes the selection, else the one above, else none
      const at = before.indexOf(index);
      const rest = visible();
      state.selected = rest.find((i) => before.indexOf(i) > at) ?? rest[rest.length - 1] ?? -1;
    }
    draw();
  }

  const fetchSuggestions = debounce(async () => {
    const text = query.value.trim();
    if (text === state.lastQuery) return;
    state.lastQuery = text;
    if (text.length < 3) {
      list.replaceChildren(); asListbox(false); $("suggest-notice").hidden = true;
      $("suggestion-files").hidden = true;
      state.suggestions = []; state.selected = -1; return;
    }
    const seq = ++state.requestSeq;
    status("suggest-status", t("searching"));
    try {
      ensureDraft().catch(() => {});
      const data = await api("POST", "/api/suggest", { query: asked(text), k: 5 });
      if (seq !== state.requestSeq) return;
      renderSuggestions(data);
      status("suggest-status", "");
    } catch (error) {
      status("suggest-status", "");
      failed(error, "suggest-status");
    }
  }, 300);

  // ---- insert: placeholders, prompts, editor
  function choose(index) {
    const item = state.suggestions[index];
    if (item && visible().includes(index)) use(item);
  }

  // render a saved or past reply for this conversation, ask for its blanks, then insert it
  async function use(item) {
    try {
      const rendered = await api("POST", "/api/render", {
        kind: item.kind, id: item.id, conversation_id: state.conversationId,
      });
      for (const p of rendered.placeholders) state.labels.set(p.name, p.label);
      // the blanks, and the values taken from the conversation: the agent sees and may change them
      const open = rendered.placeholders.filter((p) => p.value === null || p.source === "conversation");
      state.pending = item;
      if (!open.length) { insert(item, rendered.text); return; }
      const fields = $("prompt-fields");
      fields.replaceChildren(...open.map((p) => el("label", { title: p.name },
        el("span", { class: "name", dir: "auto" }, label(p.name)),
        p.source === "conversation" ? el("span", { class: "hint" }, t("from the conversation")) : null,
        el("input", {
          name: p.name, dir: "auto", value: p.source === "conversation" ? p.value : null,
          placeholder: p.source === "conversation" ? t("from the conversation:", { value: p.value })
            : p.fallback !== null ? t("default:", { value: p.fallback }) : t("no default"),
        }))));
      $("prompts").hidden = false;
      fields.querySelector("input").focus();
    } catch (error) { failed(error, "action-status"); }
  }

  async function submitPrompts(event) {
    event.preventDefault();
    const values = {};
    $("prompt-fields").querySelectorAll("input").forEach((input) => {
      if (input.value.trim()) values[input.name] = input.value;
    });
    const item = state.pending;
    try {
      const rendered = await api("POST", "/api/render", {
        kind: item.kind, id: item.id, conversation_id: state.conversationId, values,
      });
      $("prompts").hidden = true;
      insert(item, rendered.text);
    } catch (error) { failed(error, "action-status"); }
  }

  // replace editor.value[start:end] by `text` as if typed: the browser's undo (Ctrl+Z) works
  function replaceRange(start, end, text) {
    editor.focus();
    editor.setSelectionRange(start, end);
    const done = text === "" ? document.execCommand("delete") : document.execCommand("insertText", false, text);
    if (!done) {
      editor.setRangeText(text, start, end, "end");
      editor.dispatchEvent(new Event("input", { bubbles: true }));
    }
  }

  function insert(item, text) {
    ensureDraft().catch(() => {});
    const before = editor.value;
    const start = editor.selectionStart, end = editor.selectionEnd;
    // at the cursor (replacing a selection), apart from the agent's own words
    const head = before.slice(0, start), tail = before.slice(end);
    const gapBefore = head && !/\n\s*$/.test(head) ? (/\s$/.test(head) ? "\n" : "\n\n") : "";
    const gapAfter = tail && !/^\s*\n/.test(tail) ? "\n\n" : "";
    replaceRange(start, end, gapBefore + isolated(text) + gapAfter);
    state.inserted = { kind: item.kind, id: item.id, text };
    state.undo = { before, after: editor.value };
    // the title isolated: a Persian title keeps its place in the English sentence
    $("insert-note-text").replaceChildren(...parts(before.trim() ? "inserted, kept" : "inserted",
      { title: el("bdi", {}, item.title) }));
    const attached = item.attachments || [];
    $("insert-files").hidden = !attached.length;
    $("insert-files").replaceChildren(...(attached.length
      ? [t("its files"), files(attached)] : []));
    $("insert-note").hidden = false;
    // suggestion feedback measures the suggester: a reply picked from the library was not
    // suggested (the drafting session still records which saved reply was used)
    if (!item.fromLibrary) feedback(item, "inserted");
    if (item.kind === "saved" && state.source && state.conversationId) applyActions(item);
    showUnfilled();
    saveSoon();
    editor.focus();
  }

  // a saved reply's actions (tags, status...) go to the helpdesk ticket the conversation was
  // synced from; the insert note says what the helpdesk applied and what it does not allow
  async function applyActions(item) {
    const shown = document.getElementById("insert-actions");
    if (shown) shown.remove();
    try {
      const data = await api("POST",
        `/api/conversations/${encodeURIComponent(state.conversationId)}/actions`, { reply_id: item.id });
      if (!data.results.length) return;
      $("insert-note").append(el("ul", { id: "insert-actions", class: "insert-actions" },
        el("li", {}, t("in the helpdesk", { source: data.source })),
        ...data.results.map((line) => el("li", { dir: "auto" }, line))));
    } catch (error) { failed(error, "suggest-status"); }
  }

  function undoInsert() {
    const undo = state.undo;
    if (!undo || editor.value !== undo.after) return;
    replaceRange(0, editor.value.length, undo.before);
    state.undo = null;
    state.inserted = null;
    $("insert-note").hidden = true;
    showUnfilled();
  }

  function fill(name, value) {
    // from the last occurrence back, so earlier offsets stay right
    for (const p of unfilled(editor.value).filter((p) => p.name === name).reverse()) {
      replaceRange(p.start, p.end, value);
    }
    showUnfilled();
  }

  function chip(name, fallback) {
    return el("mark", { class: "chip", title: fallback ? t("chip default", { name, value: fallback }) : name },
      el("bdi", {}, label(name)));
  }

  // text with each placeholder as a labelled chip, never as raw braces
  function chipped(text) {
    const nodes = [];
    let position = 0;
    for (const m of text.matchAll(PLACEHOLDER)) {
      nodes.push(plain(text.slice(position, m.index)), chip(m[1], m[2]));
      position = m.index + m[0].length;
    }
    nodes.push(plain(text.slice(position)));
    return nodes;
  }

  // the first `size` characters, not cutting a placeholder in two
  function excerpt(text, size) {
    if (text.length <= size) return text;
    let cut = size;
    for (const m of text.matchAll(PLACEHOLDER)) {
      if (m.index < cut && m.index + m[0].length > cut) cut = m.index + m[0].length;
    }
    return text.slice(0, cut) + "…";
  }

  function showUnfilled() {
    const text = editor.value;
    const open = unfilled(text);
    $("unfilled").hidden = open.length === 0;
    const names = [...new Set(open.map((p) => p.name))];
    const focused = document.activeElement && document.activeElement.closest("#unfilled-fields")
      ? document.activeElement.name : null;
    const fields = $("unfilled-fields");
    const old = new Map([...fields.querySelectorAll("input")].map((i) => [i.name, i.value]));
    fields.replaceChildren(...names.map((name) => {
      const fallback = open.find((p) => p.name === name).fallback;
      return el("form", { class: "fill", dataset: { name } },
        el("label", {}, chip(name, fallback),
          el("input", { name, dir: "auto", value: old.get(name) || null,
            placeholder: fallback ? t("e.g.", { value: fallback }) : t("type the value") })),
        el("button", { type: "submit", class: "secondary" }, t("Fill")));
    }));
    if (focused && names.includes(focused)) fields.querySelector(`input[name="${CSS.escape(focused)}"]`).focus();
    $("unfilled-preview").replaceChildren(...chipped(text));
  }

  // ---- actions
  function blanksMessage(open, key) {
    const names = [...new Set(open.map((p) => label(p.name)))];
    return t(key, { names: names.join(t("list separator")), num: names.length });
  }

  let clearCopied = null;
  async function copyReply() {
    const text = plain(editor.value);
    clearTimeout(clearCopied);
    if (!text.trim()) { status("action-status", t("Nothing to copy")); return; }
    const open = unfilled(editor.value);
    if (open.length) {
      status("action-status", blanksMessage(open, "not copied, blanks"), "warn");
      $("unfilled-fields").querySelector("input")?.focus();
      return;
    }
    // half a placeholder ("{{order.id}" after an edit) must not reach the customer either
    const broken = brokenPlaceholder(text);
    if (broken) {
      status("action-status", t("broken placeholder", { text: broken.text }), "warn");
      editor.focus();
      editor.setSelectionRange(broken.start, broken.end);
      return;
    }
    await window.replykit.copyText(text);  // exactly `text`, not the editor's raw value
    status("action-status", t("Copied"));
    // a stale "Copied" would claim the edited text is on the clipboard
    const copied = editor.value;
    clearCopied = setTimeout(() => {
      if ($("action-status").textContent === t("Copied")) status("action-status", "");
    }, 5000);
    editor.addEventListener("input", function stale() {
      if (editor.value !== copied && $("action-status").textContent === t("Copied")) {
        status("action-status", "");
      }
      editor.removeEventListener("input", stale);
    });
    try {
      const id = await ensureDraft();
      await api("POST", `/api/drafts/${id}/finish`, { outcome: "copied", ...finishFields() });
      state.finished = true;
      state.sentText = editor.value;
      forgetDraft();
    } catch (error) { failed(error, "action-status"); }
  }

  async function askReview() {
    if (!editor.value.trim()) { status("action-status", t("Write first")); return; }
    const open = unfilled(editor.value);
    try {
      const id = await ensureDraft();
      const result = await api("POST", `/api/drafts/${id}/review-request`,
        { ...finishFields(), conversation_id: state.conversationId, reviewer: $("reviewer").value || null });
      state.finished = true;
      state.sentText = editor.value;
      forgetDraft();
      const link = el("a", { href: `/reviews/drafts/${result.review_draft_id}` },
        t("Draft", { id: String(result.review_draft_id) }));
      $("action-status").replaceChildren(...parts("Sent for review", { draft: link }),
        open.length ? t("still to fill", {
          names: [...new Set(open.map((p) => label(p.name)))].join(t("list separator")) }) : "");
      $("action-status").classList.toggle("warn", open.length > 0);
      const requests = $("requests");
      requests.querySelector(".empty")?.remove();
      requests.prepend(el("li", {}, el("a", { href: link.href }, link.textContent), t("requested")));
    } catch (error) { failed(error, "action-status"); }
  }

  async function propose(event) {
    event.preventDefault();
    try {
      const reply = await api("POST", "/api/saved-replies/proposals", {
        title: $("propose-title").value, body: plain(editor.value), question: asked(),
        conversation_id: state.conversationId,
        language: $("propose-language").value || "en",
        tags: $("propose-tags").value.split(",").map((t) => t.trim()).filter(Boolean),
      });
      status("action-status", t("Proposed", { title: reply.title, id: String(reply.id) }));
    } catch (error) { failed(error, "action-status"); }
  }

  // ---- library: the approved saved replies of the agent's teams, read-only
  const shelf = { loaded: false, replies: new Map(), seq: 0 };

  function fillSelect(select, values) {
    const chosen = select.value;
    select.replaceChildren(select.options[0], ...values.map((v) => el("option", { value: v, dir: "auto" }, v)));
    select.value = values.includes(chosen) ? chosen : "";
  }

  async function searchLibrary() {
    const params = new URLSearchParams({ limit: "50" });
    for (const [name, id] of [["q", "library-q"], ["tag", "library-tag"], ["folder", "library-folder"]]) {
      if ($(id).value.trim()) params.set(name, $(id).value.trim());
    }
    const seq = ++shelf.seq;
    status("library-status", t("searching"));
    try {
      const data = await api("GET", `/api/saved-replies?${params}`);
      if (seq !== shelf.seq) return;
      shelf.loaded = true;
      fillSelect($("library-tag"), data.tags);
      fillSelect($("library-folder"), data.folders);
      shelf.replies = new Map(data.replies.map((r) => [r.id, r]));
      $("library-results").replaceChildren(...data.replies.map((reply) => el("li", {},
        el("button", {
          type: "button", class: "library-item", "aria-expanded": "false", dataset: { id: reply.id },
        },
        el("span", { class: "title", dir: "auto" }, reply.title),
        reply.folder ? el("span", { class: "folder", dir: "auto" }, reply.folder) : null))));
      status("library-status", !data.total ? t("No saved reply matches")
        : data.total > data.replies.length ? t("narrow", { shown: data.replies.length, total: data.total })
          : t("saved replies", { num: data.total }));
    } catch (error) { failed(error, "library-status"); }
  }
  const searchLibrarySoon = debounce(searchLibrary, 300);

  // one preview at a time, right under its title (a disclosure: the title button says whether
  // it is open)
  function togglePreview(button) {
    const open = button.getAttribute("aria-expanded") === "true";
    $("library-results").querySelectorAll(".library-item[aria-expanded=true]").forEach((b) => {
      b.setAttribute("aria-expanded", "false");
      b.removeAttribute("aria-controls");
    });
    $("library-preview")?.remove();
    if (open) return;
    const reply = shelf.replies.get(button.dataset.id);
    button.setAttribute("aria-expanded", "true");
    button.setAttribute("aria-controls", "library-preview");
    button.after(el("div", { id: "library-preview", class: "library-preview", role: "region", "aria-label": t("Preview of", { title: reply.title }) },
      el("div", { class: "meta" }, el("span", { class: "lang" }, reply.language),
        ...reply.tags.map((t) => el("span", { class: "tag", dir: "auto" }, t))),
      el("p", { class: "body", dir: "auto" }, ...chipped(reply.body)),
      reply.attachments.length ? files(reply.attachments) : null,
      el("button", { type: "button", class: "library-insert", dataset: { id: reply.id } }, t("Insert"))));
  }

  // ---- queue
  async function loadQueue() {
    try {
      const data = await api("GET", "/api/conversations?limit=50");
      const pick = $("conversation-pick");
      for (const c of data.conversations) {
        const when = readableDate(c.last_at);
        pick.append(el("option", { value: c.id, dir: "auto" },
          `${c.id} · ${c.customer_name || t("customer")} · ${c.subject || c.last.slice(0, 50)}${when ? ` · ${when}` : ""}`));
      }
    } catch (error) {
      if (error.status === 401) sessionEnded(); /* otherwise the queue is optional */
    }
  }

  async function showThread(id) {
    const thread = $("thread");
    const data = await api("GET", `/api/conversations/${encodeURIComponent(id)}`);
    state.source = data.source || null; // the helpdesk it was synced from, if any
    // the whole thread, scrolled to the newest message (a long one scrolls inside its box)
    thread.replaceChildren(...data.messages.map((m) =>
      el("div", { class: `message ${m.role}` },
        el("span", { class: "author", dir: "auto" }, m.author || m.role),
        m.created_at ? el("time", { class: "when", datetime: m.created_at }, ` · ${readableDate(m.created_at)}`) : null,
        el("p", { dir: "auto" }, m.body))));
    thread.setAttribute("aria-label", t("thread", { num: data.messages.length }));
    thread.hidden = false;
    thread.scrollTop = thread.scrollHeight;
    return data;
  }

  async function pickConversation() {
    const id = $("conversation-pick").value;
    state.conversationId = id || null;
    state.source = null;
    state.finished = true; // a new question: a new drafting session
    state.draft = null;
    state.dismissed = new Set();
    if (!id) { $("thread").hidden = true; return; }
    try {
      const data = await showThread(id);
      query.value = data.question;
      noteLength();
      saveSoon();
      ensureDraft().catch(() => {});
      fetchSuggestions();
    } catch (error) { failed(error, "suggest-status"); }
  }

  // ---- events
  // the note about a restored draft goes once the agent works on it
  const clearRestored = () => {
    if ($("action-status").textContent === RESTORED) status("action-status", "");
  };
  query.addEventListener("input", clearRestored);
  editor.addEventListener("input", clearRestored);
  query.addEventListener("input", () => {
    noteLength();
    if (state.finished) { state.draft = null; state.dismissed = new Set(); } // a new question
    saveSoon();
    fetchSuggestions();
  });
  editor.addEventListener("input", () => {
    if (state.undo && editor.value !== state.undo.after) {
      state.undo = null;
      $("insert-note").hidden = true;
    }
    showUnfilled();
    saveSoon();
  });
  editor.addEventListener("copy", () => {
    const selected = editor.value.slice(editor.selectionStart, editor.selectionEnd);
    const open = unfilled(selected);
    if (open.length) status("action-status", blanksMessage(open, "copied blanks"), "warn");
  });
  list.addEventListener("click", (event) => {
    if (event.target.closest("#show-weak")) {
      state.revealed = true;
      state.selected = visible()[0] ?? -1;
      draw();
      if (list.getAttribute("role") === "listbox") list.focus();
      return;
    }
    const li = event.target.closest(".suggestion");
    if (!li) return;
    const index = Number(li.dataset.index);
    if (event.target.closest(".dismiss")) { dismiss(index); return; }
    state.selected = index;
    highlight();
    if (event.target.closest(".insert")) choose(index);
  });
  list.addEventListener("keydown", (event) => {
    if (event.target !== list || event.altKey || event.ctrlKey || event.metaKey) return;
    const keys = { ArrowDown: 1, ArrowUp: -1, Home: "first", End: "last" };
    if (event.key in keys) {
      moveTo(keys[event.key]);
    } else if (event.key === "Enter") {
      if (state.selected >= 0) choose(state.selected);
    } else if (event.key === "Delete") {
      if (state.selected >= 0) dismiss(state.selected);
      if (list.getAttribute("role") === "listbox") list.focus();
    } else {
      return;
    }
    event.preventDefault();
  });
  $("unfilled-fields").addEventListener("submit", (event) => {
    event.preventDefault();
    const form = event.target.closest("form.fill");
    const input = form.querySelector("input");
    if (!input.value.trim()) { input.focus(); return; }
    fill(form.dataset.name, input.value);
    $("unfilled-fields").querySelector("input")?.focus();
  });
  $("library").addEventListener("toggle", () => {
    if ($("library").open && !shelf.loaded) searchLibrary();
  });
  $("library-search").addEventListener("submit", (event) => { event.preventDefault(); searchLibrary(); });
  $("library-q").addEventListener("input", searchLibrarySoon);
  $("library-tag").addEventListener("change", searchLibrary);
  $("library-folder").addEventListener("change", searchLibrary);
  $("library-results").addEventListener("click", (event) => {
    const item = event.target.closest(".library-item");
    if (item) { togglePreview(item); return; }
    const insertButton = event.target.closest(".library-insert");
    if (insertButton) use({ ...shelf.replies.get(insertButton.dataset.id), kind: "saved", fromLibrary: true });
  });
  // a download fetched first, so that one that fails says why (an ended session shows the
  // sign-in banner) instead of being silently cancelled by the browser
  root.addEventListener("click", async (event) => {
    const link = event.target.closest("a.file");
    if (!link || event.button !== 0 || event.ctrlKey || event.metaKey || event.shiftKey || event.altKey) return;
    event.preventDefault();
    try {
      const response = await fetch(link.href, { credentials: "same-origin" });
      if (!response.ok) {
        const answer = await response.json().catch(() => null);
        const error = new Error((answer && answer.error) || response.statusText);
        error.status = response.status;
        throw error;
      }
      const url = URL.createObjectURL(await response.blob());
      const save = el("a", { href: url, download: link.getAttribute("download") });
      document.body.append(save);
      save.click();
      save.remove();
      setTimeout(() => URL.revokeObjectURL(url), 60000);
    } catch (error) { failed(error, "action-status"); }
  });
  $("insert-undo").addEventListener("click", undoInsert);
  $("prompts").addEventListener("submit", submitPrompts);
  $("prompts-cancel").addEventListener("click", () => { $("prompts").hidden = true; });
  $("copy").addEventListener("click", copyReply);
  $("ask-review").addEventListener("click", askReview);
  $("propose-form").addEventListener("submit", propose);
  $("conversation-pick").addEventListener("change", pickConversation);
  window.addEventListener("pagehide", saveDraft);
  // signing out on purpose leaves nothing behind in the tab
  document.querySelector("form.signout")?.addEventListener("submit", () => {
    state.signingOut = true;
    forgetDraft();
  });
  // Alt+C by the letter, or by the physical key when the layout gives no Latin letter there:
  // Option+C types "ç" on a Mac, and Thai or Persian layouts give "แ" or "ز"
  function isKeyC(event) {
    const key = event.key.toLowerCase();
    return key === "c" || (event.code === "KeyC" && !/^[a-z]$/.test(key));
  }

  document.addEventListener("keydown", (event) => {
    if (!event.altKey) return;
    if (event.key === "ArrowDown") {
      move(1); event.preventDefault();
    } else if (event.key === "ArrowUp") {
      move(-1); event.preventDefault();
    } else if (event.key === "Enter") {
      if (state.selected >= 0) choose(state.selected);
      event.preventDefault();
    } else if (isKeyC(event)) {
      copyReply(); event.preventDefault();
    }
  });

  const restored = restoreDraft();
  loadQueue().then(async () => {
    if (!restored) return;
    if (restored.conversationId && [...$("conversation-pick").options].some((o) => o.value === restored.conversationId)) {
      $("conversation-pick").value = restored.conversationId;
      state.conversationId = restored.conversationId;
      try { await showThread(restored.conversationId); } catch (e) { /* gone from the queue */ }
    }
    if (query.value.trim()) fetchSuggestions();
  });
})();
