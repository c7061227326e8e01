"""Saved-reply actions through the connector: when an agent inserts a saved reply into a
conversation synced from a helpdesk, the reply's actions (tags, status, assignee...;
docs/saved-replies.md, "Actions") are applied to the ticket through that source's
`apply_actions`. The answer says, per action, what was applied and what the helpdesk's API
does not allow; the audit log keeps who applied which reply's actions where."""

from __future__ import annotations

from flask import Blueprint, jsonify

import storage.webhooks
from connectors.base import make_source
from replykit import audit
from replykit.errors import InputError, NotFound
from suggest import library
from web.access import may_read_conversation, usable_suggestion
from web.api_suggest import json_body
from web.db import get_home
from web.security import current_user, has_role, require_role

bp = Blueprint("reply_actions", __name__, url_prefix="/api")


def _name(data: dict, field: str) -> str:
    value = data.get(field)
    if not isinstance(value, str) or not value.strip():
        raise InputError("must be non-empty text", f"field {field}")
    return value


@bp.post("/conversations/<conversation_id>/actions")
@require_role("agent", "lead")
def apply_actions(conversation_id: str):
    """Body {"reply_id", "source"?} -> {"conversation_id", "reply_id", "source", "results":
    ["set_status solved: applied", "add_tags ['refund']: not supported by ...", ...]}: the
    saved reply's actions applied to the conversation through `[sync.SOURCE]` (by default
    the source the conversation came from, by sync or webhook). 404 for a
    conversation the user may not read or a reply they may not use (approved, of their
    teams; leads also drafts), 400 for a source that is not configured, 502 when the helpdesk
    refuses. A reply without actions answers an empty `results` and asks nothing of the
    helpdesk (nor checks the source)."""
    data = json_body()
    db = get_home().db
    user = current_user()
    reply_id = _name(data, "reply_id")
    if not may_read_conversation(db, user, conversation_id):
        raise NotFound(f"no conversation {conversation_id!r}")
    source_name = (_name(data, "source") if data.get("source") is not None
                   else storage.webhooks.conversation_source(db, conversation_id))
    reply = library.get_reply(db, usable_suggestion(db, user, "saved", reply_id))
    if reply["status"] != "approved" and not has_role(user, "lead"):
        raise NotFound(f"no saved reply with id {reply_id!r}")
    results = []
    if reply["actions"]:
        sections = get_home().config.sections
        if source_name is None:
            raise InputError("the conversation did not come from a helpdesk: name its "
                             "[sync.NAME]", "field source")
        if source_name not in sections.get("sync", {}):
            raise InputError(f"no source {source_name!r} is configured ([sync.NAME])",
                             "field source")
        results = make_source(sections, source_name).apply_actions(
            conversation_id, reply["actions"])
        audit.record(db, user, "reply.actions", conversation_id,
                     {"reply_id": reply_id, "source": source_name, "results": results})
    return jsonify({"conversation_id": conversation_id, "reply_id": reply_id,
                    "source": source_name, "results": results})
