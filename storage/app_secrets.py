"""Secrets that every server of one database must share (PostgreSQL mode behind a load
balancer): today the key that signs web sessions and CSRF tokens, made once by whichever
server starts first."""

from __future__ import annotations


def m241_app_secrets(db) -> None:
    db.execute(
        """CREATE TABLE app_secrets (
            name TEXT PRIMARY KEY,
            value TEXT NOT NULL,
            created_at TEXT NOT NULL
        )"""
    )


# ---- queries


def shared_secret(db, name: str, candidate: str, created_at: str) -> str:
    """The secret `name`: stored as `candidate` if none is stored yet, else the stored one (two
    servers starting at once agree on the first one committed)."""
    db.execute(
        "INSERT INTO app_secrets (name, value, created_at) VALUES (?, ?, ?) "
        "ON CONFLICT (name) DO NOTHING",
        [name, candidate, created_at],
    )
    return db.execute("SELECT value FROM app_secrets WHERE name = ?", [name]).fetchone()[0]
