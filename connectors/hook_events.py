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

from connectors.chatwoot import CHANNELS
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
    """An ISO 8601 time, to the second (as the helpdesks' APIs give it to a sync: the same
    message must have the same time both ways), from unix seconds, ISO text or Chatwoot's
    "2020-03-03 13:05:57 UTC"; the time the request came when none can be read."""
    when = None
    if isinstance(value, (int, float)) and not isinstance(value, bool) and 0 < value < 2**40:
        when = datetime.fromtimestamp(int(value), UTC)
    elif isinstance(value, str):
        try:
            when = datetime.fromisoformat(value.strip().replace(" UTC", "+00:00"))
        except ValueError:
            when = None
    if when is None or when.tzinfo is None:
        when = received
    return when.replace(microsecond=0).isoformat()


def chatwoot(payload: dict, received: datetime) -> HookEvent:
    """Chatwoot's `message_created` webhook (docs: "Webhook events"), read as the Chatwoot
    source reads the same message from the API (connectors/chatwoot.py: channel names, team
    and customer from the conversation's `meta`), so the two give the same record."""
    event = _text(payload.get("event"), "event")
    if event != "message_created":
        return HookEvent(f"{event}:{_id(payload.get('id') or '-', 'id')}", "", None)
    message_id = _id(payload.get("id"), "id")
    event_id = f"message_created:{message_id}"
    incoming = payload.get("message_type") in ("incoming", 0)
    if not incoming or payload.get("private") is True:
        return HookEvent(event_id, "", None)
    conversation = _object(payload.get("conversation"), "conversation")
    meta = _object(conversation.get("meta"), "conversation.meta")
    contact = _object(meta.get("sender"), "conversation.meta.sender") or _object(
        payload.get("sender"), "sender")
    conversation_id = _id(conversation.get("id"), "conversation.id")
    extra = _object(conversation.get("additional_attributes"), "conversation.additional_attributes")
    channel = _text(conversation.get("channel") or meta.get("channel"), "conversation.channel")
    record = {
        "conversation_id": conversation_id, "message_id": message_id, "role": "customer",
        "author": _text(contact.get("name"), "sender.name"),
        "channel": CHANNELS.get(channel, channel.removeprefix("Channel::").lower()),
        "created_at": _time(payload.get("created_at"), received),
        "body": _text(payload.get("content"), "content"),
        "subject": _text(extra.get("mail_subject"), "conversation.additional_attributes"),
        "status": _text(conversation.get("status"), "conversation.status"),
        "team": _text(_object(meta.get("team"), "conversation.meta.team").get("name"),
                      "conversation.meta.team.name"),
        "customer_email": _text(contact.get("email"), "sender.email"),
    }
    if contact.get("id") is not None:
        record["customer_id"] = _id(contact["id"], "sender.id")
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
