"""Tables of the web app's people: users and their teams, sessions, API tokens, login
throttling; drafting sessions (created with them in migration 200); owners by user id."""

from __future__ import annotations

import sqlite_utils


def m200_web(db: sqlite_utils.Database) -> None:
    """Web logins: users with roles, server-side sessions, API tokens, login attempts (rate
    limiting) and drafting sessions of the agent workspace."""
    for sql in (
        """CREATE TABLE users (
            id INTEGER PRIMARY KEY,
            username TEXT NOT NULL UNIQUE COLLATE NOCASE,
            name TEXT NOT NULL,
            password_hash TEXT NOT NULL,
            roles TEXT NOT NULL DEFAULT '[]',
            team TEXT NOT NULL DEFAULT '',
            active INTEGER NOT NULL DEFAULT 1,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            team_id TEXT
        )""",
        """CREATE TABLE web_sessions (
            id_hash TEXT PRIMARY KEY,
            user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
            created_at TEXT NOT NULL,
            last_seen_at TEXT NOT NULL
        )""",
        """CREATE TABLE api_tokens (
            id INTEGER PRIMARY KEY,
            user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
            name TEXT NOT NULL DEFAULT '',
            token_hash TEXT NOT NULL UNIQUE,
            created_at TEXT NOT NULL,
            last_used_at TEXT,
            revoked_at TEXT
        )""",
        """CREATE TABLE login_attempts (
            id INTEGER PRIMARY KEY,
            username TEXT NOT NULL,
            ip TEXT NOT NULL,
            ok INTEGER NOT NULL,
            at TEXT NOT NULL
        )""",
        "CREATE INDEX login_attempts_user ON login_attempts(username, at)",
        "CREATE INDEX login_attempts_ip ON login_attempts(ip, at)",
        """CREATE TABLE drafts (
            id INTEGER PRIMARY KEY,
            agent TEXT NOT NULL,
            team TEXT NOT NULL DEFAULT '',
            conversation_id TEXT,
            query TEXT NOT NULL DEFAULT '',
            opened_at TEXT NOT NULL,
            finished_at TEXT,
            outcome TEXT CHECK (outcome IN ('copied', 'sent', 'sent_for_review')),
            seconds REAL,
            suggestion_kind TEXT,
            suggestion_id TEXT,
            edit_ratio REAL,
            text TEXT NOT NULL DEFAULT '',
            review_draft_id INTEGER REFERENCES review_drafts(id),
            team_id TEXT
        )""",
        "CREATE INDEX drafts_agent ON drafts(agent, opened_at)",
    ):
        db.execute(sql)

def m201_user_teams(db: sqlite_utils.Database) -> None:
    """A user may belong to several teams: `user_teams`, filled from `users.team` (which
    stays, holding the first team, for old readers)."""
    db.execute("""CREATE TABLE user_teams (
        user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        team TEXT NOT NULL,
        PRIMARY KEY (user_id, team)
    )""")
    db.execute("INSERT INTO user_teams (user_id, team) SELECT id, team FROM users WHERE team != ''")


def m202_owner_ids(db: sqlite_utils.Database) -> None:
    """Ownership by user id, not display name: drafting sessions (`drafts.agent_id`) and
    drafts sent for review (`review_drafts.author_id`, `reviewer_id`). Existing rows get the
    id of the one user with that display name; a name two users share stays unlinked."""
    for table, name_column, id_column in (("drafts", "agent", "agent_id"),
                                          ("review_drafts", "author", "author_id"),
                                          ("review_drafts", "reviewer", "reviewer_id")):
        _add_owner_id(db, table, name_column, id_column)


def m203_reviewer_ids(db: sqlite_utils.Database) -> None:
    """A review's reviewer by user id (`reviews.reviewer_id`), linked like migration 202."""
    _add_owner_id(db, "reviews", "reviewer", "reviewer_id")


def m204_user_locale(db: sqlite_utils.Database) -> None:
    """Each user's interface language (`users.locale`: en, th or fa; NULL: the browser's) and
    calendar for dates (`users.calendar`: gregorian, buddhist or persian; NULL: gregorian)."""
    db.execute("ALTER TABLE users ADD COLUMN locale TEXT")
    db.execute("ALTER TABLE users ADD COLUMN calendar TEXT")


def _add_owner_id(db: sqlite_utils.Database, table: str, name_column: str, id_column: str):
    db.execute(f"ALTER TABLE {table} ADD COLUMN {id_column} INTEGER REFERENCES users(id)")
    db.execute(
        f"UPDATE {table} SET {id_column} = (SELECT MIN(id) FROM users u "
        f"WHERE u.name = {table}.{name_column}) WHERE (SELECT COUNT(*) FROM users u "
        f"WHERE u.name = {table}.{name_column}) = 1")


