"""The PostgreSQL baseline: the schema that SQLite reaches through migrations 1-5, 100,
200-203, 210 and 220, written once for PostgreSQL, because those migrations rebuild SQLite
tables and create FTS5 tables and triggers, which PostgreSQL cannot run.

`apply_baseline` creates it in an empty PostgreSQL database and records exactly
BASELINE_VERSIONS in schema_version; every later migration runs on both backends. The DDL
uses the portable types (TEXT, INTEGER, REAL, BLOB) that `storage.postgres.translate` maps,
with these differences from SQLite, each needed by PostgreSQL:

- `users.username` is CITEXT (SQLite: COLLATE NOCASE), so lookups and the UNIQUE constraint
  ignore case on both backends without a branch;
- `suggestion_feedback."user"` is quoted (USER is a reserved word in PostgreSQL);
- `user_teams` has a `rowid` identity column: the teams are read back in the order they were
  given (ORDER BY rowid), as SQLite's implicit rowid gives them;
- `documents` has no FTS5 index and no triggers (the lexical index on PostgreSQL is
  pg_trgm's, made by the search side), `embedding_cache.vector` is BYTEA.

`tests/test_postgres.py` checks that every table has the same columns in the same order on
both backends, so a change to one side that forgets the other fails."""

from __future__ import annotations

BASELINE_VERSIONS = frozenset({1, 2, 3, 4, 5, 100, 200, 201, 202, 203, 210, 220})

EXTENSIONS = ("citext", "pg_trgm", "vector")

