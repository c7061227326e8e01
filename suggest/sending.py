"""What agents really sent: one `sent_replies` row per reply posted to the customer, with the
saved reply it came from and how much the inserted text was edited (docs/metrics.md).

Two sources: the embed panel's Insert/send calls `record_sent`; imported or synced agent
messages go through `match_conversation` (the importer calls it for each conversation it
touched). An agent message is matched to the saved reply

- it names (`saved_reply_id` in the import), else
- of the latest `inserted` feedback event for its conversation made after the previous agent
  message and at or before it (each event matched once), else
- of the send the panel recorded without a helpdesk message id whose text it is (claimed).

Edit ratio = 1 − difflib similarity of the normalised sent text to the normalised inserted
text (`suggest.drafts.edit_ratio`); the inserted text of an imported message is the saved
reply's current body with the placeholders the conversation fills (else their fallback, else
nothing)."""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_right
from datetime import UTC, datetime

import sqlite_utils

import storage.conversations
import storage.search
from replykit.errors import InputError, NotFound
from storage import library as library_store
from storage.db import write_transaction
from suggest import conversation_context, placeholders
from suggest.cleaning import clean_body
from suggest.drafts import MAX_TEXT, edit_ratio

SOURCES = ("embed", "import")
CLAIM_RATIO = 0.1  # a synced message claims a panel send edited at most this much from it
# Arabic letters a Persian keyboard or helpdesk may write instead of the Persian ones
PERSIAN_LETTERS = str.maketrans({"\u064a": "\u06cc", "\u0643": "\u06a9", "\u0649": "\u06cc"})
INVISIBLE = re.compile("[\u200b\u200c\u200d\u2060\ufeff]")


def normalise(text: str) -> str:
    """Text as compared for the edit ratio: Unicode NFKC, case folded, Arabic yeh/kaf as
    Persian, zero-width characters removed, runs of white space as one space, trimmed. Thai
    has no spaces between words and keeps its characters as they are."""
    text = unicodedata.normalize("NFKC", text).casefold().translate(PERSIAN_LETTERS)
    return " ".join(INVISIBLE.sub("", text).split())


def sent_edit_ratio(inserted: str, sent: str) -> float:
    """1 − similarity of the normalised `sent` text to the normalised `inserted` text:
    0 = sent as inserted, 1 = nothing of it kept (both empty: 0)."""
    inserted, sent = normalise(inserted), normalise(sent)
    if inserted == sent:  # the common case, sent as inserted: no diff needed
        return 0.0
    return edit_ratio(inserted, sent)


def _text(value, field: str, required: bool = False) -> str | None:
    if value is None or (value == "" and not required):
        return None
    if not isinstance(value, str) or (required and not value.strip()):
        raise InputError("must be text" + (", not empty" if required else ""), f"field {field}")
    if len(value) > MAX_TEXT:
        raise InputError(f"is longer than {MAX_TEXT} characters", f"field {field}")
    return value


def _instant(value: str | None) -> str:
    if value is None:
        return datetime.now(UTC).isoformat(timespec="seconds")
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except (AttributeError, ValueError) as exc:
        raise InputError(f"{value!r} is not an ISO 8601 time", "field sent_at") from exc
    if moment.tzinfo is None:
        raise InputError(f"{value!r} has no timezone", "field sent_at")
    return moment.astimezone(UTC).isoformat()


def record_sent(
    db: sqlite_utils.Database, conversation_id: str, text: str, *, agent: str = "",
    message_id: str | None = None, saved_reply_id: str | None = None,
    inserted_text: str | None = None, sent_at: str | None = None, source: str = "embed",
) -> dict:
    """Store one reply an agent sent in a conversation and return the stored row (dict with
    id, conversation_id, message_id, agent, sent_at, text, saved_reply_id, inserted_text,
    edit_ratio, source, feedback_id). `inserted_text`: the suggestion as inserted, its
    placeholders filled (None: typed without one; edit_ratio is then None). Idempotent on
    (conversation_id, message_id) when the helpdesk's message id is known: a second call
    returns the stored row. InputError for bad fields, NotFound for an unknown conversation
    or saved reply."""
    conversation_id = _text(conversation_id, "conversation_id", required=True)
    text = _text(text, "text", required=True)
    if isinstance(message_id, int) and not isinstance(message_id, bool):
        message_id = str(message_id)  # helpdesk APIs number their messages; imports store text
    message_id = _text(message_id, "message_id")
    saved_reply_id = _text(saved_reply_id, "saved_reply_id")
    inserted_text = _text(inserted_text, "inserted_text")
    agent = _text(agent, "agent") or ""
    if source not in SOURCES:
        raise InputError(f"must be one of {', '.join(SOURCES)}", "field source")
    row = {"conversation_id": conversation_id, "message_id": message_id, "agent": agent,
           "sent_at": _instant(sent_at), "text": text, "saved_reply_id": saved_reply_id,
           "inserted_text": inserted_text, "source": source,
           # compared before the write lock is taken: other writers never wait for the diff
           "edit_ratio": None if inserted_text is None else sent_edit_ratio(inserted_text, text)}
    with write_transaction(db):
        if storage.conversations.conversation_team(db, conversation_id) is None:
            raise NotFound(f"no conversation {conversation_id!r}")
        if saved_reply_id is not None and library_store.reply_version(
                db, saved_reply_id) is None:
            raise NotFound(f"no saved reply with id {saved_reply_id!r}")
        if message_id is not None:
            for stored in storage.conversations.sent_replies_of(db, conversation_id):
                if stored["message_id"] == message_id:
                    return stored
        sent_id = storage.conversations.insert_sent_reply(db, row)
    return storage.conversations.sent_reply(db, sent_id)


