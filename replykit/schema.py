"""The database schema as ordered migrations. `schema_version` records each one applied;
a migration and its record commit together, so a crash never leaves a half-migrated file.

Add a migration by appending to MIGRATIONS (never edit or reorder a released one). Version
numbers are blocks per area so areas never collide: 1-99 suggest (library, conversations,
index), 100-199 rubrics (reviews, speed), 200-299 web (users, sessions, tokens). Each
migration not yet recorded is applied, in version order."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlite_utils

from replykit.db import write_transaction
from rubrics.schema import m100_reviews
from suggest.conversations import m005_templated_titles
from suggest.proposals import m004_conversation_links


def _m001_library(db: sqlite_utils.Database) -> None:
    for sql in (
        """CREATE TABLE saved_replies (
            id TEXT PRIMARY KEY,
            title TEXT NOT NULL,
            body TEXT NOT NULL,
            tags TEXT NOT NULL DEFAULT '[]',
            language TEXT NOT NULL DEFAULT 'en',
            status TEXT NOT NULL DEFAULT 'approved'
                CHECK (status IN ('draft', 'approved', 'archived')),
            folder TEXT NOT NULL DEFAULT '',
            teams TEXT NOT NULL DEFAULT '[]',
            author TEXT NOT NULL DEFAULT '',
            version INTEGER NOT NULL DEFAULT 1,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            team_id TEXT
        )""",
        """CREATE TABLE saved_reply_versions (
            reply_id TEXT NOT NULL REFERENCES saved_replies(id) ON DELETE CASCADE,
            version INTEGER NOT NULL,
            title TEXT NOT NULL,
            body TEXT NOT NULL,
            tags TEXT NOT NULL,
            language TEXT NOT NULL,
            status TEXT NOT NULL,
            folder TEXT NOT NULL,
            teams TEXT NOT NULL,
            questions TEXT NOT NULL DEFAULT '[]',
            author TEXT NOT NULL,
            note TEXT NOT NULL DEFAULT '',
            created_at TEXT NOT NULL,
            PRIMARY KEY (reply_id, version)
        )""",
        """CREATE TABLE reply_questions (
            id INTEGER PRIMARY KEY,
            reply_id TEXT NOT NULL REFERENCES saved_replies(id) ON DELETE CASCADE,
            position INTEGER NOT NULL,
            question TEXT NOT NULL
        )""",
        "CREATE INDEX reply_questions_reply ON reply_questions(reply_id)",
        """CREATE TABLE attachments (
            id INTEGER PRIMARY KEY,
            reply_id TEXT NOT NULL REFERENCES saved_replies(id) ON DELETE CASCADE,
            filename TEXT NOT NULL,
            sha256 TEXT NOT NULL,
            size INTEGER NOT NULL,
            content_type TEXT NOT NULL DEFAULT 'application/octet-stream',
            created_at TEXT NOT NULL,
            UNIQUE (reply_id, filename)
        )""",
    ):
        db.execute(sql)


def _m002_conversations(db: sqlite_utils.Database) -> None:
    for sql in (
        """CREATE TABLE conversations (
            id TEXT PRIMARY KEY,
            subject TEXT NOT NULL DEFAULT '',
            channel TEXT NOT NULL DEFAULT '',
            priority TEXT NOT NULL DEFAULT '',
            status TEXT NOT NULL DEFAULT '',
            csat INTEGER,
            customer_id TEXT NOT NULL DEFAULT '',
            customer_name TEXT NOT NULL DEFAULT '',
            customer_email TEXT NOT NULL DEFAULT '',
            team TEXT NOT NULL DEFAULT '',
            resolved_at TEXT,
            first_message_at TEXT,
            team_id TEXT
        )""",
        """CREATE TABLE messages (
            conversation_id TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
            message_id TEXT NOT NULL,
            seq INTEGER NOT NULL,
            role TEXT NOT NULL CHECK (role IN ('customer', 'agent')),
            author TEXT NOT NULL DEFAULT '',
            channel TEXT NOT NULL DEFAULT '',
            created_at TEXT NOT NULL,
            body TEXT NOT NULL,
            clean_body TEXT NOT NULL,
            saved_reply_id TEXT,
            PRIMARY KEY (conversation_id, message_id)
        )""",
        "CREATE INDEX messages_time ON messages(conversation_id, created_at, seq)",
        """CREATE TABLE past_replies (
            id TEXT PRIMARY KEY,
            conversation_id TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
            message_id TEXT NOT NULL,
            question TEXT NOT NULL,
            answer TEXT NOT NULL,
            agent TEXT NOT NULL DEFAULT '',
            asked_at TEXT NOT NULL,
            answered_at TEXT NOT NULL,
            saved_reply_id TEXT,
            team_id TEXT,
            FOREIGN KEY (conversation_id, message_id)
                REFERENCES messages(conversation_id, message_id) ON DELETE CASCADE
        )""",
        "CREATE INDEX past_replies_conversation ON past_replies(conversation_id)",
    ):
        db.execute(sql)


def _m003_search_documents(db: sqlite_utils.Database) -> None:
    for sql in (
        # Every text the suggester can match. AUTOINCREMENT: an id is never reused, so a vector
        # index holding exactly the same id set as this table is in sync with it.
        """CREATE TABLE documents (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            kind TEXT NOT NULL CHECK (kind IN ('reply', 'question', 'past')),
            ref TEXT NOT NULL,
            saved_reply_id TEXT,
            text TEXT NOT NULL,
            lexical_text TEXT NOT NULL,
            text_hash TEXT NOT NULL,
            script TEXT NOT NULL DEFAULT 'latin'
        )""",
        "CREATE INDEX documents_ref ON documents(kind, ref)",
        """CREATE VIRTUAL TABLE documents_fts USING fts5(
            lexical_text, content='documents', content_rowid='id', tokenize='trigram')""",
        """CREATE TRIGGER documents_ai AFTER INSERT ON documents BEGIN
            INSERT INTO documents_fts(rowid, lexical_text) VALUES (new.id, new.lexical_text);
        END""",
        """CREATE TRIGGER documents_ad AFTER DELETE ON documents BEGIN
            INSERT INTO documents_fts(documents_fts, rowid, lexical_text)
            VALUES ('delete', old.id, old.lexical_text);
        END""",
        """CREATE TABLE embedding_cache (
            model TEXT NOT NULL,
            text_hash TEXT NOT NULL,
            vector BLOB NOT NULL,
            PRIMARY KEY (model, text_hash)
        ) WITHOUT ROWID""",
        """CREATE TABLE suggestion_feedback (
            id INTEGER PRIMARY KEY,
            suggestion_kind TEXT NOT NULL CHECK (suggestion_kind IN ('saved', 'past')),
            suggestion_id TEXT NOT NULL,
            event TEXT NOT NULL CHECK (event IN ('shown', 'inserted', 'edited', 'dismissed')),
            query TEXT NOT NULL DEFAULT '',
            user TEXT NOT NULL DEFAULT '',
            edit_ratio REAL,
            created_at TEXT NOT NULL
        )""",
        "CREATE INDEX feedback_suggestion ON suggestion_feedback(suggestion_kind, suggestion_id)",
    ):
        db.execute(sql)


def _m200_web(db: sqlite_utils.Database) -> None:
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


def _m201_user_teams(db: sqlite_utils.Database) -> None:
    """A user may belong to several teams: `user_teams`, filled from `users.team` (which
    stays, holding the first team, for old readers)."""
    db.execute("""CREATE TABLE user_teams (
        user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        team TEXT NOT NULL,
        PRIMARY KEY (user_id, team)
    )""")
    db.execute("INSERT INTO user_teams (user_id, team) SELECT id, team FROM users WHERE team != ''")


def _m202_owner_ids(db: sqlite_utils.Database) -> None:
    """Ownership by user id, not display name: drafting sessions (`drafts.agent_id`) and
    drafts sent for review (`review_drafts.author_id`, `reviewer_id`). Existing rows get the
    id of the one user with that display name; a name two users share stays unlinked."""
    for table, name_column, id_column in (("drafts", "agent", "agent_id"),
                                          ("review_drafts", "author", "author_id"),
                                          ("review_drafts", "reviewer", "reviewer_id")):
        _add_owner_id(db, table, name_column, id_column)


def _m203_reviewer_ids(db: sqlite_utils.Database) -> None:
    """A review's reviewer by user id (`reviews.reviewer_id`), linked like migration 202."""
    _add_owner_id(db, "reviews", "reviewer", "reviewer_id")


