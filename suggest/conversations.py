"""Import of past conversations (CSV or JSONL, one message a row) and their past replies.

Required fields: conversation_id, message_id, role (customer|agent), author, channel,
created_at (ISO 8601 with a timezone), body. Optional: subject, priority, status, csat (1-5),
nps (0-10), ces (1-7), customer_id, customer_email, resolved_at, team (conversation-level;
the last non-empty value wins), saved_reply_id (agent rows sent from a saved reply).
docs/conversations.md has the format with an example. Each imported agent message is recorded
as a send (suggest.sending), matched to the saved reply it came from where one is known.

The file is streamed: rows go straight into the database inside one transaction, so a bad row
anywhere rolls everything back and nothing is half-written. Re-importing a message that is
already there (same conversation and message id, same content) adds nothing. Afterwards each
touched conversation's past replies are rebuilt: an agent reply paired with all customer
messages since the previous agent reply."""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path

import sqlite_utils

import storage.conversations
from replykit.errors import InputError
from replykit.textio import file_format, read_csv, read_jsonl
from storage.db import write_transaction
from suggest import documents, privacy, sending
from suggest.cleaning import clean_body

REQUIRED = ("conversation_id", "message_id", "role", "author", "channel", "created_at", "body")
CONVERSATION_FIELDS = (
    "subject",
    "channel",
    "priority",
    "status",
    "csat",
    "nps",
    "ces",
    "customer_id",
    "customer_email",
    "resolved_at",
    "team",
)
# survey answers (conversation-level): CSAT 1-5, NPS 0-10, CES (customer effort) 1-7
SCORES = {"csat": (1, 5), "nps": (0, 10), "ces": (1, 7)}
ROLES = ("customer", "agent")
MAX_FIELD = 100_000
NOT_TEXT = re.compile("[\x00\ud800-\udfff]")


def parse_timestamp(value, where: str) -> str:
    """ISO 8601 with a timezone -> UTC ISO text ('2026-01-02T03:04:05+00:00')."""
    if not isinstance(value, str) or not value.strip():
        raise InputError("is required: an ISO 8601 time with a timezone", where)
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as exc:
        raise InputError(f"{value!r} is not an ISO 8601 time", where) from exc
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise InputError(f"{value!r} has no timezone (add Z or an offset like +07:00)", where)
    try:
        return moment.astimezone(UTC).isoformat()
    except OverflowError as exc:  # e.g. 0001-01-01T00:00+05:00 is before year 1 in UTC
        raise InputError(f"{value!r} is out of range in UTC", where) from exc


def _text(record: dict, field: str, where: str, required: bool) -> str:
    value = record.get(field)
    if value is None or value == "":
        if required:
            raise InputError("is required", f"{where}field {field}")
        return ""
    if isinstance(value, int | float) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        raise InputError("must be text", f"{where}field {field}")
    if len(value) > MAX_FIELD:
        raise InputError(f"is longer than {MAX_FIELD} characters", f"{where}field {field}")
    if NOT_TEXT.search(value):  # JSON can: PostgreSQL stores no NUL, no database a surrogate
        raise InputError("holds a NUL character or half of a surrogate pair, which is not text",
                         f"{where}field {field}")
    return value


def _score(value: str, low: int, high: int, where: str) -> int:
    """A survey answer: a whole number from `low` to `high` ("9", 9 or 9.0), or InputError."""
    try:
        number = float(value)
    except ValueError:
        number = None
    if number is None or not number.is_integer() or not low <= number <= high:
        raise InputError(f"{value!r} is not a score from {low} to {high}", where)
    return int(number)


def validate_message(record: dict, where: str) -> tuple[dict, dict]:
    """(message row, conversation fields) from one input record, or InputError."""
    message = {f: _text(record, f, where, f not in ("author", "channel", "body")) for f in REQUIRED}
    message["body"] = _text(record, "body", where, False)
    if message["role"] not in ROLES:
        raise InputError(
            f"{message['role']!r} is not a role: use customer or agent", f"{where}field role"
        )
    message["created_at"] = parse_timestamp(record.get("created_at"), f"{where}field created_at")
    saved_reply_id = _text(record, "saved_reply_id", where, False)
    message["saved_reply_id"] = saved_reply_id or None
    conversation = {f: _text(record, f, where, False) for f in CONVERSATION_FIELDS}
    for field, (low, high) in SCORES.items():
        if conversation[field]:
            conversation[field] = _score(conversation[field], low, high, f"{where}field {field}")
    if conversation["resolved_at"]:
        conversation["resolved_at"] = parse_timestamp(
            conversation["resolved_at"], f"{where}field resolved_at"
        )
    return message, {k: v for k, v in conversation.items() if v not in ("", None)}


def _records(path: Path, on_bytes):
    if file_format(path) == "jsonl":
        return read_jsonl(path, on_bytes)
    return read_csv(path, set(REQUIRED), on_bytes)


def _store_message(db, message: dict, conversation: dict, seq: int, where: str) -> bool:
    conv_id = message["conversation_id"]
    existing = storage.conversations.message_content(db, conv_id, message["message_id"])
    if existing:
        if existing != (message["role"], message["created_at"], message["body"]):
            raise InputError(
                f"message {message['message_id']!r} of conversation {conv_id!r} is already "
                "stored with different content",
                f"{where}field message_id",
            )
        if conversation:  # a helpdesk sends known messages again with a new status or CSAT
            storage.conversations.store_conversation(db, conv_id, conversation,
                                                     message["created_at"])
        return False
    updates = dict(conversation)
    if message["role"] == "customer" and message["author"]:
        # the first customer author names the customer; later ones don't overwrite it
        updates["customer_name"] = message["author"]
    storage.conversations.store_conversation(db, conv_id, updates, message["created_at"])
    storage.conversations.insert_message(
        db, {**message, "seq": seq, "clean_body": clean_body(message["body"])})
    return True


