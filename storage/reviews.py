"""Tables of reviews: rubric versions, drafts sent for review, reviews with their ratings
and history, assignments and disputes (migrations 100-199, listed in storage.migrations).
Every table carries a nullable team_id for future multi-team use."""

from __future__ import annotations

import sqlite_utils

from storage.db import is_postgres


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


def m101_calibration_sessions(db: sqlite_utils.Database) -> None:
    """Calibration sessions: a lead's shared sample that every participant scores blind."""
    for sql in (
        """CREATE TABLE calibration_sessions (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL,
            rubric_name TEXT NOT NULL,
            rubric_version INTEGER NOT NULL,
            period_start TEXT NOT NULL,
            period_end TEXT NOT NULL,
            agent TEXT NOT NULL DEFAULT '',
            team TEXT NOT NULL DEFAULT '',
            size INTEGER NOT NULL,
            seed TEXT NOT NULL,
            created_by TEXT NOT NULL,
            created_by_id INTEGER,
            created_at TEXT NOT NULL,
            team_id TEXT,
            FOREIGN KEY (rubric_name, rubric_version)
                REFERENCES rubric_versions(name, version)
        )""",
        """CREATE TABLE calibration_participants (
            session_id INTEGER NOT NULL REFERENCES calibration_sessions(id) ON DELETE CASCADE,
            reviewer_id INTEGER NOT NULL,
            reviewer TEXT NOT NULL,
            team_id TEXT,
            PRIMARY KEY (session_id, reviewer_id)
        )""",
        "CREATE INDEX calibration_participants_reviewer ON calibration_participants(reviewer_id)",
    ):
        db.execute(sql)


def m102_calibration_items(db: sqlite_utils.Database) -> None:
    """The replies of each calibration session (erased with their message)."""
    for sql in (
        """CREATE TABLE calibration_items (
            session_id INTEGER NOT NULL REFERENCES calibration_sessions(id) ON DELETE CASCADE,
            conversation_id TEXT NOT NULL,
            message_id TEXT NOT NULL,
            author TEXT NOT NULL,
            sent_at TEXT NOT NULL,
            team_id TEXT,
            PRIMARY KEY (session_id, conversation_id, message_id),
            FOREIGN KEY (conversation_id, message_id)
                REFERENCES messages(conversation_id, message_id) ON DELETE CASCADE
        )""",
        "CREATE INDEX calibration_items_reply ON calibration_items(conversation_id, message_id)",
    ):
        db.execute(sql)


# ---- queries

# rubric versions


def latest_rubric_version(db: sqlite_utils.Database, name: str) -> int | None:
    """Newest stored version number of rubric `name`: int | None."""
    return db.execute(
        "SELECT MAX(version) FROM rubric_versions WHERE name = ?", [name]
    ).fetchone()[0]


def rubric_version(db: sqlite_utils.Database, name: str, version: int) -> dict | None:
    """One stored rubric version (definition, source, created_by, created_at): dict | None."""
    rows = list(db.query(
        "SELECT * FROM rubric_versions WHERE name = ? AND version = ?", [name, version]))
    return rows[0] if rows else None


def rubric_names(db: sqlite_utils.Database) -> list[dict]:
    """Each stored rubric by name: list[dict] of name, versions (comma-separated), latest."""
    joined = ("string_agg(version::text, ',' ORDER BY version)" if is_postgres(db)
              else "GROUP_CONCAT(version)")
    return list(db.query(
        f"SELECT name, {joined} AS versions, MAX(version) AS latest "
        "FROM rubric_versions GROUP BY name ORDER BY name"
    ))


def insert_rubric_version(db: sqlite_utils.Database, row: dict) -> None:
    """Store one rubric version row."""
    db["rubric_versions"].insert(row)


# reviews, their ratings and history


def review(db: sqlite_utils.Database, review_id: int) -> dict | None:
    """The reviews row `review_id`: dict | None."""
    rows = list(db.query("SELECT * FROM reviews WHERE id = ?", [review_id]))
    return rows[0] if rows else None


