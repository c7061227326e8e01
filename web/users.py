"""Users of the web UI: usernames, display names, hashed passwords (werkzeug scrypt) and
roles; server-side sessions; per-user API tokens (sha256-hashed, shown once, revocable);
login attempts for rate limiting.

A user's `name` is who they are in the rest of replykit: the author of messages and review
drafts, the reviewer of reviews, the user of suggestion feedback."""

from __future__ import annotations

import hashlib
import json
import re
import secrets
from datetime import UTC, datetime, timedelta

import sqlite_utils
from werkzeug.security import check_password_hash, generate_password_hash

from replykit.db import write_transaction
from replykit.errors import Conflict, InputError, NotFound

ROLES = ("agent", "reviewer", "lead", "admin")
MIN_PASSWORD = 8
TOKEN_PREFIX = "rk_"
_USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,39}$")
# A hash that matches no password: checked when the user is unknown, so a login takes as long
# for a missing user as for a wrong password.
_DUMMY_HASH = generate_password_hash(secrets.token_hex(16))


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def parse_roles(roles) -> list[str]:
    """Roles from a list or 'agent,reviewer'; InputError for an unknown one."""
    if isinstance(roles, str):
        roles = roles.split(",")
    clean = []
    for role in roles:
        role = role.strip().lower()
        if role not in ROLES:
            raise InputError(f"unknown role {role!r} (roles: {', '.join(ROLES)})", "roles")
        if role not in clean:
            clean.append(role)
    if not clean:
        raise InputError(f"give at least one role ({', '.join(ROLES)})", "roles")
    return clean


def _check_password(password: str) -> None:
    if not isinstance(password, str) or len(password) < MIN_PASSWORD:
        raise InputError(f"must be at least {MIN_PASSWORD} characters", "password")


def _public(row: dict) -> dict:
    user = {k: row[k] for k in ("id", "username", "name", "team", "created_at")}
    user["roles"] = json.loads(row["roles"])
    user["active"] = bool(row["active"])
    return user


def _row(db: sqlite_utils.Database, username: str) -> dict:
    rows = list(db.query("SELECT * FROM users WHERE username = ?", [username]))
    if not rows:
        raise NotFound(f"no user {username!r}")
    return rows[0]


def add_user(
    db: sqlite_utils.Database, username: str, password: str, roles, name: str = "",
    team: str = "",
) -> dict:
    """Create a user; `name` defaults to the username."""
    username = (username or "").strip().lower()
    if not _USERNAME.fullmatch(username):
        raise InputError("must be 1-40 lower-case letters, digits, '.', '_' or '-'", "username")
    _check_password(password)
    roles = parse_roles(roles)
    name = (name or "").strip() or username
    if len(name) > 100:
        raise InputError("is longer than 100 characters", "name")
    stamp = now()
    with write_transaction(db):
        if db.execute("SELECT 1 FROM users WHERE username = ?", [username]).fetchone():
            raise Conflict(f"user {username!r} exists")
        db["users"].insert({
            "username": username, "name": name, "password_hash": generate_password_hash(password),
            "roles": json.dumps(roles), "team": team or "", "active": 1,
            "created_at": stamp, "updated_at": stamp,
        })
    return get_user(db, username)


def get_user(db: sqlite_utils.Database, username: str) -> dict:
    return _public(_row(db, username))


def get_user_by_id(db: sqlite_utils.Database, user_id: int) -> dict | None:
    rows = list(db.query("SELECT * FROM users WHERE id = ? AND active = 1", [user_id]))
    return _public(rows[0]) if rows else None


def list_users(db: sqlite_utils.Database) -> list[dict]:
    return [_public(row) for row in db.query("SELECT * FROM users ORDER BY username")]


def users_with_role(db: sqlite_utils.Database, role: str) -> list[dict]:
    return [u for u in list_users(db) if role in u["roles"] and u["active"]]


def set_roles(db: sqlite_utils.Database, username: str, roles) -> dict:
    """Replace a user's roles; their sessions end so the change applies at once."""
    roles = parse_roles(roles)
    with write_transaction(db):
        row = _row(db, username)
        db["users"].update(row["id"], {"roles": json.dumps(roles), "updated_at": now()})
        db.execute("DELETE FROM web_sessions WHERE user_id = ?", [row["id"]])
    return get_user(db, username)


def reset_password(db: sqlite_utils.Database, username: str, password: str) -> None:
    """Set a new password and end the user's sessions."""
    _check_password(password)
    with write_transaction(db):
        row = _row(db, username)
        db["users"].update(row["id"], {"password_hash": generate_password_hash(password),
                                       "updated_at": now()})
        db.execute("DELETE FROM web_sessions WHERE user_id = ?", [row["id"]])


def authenticate(db: sqlite_utils.Database, username: str, password: str) -> dict | None:
    """The active user with this username and password, or None."""
    rows = list(db.query("SELECT * FROM users WHERE username = ? AND active = 1",
                         [(username or "").strip().lower()]))
    if not rows:
        check_password_hash(_DUMMY_HASH, password or "")
        return None
    if not check_password_hash(rows[0]["password_hash"], password or ""):
        return None
    return _public(rows[0])


