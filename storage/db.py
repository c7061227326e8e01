"""Opening replykit's database, SQLite (WAL mode, foreign keys, a busy timeout) or PostgreSQL
(`storage.postgres`), chosen by its URL, with the schema brought up to date by
`storage.migrations.migrate` on every open; one write transaction for both."""

from __future__ import annotations

import contextlib
import os
import re
import sqlite3
import stat
import sys
from collections.abc import Iterator
from pathlib import Path

import psycopg
import sqlite_utils

from storage.postgres import PostgresDatabase

BUSY_TIMEOUT = 30.0
PRIVATE = 0o077  # permission bits for group and others: never set on the home or database
# The key of the transaction-level advisory lock every PostgreSQL write transaction takes first:
# writers queue on it as SQLite's BEGIN IMMEDIATE makes them queue on the database file.
WRITE_LOCK_KEY = 0x7265706C796B6974  # "replykit"
# What code catches for "the database said no" on either backend (busy_message tells which).
OPERATIONAL_ERRORS = (sqlite3.OperationalError, psycopg.OperationalError)


class DatabaseURLError(ValueError):
    """A database URL of a kind replykit cannot open."""


def is_postgres(db) -> bool:
    """bool: whether `db` is a PostgreSQL database (else SQLite), for the storage functions'
    few dialect branches."""
    return isinstance(db, PostgresDatabase)


def redact_url(url: str) -> str:
    """`url` with its password replaced by '***', for messages and status pages."""
    url = re.sub(r"^([a-z]+://[^:/@?]*:)[^@/?]*@", r"\1***@", str(url))
    return re.sub(r"([?&]password=)[^&]*", r"\1***", url)


def sqlite_path(url: str | Path) -> Path | None:
    """The file of a `sqlite:///path` URL or plain path; None for a PostgreSQL URL
    (DatabaseURLError for any other URL)."""
    text = str(url)
    if text.startswith(("postgresql://", "postgres://")):
        return None
    if text.startswith("sqlite:///"):
        return Path(text[len("sqlite:///"):])
    if re.match(r"^[a-z][a-z0-9+.-]*://", text):
        raise DatabaseURLError(f"{redact_url(text)}: not a database URL replykit can open "
                               "(sqlite:///path or postgresql://...)")
    return Path(text)


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
    url: str | Path, migrate: bool = True, busy_timeout: float = BUSY_TIMEOUT
) -> sqlite_utils.Database | PostgresDatabase:
    """Open the database at `url` (a `postgresql://` URL, a `sqlite:///path` URL or a file
    path; a SQLite file is created mode 0600 if missing), migrated to the current schema. A
    write waits up to `busy_timeout` seconds for another writer."""
    path = sqlite_path(url)
    if path is None:
        db = PostgresDatabase(str(url), lock_timeout=busy_timeout)
        if migrate:
            from storage.migrations import migrate as run_migrations

            try:
                run_migrations(db)
            except BaseException:
                db.close()
                raise
        return db
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
    past the busy timeout, or PostgreSQL's lock timeout or a serialization failure (None for
    any other error)."""
    postgres_busy = isinstance(exc, psycopg.errors.LockNotAvailable
                               | psycopg.errors.SerializationFailure
                               | psycopg.errors.DeadlockDetected)
    sqlite_busy = isinstance(exc, sqlite3.OperationalError) and (
        "locked" in str(exc) or "busy" in str(exc))
    if postgres_busy or sqlite_busy:
        return (
            "the database stayed busy (another import or rebuild is writing); nothing was "
            "saved, try again in a minute"
        )
    return None


@contextlib.contextmanager
def write_transaction(db: sqlite_utils.Database) -> Iterator[sqlite_utils.Database]:
    """One all-or-nothing write. Takes the write lock up front (BEGIN IMMEDIATE) so two
    writers queue on the busy timeout instead of failing with 'database is locked';
    nested calls become savepoints. On PostgreSQL: BEGIN, then the advisory lock
    WRITE_LOCK_KEY, so writers queue exactly as on SQLite (lock_timeout = the busy timeout)."""
    if db.conn.in_transaction:
        with db.atomic():
            yield db
        return
    if is_postgres(db):
        with db.atomic():
            db.execute("SELECT pg_advisory_xact_lock(?)", [WRITE_LOCK_KEY])
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
    """str: SQLite's integrity_check verdict, 'ok' for an intact file. PostgreSQL checks its
    own pages (checksums, WAL): there it is 'ok' when the schema answers a query."""
    if is_postgres(db):
        db.execute("SELECT COUNT(*) FROM schema_version").fetchone()
        return "ok"
    return db.execute("PRAGMA integrity_check").fetchone()[0]
