"""Tables of the saved-reply library: replies, their versions and example questions,
attachments, and where proposals came from."""

from __future__ import annotations

import sqlite_utils


def m001_library(db: sqlite_utils.Database) -> None:
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


def m004_conversation_links(db: sqlite_utils.Database) -> None:
    """Migration 4: feedback and proposals remember the conversation they came from."""
    for sql in (
        "ALTER TABLE suggestion_feedback ADD COLUMN conversation_id TEXT",
        "CREATE INDEX feedback_conversation ON suggestion_feedback(conversation_id)",
        """CREATE TABLE proposal_sources (
            reply_id TEXT NOT NULL REFERENCES saved_replies(id) ON DELETE CASCADE,
            conversation_id TEXT NOT NULL,
            PRIMARY KEY (reply_id, conversation_id)
        )""",
        "CREATE INDEX proposal_sources_conversation ON proposal_sources(conversation_id)",
    ):
        db.execute(sql)