# ---------------------------------------------------------------- sessions


def start_session(db: sqlite_utils.Database, user_id: int) -> str:
    """A new session id for the user (only its hash is stored)."""
    sid = secrets.token_urlsafe(32)
    stamp = now()
    with write_transaction(db):
        db["web_sessions"].insert({"id_hash": sha256(sid), "user_id": user_id,
                                   "created_at": stamp, "last_seen_at": stamp})
    return sid


def session_user(db: sqlite_utils.Database, sid: str, max_age: timedelta) -> dict | None:
    """The user of a live session (younger than `max_age` since last seen), or None."""
    rows = list(db.query("SELECT user_id, last_seen_at FROM web_sessions WHERE id_hash = ?",
                         [sha256(sid)]))
    if not rows:
        return None
    seen = datetime.fromisoformat(rows[0]["last_seen_at"])
    if datetime.now(UTC) - seen > max_age:
        end_session(db, sid)
        return None
    if datetime.now(UTC) - seen > timedelta(minutes=1):
        with write_transaction(db):
            db.execute("UPDATE web_sessions SET last_seen_at = ? WHERE id_hash = ?",
                       [now(), sha256(sid)])
    return get_user_by_id(db, rows[0]["user_id"])


def end_session(db: sqlite_utils.Database, sid: str) -> None:
    with write_transaction(db):
        db.execute("DELETE FROM web_sessions WHERE id_hash = ?", [sha256(sid)])


# ---------------------------------------------------------------- API tokens


def create_token(db: sqlite_utils.Database, username: str, name: str = "") -> dict:
    """A new API token for the user: {"id", "name", "token"}; the token is not stored."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with write_transaction(db):
        row = _row(db, username)
        token_id = db["api_tokens"].insert({
            "user_id": row["id"], "name": name or "", "token_hash": sha256(token),
            "created_at": now(),
        }).last_pk
    return {"id": token_id, "name": name or "", "user": row["username"], "token": token}


def list_tokens(db: sqlite_utils.Database, username: str | None = None) -> list[dict]:
    sql = ("SELECT t.id, u.username AS user, t.name, t.created_at, t.last_used_at, t.revoked_at "
           "FROM api_tokens t JOIN users u ON u.id = t.user_id")
    params = []
    if username:
        sql, params = sql + " WHERE u.username = ?", [username]
    return [dict(row) for row in db.query(sql + " ORDER BY t.id", params)]


def revoke_token(db: sqlite_utils.Database, token_id: int) -> None:
    with write_transaction(db):
        rows = list(db.query("SELECT revoked_at FROM api_tokens WHERE id = ?", [token_id]))
        if not rows:
            raise NotFound(f"no API token {token_id}")
        if rows[0]["revoked_at"]:
            raise Conflict(f"API token {token_id} is already revoked")
        db["api_tokens"].update(token_id, {"revoked_at": now()})


def token_user(db: sqlite_utils.Database, token: str) -> dict | None:
    """The active user owning this unrevoked token, or None."""
    rows = list(db.query(
        "SELECT id, user_id, last_used_at FROM api_tokens WHERE token_hash = ? "
        "AND revoked_at IS NULL", [sha256(token or "")]))
    if not rows:
        return None
    stamp = now()
    # record use at most once a minute: a write per API call would serialise busy scripts
    if (rows[0]["last_used_at"] or "")[:16] != stamp[:16]:
        with write_transaction(db):
            db["api_tokens"].update(rows[0]["id"], {"last_used_at": stamp})
    return get_user_by_id(db, rows[0]["user_id"])


# ---------------------------------------------------------------- login rate limiting

WINDOW = timedelta(minutes=15)
MAX_FAILURES_PER_USER = 5
MAX_FAILURES_PER_IP = 30


def login_blocked(db: sqlite_utils.Database, username: str, ip: str) -> bool:
    """True when the username or the address had too many failed logins in the window."""
    since = (datetime.now(UTC) - WINDOW).isoformat(timespec="seconds")
    by_user = db.execute(
        "SELECT COUNT(*) FROM login_attempts WHERE username = ? AND ok = 0 AND at > ?",
        [(username or "").strip().lower(), since]).fetchone()[0]
    by_ip = db.execute(
        "SELECT COUNT(*) FROM login_attempts WHERE ip = ? AND ok = 0 AND at > ?",
        [ip, since]).fetchone()[0]
    return by_user >= MAX_FAILURES_PER_USER or by_ip >= MAX_FAILURES_PER_IP


def record_login(db: sqlite_utils.Database, username: str, ip: str, ok: bool) -> None:
    """Log an attempt; a success clears the username's failures."""
    username = (username or "").strip().lower()[:100]
    with write_transaction(db):
        if ok:
            db.execute("DELETE FROM login_attempts WHERE username = ? AND ok = 0", [username])
        db["login_attempts"].insert({"username": username, "ip": ip, "ok": int(ok), "at": now()})
