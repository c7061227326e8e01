"""Opening replykit's SQLite database: WAL mode, foreign keys, a busy timeout, and the
schema brought up to date by `storage.migrations.migrate` on every open."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import stat
import sys
from collections.abc import Iterator
from pathlib import Path

import sqlite_utils

BUSY_TIMEOUT = 30.0
PRIVATE = 0o077  # permission bits for group and others: never set on the home or database


def make_private(path: Path) -> None:
    """Clear group and other permissions of `path` if it has any, saying so on stderr (a
    home made before this check, or by hand, may be readable by every local user)."""
    current = stat.S_IMODE(path.stat().st_mode)
    if not current & PRIVATE:
        return
    try:
        os.chmod(path, current & ~PRIVATE)
    except OSError as exc:  # not its owner: say so, and go on as before
        print(f"replykit: {path} is mode {current:04o}, readable by other users, and could "
              f"not be made private ({exc.strerror})", file=sys.stderr)
        return
    print(f"replykit: {path} was mode {current:04o}, readable by other users; now "
          f"{current & ~PRIVATE:04o} (it holds customer data)", file=sys.stderr)


def _open_private(path: Path) -> None:
    """Create the database file 0600 if it is missing (SQLite then gives its -wal and -shm
    files the same mode) and tighten an existing one and its -wal/-shm."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    # Never open and close an existing database file: closing any descriptor of a file drops
    # every POSIX lock this process holds on it, including other connections' (lost commits).
    if not path.exists():
        with contextlib.suppress(FileExistsError):
            os.close(os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600))
    for name in (path.name, path.name + "-wal", path.name + "-shm"):
        if (path.parent / name).exists():
            make_private(path.parent / name)


def connect(
    path: str | Path, migrate: bool = True, busy_timeout: float = BUSY_TIMEOUT
) -> sqlite_utils.Database:
    """Open (creating if needed, mode 0600) the database at `path`, migrated to the current
    schema. A write waits up to `busy_timeout` seconds for another writer."""
    path = Path(path)
    _open_private(path)
    conn = sqlite3.connect(str(path), timeout=busy_timeout, check_same_thread=False)
    db = sqlite_utils.Database(conn)
    db.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
    db.execute("PRAGMA foreign_keys = ON")
    db.enable_wal()
    db.execute("PRAGMA synchronous = NORMAL")
    if migrate:
        from storage.migrations import migrate as run_migrations

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


def integrity_check(db: sqlite_utils.Database) -> str:
    """str: SQLite's integrity_check verdict, 'ok' for an intact file."""
    return db.execute("PRAGMA integrity_check").fetchone()[0]
