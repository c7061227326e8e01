"""JSON API of the agent workspace: the conversation queue, placeholder filling, drafting
sessions (drafting time and edit ratio), review requests and saved-reply proposals."""

from __future__ import annotations

import re
import secrets

from flask import Blueprint, jsonify, request

from replykit.errors import InputError, NotFound
from rubrics import drafts as review_drafts
from suggest import library, placeholders
from web import drafts
from web.api_suggest import engine, json_body
from web.app import get_home
from web.security import current_user, forbidden, has_role, require_role

bp = Blueprint("api_workspace", __name__, url_prefix="/api")


def _text(data: dict, field: str, required: bool = False) -> str | None:
    value = data.get(field)
    if value is None and not required:
        return None
    if not isinstance(value, str) or (required and not value.strip()):
        raise InputError("must be non-empty text" if required else "must be text", f"field {field}")
    return value


@bp.get("/conversations")
@require_role()
def api_conversations():
    """Open conversations (last message from the customer), newest first: the queue."""
    limit = min(max(request.args.get("limit", 50, type=int), 1), 200)
    rows = get_home().db.query(
        """SELECT c.id, c.subject, c.customer_name, c.channel, c.team, c.status, m.body AS last,
                  m.created_at AS last_at
           FROM conversations c JOIN messages m ON m.conversation_id = c.id
           WHERE m.seq = (SELECT MAX(seq) FROM messages WHERE conversation_id = c.id)
             AND m.role = 'customer'
           ORDER BY m.created_at DESC LIMIT ?""", [limit])
    return jsonify({"conversations": [dict(r) for r in rows]})


def conversation(db, conversation_id: str) -> dict:
    """A conversation with its messages and the latest customer message as `question`."""
    rows = list(db.query("SELECT * FROM conversations WHERE id = ?", [conversation_id]))
    if not rows:
        raise NotFound(f"no conversation {conversation_id!r}")
    found = {k: rows[0][k] for k in ("id", "subject", "channel", "status", "customer_name",
                                     "customer_email", "team")}
    found["messages"] = [dict(m) for m in db.query(
        "SELECT message_id, role, author, created_at, body FROM messages "
        "WHERE conversation_id = ? ORDER BY created_at, seq", [conversation_id])]
    customer = [m["body"] for m in found["messages"] if m["role"] == "customer"]
    found["question"] = customer[-1] if customer else ""
    return found


@bp.get("/conversations/<conversation_id>")
@require_role()
def api_conversation(conversation_id: str):
    """One conversation with messages; `question` is the customer's latest message."""
    return jsonify(conversation(get_home().db, conversation_id))


def context(db, user: dict, conversation_id: str | None) -> dict:
    """Placeholder values known from the conversation and the signed-in agent."""
    values = {"agent": {"name": user["name"]}}
    if conversation_id:
        row = db.execute("SELECT customer_name, customer_email FROM conversations WHERE id = ?",
                         [conversation_id]).fetchone()
        if row is None:
            raise NotFound(f"no conversation {conversation_id!r}")
        name, email = row
        values["customer"] = {"name": name, "first_name": (name or "").split(" ")[0],
                              "email": email}
        values["ticket"] = {"id": conversation_id}
    return values


@bp.post("/render")
@require_role()
def api_render():
    """Body {"kind": saved|past, "id", "conversation_id"?, "values"?: {name: text}} ->
    {"text", "missing", "used_fallback", "placeholders": [{"name", "fallback", "value"}]}."""
    data = json_body()
    kind = data.get("kind") or "saved"
    item_id = _text(data, "id", required=True)
    values = data.get("values") or {}
    if not isinstance(values, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in values.items()):
        raise InputError("must be an object of text values", "field values")
    db = get_home().db
    if kind == "saved":
        body = library.get_reply(db, item_id)["body"]
    elif kind == "past":
        row = db.execute("SELECT answer FROM past_replies WHERE id = ?", [item_id]).fetchone()
        if row is None:
            raise NotFound(f"no past reply with id {item_id!r}")
        body = row[0]
    else:
        raise InputError("must be saved or past", "field kind")
    known = context(db, current_user(), _text(data, "conversation_id"))
    rendered = placeholders.render(body, {**known, **{k: v for k, v in values.items() if v}})
    found = []
    for match in placeholders.PLACEHOLDER.finditer(body):
        name = match.group(1)
        if name not in (p["name"] for p in found):
            value = values.get(name) or placeholders.lookup(known, name)
            found.append({"name": name, "fallback": match.group(2),
                          "value": value if value not in (None, "") else None})
    return jsonify(dict(rendered.as_dict(), placeholders=found))


