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


def m005_past_reply_titles(db: sqlite_utils.Database) -> None:
    """Migration 5, its schema part: past replies get a templated `title` (the data part,
    templating every past reply again, is suggest.conversations.m005_templated_titles)."""
    db.execute("ALTER TABLE past_replies ADD COLUMN title TEXT NOT NULL DEFAULT ''")


# ---- queries

_PAST_COLUMNS = ("id", "question", "answer", "title", "saved_reply_id")


def _marks(values) -> str:
    return ",".join("?" * len(values))


def conversation_ids(db: sqlite_utils.Database) -> list[str]:
    """Ids of all conversations, sorted: list[str]."""
    return [row[0] for row in db.execute("SELECT id FROM conversations ORDER BY id").fetchall()]


def store_conversation(db: sqlite_utils.Database, conversation_id: str, fields: dict,
                       message_at: str) -> None:
    """Create the conversation if missing, set `fields` (column names from code; a
    `customer_name` is only set while empty: the first customer author names the customer)
    and move first_message_at back to `message_at` if that is earlier. One statement: it
    runs once per imported message (a round trip each on PostgreSQL)."""
    sets = ["first_message_at = CASE WHEN conversations.first_message_at IS NULL OR "
            "conversations.first_message_at > excluded.first_message_at THEN "
            "excluded.first_message_at ELSE conversations.first_message_at END"]
    sets += ["customer_name = CASE conversations.customer_name WHEN '' THEN "
             "excluded.customer_name ELSE conversations.customer_name END"
             if column == "customer_name" else f"{column} = excluded.{column}"
             for column in fields]
    columns = ["id", "first_message_at", *fields]
    db.execute(
        f"INSERT INTO conversations ({', '.join(columns)}) VALUES ({_marks(columns)}) "
        f"ON CONFLICT (id) DO UPDATE SET {', '.join(sets)}",
        [conversation_id, message_at, *fields.values()])


def message_content(db: sqlite_utils.Database, conversation_id: str,
                    message_id: str) -> tuple[str, str, str] | None:
    """(role, created_at, body) of a stored message, or None."""
    return db.execute(
        "SELECT role, created_at, body FROM messages WHERE conversation_id = ? AND message_id = ?",
        [conversation_id, message_id]).fetchone()


def last_message_seq(db: sqlite_utils.Database) -> int:
    """The highest message sequence number (0 when there are no messages): int."""
    return db.execute("SELECT COALESCE(MAX(seq), 0) FROM messages").fetchone()[0]


def insert_message(db: sqlite_utils.Database, row: dict) -> None:
    """Store one messages row."""
    db["messages"].insert(row)


def conversation_clean_messages(db: sqlite_utils.Database, conversation_id: str) -> list[dict]:
    """message_id, role, author, created_at, clean_body, saved_reply_id of a conversation's
    messages in time order: list[dict] rows."""
    return list(db.query(
        "SELECT message_id, role, author, created_at, clean_body, saved_reply_id "
        "FROM messages WHERE conversation_id = ? ORDER BY created_at, seq", [conversation_id]))


def stored_past_replies(db: sqlite_utils.Database, conversation_id: str) -> list[dict]:
    """id, question, answer, title, saved_reply_id of a conversation's past replies:
    list[dict] rows."""
    return list(db.query(
        f"SELECT {', '.join(_PAST_COLUMNS)} FROM past_replies WHERE conversation_id = ?",
        [conversation_id]))


def past_replies_with_team(db: sqlite_utils.Database, ids: list[str]) -> list[dict]:
    """id, conversation_id, question, answer, agent, saved_reply_id, title and the
    conversation's team of these past replies: list[dict] rows."""
    if not ids:
        return []
    return list(db.query(
        "SELECT p.id, p.conversation_id, p.question, p.answer, p.agent, p.saved_reply_id, "
        "p.title, c.team FROM past_replies p JOIN conversations c "
        f"ON c.id = p.conversation_id WHERE p.id IN ({_marks(ids)})", ids))


def write_past_reply(db: sqlite_utils.Database, row: dict) -> None:
    """Insert or replace a past_replies row (keyed by id)."""
    db["past_replies"].upsert(row, pk="id")


