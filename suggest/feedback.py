"""Feedback on suggestions (shown, inserted, edited, dismissed) and the usage figures of each
saved reply derived from it: usage count, last used, acceptance rate."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlite_utils

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
    table = "saved_replies" if kind == "saved" else "past_replies"
    with write_transaction(db):
        if not db.execute(f"SELECT 1 FROM {table} WHERE id = ?", [suggestion_id]).fetchone():
            raise NotFound(f"no {kind} reply with id {suggestion_id!r}")
        if conversation_id is not None and not db.execute(
                "SELECT 1 FROM conversations WHERE id = ?", [conversation_id]).fetchone():
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
        row["id"] = db["suggestion_feedback"].insert(row).last_pk
    return row


def usage(db: sqlite_utils.Database, reply_id: str | None = None) -> list[dict]:
    """Per saved reply: shown, used (inserted), dismissed, last_used, acceptance_rate
    (inserted / shown; None when never shown)."""
    sql = """
        SELECT r.id AS reply_id,
               COUNT(CASE WHEN f.event = 'shown' THEN 1 END) AS shown,
               COUNT(CASE WHEN f.event = 'inserted' THEN 1 END) AS used,
               COUNT(CASE WHEN f.event = 'edited' THEN 1 END) AS edited,
               COUNT(CASE WHEN f.event = 'dismissed' THEN 1 END) AS dismissed,
               MAX(CASE WHEN f.event = 'inserted' THEN f.created_at END) AS last_used
        FROM saved_replies r
        LEFT JOIN suggestion_feedback f
          ON f.suggestion_kind = 'saved' AND f.suggestion_id = r.id
        {where}
        GROUP BY r.id ORDER BY r.id"""
    params = [reply_id] if reply_id else []
    rows = list(db.query(sql.format(where="WHERE r.id = ?" if reply_id else ""), params))
    for row in rows:
        row["acceptance_rate"] = round(row["used"] / row["shown"], 4) if row["shown"] else None
    return rows
