"""Tables of imported conversations: conversations, their messages, and the past replies
(templated question/answer pairs) made from them."""

from __future__ import annotations

import sqlite_utils


def m002_conversations(db: sqlite_utils.Database) -> None:
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


# ---- queries


# ---- queries used by other areas (appended)