def delete_past_reply(db: sqlite_utils.Database, past_id: str) -> None:
    """Delete one past reply."""
    db.execute("DELETE FROM past_replies WHERE id = ?", [past_id])



# ---- queries used by other areas (appended)


# queries for web/ (access rules, the agent workspace, reports, reviews)

# a conversation `c` is in an agent's queue while the customer wrote last and it is not closed
IN_QUEUE = ("lower(c.status) NOT IN ('closed', 'resolved') AND (SELECT role FROM messages "
            "WHERE conversation_id = c.id ORDER BY seq DESC LIMIT 1) = 'customer'")


def conversation_team(db: sqlite_utils.Database, conversation_id: str | None) -> str | None:
    """The conversation's team ('' for none), or None when there is no such conversation."""
    row = db.execute("SELECT team FROM conversations WHERE id = ?", [conversation_id]).fetchone()
    return row[0] if row else None


def conversation_row(db: sqlite_utils.Database, conversation_id: str) -> dict | None:
    """The `conversations` row, or None."""
    rows = list(db.query("SELECT * FROM conversations WHERE id = ?", [conversation_id]))
    return rows[0] if rows else None


def conversation_messages(db: sqlite_utils.Database, conversation_id: str) -> list[dict]:
    """Messages {"message_id", "role", "author", "created_at", "body"} in order."""
    return [dict(m) for m in db.query(
        "SELECT message_id, role, author, created_at, body FROM messages "
        "WHERE conversation_id = ? ORDER BY created_at, seq", [conversation_id])]


def queued_conversations(
    db: sqlite_utils.Database, teams: list[str] | None, limit: int
) -> list[dict]:
    """Conversations in the queue (IN_QUEUE) of `teams` or of no team (None: all teams),
    newest last message first: {"id", "subject", "customer_name", "channel", "team",
    "status", "last", "last_at"}."""
    marks = ",".join("?" * len(teams or []))
    team_filter = "" if teams is None else f"AND (c.team = '' OR c.team IN ({marks}))"
    return [dict(r) for r in db.query(
        f"""SELECT c.id, c.subject, c.customer_name, c.channel, c.team, c.status, m.body AS last,
                  m.created_at AS last_at
           FROM conversations c JOIN messages m ON m.conversation_id = c.id
           WHERE m.seq = (SELECT MAX(seq) FROM messages WHERE conversation_id = c.id)
             AND {IN_QUEUE} {team_filter}
           ORDER BY m.created_at DESC LIMIT ?""", [*(teams or []), limit])]


def conversation_teams_queued(db: sqlite_utils.Database, ids: list[str]) -> list[tuple]:
    """(id, team, queued) of the existing conversations among `ids`; queued: 1 if in the
    queue (IN_QUEUE), else 0."""
    if not ids:
        return []
    marks = ",".join("?" * len(ids))
    return db.execute(
        f"SELECT c.id, c.team, {IN_QUEUE} AS queued FROM conversations c WHERE c.id IN ({marks})",
        list(ids)).fetchall()


def past_reply_team(db: sqlite_utils.Database, past_id: str | None) -> str | None:
    """The team of the past reply's conversation ('' for none), or None when there is no
    such past reply."""
    row = db.execute("SELECT c.team FROM past_replies p JOIN conversations c "
                     "ON c.id = p.conversation_id WHERE p.id = ?", [past_id]).fetchone()
    return row[0] if row else None


def past_reply_answer(db: sqlite_utils.Database, past_id: str) -> str | None:
    """The stored answer of a past reply, or None."""
    row = db.execute("SELECT answer FROM past_replies WHERE id = ?", [past_id]).fetchone()
    return row[0] if row else None


def message_with_question(
    db: sqlite_utils.Database, conversation_id: str, message_id: str
) -> dict | None:
    """{"body", "question"} of a message (question: of its past reply, None if it has none),
    or None when there is no such message."""
    rows = list(db.query(
        "SELECT m.body, p.question FROM messages m LEFT JOIN past_replies p ON "
        "p.conversation_id = m.conversation_id AND p.message_id = m.message_id "
        "WHERE m.conversation_id = ? AND m.message_id = ?", [conversation_id, message_id]))
    return rows[0] if rows else None