def _may_claim(recorded: str, synced: str) -> bool:
    """Whether a synced message is the panel send `recorded`: edited at most CLAIM_RATIO from
    it. Lengths alone rule most pairs out (the ratio is at least 1 − 2·shorter / both
    lengths), so a conversation with many unsynced sends costs no diff per pair."""
    shorter, both = min(len(recorded), len(synced)), len(recorded) + len(synced)
    if both and 1 - 2 * shorter / both > CLAIM_RATIO + 0.05:  # + normalisation's slack
        return False
    return sent_edit_ratio(recorded, synced) <= CLAIM_RATIO


def _inserted_text(db, reply_id: str, conversation: dict, messages: list[dict],
                   agent: str) -> str | None:
    """The saved reply's current body as the panel would have inserted it: the placeholders
    that the conversation so far (`messages`, suggest.conversation_context) or the agent fill,
    the others as their fallback or left out, cleaned as imported messages are. None when
    there is no such saved reply."""
    reply = library_store.reply_row(db, reply_id)
    if reply is None:
        return None
    values = {**conversation_context.values(conversation, messages), "agent": {"name": agent}}
    # cleaned as the message was (quotes, signature, HTML), so a reply sent as inserted is 0
    return clean_body(placeholders.index_text(placeholders.render(reply["body"], values).text))


def match_conversation(db: sqlite_utils.Database, conversation_id: str) -> int:
    """Record a send for each of the conversation's agent messages not yet recorded, with its
    saved reply and edit ratio where one is found (module docstring). Run inside the
    importer's write transaction. Returns how many sends were added or claimed."""
    conversation = storage.conversations.conversation_row(db, conversation_id)
    messages = storage.conversations.conversation_messages(db, conversation_id)  # time order
    message_times = [datetime.fromisoformat(m["created_at"]) for m in messages]
    recorded = storage.conversations.sent_replies_of(db, conversation_id)
    known = {r["message_id"] for r in recorded if r["message_id"] is not None}
    unclaimed = [r for r in recorded if r["message_id"] is None]
    used_events = {r["feedback_id"] for r in recorded if r["feedback_id"] is not None}
    events = [e for e in storage.search.inserted_events_of(db, conversation_id)
              if e["id"] not in used_events]
    event_times = [datetime.fromisoformat(e["created_at"]) for e in events]
    passed = 0  # events up to the previous agent message: each message looks at its own window
    changed = 0
    for message in storage.conversations.agent_messages_of(db, conversation_id):
        at, text = message["created_at"], message["clean_body"]
        moment = datetime.fromisoformat(at)
        first = passed
        while passed < len(events) and event_times[passed] <= moment:
            passed += 1
        window = events[first:passed]  # made after the previous agent message, not after this
        if message["message_id"] in known or not text:
            continue
        claim = next((r for r in unclaimed if _may_claim(r["text"], text)), None)
        if claim is not None:
            unclaimed.remove(claim)
            storage.conversations.claim_sent_reply(db, claim["id"], message["message_id"], at)
            changed += 1
            continue
        reply_id, event = message["saved_reply_id"] or None, None
        if reply_id is None and window:
            event = window[-1]
            reply_id = event["reply_id"]
        earlier = messages[:bisect_right(message_times, moment)]
        inserted = (None if reply_id is None else
                    _inserted_text(db, reply_id, conversation, earlier, message["author"]))
        storage.conversations.insert_sent_reply(db, {
            "conversation_id": conversation_id, "message_id": message["message_id"],
            "agent": message["author"], "sent_at": at, "text": text,
            "saved_reply_id": reply_id, "inserted_text": inserted, "source": "import",
            "edit_ratio": None if inserted is None else sent_edit_ratio(inserted, text),
            "feedback_id": None if event is None else event["id"]})
        changed += 1
    return changed
