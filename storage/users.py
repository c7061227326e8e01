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


def user_ids_named(db: sqlite_utils.Database, name: str, limit: int) -> list[int]:
    """Ids of up to `limit` users with this display name."""
    return [row[0] for row in db.execute("SELECT id FROM users WHERE name = ? LIMIT ?",
                                         [name, limit])]