def latest_message_at(db: sqlite_utils.Database) -> str | None:
    """The newest message's `created_at`, or None when there are none."""
    return db.execute("SELECT MAX(created_at) FROM messages").fetchone()[0]


# queries for rubrics/ (reviews, assignments, speed and quality reports)


def message_row(db: sqlite_utils.Database, conversation_id: str, message_id: str) -> dict | None:
    """The `messages` row, or None."""
    rows = list(db.query("SELECT * FROM messages WHERE conversation_id = ? AND message_id = ?",
                         [conversation_id, message_id]))
    return rows[0] if rows else None


def agent_messages(
    db: sqlite_utils.Database, with_author: bool = False, with_text: bool = False
) -> list[dict]:
    """Agent messages {"conversation_id", "message_id", "author", "created_at"} by
    conversation and seq; `with_author`: only those with an author, `with_text`: only those
    with a clean body."""
    sql = ("SELECT conversation_id, message_id, author, created_at FROM messages "
           "WHERE role = 'agent'")
    sql += " AND author != ''" if with_author else ""
    sql += " AND clean_body != ''" if with_text else ""
    return list(db.query(sql + " ORDER BY conversation_id, seq"))


def conversation_ids_of_teams(db: sqlite_utils.Database, teams) -> set[str]:
    """Ids of the conversations whose team is one of `teams` ('' = no team)."""
    marks = ",".join("?" * len(teams))
    return {row[0] for row in db.execute(
        f"SELECT id FROM conversations WHERE team IN ({marks})", list(teams))}


def all_conversations(db: sqlite_utils.Database) -> list[dict]:
    """Every `conversations` row."""
    return list(db.query("SELECT * FROM conversations"))


def message_times(db: sqlite_utils.Database) -> list[dict]:
    """Every message's {"conversation_id", "message_id", "seq", "role", "author",
    "created_at"}."""
    return list(db.query(
        "SELECT conversation_id, message_id, seq, role, author, created_at FROM messages"))


# queries for rubrics.reports' quality per saved reply (appended)


def saved_reply_messages(db: sqlite_utils.Database) -> list[dict]:
    """Agent messages sent from a saved reply, with their conversation's CSAT: list[dict] with
    conversation_id, message_id, saved_reply_id, created_at, csat (None: not rated)."""
    return list(db.query(
        "SELECT m.conversation_id, m.message_id, m.saved_reply_id, m.created_at, c.csat "
        "FROM messages m JOIN conversations c ON c.id = m.conversation_id "
        "WHERE m.role = 'agent' AND m.saved_reply_id IS NOT NULL AND m.saved_reply_id != '' "
        "ORDER BY m.conversation_id, m.seq"))


# ---- survey scores and what was really sent (issue 15; appended)


def m010_survey_scores(db: sqlite_utils.Database) -> None:
    """Migration 10: a conversation's NPS (0-10) and CES (1-7) survey answers, beside csat."""
    db.execute("ALTER TABLE conversations ADD COLUMN nps INTEGER")
    db.execute("ALTER TABLE conversations ADD COLUMN ces INTEGER")


def m011_sent_replies(db: sqlite_utils.Database) -> None:
    """Migration 11: what an agent really sent (from the embed panel, or an imported or synced
    agent message), the saved reply it came from and how much the inserted text was edited."""
    for sql in (
        """CREATE TABLE sent_replies (
            id INTEGER PRIMARY KEY,
            conversation_id TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
            message_id TEXT,
            agent TEXT NOT NULL DEFAULT '',
            sent_at TEXT NOT NULL,
            text TEXT NOT NULL,
            saved_reply_id TEXT,
            inserted_text TEXT,
            edit_ratio REAL,
            source TEXT NOT NULL,
            feedback_id INTEGER,
            team_id TEXT
        )""",
        "CREATE UNIQUE INDEX sent_replies_message ON sent_replies(conversation_id, message_id)",
        "CREATE INDEX sent_replies_reply ON sent_replies(saved_reply_id)",
    ):
        db.execute(sql)


