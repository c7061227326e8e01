"""The key that signs web sessions and CSRF tokens. Every `serve` process of one database must
use the same key, or a login made through one server is refused by the next one behind the
load balancer: it is the `secret_key` setting (REPLYKIT_SECRET_KEY, e.g. from a secret
manager) if set, else, with PostgreSQL, one generated once and kept in the database, else
(SQLite: one machine) one generated once into HOME/secret_key (mode 0600)."""

from __future__ import annotations

import os
import secrets
from datetime import UTC, datetime
from pathlib import Path

import storage.app_secrets
from replykit.config import Config
from storage.db import connect, write_transaction

NAME = "flask_secret_key"


def secret_key(config: Config) -> str:
    """The configured secret key, else the database's (PostgreSQL), else HOME/secret_key."""
    if config.secret_key:
        return config.secret_key
    if config.is_postgres:
        db = connect(config.database, busy_timeout=config.busy_timeout)
        try:
            with write_transaction(db):
                return storage.app_secrets.shared_secret(
                    db, NAME, secrets.token_urlsafe(48), datetime.now(UTC).isoformat())
        finally:
            db.close()
    path = Path(config.home) / "secret_key"
    if path.exists():
        return path.read_text(encoding="utf-8").strip()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)  # the home: private
    key = secrets.token_urlsafe(48)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(key + "\n")
    return key