def _add_owner_id(db: sqlite_utils.Database, table: str, name_column: str, id_column: str):
    db.execute(f"ALTER TABLE {table} ADD COLUMN {id_column} INTEGER REFERENCES users(id)")
    db.execute(
        f"UPDATE {table} SET {id_column} = (SELECT MIN(id) FROM users u "
        f"WHERE u.name = {table}.{name_column}) WHERE (SELECT COUNT(*) FROM users u "
        f"WHERE u.name = {table}.{name_column}) = 1")


def _m210_accounts(db: sqlite_utils.Database) -> None:
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


MIGRATIONS = (
    (1, "saved-reply library", _m001_library),
    (2, "conversations and past replies", _m002_conversations),
    (3, "search documents, FTS5 trigram index, embedding cache, feedback", _m003_search_documents),
    (4, "feedback and proposals linked to their conversation", m004_conversation_links),
    (5, "templated past-reply titles; past replies templated again", m005_templated_titles),
    (100, "rubric versions, reviews, drafts, assignments, disputes", m100_reviews),
    (200, "web users, sessions, API tokens, login attempts, drafting sessions", _m200_web),
    (201, "users in several teams", _m201_user_teams),
    (202, "owners by user id: drafting sessions, drafts sent for review", _m202_owner_ids),
    (203, "reviewers by user id", _m203_reviewer_ids),
    (210, "login throttle, API token expiry", _m210_accounts),
)


def applied_versions(db: sqlite_utils.Database) -> set[int]:
    """Versions of the migrations recorded in the file."""
    if "schema_version" not in db.table_names():
        return set()
    return {row[0] for row in db.execute("SELECT version FROM schema_version")}


def migrate(db: sqlite_utils.Database) -> int:
    """Apply every migration not yet recorded, each in its own transaction; return the newest."""
    db.execute(
        "CREATE TABLE IF NOT EXISTS schema_version ("
        "version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
    )
    applied = applied_versions(db)
    for version, name, apply in sorted(MIGRATIONS):
        if version in applied:
            continue
        with write_transaction(db):
            # Re-check under the write lock: another process may have migrated meanwhile.
            if version in applied_versions(db):
                continue
            apply(db)
            db["schema_version"].insert(
                {"version": version, "name": name, "applied_at": datetime.now(UTC).isoformat()}
            )
    return max(applied_versions(db))