_SENT_COLUMNS = ("id", "conversation_id", "message_id", "agent", "sent_at", "text",
                 "saved_reply_id", "inserted_text", "edit_ratio", "source", "feedback_id")


def insert_sent_reply(db: sqlite_utils.Database, row: dict) -> int:
    """Store one sent_replies row (columns from _SENT_COLUMNS but id); returns its id: int."""
    columns = [c for c in _SENT_COLUMNS[1:] if c in row]
    return db.execute(
        f"INSERT INTO sent_replies ({', '.join(columns)}) VALUES ({_marks(columns)}) "
        "RETURNING id", [row[c] for c in columns]).fetchone()[0]


def sent_reply(db: sqlite_utils.Database, sent_id: int) -> dict | None:
    """One sent_replies row, or None."""
    rows = list(db.query(f"SELECT {', '.join(_SENT_COLUMNS)} FROM sent_replies WHERE id = ?",
                         [sent_id]))
    return rows[0] if rows else None


def sent_replies_of(db: sqlite_utils.Database, conversation_id: str) -> list[dict]:
    """A conversation's sent_replies rows, oldest first: list[dict]."""
    return list(db.query(
        f"SELECT {', '.join(_SENT_COLUMNS)} FROM sent_replies WHERE conversation_id = ? "
        "ORDER BY sent_at, id", [conversation_id]))


def claim_sent_reply(db: sqlite_utils.Database, sent_id: int, message_id: str,
                     sent_at: str) -> None:
    """Give a send recorded without a helpdesk message id the id (and time) of the imported
    message it turned out to be."""
    db.execute("UPDATE sent_replies SET message_id = ?, sent_at = ? WHERE id = ?",
               [message_id, sent_at, sent_id])


def agent_messages_of(db: sqlite_utils.Database, conversation_id: str) -> list[dict]:
    """A conversation's agent messages in time order: list[dict] with message_id, author,
    created_at, clean_body, saved_reply_id."""
    return list(db.query(
        "SELECT message_id, author, created_at, clean_body, saved_reply_id FROM messages "
        "WHERE conversation_id = ? AND role = 'agent' ORDER BY created_at, seq",
        [conversation_id]))


def sends(db: sqlite_utils.Database) -> list[dict]:
    """Every sent_replies row with its conversation's channel, team and survey answers:
    list[dict] with conversation_id, message_id, agent, sent_at, saved_reply_id, edit_ratio,
    text_length, source, channel, team, csat, nps, ces."""
    return list(db.query(
        "SELECT s.conversation_id, s.message_id, s.agent, s.sent_at, s.saved_reply_id, "
        "s.edit_ratio, LENGTH(s.text) AS text_length, s.source, c.channel, c.team, c.csat, "
        "c.nps, c.ces FROM sent_replies s JOIN conversations c ON c.id = s.conversation_id "
        "ORDER BY s.sent_at, s.id"))


def survey_answers(db: sqlite_utils.Database) -> list[dict]:
    """The survey answers of every conversation with at least one: list[dict] with id, csat,
    nps, ces (None: not answered)."""
    return list(db.query(
        "SELECT id, csat, nps, ces FROM conversations "
        "WHERE csat IS NOT NULL OR nps IS NOT NULL OR ces IS NOT NULL"))


def replykit_sends_by_reply(db: sqlite_utils.Database) -> list[dict]:
    """Per saved reply, its sends that went through replykit (the embed panel, or an imported
    message matched to an insertion): list[dict] with reply_id, sends, mean_edit_ratio (of
    those with a ratio, else None) and kept_chars (Σ (1 − edit ratio) × characters sent)."""
    return list(db.query(
        "SELECT saved_reply_id AS reply_id, COUNT(*) AS sends, "
        "AVG(edit_ratio) AS mean_edit_ratio, "
        "COALESCE(SUM((1 - edit_ratio) * LENGTH(text)), 0) AS kept_chars "
        "FROM sent_replies WHERE saved_reply_id IS NOT NULL "
        "AND (source = 'embed' OR feedback_id IS NOT NULL) GROUP BY saved_reply_id"))