BASELINE = (
    # migration 1 and 4: the saved-reply library
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
    """CREATE TABLE proposal_sources (
        reply_id TEXT NOT NULL REFERENCES saved_replies(id) ON DELETE CASCADE,
        conversation_id TEXT NOT NULL,
        PRIMARY KEY (reply_id, conversation_id)
    )""",
    "CREATE INDEX proposal_sources_conversation ON proposal_sources(conversation_id)",
    # migrations 2 and 5: conversations and past replies
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
        title TEXT NOT NULL DEFAULT '',
        FOREIGN KEY (conversation_id, message_id)
            REFERENCES messages(conversation_id, message_id) ON DELETE CASCADE
    )""",
    "CREATE INDEX past_replies_conversation ON past_replies(conversation_id)",
    # migrations 3 and 4: search documents (no FTS5 here), embedding cache, feedback
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
    """CREATE TABLE embedding_cache (
        model TEXT NOT NULL,
        text_hash TEXT NOT NULL,
        vector BLOB NOT NULL,
        PRIMARY KEY (model, text_hash)
    )""",
    """CREATE TABLE suggestion_feedback (
        id INTEGER PRIMARY KEY,
        suggestion_kind TEXT NOT NULL CHECK (suggestion_kind IN ('saved', 'past')),
        suggestion_id TEXT NOT NULL,
        event TEXT NOT NULL CHECK (event IN ('shown', 'inserted', 'edited', 'dismissed')),
        query TEXT NOT NULL DEFAULT '',
        "user" TEXT NOT NULL DEFAULT '',
        edit_ratio REAL,
        created_at TEXT NOT NULL,
        conversation_id TEXT
    )""",
    "CREATE INDEX feedback_suggestion ON suggestion_feedback(suggestion_kind, suggestion_id)",
    "CREATE INDEX feedback_conversation ON suggestion_feedback(conversation_id)",
    # migrations 200-203 and 210: web users (before reviews: their owner ids refer to users)
    """CREATE TABLE users (
        id INTEGER PRIMARY KEY,
        username CITEXT NOT NULL UNIQUE,
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
        revoked_at TEXT,
        expires_at TEXT
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
    """CREATE TABLE user_teams (
        user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        team TEXT NOT NULL,
        rowid BIGINT GENERATED BY DEFAULT AS IDENTITY,
        PRIMARY KEY (user_id, team)
    )""",
    """CREATE TABLE login_throttle (
        scope TEXT NOT NULL CHECK (scope IN ('user', 'address')),
        username TEXT NOT NULL,
        address TEXT NOT NULL,
        failures INTEGER NOT NULL,
        last_at REAL NOT NULL,
        PRIMARY KEY (scope, username, address)
    )""",
    # migration 100 and 202-203: reviews
    """CREATE TABLE rubric_versions (
        name TEXT NOT NULL,
        version INTEGER NOT NULL,
        definition TEXT NOT NULL,
        source TEXT NOT NULL DEFAULT '',
        created_by TEXT NOT NULL DEFAULT '',
        created_at TEXT NOT NULL,
        team_id TEXT,
        PRIMARY KEY (name, version)
    )""",
    """CREATE TABLE review_drafts (
        id INTEGER PRIMARY KEY,
        author TEXT NOT NULL,
        body TEXT NOT NULL,
        question TEXT NOT NULL DEFAULT '',
        conversation_id TEXT,
        channel TEXT NOT NULL DEFAULT '',
        reviewer TEXT,
        state TEXT NOT NULL DEFAULT 'requested' CHECK (state IN ('requested', 'returned')),
        return_comment TEXT NOT NULL DEFAULT '',
        requested_at TEXT NOT NULL,
        returned_at TEXT,
        team_id TEXT,
        author_id INTEGER REFERENCES users(id),
        reviewer_id INTEGER REFERENCES users(id)
    )""",
    """CREATE TABLE reviews (
        id INTEGER PRIMARY KEY,
        target_kind TEXT NOT NULL CHECK (target_kind IN ('reply', 'draft')),
        conversation_id TEXT,
        message_id TEXT,
        draft_id INTEGER REFERENCES review_drafts(id),
        author TEXT NOT NULL,
        reviewer TEXT NOT NULL,
        rubric_name TEXT NOT NULL,
        rubric_version INTEGER NOT NULL,
        state TEXT NOT NULL DEFAULT 'in_progress'
            CHECK (state IN ('in_progress', 'submitted')),
        overall_comment TEXT NOT NULL DEFAULT '',
        score REAL,
        auto_failed INTEGER NOT NULL DEFAULT 0,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        submitted_at TEXT,
        team_id TEXT,
        reviewer_id INTEGER REFERENCES users(id),
        FOREIGN KEY (rubric_name, rubric_version)
            REFERENCES rubric_versions(name, version),
        FOREIGN KEY (conversation_id, message_id)
            REFERENCES messages(conversation_id, message_id),
        CHECK ((target_kind = 'reply' AND message_id IS NOT NULL AND draft_id IS NULL)
            OR (target_kind = 'draft' AND draft_id IS NOT NULL AND message_id IS NULL))
    )""",
    "CREATE INDEX reviews_reply ON reviews(conversation_id, message_id)",
    "CREATE INDEX reviews_draft ON reviews(draft_id)",
    """CREATE TABLE review_ratings (
        review_id INTEGER NOT NULL REFERENCES reviews(id) ON DELETE CASCADE,
        category TEXT NOT NULL,
        rated INTEGER NOT NULL DEFAULT 0,
        rating INTEGER,
        comment TEXT NOT NULL DEFAULT '',
        team_id TEXT,
        PRIMARY KEY (review_id, category)
    )""",
    """CREATE TABLE review_assignments (
        id INTEGER PRIMARY KEY,
        conversation_id TEXT NOT NULL,
        message_id TEXT NOT NULL,
        author TEXT NOT NULL,
        reviewer TEXT NOT NULL,
        period TEXT NOT NULL,
        seed TEXT NOT NULL,
        state TEXT NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'done')),
        review_id INTEGER REFERENCES reviews(id),
        created_at TEXT NOT NULL,
        team_id TEXT,
        FOREIGN KEY (conversation_id, message_id)
            REFERENCES messages(conversation_id, message_id)
    )""",
    "CREATE INDEX review_assignments_reviewer ON review_assignments(reviewer, state)",
    """CREATE TABLE review_disputes (
        id INTEGER PRIMARY KEY,
        review_id INTEGER NOT NULL REFERENCES reviews(id),
        agent TEXT NOT NULL,
        reason TEXT NOT NULL,
        state TEXT NOT NULL DEFAULT 'open'
            CHECK (state IN ('open', 'upheld', 'rescore', 'rescored')),
        resolved_by TEXT,
        resolution_comment TEXT NOT NULL DEFAULT '',
        created_at TEXT NOT NULL,
        resolved_at TEXT,
        team_id TEXT
    )""",
    """CREATE TABLE review_history (
        id INTEGER PRIMARY KEY,
        review_id INTEGER NOT NULL REFERENCES reviews(id),
        event TEXT NOT NULL,
        actor TEXT NOT NULL,
        detail TEXT NOT NULL DEFAULT '{}',
        created_at TEXT NOT NULL,
        team_id TEXT
    )""",
    "CREATE INDEX review_history_review ON review_history(review_id)",
    # users, continued: drafting sessions refer to review drafts (migrations 200, 202)
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
        team_id TEXT,
        agent_id INTEGER REFERENCES users(id)
    )""",
    "CREATE INDEX drafts_agent ON drafts(agent, opened_at)",
    # migration 220: the audit log
    """CREATE TABLE audit_log (
        id INTEGER PRIMARY KEY,
        at TEXT NOT NULL,
        actor_user_id INTEGER REFERENCES users(id) ON DELETE SET NULL,
        actor TEXT NOT NULL,
        action TEXT NOT NULL,
        target TEXT NOT NULL DEFAULT '',
        details TEXT NOT NULL DEFAULT '{}'
    )""",
    "CREATE INDEX audit_log_actor ON audit_log(actor_user_id, id)",
    "CREATE INDEX audit_log_action ON audit_log(action, id)",
)


class DatabaseEncodingError(RuntimeError):
    """A PostgreSQL database whose encoding cannot hold every customer's text."""


def check_encoding(db) -> None:
    """Refuse a database whose encoding is not UTF8 (Thai and Persian text would not fit)."""
    encoding, name = db.execute(
        "SELECT pg_encoding_to_char(encoding), datname FROM pg_database "
        "WHERE datname = current_database()").fetchone()
    if encoding != "UTF8":
        raise DatabaseEncodingError(
            f"PostgreSQL database {name!r} has encoding {encoding}, replykit needs UTF8: "
            f"CREATE DATABASE {name} ENCODING 'UTF8' LC_COLLATE 'C.UTF-8' LC_CTYPE 'C.UTF-8' "
            "TEMPLATE template0")


def apply_baseline(db) -> None:
    """Create the extensions and the baseline schema (inside the caller's transaction)."""
    for extension in EXTENSIONS:
        db.execute(f"CREATE EXTENSION IF NOT EXISTS {extension}")
    for sql in BASELINE:
        db.execute(sql)
