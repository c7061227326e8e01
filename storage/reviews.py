"""Tables of reviews: rubric versions, drafts sent for review, reviews with their ratings
and history, assignments and disputes (migrations 100-199, listed in storage.migrations).
Every table carries a nullable team_id for future multi-team use."""

from __future__ import annotations

import sqlite_utils


def m100_reviews(db: sqlite_utils.Database) -> None:
    """Rubric versions, review drafts, reviews with their ratings, assignments, disputes and
    the review history."""
    for sql in (
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
            team_id TEXT
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
    ):
        db.execute(sql)


# ---- queries


# ---- queries used by web/ (appended)