def m210_accounts(db: sqlite_utils.Database) -> None:
    """Login throttling (failures per username at an address and per address, with the time
    of the last one: the backoff is computed from them) and API token expiry."""
    db.execute("""CREATE TABLE login_throttle (
        scope TEXT NOT NULL CHECK (scope IN ('user', 'address')),
        username TEXT NOT NULL,
        address TEXT NOT NULL,
        failures INTEGER NOT NULL,
        last_at REAL NOT NULL,
        PRIMARY KEY (scope, username, address)
    )""")
    db.execute("ALTER TABLE api_tokens ADD COLUMN expires_at TEXT")


# ---- queries


def user_by_username(
    db: sqlite_utils.Database, username: str, active_only: bool = False
) -> dict | None:
    """The `users` row with this username (any case), or None; `active_only`: only if active."""
    active = " AND active = 1" if active_only else ""
    rows = list(db.query(f"SELECT * FROM users WHERE username = ?{active}", [username]))
    return rows[0] if rows else None


def active_user_by_id(db: sqlite_utils.Database, user_id: int) -> dict | None:
    """The `users` row of an active user by id, or None."""
    rows = list(db.query("SELECT * FROM users WHERE id = ? AND active = 1", [user_id]))
    return rows[0] if rows else None


def all_users(db: sqlite_utils.Database) -> list[dict]:
    """Every `users` row, by username."""
    return list(db.query("SELECT * FROM users ORDER BY username"))


def insert_user(db: sqlite_utils.Database, row: dict) -> int:
    """Insert a `users` row; its id."""
    return db["users"].insert(row).last_pk


def update_user(db: sqlite_utils.Database, user_id: int, changes: dict) -> None:
    """Set the given columns of a user."""
    db["users"].update(user_id, changes)


def user_teams(db: sqlite_utils.Database, user_id: int) -> list[str]:
    """The user's teams, in the order they were given."""
    return [r[0] for r in db.execute(
        "SELECT team FROM user_teams WHERE user_id = ? ORDER BY rowid", [user_id])]


def replace_user_teams(db: sqlite_utils.Database, user_id: int, teams: list[str]) -> None:
    """Make `teams` the user's teams (rows of `user_teams`)."""
    db.execute("DELETE FROM user_teams WHERE user_id = ?", [user_id])
    db["user_teams"].insert_all({"user_id": user_id, "team": t} for t in teams)


def insert_session(db: sqlite_utils.Database, row: dict) -> None:
    """Insert a `web_sessions` row."""
    db["web_sessions"].insert(row)


def session_by_hash(db: sqlite_utils.Database, id_hash: str) -> dict | None:
    """{"user_id", "created_at", "last_seen_at"} of the session, or None."""
    rows = list(db.query("SELECT user_id, created_at, last_seen_at FROM web_sessions "
                         "WHERE id_hash = ?", [id_hash]))
    return rows[0] if rows else None


def touch_session(db: sqlite_utils.Database, id_hash: str, last_seen_at: str) -> None:
    """Record that the session was seen at `last_seen_at`."""
    db.execute("UPDATE web_sessions SET last_seen_at = ? WHERE id_hash = ?",
               [last_seen_at, id_hash])


def delete_session(db: sqlite_utils.Database, id_hash: str) -> None:
    """End one session."""
    db.execute("DELETE FROM web_sessions WHERE id_hash = ?", [id_hash])


def delete_user_sessions(db: sqlite_utils.Database, user_id: int) -> int:
    """End every session of the user; how many there were."""
    return db.execute("DELETE FROM web_sessions WHERE user_id = ?", [user_id]).rowcount


def insert_token(db: sqlite_utils.Database, row: dict) -> int:
    """Insert an `api_tokens` row; its id."""
    return db["api_tokens"].insert(row).last_pk


def token_by_id(db: sqlite_utils.Database, token_id: int) -> dict | None:
    """The `api_tokens` row, or None."""
    rows = list(db.query("SELECT * FROM api_tokens WHERE id = ?", [token_id]))
    return rows[0] if rows else None


def live_token_by_hash(db: sqlite_utils.Database, token_hash: str) -> dict | None:
    """{"id", "user_id", "last_used_at", "expires_at"} of the unrevoked token, or None."""
    rows = list(db.query(
        "SELECT id, user_id, last_used_at, expires_at FROM api_tokens WHERE token_hash = ? "
        "AND revoked_at IS NULL", [token_hash]))
    return rows[0] if rows else None


