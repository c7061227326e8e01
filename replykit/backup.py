"""Backups of the database with SQLite's online backup API: consistent while the server and
other commands keep writing, and restored the same way (page by page into the live file,
under SQLite's locks), so no process ever sees a half-copied database.

Attachments (content-addressed, never overwritten) are copied beside the backup file; vector
indexes are not backed up: they are rebuilt from the restored database.

On PostgreSQL the tools are PostgreSQL's own: `backup` runs `pg_dump --format=custom` (one
snapshot: consistent while servers write; attachments stored in the database are inside it)
and `restore` runs `pg_restore --clean --single-transaction` (all or nothing), both found on
PATH and of at least the server's major version; the password goes through PGPASSWORD, never
the command line. The archive's extensions are left out of the restore (they already exist in
every replykit database; dropping them would change type ids under running servers)."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import tempfile
from pathlib import Path

import sqlite_utils
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from replykit.errors import InputError, ReplykitError
from storage.db import integrity_check, is_postgres
from storage.migrations import recorded_migrations


def _attachments_copy(backup: Path) -> Path:
    return backup.with_name(backup.name + ".attachments")


PG_MAGIC = b"PGDMP"  # the first bytes of a pg_dump custom-format archive


class PostgresToolMissing(ReplykitError):
    """pg_dump or pg_restore is not on PATH."""


def _pg_tool(name: str, url: str, *args: str) -> subprocess.CompletedProcess:
    """Run PostgreSQL's `name` against the database of `url` (password in the environment);
    InputError with its first error line if it fails."""
    found = shutil.which(name)
    if found is None:
        raise PostgresToolMissing(
            f"{name} is not on PATH: install PostgreSQL's client tools (the server's major "
            f"version or newer), or run {name} yourself (docs/deploy.md, Backups)")
    params = conninfo_to_dict(url)
    env = dict(os.environ)
    if "password" in params:
        env["PGPASSWORD"] = params.pop("password")
    done = subprocess.run([found, *args, "--dbname", make_conninfo(**params)], env=env,
                          capture_output=True, text=True)
    if done.returncode != 0:
        lines = [line for line in done.stderr.splitlines() if line.strip()]
        raise InputError(lines[0] if lines else f"exit status {done.returncode}", name)
    return done


def _write_atomically(target: Path, write) -> None:
    """Call write(temporary path) beside `target`, then rename it to `target`."""
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=target.name + ".", suffix=".tmp")
    os.close(fd)
    try:
        write(tmp)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _sqlite_copy(db: sqlite_utils.Database, tmp: str) -> None:
    copy = sqlite3.connect(tmp)
    try:
        db.conn.backup(copy)
    finally:
        copy.close()


def backup(db: sqlite_utils.Database, target: Path, attachments_dir: Path | None) -> dict:
    """Write a consistent copy of the database to `target` (atomically: SQLite's backup API,
    or a pg_dump archive) and the attachments folder, if any, to `target.attachments/`.
    Returns counts."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    if is_postgres(db):
        _write_atomically(target, lambda tmp: _pg_tool(
            "pg_dump", db.url, "--format=custom", "--no-owner", "--file", tmp))
    else:
        _write_atomically(target, lambda tmp: _sqlite_copy(db, tmp))
    files = 0
    if attachments_dir is not None and Path(attachments_dir).is_dir():
        destination = _attachments_copy(target)
        destination.mkdir(parents=True, exist_ok=True, mode=0o700)
        for item in Path(attachments_dir).iterdir():
            if item.is_file() and not (destination / item.name).exists():
                shutil.copy2(item, destination / item.name)
                files += 1
    return {"file": str(target), "bytes": target.stat().st_size, "attachments_copied": files}


def is_postgres_archive(source: Path) -> bool:
    """Whether `source` is a pg_dump custom-format archive (else it should be SQLite)."""
    with open(source, "rb") as f:
        return f.read(len(PG_MAGIC)) == PG_MAGIC


def check_backup(source: Path) -> None:
    """InputError unless `source` is an intact replykit database, or a pg_dump archive that
    pg_restore can read."""
    source = Path(source)
    if not source.is_file():
        raise InputError("no such file", str(source))
    if is_postgres_archive(source):
        if shutil.which("pg_restore") is None:
            raise PostgresToolMissing("pg_restore is not on PATH: it is needed to read "
                                      f"{source}, a PostgreSQL archive (docs/deploy.md)")
        done = subprocess.run(["pg_restore", "--list", str(source)], capture_output=True)
        if done.returncode != 0:
            raise InputError("not a readable pg_dump archive", str(source))
        return
    try:
        conn = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
        try:
            copy = sqlite_utils.Database(conn)
            integrity, versions = integrity_check(copy), recorded_migrations(copy)
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        raise InputError(f"not a replykit backup ({exc})", str(source)) from exc
    if integrity != "ok" or not versions:
        raise InputError(f"not an intact replykit backup (integrity: {integrity})", str(source))


def _pg_restore(db, source: Path) -> None:
    """Replace the PostgreSQL database's tables with the archive's in one transaction, leaving
    out the archive's extensions (they exist already)."""
    listing = subprocess.run(["pg_restore", "--list", str(source)], capture_output=True,
                             text=True, check=True).stdout
    kept = [line for line in listing.splitlines() if " EXTENSION " not in line]
    with tempfile.NamedTemporaryFile("w", suffix=".list", encoding="utf-8") as use:
        use.write("\n".join(kept) + "\n")
        use.flush()
        _pg_tool("pg_restore", db.url, "--clean", "--if-exists", "--single-transaction",
                 "--exit-on-error", "--no-owner", "--use-list", use.name, str(source))


def restore(db: sqlite_utils.Database, source: Path, attachments_dir: Path | None) -> dict:
    """Replace the database's content with the backup's (checked first; a SQLite file into
    SQLite, a pg_dump archive into PostgreSQL), and bring back its attachments folder, if
    any. The caller then rebuilds the vector indexes."""
    check_backup(source)
    archive = is_postgres_archive(Path(source))
    if archive != is_postgres(db):
        kind = "a PostgreSQL archive (pg_dump)" if archive else "a SQLite backup"
        raise InputError(f"is {kind}; this home's database is "
                         f"{'PostgreSQL' if is_postgres(db) else 'SQLite'}: restore it into "
                         "one of the same kind (docs/deploy.md, Backups)", str(source))
    if archive:
        _pg_restore(db, Path(source))
    else:
        conn = sqlite3.connect(f"file:{Path(source)}?mode=ro", uri=True)
        try:
            conn.backup(db.conn)
        finally:
            conn.close()
    files = 0
    saved = _attachments_copy(Path(source))
    if saved.is_dir() and attachments_dir is not None:
        Path(attachments_dir).mkdir(parents=True, exist_ok=True)
        for item in saved.iterdir():
            if item.is_file() and not (Path(attachments_dir) / item.name).exists():
                shutil.copy2(item, Path(attachments_dir) / item.name)
                files += 1
    return {"restored_from": str(source), "attachments_restored": files}