@bp.post("/drafts")
@require_role()
def api_draft_start():
    """Body {"query"?, "conversation_id"?} -> a drafting session (201): the clock starts."""
    data = json_body()
    user = current_user()
    row = drafts.start(get_home().db, user["name"], user["team"], _text(data, "query") or "",
                       _text(data, "conversation_id"))
    return jsonify(row), 201


def _own_draft(draft_id: int) -> dict:
    draft = drafts.get(get_home().db, draft_id)
    if draft["agent"] != current_user()["name"]:
        raise NotFound(f"no draft {draft_id}")
    return draft


def _finish_fields(data: dict) -> dict:
    kind = data.get("suggestion_kind")
    if kind is not None and kind not in ("saved", "past"):
        raise InputError("must be saved or past", "field suggestion_kind")
    return {"text": _text(data, "text", required=True), "suggestion_kind": kind,
            "suggestion_id": _text(data, "suggestion_id"),
            "inserted_text": _text(data, "inserted_text"), "query": _text(data, "query") or ""}


@bp.post("/drafts/<int:draft_id>/finish")
@require_role()
def api_draft_finish(draft_id: int):
    """Body {"outcome": copied|sent, "text", "suggestion_kind"?, "suggestion_id"?,
    "inserted_text"?} -> the closed session with seconds and edit_ratio."""
    data = json_body()
    _own_draft(draft_id)
    outcome = data.get("outcome")
    if outcome not in ("copied", "sent"):
        raise InputError("must be copied or sent", "field outcome")
    return jsonify(drafts.finish(get_home().db, draft_id, outcome, **_finish_fields(data)))


@bp.post("/drafts/<int:draft_id>/review-request")
@require_role()
def api_review_request(draft_id: int):
    """Body {"text", "reviewer"?, ...finish fields} -> {"review_draft_id", "draft"} (201):
    the draft goes to a reviewer (or any reviewer) and the session closes."""
    data = json_body()
    draft = _own_draft(draft_id)
    fields = _finish_fields(data)
    db = get_home().db
    review_id = review_drafts.request_draft(
        db, current_user()["name"], fields["text"], draft["query"],
        reviewer=_text(data, "reviewer") or None, conversation_id=draft["conversation_id"])
    row = drafts.finish(db, draft_id, "sent_for_review", review_draft_id=review_id, **fields)
    return jsonify({"review_draft_id": review_id, "draft": row}), 201


@bp.get("/review-requests/<int:review_draft_id>")
@require_role()
def api_review_request_result(review_draft_id: int):
    """A draft sent for review with its state, return comment and reviews (own, or any for
    reviewers and leads)."""
    result = review_drafts.draft_result(get_home().db, review_draft_id)
    user = current_user()
    if result["author"] != user["name"] and not has_role(user, "reviewer", "lead"):
        return forbidden("only its author, reviewers and leads see a draft's review")
    if not has_role(user, "reviewer", "lead"):
        result["reviews"] = [r for r in result["reviews"] if r["state"] == "submitted"]
    return jsonify(result)


def new_reply_id(title: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")[:50] or "reply"
    return f"{slug}-{secrets.token_hex(3)}"


@bp.post("/saved-replies/proposals")
@require_role()
def api_propose_reply():
    """Body {"title", "body", "tags"?, "language"?, "question"?} -> the new draft saved reply
    (201), for a lead to approve."""
    data = json_body()
    record = {
        "id": new_reply_id(_text(data, "title", required=True)),
        "title": data["title"], "body": _text(data, "body", required=True),
        "tags": data.get("tags") or [], "language": data.get("language") or "en",
        "status": "draft", "questions": [q for q in [_text(data, "question")] if q],
    }
    db = get_home().db
    reply = library.add_reply(db, record, author=current_user()["name"])
    engine().sync()
    return jsonify(reply), 201
