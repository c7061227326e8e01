"""Posting the top suggestion back to the ticket as a private note (`post_suggestion = true`
in `[sync.NAME]`), after a webhook brought a customer's message. Only a confident suggestion
(its score at or above `confidence_threshold`) whose placeholders the conversation fills
completely is posted: a note with an unfilled `{{...}}` or a weak guess costs the agent more
than it saves. Suggestions come from what the conversation's team may see (saved replies of
that team or of everyone; past replies of its conversations and of those with no team)."""

from __future__ import annotations

import storage.conversations
from connectors.base import Source
from suggest import conversation_context, placeholders
from suggest.engine import SuggestEngine
from suggest.suggester import MAX_QUERY_CHARS, suggest

HEADER = "Suggested reply (replykit, {kind} \u201c{title}\u201d, score {score:.2f}):"


def note_text(suggestion: dict, text: str) -> str:
    """The note: a line saying where the suggestion comes from, then the filled reply."""
    kind = "saved reply" if suggestion["kind"] == "saved" else "past reply"
    header = HEADER.format(kind=kind, title=suggestion["title"], score=suggestion["score"])
    return f"{header}\n\n{text}"


def post_suggestion(engine: SuggestEngine, source: Source, conversation_id: str) -> dict:
    """Suggest for the conversation's unanswered customer messages and post the best one as a
    private note through `source`. Returns {"posted": True, "note_id", "reply_id", "score"},
    or {"posted": False, "reason"} (no question, no confident suggestion, placeholders the
    conversation cannot fill)."""
    db = engine.db
    row = storage.conversations.conversation_row(db, conversation_id)
    if row is None:
        return {"posted": False, "reason": f"no conversation {conversation_id!r}"}
    messages = storage.conversations.conversation_messages(db, conversation_id)
    if not conversation_context.unanswered(messages):
        return {"posted": False, "reason": "no unanswered customer message"}
    question = conversation_context.question(messages)[:MAX_QUERY_CHARS]
    if not question.strip():
        return {"posted": False, "reason": "the customer's message has no text"}
    team = row["team"] or ""
    found = suggest(engine, question, k=1, teams=[team] if team else [])
    if not found["confident"]:
        return {"posted": False, "reason": "no confident suggestion"}
    best = found["suggestions"][0]
    rendered = placeholders.render(best["body"], conversation_context.values(row, messages))
    if rendered.missing:
        return {"posted": False, "reason": "the conversation does not fill "
                + ", ".join(f"{{{{{name}}}}}" for name in rendered.missing)}
    note_id = source.post_reply(conversation_id, note_text(best, rendered.text), private=True)
    return {"posted": True, "note_id": str(note_id), "reply_id": best["id"],
            "score": best["score"]}
