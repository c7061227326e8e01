"""A webhook's JSON as replykit reads it: the event's id (what makes it idempotent) and the
message it carries, as a record of the `import conversations` format (docs/conversations.md),
stored through the same importer as a sync. One parser per helpdesk:

- chatwoot: the `message_created` event; an `incoming` message that is not private is the
  customer's; every other event or message (agents' replies, notes, activity) is ignored.
- zendesk: the JSON of the trigger template in docs/integrations.md (a customer's comment).
- django-helpdesk, jsonl-http (generic): one record of the import format.

Conversation and message ids are the helpdesk's own, as a sync stores them, so a message that
came by webhook is skipped when the sync pulls it later."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime

from replykit.errors import InputError

MAX_ID = 200  # characters of an event, conversation or message id


@dataclass(frozen=True)
class HookEvent:
    """`event_id`: unique per source; `conversation_id`: '' for an ignored event; `record`:
    the message to store (None: nothing to store, e.g. an agent's reply)."""

    event_id: str
    conversation_id: str
    record: dict | None


def _id(value, field: str) -> str:
    """An id given as text or an integer."""
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise InputError("must be an id (text or an integer)", f"field {field}")
    text = str(value).strip()
    if not text or len(text) > MAX_ID:
        raise InputError(f"must be 1 to {MAX_ID} characters", f"field {field}")
    return text


def _text(value, field: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise InputError("must be text", f"field {field}")
    return value


def _object(value, field: str) -> dict:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InputError("must be an object", f"field {field}")
    return value


def _time(value, received: datetime) -> str:
    """An ISO 8601 time from unix seconds, ISO text or Chatwoot's "2020-03-03 13:05:57 UTC";
    the time the request came when the helpdesk sends none or none that can be read."""
    if isinstance(value, (int, float)) and not isinstance(value, bool) and 0 < value < 2**40:
        return datetime.fromtimestamp(value, UTC).isoformat()
    if isinstance(value, str):
        text = value.strip().replace(" UTC", "+00:00")
        try:
            when = datetime.fromisoformat(text)
        except ValueError:
            when = None
        if when is not None and when.tzinfo is not None:
            return when.isoformat()
    return received.isoformat()


def _chatwoot_channel(value: str) -> str:
    """"Channel::WebWidget" -> "chat", "Channel::Email" -> "email", "Channel::Whatsapp" ->
    "whatsapp"."""
    name = value.rpartition("::")[2].lower()
    return {"webwidget": "chat", "api": "api", "": "chat"}.get(name, name)


def chatwoot(payload: dict, received: datetime) -> HookEvent:
    """Chatwoot's `message_created` webhook (docs: "Webhook events")."""
    event = _text(payload.get("event"), "event")
    if event != "message_created":
        return HookEvent(f"{event}:{_id(payload.get('id') or '-', 'id')}", "", None)
    message_id = _id(payload.get("id"), "id")
    event_id = f"message_created:{message_id}"
    incoming = payload.get("message_type") in ("incoming", 0)
    if not incoming or payload.get("private") is True:
        return HookEvent(event_id, "", None)
    conversation = _object(payload.get("conversation"), "conversation")
    sender = _object(payload.get("sender"), "sender")
    conversation_id = _id(conversation.get("id"), "conversation.id")
    extra = _object(conversation.get("additional_attributes"), "conversation.additional_attributes")
    record = {
        "conversation_id": conversation_id, "message_id": message_id, "role": "customer",
        "author": _text(sender.get("name"), "sender.name"),
        "channel": _chatwoot_channel(_text(conversation.get("channel"), "conversation.channel")),
        "created_at": _time(payload.get("created_at"), received),
        "body": _text(payload.get("content"), "content"),
        "subject": _text(extra.get("mail_subject"), "conversation.additional_attributes"),
        "status": _text(conversation.get("status"), "conversation.status"),
        "customer_email": _text(sender.get("email"), "sender.email"),
    }
    if sender.get("id") is not None:
        record["customer_id"] = _id(sender["id"], "sender.id")
    return HookEvent(event_id, conversation_id, record)


def zendesk(payload: dict, received: datetime) -> HookEvent:
    """The trigger template of docs/integrations.md: ticket_id, comment, and optionally
    comment_id, subject, status, channel, group, requester_name, requester_email, updated_at.
    Without a comment_id the message id is a digest of ticket, time and text (a retry of the
    same request gives the same id)."""
    ticket = _id(payload.get("ticket_id"), "ticket_id")
    comment = _text(payload.get("comment"), "comment")
    updated = _text(payload.get("updated_at"), "updated_at")
    if payload.get("comment_id") not in (None, ""):
        message_id = _id(payload["comment_id"], "comment_id")
    else:
        digest = hashlib.sha256("\n".join((ticket, updated, comment)).encode()).hexdigest()
        message_id = f"hook-{digest[:24]}"
    record = {
        "conversation_id": ticket, "message_id": message_id, "role": "customer",
        "author": _text(payload.get("requester_name"), "requester_name"),
        "channel": _text(payload.get("channel"), "channel"),
        "created_at": _time(updated, received), "body": comment,
        "subject": _text(payload.get("subject"), "subject"),
        "status": _text(payload.get("status"), "status"),
        "customer_email": _text(payload.get("requester_email"), "requester_email"),
        "team": _text(payload.get("group"), "group"),
    }
    return HookEvent(f"{ticket}:{message_id}", ticket, record)


def generic(payload: dict, received: datetime) -> HookEvent:
    """One record of the import format; its event id is conversation id + message id (the
    importer checks the rest)."""
    conversation_id = _id(payload.get("conversation_id"), "conversation_id")
    message_id = _id(payload.get("message_id"), "message_id")
    return HookEvent(f"{conversation_id}:{message_id}", conversation_id, dict(payload))


PARSERS = {"chatwoot": chatwoot, "zendesk": zendesk}


def parse(source_type: str, payload, received: datetime, id_prefix: str = "") -> HookEvent:
    """The event in a webhook's decoded JSON, read as `source_type`'s helpdesk sends it, its
    conversation id with the source's `id_prefix` (as a sync stores it); InputError (400)
    naming the field that cannot be read."""
    if not isinstance(payload, dict):
        raise InputError("expected a JSON object", "request body")
    event = PARSERS.get(source_type, generic)(payload, received)
    if event.record is None or not id_prefix:
        return event
    conversation_id = id_prefix + event.conversation_id
    return HookEvent(event.event_id, conversation_id,
                     {**event.record, "conversation_id": conversation_id})
