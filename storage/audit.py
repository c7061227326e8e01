"""The audit log (`audit_log`, migration 220): who changed what about users, roles, teams,
passwords and API tokens, and who exported or erased data; plus what the admin pages read
about sign-ins (last successful login per username, from `login_attempts`)."""

from __future__ import annotations

import sqlite_utils


def m220_audit_log(db: sqlite_utils.Database) -> None:
    """One row per change: when, who (user id, NULL for the command line, and a label kept
    as it was then), the action ('user.roles', 'token.create', ...), its target and JSON
    details (never a password, token or customer identifier)."""
    db.execute("""CREATE TABLE audit_log (
        id INTEGER PRIMARY KEY,
        at TEXT NOT NULL,
        actor_user_id INTEGER REFERENCES users(id) ON DELETE SET NULL,
        actor TEXT NOT NULL,
        action TEXT NOT NULL,
        target TEXT NOT NULL DEFAULT '',
        details TEXT NOT NULL DEFAULT '{}'
    )""")
    db.execute("CREATE INDEX audit_log_actor ON audit_log(actor_user_id, id)")
    db.execute("CREATE INDEX audit_log_action ON audit_log(action, id)")


def insert_entry(db: sqlite_utils.Database, row: dict) -> int:
    """Insert an `audit_log` row; its id."""
    return db["audit_log"].insert(row).last_pk


def _where(actor_user_id: int | None, command_line: bool, action: str | None):
    clauses, params = [], []
    if command_line:
        clauses.append("actor_user_id IS NULL")
    elif actor_user_id is not None:
        clauses.append("actor_user_id = ?")
        params.append(actor_user_id)
    if action:
        clauses.append("action = ?")
        params.append(action)
    return (" WHERE " + " AND ".join(clauses)) if clauses else "", params


def entries(
    db: sqlite_utils.Database, actor_user_id: int | None = None, command_line: bool = False,
    action: str | None = None, limit: int = 50, offset: int = 0,
) -> list[dict]:
    """Rows {"id", "at", "actor_user_id", "actor", "action", "target", "details" (JSON
    text)}, newest first; `command_line`: only changes made without a web user."""
    where, params = _where(actor_user_id, command_line, action)
    return [dict(r) for r in db.query(
        f"SELECT * FROM audit_log{where} ORDER BY id DESC LIMIT ? OFFSET ?",
        [*params, limit, offset])]


def count_entries(
    db: sqlite_utils.Database, actor_user_id: int | None = None, command_line: bool = False,
    action: str | None = None,
) -> int:
    """How many rows `entries` would page through."""
    where, params = _where(actor_user_id, command_line, action)
    return db.execute(f"SELECT COUNT(*) FROM audit_log{where}", params).fetchone()[0]


def actions(db: sqlite_utils.Database) -> list[str]:
    """The distinct actions logged, sorted."""
    return [r[0] for r in db.execute("SELECT DISTINCT action FROM audit_log ORDER BY action")]


def last_logins(db: sqlite_utils.Database) -> dict[str, str]:
    """{username: time of their latest successful sign-in} (login_attempts keeps them)."""
    return dict(db.execute(
        "SELECT username, MAX(at) FROM login_attempts WHERE ok = 1 GROUP BY username"
    ).fetchall())
