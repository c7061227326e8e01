"""Attachment contents kept in the database, by sha256 (PostgreSQL mode without a shared
`attachments_dir`: nothing of a saved reply lives on one app server's disk). The
`attachments` table of `storage.library` names each reply's files; this one holds the bytes,
written in the same transaction as the row that names them."""

from __future__ import annotations


def m240_attachment_blobs(db) -> None:
    db.execute(
        """CREATE TABLE attachment_blobs (
            sha256 TEXT PRIMARY KEY,
            size INTEGER NOT NULL,
            data BLOB NOT NULL,
            created_at TEXT NOT NULL
        )"""
    )


# ---- queries


def put_blob(db, digest: str, data: bytes, created_at: str) -> None:
    """Store `data` under `digest` unless a blob with that digest is stored already."""
    db.execute(
        "INSERT INTO attachment_blobs (sha256, size, data, created_at) VALUES (?, ?, ?, ?) "
        "ON CONFLICT (sha256) DO NOTHING",
        [digest, len(data), data, created_at],
    )


def get_blob(db, digest: str) -> bytes | None:
    """The bytes stored under `digest`, or None."""
    row = db.execute("SELECT data FROM attachment_blobs WHERE sha256 = ?", [digest]).fetchone()
    return None if row is None else bytes(row[0])