def past_replies_of(db: sqlite_utils.Database, conversation_id: str) -> list[dict]:
    """Pair each agent reply with the customer messages since the previous agent reply. The
    pair's question and answer are templated (suggest.privacy): no customer's details."""
    messages = storage.conversations.conversation_clean_messages(db, conversation_id)
    conversation = storage.conversations.conversation_row(db, conversation_id)
    authors = {role: {m["author"] for m in messages if m["role"] == role and m["author"]}
               for role in ROLES}
    known = privacy.known_details(conversation, authors["agent"], authors["customer"])
    subject = html.unescape(conversation["subject"])  # "ana&#64;example.com" is an address
    pending: list[dict] = []
    pasts = []
    for message in messages:
        if message["role"] == "customer":
            if message["clean_body"]:
                pending.append(message)
            continue
        if pending and message["clean_body"]:
            question = privacy.template("\n".join(p["clean_body"] for p in pending), known)
            pasts.append(
                {
                    "id": f"{conversation_id}:{message['message_id']}",
                    "conversation_id": conversation_id,
                    "message_id": message["message_id"],
                    "question": question,
                    "answer": privacy.template(message["clean_body"], known),
                    "title": _title(privacy.template(subject, known), question),
                    "agent": message["author"],
                    "asked_at": pending[0]["created_at"],
                    "answered_at": message["created_at"],
                    "saved_reply_id": message["saved_reply_id"],
                }
            )
        pending = []
    return pasts


def _title(subject: str, question: str) -> str:
    """A past reply's title: the templated subject, else the templated question's first line
    (at most 80 characters, never ending inside a placeholder)."""
    title = " ".join(subject.split()) or question.strip().split("\n")[0][:80]
    opened = title.rfind("{{")
    return title[:opened].rstrip() if opened > title.rfind("}}") else title


def _rebuild_past_replies(db: sqlite_utils.Database, conversation_id: str) -> int:
    wanted = {p["id"]: p for p in past_replies_of(db, conversation_id)}
    existing = {
        row["id"]: row for row in storage.conversations.stored_past_replies(db, conversation_id)
    }
    for past_id, past in wanted.items():
        old = existing.pop(past_id, None)
        if old == {k: past[k] for k in ("id", "question", "answer", "title", "saved_reply_id")}:
            continue
        storage.conversations.write_past_reply(db, past)
        documents.replace(db, ("past",), past_id, [documents.past_document(past)])
    for past_id in existing:
        storage.conversations.delete_past_reply(db, past_id)
        documents.replace(db, ("past",), past_id, [])
    return len(wanted)


def m005_templated_titles(db: sqlite_utils.Database) -> None:
    """Schema 5: past replies get a templated `title` (the raw subject was shown before), and
    every stored past reply is templated again with the current rules, so text stored by an
    older version leaks nothing either. Their search documents follow; the vector indexes
    catch up at the next `SuggestEngine.sync()` (any write command, `replykit index rebuild`)."""
    storage.conversations.m005_past_reply_titles(db)
    for conversation_id in storage.conversations.conversation_ids(db):
        _rebuild_past_replies(db, conversation_id)


def import_conversations(
    db: sqlite_utils.Database, path: Path, progress: Callable[[int], None] | None = None
) -> dict:
    """Import a CSV/JSONL message export, all or nothing. `progress(n_bytes)` is called as the
    file is read. Returns counts: messages, skipped (already there), conversations, past_replies."""
    path = Path(path)
    if not path.is_file():
        raise InputError("no such file", str(path))
    return import_records(
        db, ((f"{path} line {number}, ", record) for number, record in _records(path, progress))
    )


def import_records(
    db: sqlite_utils.Database,
    records: Iterable[tuple[str, dict]],
    on_bad: Callable[[InputError], None] | None = None,
) -> dict:
    """Store `(where, record)` pairs (the import format; `where` prefixes errors, e.g.
    'file.jsonl line 3, ') in one write transaction (a savepoint inside another), then rebuild
    each touched conversation's past replies. A bad record raises InputError and rolls back
    everything, unless `on_bad(error)` is given: then that record is left out and reported
    (a helpdesk sync must not stall on one odd message). Returns counts: messages, skipped
    (already there), rejected (left out by on_bad), conversations, past_replies."""
    touched: set[str] = set()
    added = skipped = rejected = 0
    with write_transaction(db):
        base = storage.conversations.last_message_seq(db)
        for number, (where, record) in enumerate(records, start=1):
            try:
                # both raise before writing anything: a rejected record leaves no trace
                message, conversation = validate_message(record, where)
                stored = _store_message(db, message, conversation, base + number, where)
            except InputError as error:
                if on_bad is None:
                    raise
                on_bad(error)
                rejected += 1
                continue
            if stored:
                added += 1
                touched.add(message["conversation_id"])
            else:
                skipped += 1
        past_count = sum(_rebuild_past_replies(db, c) for c in sorted(touched))
        for conversation_id in sorted(touched):
            sending.match_conversation(db, conversation_id)
    counts = {
        "messages": added,
        "skipped": skipped,
        "conversations": len(touched),
        "past_replies": past_count,
    }
    return {**counts, "rejected": rejected} if on_bad is not None else counts
