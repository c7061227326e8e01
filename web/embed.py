"""The panel a helpdesk shows beside its ticket (GET /embed, in an iframe): suggestions for the
conversation, placeholders filled from it, Copy, and Send (posted back to the helpdesk).

It learns the conversation from the page address (`?conversation=ID`: a conversation synced
into replykit, e.g. from a Zendesk ticket sidebar app) or from the Chatwoot Dashboard App's
`appContext` message, accepted only from the `[web] embed_origins` (web/framing.py). The
page itself is public (an empty shell); its JSON calls need a login: a token the helpdesk
app passes in the address's fragment (`#token=...`, kept in memory, sent as `Authorization:
Bearer`) or a session cookie that lives in the frame (`[web] embed_cookies`).
docs/integrations.md, "Embedding in Chatwoot / Zendesk"."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify, render_template, url_for
from flask_babel import gettext as _

import storage.webhooks
from connectors.base import make_source
from replykit.errors import InputError, NotFound
from suggest import placeholders, sending
from web.access import may_read_conversation, usable_suggestion
from web.api_suggest import json_body
from web.db import get_home
from web.framing import embed_cookies, embed_origins, frameable
from web.limits import limit_for
from web.security import current_user, public, require_role

bp = Blueprint("embed", __name__)


def _messages() -> dict:
    """The panel script's messages, in the request's language."""
    return {
        "waiting": _("Waiting for the conversation from the helpdesk…"),
        "sign in": _("Sign in to replykit to see suggestions here."),
        "sign in link": _("Sign in"),
        "searching": _("searching…"),
        "no question": _("The customer has not written anything to answer yet."),
        "no suggestion": _("No suggestion for this message."),
        "no confident": _("No confident suggestion for this message."),
        "show anyway": _("Show anyway"),
        "weak": _("Weak matches, below the confidence threshold: check before using."),
        "use": _("Use"),
        "saved reply": _("saved reply"),
        "past reply": _("past reply"),
        "fill": _("Fill"),
        "type the value": _("type the value"),
        "blanks": _("Fill in first: %(names)s."),
        "broken": _("“%(text)s” looks like a broken placeholder: fill it in or delete it."),
        "nothing": _("Write or use a reply first."),
        "copied": _("Copied to the clipboard."),
        "sent": _("Sent to the helpdesk."),
        "sending": _("Sending…"),
        "not synced": _("This conversation did not come from a helpdesk through replykit "
                        "sync: copy the reply instead."),
        "conversation": _("Conversation %(id)s"),
        "list separator": _(", "),
    }


@bp.get("/embed")
@frameable
@public
def panel():
    """The panel (static/js/embed.js does the rest); frameable by the configured helpdesk
    origins only. Query: `conversation`? (a replykit conversation id), `source`? (the
    `[sync.NAME]` a Chatwoot conversation was synced from)."""
    config = current_app.extensions["replykit.config"]
    # the workspace's labels, in the page's language where the catalogs have them
    labels = {name: _(label) for name, label in placeholders.LABELS.items()}
    return render_template("embed.html", messages=_messages(), origins=embed_origins(config),
                           max_question=limit_for("query"), placeholder_labels=labels,
                           sign_in=url_for("auth.login") if embed_cookies(config) else "")


def _field(data: dict, name: str, required: bool = False) -> str | None:
    value = data.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip():
        raise InputError("must be non-empty text", f"field {name}")
    return value


def _source_of(db, conversation_id: str, given: str | None) -> str:
    """The `[sync.NAME]` to post through: the one the conversation came from (by sync or
    webhook); `given`, when named, must be that one. InputError otherwise: a conversation
    from a file, or one named differently, is never posted into another helpdesk's ticket
    that happens to have the same number."""
    recorded = storage.webhooks.conversation_source(db, conversation_id)
    if recorded is None:
        raise InputError("the conversation did not come from a helpdesk (replykit sync)",
                         "field source")
    if given is not None and given != recorded:
        raise InputError(f"the conversation came from {recorded!r}, not {given!r}",
                         "field source")
    if recorded not in get_home().config.sections.get("sync", {}):
        raise InputError(f"no source {recorded!r} is configured ([sync.NAME])", "field source")
    return recorded


@bp.post("/api/conversations/<conversation_id>/send")
@require_role("agent")
def send(conversation_id: str):
    """Body {"text", "source"?, "suggestion_kind"?: saved|past, "suggestion_id"?,
    "inserted_text"?} -> the recorded send (201: `message_id` is the helpdesk's id of the
    new reply, `edit_ratio` how much the inserted text was changed). Posts `text` to the
    customer through the connector of the source the conversation came from (post_reply;
    `source`, if given, must name it), then records it (suggest.sending.record_sent).
    Everything is checked before the post; 404 for a conversation the agent may not read,
    400 for one that came from no configured helpdesk, 502 when the helpdesk refuses."""
    data = json_body()
    db = get_home().db
    user = current_user()
    if not may_read_conversation(db, user, conversation_id):
        raise NotFound(f"no conversation {conversation_id!r}")
    text = _field(data, "text", True)
    kind = data.get("suggestion_kind")
    if kind not in (None, "saved", "past"):
        raise InputError("must be saved or past", "field suggestion_kind")
    suggestion_id, inserted = _field(data, "suggestion_id"), _field(data, "inserted_text")
    if (suggestion_id is None) != (inserted is None):
        raise InputError("give both suggestion_id and inserted_text, or neither", "fields")
    if suggestion_id is not None:
        suggestion_id = usable_suggestion(db, user, kind or "saved", suggestion_id)
    source = make_source(get_home().config.sections,
                         _source_of(db, conversation_id, _field(data, "source")))
    message_id = source.post_reply(conversation_id, text, private=False)
    row = sending.record_sent(
        db, conversation_id, text, agent=user["name"], message_id=message_id,
        saved_reply_id=suggestion_id if (kind or "saved") == "saved" else None,
        inserted_text=inserted)
    return jsonify(row), 201