def reviewer_review_of(
    db: sqlite_utils.Database, reviewer: str, kind: str, conversation_id: str | None,
    message_id: str | None, draft_id: int | None,
) -> int | None:
    """Id of `reviewer`'s review of one reply (a message or a draft): int | None."""
    same = "IS NOT DISTINCT FROM" if is_postgres(db) else "IS"
    rows = list(db.query(
        f"SELECT id FROM reviews WHERE reviewer = ? AND target_kind = ? AND "
        f"(conversation_id {same} ? AND message_id {same} ? AND draft_id {same} ?)",
        [reviewer, kind, conversation_id, message_id, draft_id],
    ))
    return rows[0]["id"] if rows else None


def insert_review(db: sqlite_utils.Database, row: dict) -> int:
    """Insert a reviews row; returns its id."""
    return db["reviews"].insert(row).last_pk


def update_review(db: sqlite_utils.Database, review_id: int, changes: dict) -> None:
    """Set the columns in `changes` on review `review_id`."""
    db["reviews"].update(review_id, changes)


def find_reviews(
    db: sqlite_utils.Database, reviewer: str | None = None, author: str | None = None,
    state: str | None = None, conversation_id: str | None = None,
) -> list[dict]:
    """Reviews without their texts, newest first, filtered by the arguments that are not
    None: list[dict]."""
    where, params = [], []
    for column, value in (("reviewer", reviewer), ("author", author), ("state", state),
                          ("conversation_id", conversation_id)):
        if value is not None:
            where.append(f"{column} = ?")
            params.append(value)
    sql = ("SELECT id, target_kind, conversation_id, message_id, draft_id, author, reviewer, "
           "rubric_name, rubric_version, state, score, auto_failed, submitted_at FROM reviews")
    if where:
        sql += " WHERE " + " AND ".join(where)
    return [dict(row) for row in db.query(sql + " ORDER BY id DESC", params)]


def submitted_reviews(db: sqlite_utils.Database) -> list[dict]:
    """Submitted reviews with their target, reviewer, score and rubric version, by id:
    list[dict]."""
    return list(db.query(
        "SELECT id, target_kind, conversation_id, message_id, draft_id, reviewer, score, "
        "rubric_name, rubric_version, submitted_at FROM reviews WHERE state = 'submitted' "
        "ORDER BY id"))


def submitted_reply_reviews(db: sqlite_utils.Database) -> list[dict]:
    """Submitted reviews of sent replies with the reply's sent_at and its conversation's
    channel, by id, leaving out the reviews of a calibration session's reply until every
    participant has submitted theirs (scores stay blind until then): list[dict]."""
    return list(db.query(
        "SELECT r.id, r.conversation_id, r.message_id, r.author, r.reviewer, r.rubric_name, "
        "r.rubric_version, r.score, r.auto_failed, m.created_at AS sent_at, c.channel "
        "FROM reviews r JOIN messages m ON m.conversation_id = r.conversation_id AND "
        "m.message_id = r.message_id JOIN conversations c ON c.id = r.conversation_id "
        "WHERE r.target_kind = 'reply' AND r.state = 'submitted' AND NOT EXISTS ("
        "SELECT 1 FROM calibration_items i JOIN calibration_participants p "
        "ON p.session_id = i.session_id WHERE i.conversation_id = r.conversation_id "
        "AND i.message_id = r.message_id AND NOT EXISTS (SELECT 1 FROM reviews o "
        "WHERE o.target_kind = 'reply' AND o.conversation_id = i.conversation_id "
        "AND o.message_id = i.message_id AND o.state = 'submitted' "
        "AND o.reviewer_id = p.reviewer_id)) ORDER BY r.id"
    ))


def review_ratings(db: sqlite_utils.Database, review_id: int) -> list[dict]:
    """A review's rating rows (category, rated, rating, comment): list[dict]."""
    return list(db.query(
        "SELECT category, rated, rating, comment FROM review_ratings WHERE review_id = ?",
        [review_id],
    ))


def all_ratings(db: sqlite_utils.Database, rated_only: bool = False) -> list[dict]:
    """Every rating (review_id, category, rating), or only rated ones: list[dict]."""
    sql = "SELECT review_id, category, rating FROM review_ratings"
    return list(db.query(sql + (" WHERE rated != 0" if rated_only else "")))


