"""Files attached to saved replies. Content is stored under HOME/attachments/<sha256>
(content-addressed: a user's file name is never a path, so it cannot escape the directory);
the database keeps each reply's display file names."""

from __future__ import annotations

import base64
import hashlib
import mimetypes
import re
from datetime import UTC, datetime
from pathlib import Path

import sqlite_utils

from replykit.db import write_transaction
from replykit.errors import InputError, NotFound
from replykit.textio import atomic_file

MAX_BYTES = 10 * 1024 * 1024
# files that run code when a customer opens them are never sent with a reply
BLOCKED_EXTENSIONS = frozenset(
    ".apk .app .bat .cmd .com .cpl .dll .dmg .exe .hta .htm .html .jar .js .jse .lnk .msi "
    ".pif .ps1 .reg .scr .sh .svg .vbe .vbs .wsf".split()
)
_DIGEST = re.compile(r"[0-9a-f]{64}")
_BAD_NAME = re.compile(r"[\x00-\x1f\x7f/\\]")
_CONTENT_TYPE = re.compile(r"[A-Za-z0-9][\w.+-]*/[A-Za-z0-9][\w.+-]*(;[ -~]{0,200})?", re.ASCII)


def safe_filename(name: str, where: str = "") -> str:
    """A display name without directories or control characters; InputError if unusable."""
    if not isinstance(name, str):
        raise InputError("must be text", f"{where}field filename")
    base = name.replace("\\", "/").rsplit("/", 1)[-1].strip()
    if not base or base in (".", "..") or _BAD_NAME.search(base) or len(base) > 255:
        raise InputError(f"{name!r} is not a usable file name", f"{where}field filename")
    return base


def check_file(filename: str, size: int, content_type, where: str = "") -> str:
    """The content type to store for a file (guessed from the name when not given);
    InputError for a file that is too large, of a blocked type, or a malformed content type."""
    if size > MAX_BYTES:
        raise InputError(
            f"is larger than {MAX_BYTES // (1024 * 1024)} MB", f"{where}attachment {filename}"
        )
    suffix = Path(filename).suffix.lower()
    if suffix in BLOCKED_EXTENSIONS:
        raise InputError(
            f"{suffix} files are not accepted (programs and web pages can run code when opened)",
            f"{where}attachment {filename}",
        )
    content_type = content_type or mimetypes.guess_type(filename)[0] or "application/octet-stream"
    if not isinstance(content_type, str) or not _CONTENT_TYPE.fullmatch(content_type):
        raise InputError(
            f"content_type {content_type!r} is not a media type like application/pdf",
            f"{where}attachment {filename}",
        )
    return content_type


class Staging:
    """Blobs written during an import; removed again if the import rolls back. Blobs are
    only written inside a write transaction, so one writer at a time."""

    def __init__(self, directory: Path):
        self.directory = Path(directory)
        self.created: list[Path] = []
        self.swept = False

    def put(self, data: bytes) -> str:
        if not self.swept:  # temp files of a writer killed mid-write (no other writer is live)
            for leftover in self.directory.glob("*.tmp"):
                leftover.unlink(missing_ok=True)
            self.swept = True
        digest = hashlib.sha256(data).hexdigest()
        path = self.directory / digest
        if not path.exists():
            with atomic_file(path) as out:
                out.write(data)
            self.created.append(path)
        return digest

    def commit(self) -> None:
        self.created = []

    def rollback(self) -> None:
        for path in self.created:
            path.unlink(missing_ok=True)
        self.created = []


def _insert(db, reply_id: str, filename: str, digest: str, size: int, content_type: str):
    db["attachments"].insert(
        {
            "reply_id": reply_id,
            "filename": filename,
            "sha256": digest,
            "size": size,
            "content_type": content_type,
            "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        },
        replace=True,
    )


def add(
    db: sqlite_utils.Database,
    directory: Path,
    reply_id: str,
    filename: str,
    data: bytes,
    content_type: str | None = None,
) -> dict:
    """Attach a file (replacing one of the same name) to a saved reply."""
    filename = safe_filename(filename)
    content_type = check_file(filename, len(data), content_type)
    staging = Staging(directory)
    try:
        with write_transaction(db):
            if not db.execute("SELECT 1 FROM saved_replies WHERE id = ?", [reply_id]).fetchone():
                raise NotFound(f"no saved reply with id {reply_id!r}")
            digest = staging.put(data)
            db.execute(
                "DELETE FROM attachments WHERE reply_id = ? AND filename = ?", [reply_id, filename]
            )
            _insert(db, reply_id, filename, digest, len(data), content_type)
    except BaseException:
        staging.rollback()
        raise
    return next(a for a in list_for(db, reply_id) if a["filename"] == filename)


def _blob(directory: Path, digest: str) -> Path:
    """The file of a stored digest; a digest that is not one (a restored database from
    elsewhere could hold any text) never becomes a path outside the directory."""
    if not isinstance(digest, str) or not _DIGEST.fullmatch(digest):
        raise InputError(f"{digest!r} is not a sha256 digest", "attachments table")
    return Path(directory) / digest


def list_for(db: sqlite_utils.Database, reply_id: str) -> list[dict]:
    """A reply's attachments (filename, size, content_type, sha256), by name."""
    return list(
        db.query(
            "SELECT filename, size, content_type, sha256, created_at FROM attachments "
            "WHERE reply_id = ? ORDER BY filename",
            [reply_id],
        )
    )


def read(db: sqlite_utils.Database, directory: Path, reply_id: str, filename: str) -> bytes:
    """The content of one attachment."""
    for item in list_for(db, reply_id):
        if item["filename"] == filename:
            return _blob(directory, item["sha256"]).read_bytes()
    raise NotFound(f"saved reply {reply_id!r} has no attachment {filename!r}")


def export(db: sqlite_utils.Database, directory: Path, reply_id: str) -> list[dict]:
    """Attachments inline for export: filename, content_type, content_base64."""
    return [
        {
            "filename": item["filename"],
            "content_type": item["content_type"],
            "content_base64": base64.b64encode(
                _blob(directory, item["sha256"]).read_bytes()
            ).decode("ascii"),
        }
        for item in list_for(db, reply_id)
    ]


def replace_all(
    db: sqlite_utils.Database, staging: Staging, reply_id: str, files: list, where: str = ""
) -> bool:
    """Make a reply's attachments exactly `files` (export records). True if anything changed."""
    if not isinstance(files, list):
        raise InputError("must be a list", f"{where}field attachments")
    wanted = {}
    for item in files:
        if not isinstance(item, dict):
            raise InputError("each attachment must be an object", f"{where}field attachments")
        name = safe_filename(item.get("filename"), where)
        try:
            data = base64.b64decode(item.get("content_base64") or "", validate=True)
        except (ValueError, TypeError) as exc:  # binascii.Error, or non-ASCII text
            raise InputError(
                "content_base64 is not valid base64", f"{where}attachment {name}"
            ) from exc
        content_type = check_file(name, len(data), item.get("content_type") or
                                  "application/octet-stream", where)
        wanted[name] = (hashlib.sha256(data).hexdigest(), data, content_type)
    current = {a["filename"]: (a["sha256"], a["content_type"]) for a in list_for(db, reply_id)}
    if current == {n: (d, ct) for n, (d, _, ct) in wanted.items()}:
        return False
    db.execute("DELETE FROM attachments WHERE reply_id = ?", [reply_id])
    for name, (_, data, content_type) in wanted.items():
        _insert(db, reply_id, name, staging.put(data), len(data), content_type)
    return True
