"""Feedback on suggestions (shown, inserted, edited, dismissed) and the usage figures of each
saved reply derived from it: usage count, last used, acceptance rate."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlite_utils

import storage.conversations
import storage.library
import storage.search
from replykit.errors import InputError, NotFound
from storage.db import write_transaction

EVENTS = ("shown", "inserted", "edited", "dismissed")
KINDS = ("saved", "past")


def record(
    db: sqlite_utils.Database,
    suggestion_id: str,
    event: str,
    kind: str = "saved",
    query: str = "",
    user: str = "",
    edit_ratio: float | None = None,
    conversation_id: str | None = None,
) -> dict:
    """Store one feedback event. `edit_ratio` (0-1) says how much an inserted text was edited;
    `conversation_id` is the conversation the query came from (so forgetting its customer
    erases the query)."""
    if event not in EVENTS:
        raise InputError(f"must be one of {', '.join(EVENTS)}", "field event")
    if kind not in KINDS:
        raise InputError(f"must be one of {', '.join(KINDS)}", "field kind")
    if edit_ratio is not None and not (
        isinstance(edit_ratio, int | float) and not isinstance(edit_ratio, bool)
        and 0 <= edit_ratio <= 1
    ):
        raise InputError("must be a number from 0 to 1", "field edit_ratio")
    with write_transaction(db):
        if kind == "saved":
            exists = storage.library.reply_version(db, suggestion_id) is not None
        else:
            exists = bool(storage.conversations.past_replies_with_team(db, [suggestion_id]))
        if not exists:
            raise NotFound(f"no {kind} reply with id {suggestion_id!r}")
        if conversation_id is not None and storage.conversations.conversation_row(
                db, conversation_id) is None:
            raise NotFound(f"no conversation {conversation_id!r}")
        row = {
            "suggestion_kind": kind,
            "suggestion_id": suggestion_id,
            "event": event,
            "query": (query or "")[:2000],
            "user": user or "",
            "edit_ratio": edit_ratio,
            "conversation_id": conversation_id,
            "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        row["id"] = storage.search.insert_feedback(db, row)
    return row


def usage(db: sqlite_utils.Database, reply_id: str | None = None) -> list[dict]:
    """The usage figures of each saved reply (or of `reply_id`), by id: the one definition
    that the CLI, the library pages, curation and the reports share.

    Each row: reply_id; shown, inserted, edited, dismissed (feedback events); sent (messages
    of imported conversations sent from it); used = inserted + sent; last_used, the latest
    insert or send (None: never used); acceptance_rate = inserted / shown, to 4 places
    (None when never shown)."""
    rows = storage.search.reply_usage(db, reply_id or None)
    for row in rows:
        row["used"] = row["inserted"] + row["sent"]
        times = [row.pop("last_inserted"), row.pop("last_sent")]
        row["last_used"] = max((t for t in times if t), default=None)
        row["acceptance_rate"] = (
            round(row["inserted"] / row["shown"], 4) if row["shown"] else None)
    return rows
