"""Tables of the saved-reply library: replies, their versions and example questions,
attachments, and where proposals came from."""

from __future__ import annotations

import sqlite_utils

from storage.db import is_postgres


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



def m006_reply_actions(db: sqlite_utils.Database) -> None:
    """Migration 6: what a saved reply does to the ticket besides its text (set tags, status,
    assignee...), a JSON list, in the reply and in each stored version."""
    for table in ("saved_replies", "saved_reply_versions"):
        db.execute(f"ALTER TABLE {table} ADD COLUMN actions TEXT NOT NULL DEFAULT '[]'")


# ---- queries

_REPLY_TEXTS = (
    "SELECT id, title FROM saved_replies UNION ALL SELECT id, body FROM saved_replies "
    "UNION ALL SELECT reply_id, title FROM saved_reply_versions "
    "UNION ALL SELECT reply_id, body FROM saved_reply_versions "
    "UNION ALL SELECT reply_id, note FROM saved_reply_versions "
    "UNION ALL SELECT reply_id, question FROM reply_questions"
)


def _marks(values) -> str:
    return ",".join("?" * len(values))


def reply_row(db: sqlite_utils.Database, reply_id: str) -> dict | None:
    """The saved_replies row of `reply_id` (tags and teams as JSON text), or None."""
    return next(db.query("SELECT * FROM saved_replies WHERE id = ?", [reply_id]), None)


def reply_version(db: sqlite_utils.Database, reply_id: str) -> int | None:
    """The current version number of a saved reply, or None if there is no such reply."""
    row = db.execute("SELECT version FROM saved_replies WHERE id = ?", [reply_id]).fetchone()
    return row[0] if row else None


def reply_ids(db: sqlite_utils.Database) -> set[str]:
    """Ids of all saved replies: set[str]."""
    return {row[0] for row in db.execute("SELECT id FROM saved_replies")}


def reply_rows(db: sqlite_utils.Database, ids: list[str]) -> list[dict]:
    """id, title, body, tags, language, status, folder, teams of these saved replies (tags and
    teams as JSON text): list[dict] rows."""
    if not ids:
        return []
    return list(db.query(
        "SELECT id, title, body, tags, language, status, folder, teams FROM saved_replies "
        f"WHERE id IN ({_marks(ids)})", ids))


def find_reply_rows(
    db: sqlite_utils.Database,
    status: str | None = None,
    language: str | None = None,
    folder: str | None = None,
    tag: str | None = None,
    text: str | None = None,
) -> list[dict]:
    """saved_replies rows with this status, language, folder (or a folder below it), tag and
    text in the title or body (case-insensitive), by folder, title, id: list[dict] rows."""
    where, params = [], []
    if status:
        where.append("status = ?")
        params.append(status)
    if language:
        where.append("language = ?")
        params.append(language)
    if folder is not None:
        where.append("(folder = ? OR folder LIKE ? ESCAPE '\\')")
        escaped = folder.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        params += [folder, escaped + "/%"]
    if tag:
        elements = ("jsonb_array_elements_text(saved_replies.tags::jsonb) AS t(value)"
                    if is_postgres(db) else "json_each(saved_replies.tags)")
        where.append(f"EXISTS (SELECT 1 FROM {elements} WHERE value = ?)")
        params.append(tag)
    if text:
        find = "strpos" if is_postgres(db) else "instr"
        where.append(f"({find}(lower(title), lower(?)) > 0 OR {find}(lower(body), lower(?)) > 0)")
        params += [text, text]
    sql = "SELECT * FROM saved_replies"
    if where:
        sql += " WHERE " + " AND ".join(where)
    return list(db.query(sql + " ORDER BY folder, title, id", params))


def write_reply(db: sqlite_utils.Database, row: dict) -> None:
    """Insert or replace the saved_replies row `row` (keyed by id)."""
    db["saved_replies"].upsert(row, pk="id")


def update_reply(db: sqlite_utils.Database, reply_id: str, fields: dict) -> None:
    """Set these columns (names from code) of a saved reply's current row."""
    sets = ", ".join(f"{column} = ?" for column in fields)
    db.execute(f"UPDATE saved_replies SET {sets} WHERE id = ?", [*fields.values(), reply_id])


def reply_questions(db: sqlite_utils.Database, reply_id: str) -> list[str]:
    """A saved reply's example questions, in order: list[str]."""
    return [row[0] for row in db.execute(
        "SELECT question FROM reply_questions WHERE reply_id = ? ORDER BY position", [reply_id])]


def replace_questions(db: sqlite_utils.Database, reply_id: str, questions: list[str]) -> None:
    """Make a saved reply's example questions exactly `questions`, in this order."""
    db.execute("DELETE FROM reply_questions WHERE reply_id = ?", [reply_id])
    db["reply_questions"].insert_all(
        {"reply_id": reply_id, "position": i, "question": q} for i, q in enumerate(questions))


def insert_version(db: sqlite_utils.Database, row: dict) -> None:
    """Store one saved_reply_versions row."""
    db["saved_reply_versions"].insert(row)


