"""JSON API of the agent workspace: the conversation queue, placeholder filling, drafting
sessions (drafting time and edit ratio), review requests and saved-reply proposals."""

from __future__ import annotations

import functools
import json

from flask import Blueprint, Response, jsonify, request

import storage.webhooks
from index.normalize import normalize_text
from replykit import users
from replykit.errors import InputError, NotFound
from rubrics import drafts as review_drafts
from storage import conversations as conversation_store
from storage import library as library_store
from suggest import attachments, conversation_context, drafts, library, placeholders, proposals
from web.access import (
    conversation_in_scope,
    may_read_conversation,
    readable_conversations,
    team_scope,
    usable_suggestion,
)
from web.api_suggest import attachment_links, int_arg, json_body
from web.db import engine, get_home
from web.security import CSP, current_user, forbidden, has_role, require_role

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
    """The queue of the signed-in user's teams (and of no team), newest first: conversations
    whose last message is the customer's and that are not closed or resolved; of those, only
    the ones the user may read (a reviewer: those holding a reply they review)."""
    limit = int_arg("limit", 1, 200, default=50)
    rows = conversation_store.queued_conversations(
        get_home().db, team_scope(current_user()), limit)
    readable = readable_conversations(get_home().db, current_user(), [r["id"] for r in rows])
    return jsonify({"conversations": [r for r in rows if r["id"] in readable]})


def conversation(db, conversation_id: str) -> dict:
    """A conversation with its messages; `question`: the customer's messages since the last
    agent reply, joined by blank lines (what the agent answers next; the last customer
    message when all are answered); `values`: the
    placeholder values the conversation gives ({"customer.first_name": "Emma", ...})."""
    row = conversation_store.conversation_row(db, conversation_id)
    if row is None:
        raise NotFound(f"no conversation {conversation_id!r}")
    found = {k: row[k] for k in ("id", "subject", "channel", "status", "customer_name",
                                 "customer_email", "team")}
    found["messages"] = conversation_store.conversation_messages(db, conversation_id)
    found["question"] = conversation_context.question(found["messages"])
    found["values"] = conversation_context.values(row, found["messages"])
    # the helpdesk source it came from, if any: a saved reply's actions go back there
    found["source"] = storage.webhooks.conversation_source(db, conversation_id)
    return found


@bp.get("/conversations/<conversation_id>")
@require_role()
def api_conversation(conversation_id: str):
    """One conversation with messages; `question` is the customer's messages since the last
    agent reply; `values` the placeholder values it gives. 404 unless the user may read it
    (web.access)."""
    db = get_home().db
    if not may_read_conversation(db, current_user(), conversation_id):
        raise NotFound(f"no conversation {conversation_id!r}")
    return jsonify(conversation(db, conversation_id))


def context(db, user: dict, conversation_id: str | None) -> tuple[dict, dict]:
    """Placeholder values known from the signed-in agent (nested) and from the conversation
    (flat: {"order.id": ...}), as two dicts; placeholders.lookup reads both shapes."""
    agent = {"agent": {"name": user["name"]}}
    if not conversation_id:
        return agent, {}
    if not may_read_conversation(db, user, conversation_id):
        raise NotFound(f"no conversation {conversation_id!r}")
    row = conversation_store.conversation_row(db, conversation_id)
    if row is None:
        raise NotFound(f"no conversation {conversation_id!r}")
    messages = conversation_store.conversation_messages(db, conversation_id)
    return agent, conversation_context.values(row, messages)


def _renderable_reply(db, reply_id: str) -> dict:
    """The saved reply if the user may use it: visible to one of their teams, and approved
    unless they may edit the library (leads); NotFound otherwise, so nothing is revealed."""
    user = current_user()
    try:
        reply = library.get_reply(db, reply_id)
    except NotFound:
        reply = None
    if (reply is None or not library.visible_to(reply["teams"], team_scope(user))
            or (reply["status"] != "approved" and not has_role(user, "lead"))):
        raise NotFound(f"no saved reply with id {reply_id!r}")
    return reply


def _folders(folders) -> list[str]:
    """Every folder and the folders above it ("Billing/Refunds" gives "Billing" too), sorted."""
    found = set()
    for folder in filter(None, folders):
        parts = folder.split("/")
        found.update("/".join(parts[:n]) for n in range(1, len(parts) + 1))
    return sorted(found)


@functools.lru_cache(maxsize=4096)
def _searchable(text: str) -> str:
    """`text` as search reads it, cached: the titles and bodies of a library of 2,000 replies
    are normalised once, not on every keystroke of a search (a search took 1 s, now 0.1 s)."""
    return normalize_text(text)


def _matches(row: dict, tag: str, folder: str, needle: str) -> bool:
    """Whether a saved_replies row has the tag, is in the folder (or one below it) and holds
    the normalised text in its title or body (each test skipped when empty)."""
    return ((not tag or tag in json.loads(row["tags"]))
            and (not folder or row["folder"] == folder or row["folder"].startswith(folder + "/"))
            and (not needle or needle in _searchable(row["title"])
                 or needle in _searchable(row["body"])))