def token_list(db: sqlite_utils.Database, username: str | None = None) -> list[dict]:
    """Tokens {"id", "user", "name", "created_at", "last_used_at", "expires_at",
    "revoked_at"} of every user (or of `username`), by id."""
    sql = ("SELECT t.id, u.username AS user, t.name, t.created_at, t.last_used_at, "
           "t.expires_at, t.revoked_at FROM api_tokens t JOIN users u ON u.id = t.user_id")
    params = []
    if username:
        sql, params = sql + " WHERE u.username = ?", [username]
    return [dict(row) for row in db.query(sql + " ORDER BY t.id", params)]


def update_token(db: sqlite_utils.Database, token_id: int, changes: dict) -> None:
    """Set the given columns of a token."""
    db["api_tokens"].update(token_id, changes)


def revoke_user_tokens(db: sqlite_utils.Database, user_id: int, revoked_at: str) -> int:
    """Revoke the user's unrevoked tokens; how many."""
    return db.execute("UPDATE api_tokens SET revoked_at = ? WHERE user_id = ? "
                      "AND revoked_at IS NULL", [revoked_at, user_id]).rowcount


def forget_throttle_before(db: sqlite_utils.Database, last_at: float) -> None:
    """Drop login counts whose last failure is older than `last_at` (epoch seconds)."""
    db.execute("DELETE FROM login_throttle WHERE last_at < ?", [last_at])


def throttle_count(
    db: sqlite_utils.Database, scope: str, username: str, address: str
) -> tuple[int, float] | None:
    """(failures, last_at) of one login count, or None."""
    row = db.execute("SELECT failures, last_at FROM login_throttle WHERE scope = ? "
                     "AND username = ? AND address = ?", [scope, username, address]).fetchone()
    return tuple(row) if row else None


def save_throttle_counts(db: sqlite_utils.Database, counts: list[tuple]) -> None:
    """Write login counts given as (scope, username, address, failures, last_at)."""
    db.conn.executemany(
        "INSERT INTO login_throttle (scope, username, address, failures, last_at) "
        "VALUES (?, ?, ?, ?, ?) ON CONFLICT (scope, username, address) DO UPDATE SET "
        "failures = excluded.failures, last_at = excluded.last_at", counts)


def delete_user_throttle(
    db: sqlite_utils.Database, username: str, address: str | None = None
) -> None:
    """Clear the username's failure counts at `address` (None: at every address)."""
    if address is None:
        db.execute("DELETE FROM login_throttle WHERE scope = 'user' AND username = ?",
                   [username])
    else:
        db.execute("DELETE FROM login_throttle WHERE scope = 'user' AND username = ? "
                   "AND address = ?", [username, address])


def release_address_failure(db: sqlite_utils.Database, address: str) -> None:
    """Give back one failure of the address's count."""
    db.execute("UPDATE login_throttle SET failures = failures - 1 WHERE failures > 0 "
               "AND scope = 'address' AND username = '' AND address = ?", [address])


def insert_login_attempt(db: sqlite_utils.Database, row: dict) -> None:
    """Log one password check (`login_attempts`)."""
    db["login_attempts"].insert(row)


def own_conversation_ids(db: sqlite_utils.Database, user_id: int) -> set[str]:
    """Conversations the user opened a drafting session on or sent a draft for review from."""
    return {row[0] for row in db.execute(
        "SELECT conversation_id FROM drafts WHERE agent_id = ? UNION "
        "SELECT conversation_id FROM review_drafts WHERE author_id = ?", [user_id, user_id])}


def insert_drafting_session(db: sqlite_utils.Database, row: dict) -> int:
    """Insert a `drafts` row (a drafting session); its id."""
    return db["drafts"].insert(row).last_pk


def drafting_session(db: sqlite_utils.Database, draft_id: int) -> dict | None:
    """The `drafts` row, or None."""
    rows = list(db.query("SELECT * FROM drafts WHERE id = ?", [draft_id]))
    return dict(rows[0]) if rows else None


def update_drafting_session(db: sqlite_utils.Database, draft_id: int, changes: dict) -> None:
    """Set the given columns of a drafting session."""
    db["drafts"].update(draft_id, changes)


def finished_drafting_sessions(db: sqlite_utils.Database) -> list[dict]:
    """Every finished `drafts` row, by id."""
    return [dict(r) for r in db.query(
        "SELECT * FROM drafts WHERE finished_at IS NOT NULL ORDER BY id")]


def user_ids_named(db: sqlite_utils.Database, name: str, limit: int) -> list[int]:
    """Ids of up to `limit` users with this display name."""
    return [row[0] for row in db.execute("SELECT id FROM users WHERE name = ? LIMIT ?",
                                         [name, limit])]
