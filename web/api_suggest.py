"""JSON API of the suggest engine: POST /api/suggest and suggestion feedback."""

from __future__ import annotations

import re

from flask import Blueprint, jsonify, request, url_for

from replykit.errors import InputError, NotFound
from replykit.textio import check_text
from suggest import attachments, feedback
from suggest.suggester import suggest
from web.access import public_past_ids, readable_conversations, team_scope, usable_suggestion
from web.db import engine, get_home
from web.security import current_user, require_role

bp = Blueprint("api_suggest", __name__, url_prefix="/api")


def json_body() -> dict:
    """The request's JSON object, or a 400 naming the problem."""
    try:
        data = request.get_json(silent=True)
    except RecursionError as exc:
        raise InputError("invalid JSON (nested too deeply)", "request body") from exc
    if not isinstance(data, dict):
        raise InputError("expected a JSON object (Content-Type: application/json)", "request body")
    check_text(data, "request body")
    return data


def int_arg(name: str, low: int, high: int, default: int | None = None) -> int | None:
    """The query parameter `name` as an integer from `low` to `high` (`default` when it is
    absent), or a 400 naming it: text, a fraction or a number out of range is refused."""
    value = request.args.get(name)
    if value is None:
        return default
    if not re.fullmatch(r"-?[0-9]{1,20}", value) or not low <= int(value) <= high:
        raise InputError(f"must be an integer from {low} to {high}, got {value[:40]!r}",
                         f"parameter {name}")
    return int(value)


def _optional_list(data: dict, field: str):
    value = data.get(field)
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InputError("must be a list of strings", f"field {field}")
    return value


def attachment_links(db, reply_ids: list[str]) -> dict[str, list[dict]]:
    """{reply id: [{"filename", "size", "content_type", "url"}]} of these saved replies (the
    caller checked that the user may see them); `url` downloads the file."""
    found = attachments.listing(db, reply_ids)
    for reply_id, items in found.items():
        for item in items:
            item["url"] = url_for("api_workspace.api_attachment", reply_id=reply_id,
                                  filename=item["filename"])
    return found


@bp.post("/suggest")
@require_role()
def api_suggest():
    """Body {"query", "k"?, "tags"?, "language"?, "mode"?, "team"?}
    -> {"suggestions", "confident"}. Only what the signed-in user's teams may see; `team`
    narrows to one of their own teams (403 for another). A past suggestion's id is
    "past-N" (it names no conversation) and its `conversation_id` is null unless the user may
    read that conversation. A saved suggestion lists its `attachments` (see
    `attachment_links`)."""
    data = json_body()
    for field in ("language", "mode", "team"):
        if data.get(field) is not None and not isinstance(data[field], str):
            raise InputError("must be text", f"field {field}")
    k = data.get("k")
    if isinstance(k, float) and k.is_integer():
        k = int(k)  # 5.0 is the integer 5 in JSON (and in JSON Schema)
    if k is not None and (isinstance(k, bool) or not isinstance(k, int)):
        raise InputError("must be an integer from 1 to 50", "field k")
    result = suggest(
        engine(),
        data.get("query"),
        k=k,
        mode=data.get("mode"),
        tags=_optional_list(data, "tags"),
        language=data.get("language"),
        teams=team_scope(current_user(), data.get("team")),
    )
    pasts = [s for s in result["suggestions"] if s["kind"] == "past"]
    readable = readable_conversations(get_home().db, current_user(),
                                      [s["conversation_id"] for s in pasts])
    for suggestion in pasts:
        if suggestion["conversation_id"] not in readable:
            suggestion["conversation_id"] = None
    public_past_ids(get_home().db, pasts)
    saved = [s for s in result["suggestions"] if s["kind"] == "saved"]
    links = attachment_links(get_home().db, [s["id"] for s in saved])
    for suggestion in saved:
        suggestion["attachments"] = links.get(suggestion["id"], [])
    return jsonify(result)


@bp.post("/suggestions/<suggestion_id>/feedback")
@require_role()
def api_feedback(suggestion_id: str):
    """Body {"event": shown|inserted|edited|dismissed, "kind"?: saved|past, "query"?,
    "edit_ratio"?, "conversation_id"?} -> the stored event (201), recorded as the signed-in
    user's; `conversation_id` is the conversation the query came from."""
    data = json_body()
    for field in ("event", "kind", "query", "conversation_id"):
        if data.get(field) is not None and not isinstance(data[field], str):
            raise InputError("must be text", f"field {field}")
    conversation_id = data.get("conversation_id")
    if conversation_id is not None and not readable_conversations(
            get_home().db, current_user(), [conversation_id]):
        raise NotFound(f"no conversation {conversation_id!r}")
    kind = "saved" if data.get("kind") is None else data["kind"]
    row = feedback.record(
        get_home().db,
        usable_suggestion(get_home().db, current_user(), kind, suggestion_id),
        data.get("event"),
        kind=kind,
        query=data.get("query") or "",
        user=current_user()["name"],
        edit_ratio=data.get("edit_ratio"),
        conversation_id=conversation_id,
    )
    return jsonify(row), 201