def version_rows(db: sqlite_utils.Database, reply_id: str,
                 version: int | None = None) -> list[dict]:
    """saved_reply_versions rows of a reply (only `version` if given), oldest first (tags,
    teams and questions as JSON text): list[dict]."""
    sql = "SELECT * FROM saved_reply_versions WHERE reply_id = ?"
    params: list = [reply_id]
    if version is not None:
        sql += " AND version = ?"
        params.append(version)
    return list(db.query(sql + " ORDER BY version", params))


def update_version(db: sqlite_utils.Database, reply_id: str, version: int, fields: dict) -> None:
    """Set these columns (names from code) of one stored version."""
    sets = ", ".join(f"{column} = ?" for column in fields)
    db.execute(f"UPDATE saved_reply_versions SET {sets} WHERE reply_id = ? AND version = ?",
               [*fields.values(), reply_id, version])


def question_lists(db: sqlite_utils.Database) -> list[tuple[str, str]]:
    """(reply id, JSON list of questions) of every stored version and every current example
    question: list[tuple]."""
    as_list = "json_build_array(question)::text" if is_postgres(db) else "json_array(question)"
    return db.execute(
        "SELECT reply_id, questions FROM saved_reply_versions UNION ALL "
        f"SELECT reply_id, {as_list} FROM reply_questions").fetchall()


def reply_texts(db: sqlite_utils.Database) -> list[tuple[str, str]]:
    """(reply id, text) of every title, body, version note and example question, current and
    past: list[tuple]."""
    return db.execute(_REPLY_TEXTS).fetchall()


def insert_proposal_source(db: sqlite_utils.Database, reply_id: str,
                           conversation_id: str) -> None:
    """Link a proposed saved reply to the conversation it was written from."""
    db["proposal_sources"].insert({"reply_id": reply_id, "conversation_id": conversation_id})


def proposed_from(db: sqlite_utils.Database, conversation_ids: list[str]) -> list[str]:
    """Ids of saved replies proposed from any of these conversations: list[str]."""
    if not conversation_ids:
        return []
    return [row[0] for row in db.execute(
        "SELECT DISTINCT reply_id FROM proposal_sources WHERE conversation_id IN "
        f"({_marks(conversation_ids)})", conversation_ids)]


def delete_proposal_sources(db: sqlite_utils.Database, reply_id: str) -> None:
    """Unlink a saved reply from the conversations it was proposed from."""
    db.execute("DELETE FROM proposal_sources WHERE reply_id = ?", [reply_id])


def attachment_rows(db: sqlite_utils.Database, reply_id: str) -> list[dict]:
    """A reply's attachments (filename, size, content_type, sha256, created_at) by filename:
    list[dict] rows."""
    return list(db.query(
        "SELECT filename, size, content_type, sha256, created_at FROM attachments "
        "WHERE reply_id = ? ORDER BY filename", [reply_id]))


def insert_attachment(db: sqlite_utils.Database, row: dict) -> None:
    """Store an attachments row, replacing one with the same reply and filename."""
    db["attachments"].insert(row, replace=True)


def delete_attachments(db: sqlite_utils.Database, reply_id: str,
                       filename: str | None = None) -> None:
    """Delete a reply's attachment rows (only `filename` if given)."""
    if filename is None:
        db.execute("DELETE FROM attachments WHERE reply_id = ?", [reply_id])
    else:
        db.execute("DELETE FROM attachments WHERE reply_id = ? AND filename = ?",
                   [reply_id, filename])


def redirect_reply(db: sqlite_utils.Database, old_id: str, new_id: str) -> None:
    """Point what used saved reply `old_id` at `new_id`: sent messages, past replies,
    feedback and past replies' search documents."""
    for table, column in (("messages", "saved_reply_id"), ("past_replies", "saved_reply_id")):
        db.execute(f"UPDATE {table} SET {column} = ? WHERE {column} = ?", [new_id, old_id])
    db.execute("UPDATE suggestion_feedback SET suggestion_id = ? WHERE suggestion_kind = "
               "'saved' AND suggestion_id = ?", [new_id, old_id])
    db.execute("UPDATE documents SET saved_reply_id = ? WHERE kind = 'past' "
               "AND saved_reply_id = ?", [new_id, old_id])


def has_replies_by(db: sqlite_utils.Database, author: str) -> bool:
    """bool: whether any saved reply was written by `author` (the demo data's is 'demo')."""
    return db.execute(
        "SELECT 1 FROM saved_replies WHERE author = ? LIMIT 1", [author]).fetchone() is not None


# ---- queries used by web/ (appended)


def saved_reply_teams(db: sqlite_utils.Database, reply_id: str) -> str | None:
    """The saved reply's `teams` column (a JSON list), or None when there is no such reply."""
    row = db.execute("SELECT teams FROM saved_replies WHERE id = ?", [reply_id]).fetchone()
    return row[0] if row else None


def attachment_rows_of(db: sqlite_utils.Database, reply_ids: list[str]) -> list[dict]:
    """The attachments (reply_id, filename, size, content_type) of these saved replies, by
    reply and filename: list[dict] rows."""
    if not reply_ids:
        return []
    return list(db.query(
        "SELECT reply_id, filename, size, content_type FROM attachments "
        f"WHERE reply_id IN ({_marks(reply_ids)}) ORDER BY reply_id, filename", reply_ids))
