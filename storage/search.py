"""Tables of the search side: search documents with their FTS5 trigram index (kept by
triggers), the embedding cache, and suggestion feedback."""

from __future__ import annotations

import sqlite_utils


def m003_search_documents(db: sqlite_utils.Database) -> None:
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