def upsert_rating(db: sqlite_utils.Database, row: dict) -> None:
    """Insert or replace one review_ratings row (keyed by review_id, category)."""
    db["review_ratings"].upsert(row, pk=("review_id", "category"))


def insert_history(db: sqlite_utils.Database, row: dict) -> None:
    """Append one review_history row."""
    db["review_history"].insert(row)


def review_history(db: sqlite_utils.Database, review_id: int) -> list[dict]:
    """A review's history (event, actor, detail as stored, created_at), oldest first:
    list[dict]."""
    return list(db.query(
        "SELECT event, actor, detail, created_at FROM review_history WHERE review_id = ? "
        "ORDER BY id", [review_id]))


# assignments


def reviewed_or_assigned_replies(db: sqlite_utils.Database) -> list[dict]:
    """Replies (conversation_id, message_id) that have a review or an assignment, or are in
    a calibration session: list[dict]."""
    return list(db.query(
        "SELECT conversation_id, message_id FROM reviews WHERE target_kind = 'reply' "
        "UNION SELECT conversation_id, message_id FROM review_assignments "
        "UNION SELECT conversation_id, message_id FROM calibration_items"
    ))


def open_assignment_counts(db: sqlite_utils.Database) -> dict[str, int]:
    """Open assignments per reviewer: dict reviewer -> count."""
    return {row["reviewer"]: row["n"] for row in db.query(
        "SELECT reviewer, COUNT(*) AS n FROM review_assignments WHERE state = 'open' "
        "GROUP BY reviewer"
    )}


def insert_assignment(db: sqlite_utils.Database, row: dict) -> int:
    """Insert a review_assignments row; returns its id."""
    return db["review_assignments"].insert(row).last_pk


def open_assignments(db: sqlite_utils.Database, reviewer: str) -> list[dict]:
    """A reviewer's open assignments with the reply's sent_at and body, by id: list[dict]."""
    return [dict(row) for row in db.query(
        "SELECT a.id, a.conversation_id, a.message_id, a.author, a.period, "
        "m.created_at AS sent_at, m.body FROM review_assignments a JOIN messages m "
        "ON m.conversation_id = a.conversation_id AND m.message_id = a.message_id "
        "WHERE a.reviewer = ? AND a.state = 'open' ORDER BY a.id", [reviewer])]


def close_assignment(
    db: sqlite_utils.Database, review_id: int, reviewer: str, conversation_id: str,
    message_id: str,
) -> None:
    """Mark `reviewer`'s open assignment of one reply done by review `review_id`."""
    db.execute(
        "UPDATE review_assignments SET state = 'done', review_id = ? WHERE state = 'open'"
        " AND reviewer = ? AND conversation_id = ? AND message_id = ?",
        [review_id, reviewer, conversation_id, message_id],
    )


# drafts sent for review


def review_draft(db: sqlite_utils.Database, draft_id: int) -> dict | None:
    """The review_drafts row `draft_id`: dict | None."""
    rows = list(db.query("SELECT * FROM review_drafts WHERE id = ?", [draft_id]))
    return rows[0] if rows else None


def insert_review_draft(db: sqlite_utils.Database, row: dict) -> int:
    """Insert a review_drafts row; returns its id."""
    return db["review_drafts"].insert(row).last_pk


def update_review_draft(db: sqlite_utils.Database, draft_id: int, changes: dict) -> None:
    """Set the columns in `changes` on draft `draft_id`."""
    db["review_drafts"].update(draft_id, changes)


def find_review_drafts(
    db: sqlite_utils.Database, author: str | None = None, state: str | None = None,
    author_id: int | None = None,
) -> list[dict]:
    """Review drafts, newest first, filtered by the arguments that are not None: list[dict]."""
    where, params = [], []
    for column, value in (("author", author), ("state", state), ("author_id", author_id)):
        if value is not None:
            where.append(f"{column} = ?")
            params.append(value)
    sql = "SELECT * FROM review_drafts" + (" WHERE " + " AND ".join(where) if where else "")
    return [dict(row) for row in db.query(sql + " ORDER BY id DESC", params)]


