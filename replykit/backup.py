"""Backups of the database with SQLite's online backup API: consistent while the server and
other commands keep writing, and restored the same way (page by page into the live file,
under SQLite's locks), so no process ever sees a half-copied database.

Attachments (content-addressed, never overwritten) are copied beside the backup file; vector
indexes are not backed up: they are rebuilt from the restored database."""

from __future__ import annotations

import os
import shutil
import sqlite3
import tempfile
from pathlib import Path

import sqlite_utils

from replykit.errors import InputError
from storage.db import integrity_check
from storage.migrations import recorded_migrations


def _attachments_copy(backup: Path) -> Path:
    return backup.with_name(backup.name + ".attachments")


def backup(db: sqlite_utils.Database, target: Path, attachments_dir: Path) -> dict:
    """Write a consistent copy of the database to `target` (atomically) and the attachments
    to `target.attachments/`. Returns counts."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=target.name + ".", suffix=".tmp")
    os.close(fd)
    try:
        copy = sqlite3.connect(tmp)
        try:
            db.conn.backup(copy)
        finally:
            copy.close()
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    files = 0
    if Path(attachments_dir).is_dir():
        destination = _attachments_copy(target)
        destination.mkdir(parents=True, exist_ok=True, mode=0o700)
        for item in Path(attachments_dir).iterdir():
            if item.is_file() and not (destination / item.name).exists():
                shutil.copy2(item, destination / item.name)
                files += 1
    return {"file": str(target), "bytes": target.stat().st_size, "attachments_copied": files}


def check_backup(source: Path) -> None:
    """InputError unless `source` is an intact replykit database."""
    source = Path(source)
    if not source.is_file():
        raise InputError("no such file", str(source))
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


def restore(db: sqlite_utils.Database, source: Path, attachments_dir: Path) -> dict:
    """Replace the database's content with the backup's (checked first), and bring back its
    attachments. The caller then rebuilds the vector indexes."""
    check_backup(source)
    conn = sqlite3.connect(f"file:{Path(source)}?mode=ro", uri=True)
    try:
        conn.backup(db.conn)
    finally:
        conn.close()
    files = 0
    saved = _attachments_copy(Path(source))
    if saved.is_dir():
        Path(attachments_dir).mkdir(parents=True, exist_ok=True)
        for item in saved.iterdir():
            if item.is_file() and not (Path(attachments_dir) / item.name).exists():
                shutil.copy2(item, Path(attachments_dir) / item.name)
                files += 1
    return {"restored_from": str(source), "attachments_restored": files}
