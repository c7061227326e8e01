"""Opening replykit's SQLite database: WAL mode, foreign keys, a busy timeout, and the
schema brought up to date by `replykit.schema.migrate` on every open."""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import sqlite_utils

BUSY_TIMEOUT = 30.0


def connect(
    path: str | Path, migrate: bool = True, busy_timeout: float = BUSY_TIMEOUT
) -> sqlite_utils.Database:
    """Open (creating if needed) the database at `path`, migrated to the current schema.
    A write waits up to `busy_timeout` seconds for another writer."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(str(path), timeout=busy_timeout, check_same_thread=False)
    db = sqlite_utils.Database(conn)
    db.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
    db.execute("PRAGMA foreign_keys = ON")
    db.enable_wal()
    db.execute("PRAGMA synchronous = NORMAL")
    if migrate:
        from replykit.schema import migrate as run_migrations

        run_migrations(db)
    return db


def busy_message(exc: BaseException) -> str | None:
    """What to tell a user when `exc` is SQLite giving up on a lock held by another writer
    past the busy timeout (None for any other error)."""
    if isinstance(exc, sqlite3.OperationalError) and (
        "locked" in str(exc) or "busy" in str(exc)
    ):
        return (
            "the database stayed busy (another import or rebuild is writing); nothing was "
            "saved, try again in a minute"
        )
    return None


@contextlib.contextmanager
def write_transaction(db: sqlite_utils.Database) -> Iterator[sqlite_utils.Database]:
    """One all-or-nothing write. Takes the write lock up front (BEGIN IMMEDIATE) so two
    writers queue on the busy timeout instead of failing with 'database is locked';
    nested calls become savepoints."""
    if db.conn.in_transaction:
        with db.atomic():
            yield db
        return
    db.conn.execute("BEGIN IMMEDIATE")
    try:
        yield db
    except BaseException:
        db.rollback()
        raise
    else:
        try:
            db.conn.execute("COMMIT")
        except BaseException:
            db.rollback()
            raise