def drafts_awaiting(db: sqlite_utils.Database, reviewer: str) -> list[dict]:
    """Requested drafts `reviewer` may review (addressed to them or to nobody, not their
    own), by id: list[dict] of id, author, question, body, requested_at."""
    return [dict(row) for row in db.query(
        "SELECT id, author, question, body, requested_at FROM review_drafts "
        "WHERE state = 'requested' AND author != ? AND (reviewer IS NULL OR reviewer = ?) "
        "ORDER BY id", [reviewer, reviewer])]


# disputes


def dispute(db: sqlite_utils.Database, dispute_id: int) -> dict | None:
    """The review_disputes row `dispute_id`: dict | None."""
    rows = list(db.query("SELECT * FROM review_disputes WHERE id = ?", [dispute_id]))
    return rows[0] if rows else None


def review_disputes(
    db: sqlite_utils.Database, review_id: int, state: str | None = None
) -> list[dict]:
    """A review's disputes, optionally in one state, oldest first: list[dict]."""
    sql, params = "SELECT * FROM review_disputes WHERE review_id = ?", [review_id]
    if state is not None:
        sql, params = sql + " AND state = ?", [review_id, state]
    return list(db.query(sql + " ORDER BY id", params))


def find_disputes(db: sqlite_utils.Database, state: str | None = None) -> list[dict]:
    """Disputes, newest first, optionally in one state: list[dict]."""
    sql, params = "SELECT * FROM review_disputes", []
    if state is not None:
        sql, params = sql + " WHERE state = ?", [state]
    return [dict(row) for row in db.query(sql + " ORDER BY id DESC", params)]


def insert_dispute(db: sqlite_utils.Database, row: dict) -> int:
    """Insert a review_disputes row; returns its id."""
    return db["review_disputes"].insert(row).last_pk


def update_dispute(db: sqlite_utils.Database, dispute_id: int, changes: dict) -> None:
    """Set the columns in `changes` on dispute `dispute_id`."""
    db["review_disputes"].update(dispute_id, changes)


# ---- queries used by web/ (appended)


def review_ids_of_reviewer(
    db: sqlite_utils.Database, reviewer_id: int, name: str | None
) -> set[int]:
    """Ids of the reviews by `reviewer_id`, or by display name `name` for reviews without a
    reviewer id (None: none of those): set[int]."""
    return {row[0] for row in db.execute(
        "SELECT id FROM reviews WHERE reviewer_id = ? OR (reviewer_id IS NULL AND reviewer = ?)",
        [reviewer_id, name])}


def reviewing_conversation_ids(
    db: sqlite_utils.Database, reviewer_id: int, name: str | None
) -> set[str]:
    """Conversations holding a reply the reviewer reviews: a review by id (or by display name
    `name` without an id), an assignment to `name`, or a draft addressed to the id: set[str]."""
    return {row[0] for row in db.execute(
        "SELECT conversation_id FROM reviews WHERE reviewer_id = ? "
        "OR (reviewer_id IS NULL AND reviewer = ?) UNION "
        "SELECT conversation_id FROM review_assignments WHERE reviewer = ? UNION "
        "SELECT conversation_id FROM review_drafts WHERE reviewer_id = ?",
        [reviewer_id, name, name, reviewer_id])}


def review_draft_ids_for_reviewer(db: sqlite_utils.Database, reviewer_id: int) -> set[int]:
    """Ids of the drafts addressed to `reviewer_id` or to any reviewer: set[int]."""
    return {row[0] for row in db.execute(
        "SELECT id FROM review_drafts WHERE reviewer IS NULL OR reviewer_id = ?", [reviewer_id])}


# calibration sessions (rubrics.calibration_sessions)


def insert_calibration_session(db: sqlite_utils.Database, row: dict) -> int:
    """Insert a calibration_sessions row; returns its id."""
    return db.execute(
        f"INSERT INTO calibration_sessions ({', '.join(row)}) "
        f"VALUES ({', '.join('?' * len(row))}) RETURNING id", list(row.values())
    ).fetchone()[0]


