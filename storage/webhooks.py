"""Webhook events received from helpdesks (`POST /hooks/<source>`): one row per event id and
source, written in the transaction that stores the event's message, so an event delivered
twice (a helpdesk's retry, a replayed request) is processed once; what was posted back to
the ticket for it (the top suggestion as a private note); and which `[sync.NAME]` source each
conversation came from (by webhook or sync), so that a saved reply's actions go back through
that source's connector."""

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


def m251_conversation_sources(db) -> None:
    """The source a conversation last came from (a conversation id is the helpdesk's id with
    the source's `id_prefix`, so one id belongs to one source)."""
    db.execute(
        """CREATE TABLE conversation_sources (
            conversation_id TEXT PRIMARY KEY,
            source TEXT NOT NULL,
            updated_at TEXT NOT NULL
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


def note_sources(db, source: str, conversation_ids, updated_at: str) -> None:
    """Record that these conversations came from `source` (call in the transaction that
    stored their messages)."""
    db.conn.executemany(
        "INSERT INTO conversation_sources (conversation_id, source, updated_at) VALUES (?, ?, ?)"
        " ON CONFLICT (conversation_id) DO UPDATE SET source = excluded.source,"
        " updated_at = excluded.updated_at",
        [[c, source, updated_at] for c in sorted(set(conversation_ids))],
    )


def conversation_source(db, conversation_id: str) -> str | None:
    """The `[sync.NAME]` the conversation came from, or None (imported from a file)."""
    row = db.execute("SELECT source FROM conversation_sources WHERE conversation_id = ?",
                     [conversation_id]).fetchone()
    return row[0] if row else None
