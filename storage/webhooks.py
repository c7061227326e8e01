"""Webhook events received from helpdesks (`POST /hooks/<source>`): one row per event id and
source, written in the transaction that stores the event's message, so an event delivered
twice (a helpdesk's retry, a replayed request) is processed once; and what was posted back to
the ticket for it (the top suggestion as a private note)."""

from __future__ import annotations


def m250_webhook_events(db) -> None:
    """`outcome`: 'stored' (its message is in `messages`) or 'ignored' (an event that carries
    no customer message, e.g. an agent's reply); `note_id`/`note_reply_id`/`noted_at`: the
    private note posted back (the helpdesk's id, the saved reply it came from), if any."""
    db.execute(
        """CREATE TABLE webhook_events (
            source TEXT NOT NULL,
            event_id TEXT NOT NULL,
            received_at TEXT NOT NULL,
            conversation_id TEXT NOT NULL DEFAULT '',
            outcome TEXT NOT NULL,
            note_id TEXT,
            note_reply_id TEXT,
            noted_at TEXT,
            PRIMARY KEY (source, event_id)
        )"""
    )


# ---- queries


def claim_event(db, source: str, event_id: str, received_at: str, conversation_id: str,
                outcome: str) -> bool:
    """Record the event; False (and nothing written) when it was recorded before. Call it in
    the write transaction that stores the event's message."""
    row = db.execute(
        "INSERT INTO webhook_events (source, event_id, received_at, conversation_id, outcome)"
        " VALUES (?, ?, ?, ?, ?) ON CONFLICT (source, event_id) DO NOTHING RETURNING event_id",
        [source, event_id, received_at, conversation_id, outcome],
    ).fetchone()
    return row is not None


def event(db, source: str, event_id: str) -> dict | None:
    """The event's row ({"source", "event_id", "received_at", "conversation_id", "outcome",
    "note_id", "note_reply_id", "noted_at"}), or None."""
    rows = list(db.query("SELECT * FROM webhook_events WHERE source = ? AND event_id = ?",
                         [source, event_id]))
    return rows[0] if rows else None


def record_note(db, source: str, event_id: str, note_id: str, reply_id: str,
                noted_at: str) -> None:
    """Remember the private note posted back for the event."""
    db.execute(
        "UPDATE webhook_events SET note_id = ?, note_reply_id = ?, noted_at = ?"
        " WHERE source = ? AND event_id = ?",
        [note_id, reply_id, noted_at, source, event_id],
    )