@bp.get("/saved-replies")
@require_role()
def api_library():
    """The read-only library of the workspace: query q? (text in the title or body, compared
    as normalised for search: any case, digits of any script, Persian letter forms), tag?,
    folder? (that folder and those below it), limit? (1-200, default 50) ->
    {"replies": [{"id", "title", "body", "tags", "folder", "language", "attachments"}],
    "total", "tags", "folders"}. Only approved replies visible to the user's teams; `total`
    counts the matches before the limit, `tags` and `folders` (with the folders above them)
    are those of every reply the user may browse, for the filters."""
    args = request.args
    text = (args.get("q") or "").strip()
    if len(text) > 500:
        raise InputError("must be at most 500 characters", "parameter q")
    limit = int_arg("limit", 1, 200, default=50)
    db = get_home().db
    teams = team_scope(current_user())
    browsable = [row for row in library_store.find_reply_rows(db, status="approved")
                 if library.visible_to(json.loads(row["teams"]), teams)]
    folder = library.normalize_folder(args.get("folder") or "")
    found = [row for row in browsable
             if _matches(row, args.get("tag") or "", folder, normalize_text(text))]
    links = attachment_links(db, [r["id"] for r in found[:limit]])
    replies = [{k: r[k] for k in ("id", "title", "body", "folder", "language")}
               | {"tags": json.loads(r["tags"]), "attachments": links.get(r["id"], [])}
               for r in found[:limit]]
    return jsonify({"replies": replies, "total": len(found),
                    "tags": sorted({t for r in browsable for t in json.loads(r["tags"])}),
                    "folders": _folders(r["folder"] for r in browsable)})


@bp.get("/saved-replies/<reply_id>/attachments/<filename>")
@require_role()
def api_attachment(reply_id: str, filename: str):
    """Download an attachment of a saved reply the user may use (visible to their teams,
    approved unless they are a lead); 404 otherwise, as for one that does not exist. Always a
    download (Content-Disposition: attachment, RFC 6266 name), never rendered: nosniff, and a
    sandboxing Content-Security-Policy should a browser open it anyway."""
    db = get_home().db
    _renderable_reply(db, reply_id)
    found = attachments.download(db, get_home().config.attachments_dir, reply_id, filename)
    return Response(found["data"], content_type=found["content_type"], headers={
        "Content-Disposition": found["disposition"],
        "Content-Security-Policy": CSP + "; sandbox",
        "Cross-Origin-Resource-Policy": "same-origin",
    })


@bp.post("/render")
@require_role()
def api_render():
    """Body {"kind": saved|past, "id", "conversation_id"?, "values"?: {name: text}} ->
    {"text", "missing", "used_fallback", "placeholders": [{"name", "label", "fallback", "value",
    "source"}]} (`label`: a readable name for the agent, e.g. "Order number" for order.id;
    `source`: where the value came from: given, conversation, agent or None)."""
    data = json_body()
    kind = "saved" if data.get("kind") is None else data["kind"]
    item_id = _text(data, "id", required=True)
    values = {} if data.get("values") is None else data["values"]
    if not isinstance(values, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in values.items()):
        raise InputError("must be an object of text values", "field values")
    db = get_home().db
    if kind == "saved":
        body = _renderable_reply(db, item_id)["body"]
    elif kind == "past":
        past_id = usable_suggestion(db, current_user(), "past", item_id)
        body = conversation_store.past_reply_answer(db, past_id)
    else:
        raise InputError("must be saved or past", "field kind")
    agent, from_conversation = context(db, current_user(), _text(data, "conversation_id"))
    known = {**agent, **from_conversation}
    rendered = placeholders.render(body, {**known, **{k: v for k, v in values.items() if v}})
    found = []
    for match in placeholders.PLACEHOLDER.finditer(body):
        name = match.group(1)
        if name not in (p["name"] for p in found):
            value = values.get(name) or placeholders.lookup(known, name)
            source = ("given" if values.get(name) else
                      "conversation" if placeholders.lookup(from_conversation, name) else
                      "agent" if placeholders.lookup(agent, name) else None)
            found.append({"name": name, "label": placeholders.label(name),
                          "fallback": match.group(2),
                          "value": value if value not in (None, "") else None, "source": source})
    return jsonify(dict(rendered.as_dict(), placeholders=found))


@bp.post("/drafts")
@require_role()
def api_draft_start():
    """Body {"query"?, "conversation_id"?} -> a drafting session (201): the clock starts. Its
    team (for the drafting report) is the conversation's if it is one of the agent's, else
    the agent's first team."""
    data = json_body()
    user = current_user()
    db = get_home().db
    conversation_id = _text(data, "conversation_id")
    team = user["team"]
    if conversation_id is not None:
        if not may_read_conversation(db, user, conversation_id):
            raise NotFound(f"no conversation {conversation_id!r}")
        found = conversation_store.conversation_team(db, conversation_id)
        team = found if found in user["teams"] else team
    row = drafts.start(db, user["name"], team, _text(data, "query") or "", conversation_id,
                       agent_id=user["id"])
    return jsonify(row), 201