def insert_calibration_participant(db: sqlite_utils.Database, row: dict) -> None:
    """Insert a calibration_participants row (session_id, reviewer_id, reviewer)."""
    db.execute("INSERT INTO calibration_participants (session_id, reviewer_id, reviewer) "
               "VALUES (?, ?, ?)", [row["session_id"], row["reviewer_id"], row["reviewer"]])


def insert_calibration_item(db: sqlite_utils.Database, row: dict) -> None:
    """Insert a calibration_items row (session_id, conversation_id, message_id, author,
    sent_at)."""
    db.execute("INSERT INTO calibration_items (session_id, conversation_id, message_id, "
               "author, sent_at) VALUES (?, ?, ?, ?, ?)",
               [row["session_id"], row["conversation_id"], row["message_id"], row["author"],
                row["sent_at"]])


def calibration_session(db: sqlite_utils.Database, session_id: int) -> dict | None:
    """The calibration_sessions row `session_id`: dict | None."""
    rows = list(db.query("SELECT * FROM calibration_sessions WHERE id = ?", [session_id]))
    return dict(rows[0]) if rows else None


def calibration_participants(db: sqlite_utils.Database, session_id: int) -> list[dict]:
    """A session's participants (reviewer_id, reviewer), by name: list[dict]."""
    return [dict(row) for row in db.query(
        "SELECT reviewer_id, reviewer FROM calibration_participants WHERE session_id = ? "
        "ORDER BY reviewer, reviewer_id", [session_id])]


def calibration_items(db: sqlite_utils.Database, session_id: int) -> list[dict]:
    """A session's replies (conversation_id, message_id, author, sent_at), oldest first:
    list[dict]."""
    return [dict(row) for row in db.query(
        "SELECT conversation_id, message_id, author, sent_at FROM calibration_items "
        "WHERE session_id = ? ORDER BY sent_at, conversation_id, message_id", [session_id])]


def calibration_item_reviews(db: sqlite_utils.Database, session_id: int) -> list[dict]:
    """The reviews of a session's replies (id, conversation_id, message_id, reviewer,
    reviewer_id, state, score, rubric_name, rubric_version), by id: list[dict]."""
    return [dict(row) for row in db.query(
        "SELECT r.id, r.conversation_id, r.message_id, r.reviewer, r.reviewer_id, r.state, "
        "r.score, r.rubric_name, r.rubric_version FROM reviews r JOIN calibration_items i "
        "ON i.conversation_id = r.conversation_id AND i.message_id = r.message_id "
        "WHERE i.session_id = ? AND r.target_kind = 'reply' ORDER BY r.id", [session_id])]


def calibration_sessions_of(db: sqlite_utils.Database, user_id: int | None) -> list[dict]:
    """Sessions created by or shared with user `user_id` (None: every session), newest
    first, with their number of replies and participants: list[dict]."""
    sql = ("SELECT s.*, (SELECT COUNT(*) FROM calibration_items i WHERE i.session_id = s.id) "
           "AS replies, (SELECT COUNT(*) FROM calibration_participants p "
           "WHERE p.session_id = s.id) AS participants FROM calibration_sessions s")
    params: list = []
    if user_id is not None:
        sql += (" WHERE s.created_by_id = ? OR s.id IN (SELECT session_id FROM "
                "calibration_participants WHERE reviewer_id = ?)")
        params = [user_id, user_id]
    return [dict(row) for row in db.query(sql + " ORDER BY s.id DESC", params)]


def participant_item_reviews(db: sqlite_utils.Database, reviewer_id: int) -> list[dict]:
    """For every reply of the sessions user `reviewer_id` takes part in: each of its reviews
    (session_id, conversation_id, message_id, review_id or None, state, reviewer_id),
    by session: list[dict]."""
    return [dict(row) for row in db.query(
        "SELECT i.session_id, i.conversation_id, i.message_id, r.id AS review_id, r.state, "
        "r.reviewer_id FROM calibration_participants p JOIN calibration_items i "
        "ON i.session_id = p.session_id LEFT JOIN reviews r ON r.target_kind = 'reply' "
        "AND r.conversation_id = i.conversation_id AND r.message_id = i.message_id "
        "WHERE p.reviewer_id = ? ORDER BY i.session_id, i.sent_at, r.id", [reviewer_id])]
