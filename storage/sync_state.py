"""Where each helpdesk sync stands: one row per configured source (`[sync.NAME]` in
config.toml) with the cursor of the last batch stored and running counts. A batch's messages
and its cursor are written in one transaction (connectors/sync.py), so the cursor never runs
ahead of what is stored nor behind it."""

from __future__ import annotations


def m008_sync_state(db) -> None:
    db.execute(
        """CREATE TABLE sync_state (
            source TEXT PRIMARY KEY,
            cursor TEXT,
            updated_at TEXT NOT NULL,
            batches INTEGER NOT NULL DEFAULT 0,
            messages INTEGER NOT NULL DEFAULT 0,
            skipped INTEGER NOT NULL DEFAULT 0,
            rejected INTEGER NOT NULL DEFAULT 0
        )"""
    )


# ---- queries


def sync_cursor(db, source: str) -> str | None:
    """The cursor stored for `source`, or None before its first batch."""
    row = db.execute("SELECT cursor FROM sync_state WHERE source = ?", [source]).fetchone()
    return row[0] if row else None


def save_batch(db, source: str, cursor: str, updated_at: str, messages: int, skipped: int,
               rejected: int) -> None:
    """Record that a batch of `source` is stored: its cursor, and its counts added to the
    running totals (call inside the transaction that stored the batch)."""
    db.execute(
        "INSERT INTO sync_state (source, cursor, updated_at, batches, messages, skipped, rejected)"
        " VALUES (?, ?, ?, 1, ?, ?, ?) ON CONFLICT (source) DO UPDATE SET"
        " cursor = excluded.cursor, updated_at = excluded.updated_at,"
        " batches = sync_state.batches + 1, messages = sync_state.messages + excluded.messages,"
        " skipped = sync_state.skipped + excluded.skipped,"
        " rejected = sync_state.rejected + excluded.rejected",
        [source, cursor, updated_at, messages, skipped, rejected],
    )


def sync_states(db) -> list[dict]:
    """Every source's row (source, cursor, updated_at, batches, messages, skipped, rejected),
    by name."""
    return list(db.query(
        "SELECT source, cursor, updated_at, batches, messages, skipped, rejected"
        " FROM sync_state ORDER BY source"
    ))