def _own_draft(draft_id: int) -> dict:
    """The signed-in user's drafting session (by user id); NotFound for anyone else's."""
    draft = drafts.get(get_home().db, draft_id)
    if draft["agent_id"] != current_user()["id"]:
        raise NotFound(f"no draft {draft_id}")
    return draft


def _reviewer(db, name: str | None) -> dict | None:
    """The reviewer a draft is addressed to, by username or by a display name only one
    reviewer has; None for any reviewer."""
    if not name:
        return None
    found = [u for u in users.users_with_role(db, "reviewer") if name in (u["username"], u["name"])]
    by_username = [u for u in found if u["username"] == name]
    if by_username or len(found) == 1:
        return (by_username or found)[0]
    problem = "two reviewers have this name: give the username" if found else "no such reviewer"
    raise InputError(f"{problem} ({name!r})", "field reviewer")


def _suggestion_id(data: dict, kind: str | None) -> str | None:
    """The stored id of the used suggestion, if the user may use it (see `usable_suggestion`)."""
    given = _text(data, "suggestion_id")
    if given is None:
        return None
    return usable_suggestion(get_home().db, current_user(), kind or "saved", given)


def _finish_fields(data: dict) -> dict:
    kind = data.get("suggestion_kind")
    if kind is not None and kind not in ("saved", "past"):
        raise InputError("must be saved or past", "field suggestion_kind")
    return {"text": _text(data, "text", required=True), "suggestion_kind": kind,
            "suggestion_id": _suggestion_id(data, kind),
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
    """Body {"text", "query", "conversation_id"?, "reviewer"?, ...finish fields} ->
    {"review_draft_id", "draft"} (201): the draft goes to a reviewer (or any reviewer) with
    the current question (`query`; the session's first one if blank) and thread (the given
    conversation, else the session's), and the session closes."""
    data = json_body()
    draft = _own_draft(draft_id)
    fields = _finish_fields(data)
    db = get_home().db
    user = current_user()
    reviewer = _reviewer(db, _text(data, "reviewer"))
    if reviewer is not None and reviewer["id"] == user["id"]:
        raise InputError("nobody reviews their own reply", "field reviewer")
    # the question as it is now, not as it was when the drafting session started
    question = fields["query"] if fields["query"].strip() else draft["query"]
    conversation_id = _text(data, "conversation_id")
    if conversation_id is None:
        conversation_id = draft["conversation_id"]
    elif not may_read_conversation(db, user, conversation_id):
        raise NotFound(f"no conversation {conversation_id!r}")
    review_id = review_drafts.request_draft(
        db, user["name"], fields["text"], question,
        reviewer=reviewer["name"] if reviewer else None,
        conversation_id=conversation_id, author_id=user["id"],
        reviewer_id=reviewer["id"] if reviewer else None)
    row = drafts.finish(db, draft_id, "sent_for_review", review_draft_id=review_id, **fields)
    return jsonify({"review_draft_id": review_id, "draft": row}), 201


@bp.get("/review-requests/<int:review_draft_id>")
@require_role()
def api_review_request_result(review_draft_id: int):
    """A draft sent for review with its state, return comment and reviews (own, or any for
    reviewers and leads)."""
    db = get_home().db
    result = review_drafts.draft_result(db, review_draft_id)
    user = current_user()
    if result["author_id"] != user["id"] and not (
            has_role(user, "reviewer", "lead")
            and conversation_in_scope(db, user, result["conversation_id"])):
        return forbidden("only its author, reviewers and leads see a draft's review")
    if not has_role(user, "reviewer", "lead"):
        result["reviews"] = [r for r in result["reviews"] if r["state"] == "submitted"]
    return jsonify(result)


@bp.post("/saved-replies/proposals")
@require_role()
def api_propose_reply():
    """Body {"title", "body", "tags"?, "language"?, "question"?, "conversation_id"?} -> the new
    draft saved reply (201), for a lead to approve, linked to the conversation it came from."""
    data = json_body()
    record = {
        "title": _text(data, "title", required=True), "body": _text(data, "body", required=True),
        "tags": data.get("tags"), "language": _text(data, "language") or "en",
        "questions": [q for q in [_text(data, "question")] if q],
    }
    db = get_home().db
    conversation_id = _text(data, "conversation_id")
    if conversation_id is not None and not may_read_conversation(db, current_user(),
                                                                 conversation_id):
        raise NotFound(f"no conversation {conversation_id!r}")
    with engine().writing():
        reply = proposals.propose(db, record, current_user()["name"], conversation_id)
    return jsonify(reply), 201
