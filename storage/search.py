"""Tables of the search side: search documents with their FTS5 trigram index (kept by
triggers), the embedding cache, and suggestion feedback."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlite_utils

from storage import trigrams
from storage.db import is_postgres


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


def m012_index_queue(db: sqlite_utils.Database) -> None:
    """Migration 12: the documents whose vectors are not written yet, queued in the
    transaction that adds or deletes them (`reply`: 'saved:<id>' or 'past:<id>', what the
    library page counts; `queued_at`: ISO-8601 UTC, for the age of the oldest change)."""
    db.execute("""CREATE TABLE index_queue (
        id INTEGER PRIMARY KEY,
        document_id INTEGER NOT NULL,
        reply TEXT NOT NULL,
        queued_at TEXT NOT NULL
    )""")


# ---- queries

_CHUNK = 500  # values per `IN (?, …)` list, well under SQLite's parameter limit


def _chunks(values: list) -> list[list]:
    return [values[start : start + _CHUNK] for start in range(0, len(values), _CHUNK)]


def _marks(values) -> str:
    return ",".join("?" * len(values))


def document_rows(
    db: sqlite_utils.Database, columns: tuple[str, ...], ids: list[int] | None = None
) -> list[dict]:
    """`columns` of every document, or of these ids, by id: list[dict] rows."""
    select = f"SELECT {', '.join(columns)} FROM documents"
    if ids is None:
        return list(db.query(select + " ORDER BY id"))
    rows: list[dict] = []
    for chunk in _chunks(ids):
        rows += db.query(f"{select} WHERE id IN ({_marks(chunk)}) ORDER BY id", chunk)
    return rows


def document_ids(db: sqlite_utils.Database) -> set[int]:
    """Ids of all documents: set[int]."""
    return {row[0] for row in db.execute("SELECT id FROM documents")}


def document_counts_by_kind(db: sqlite_utils.Database) -> dict[str, int]:
    """{kind: number of documents}."""
    return dict(db.execute("SELECT kind, COUNT(*) FROM documents GROUP BY kind").fetchall())


def documents_of(db: sqlite_utils.Database, ref: str, kinds: tuple[str, ...]) -> list[dict]:
    """Documents of `ref` of these kinds: list[dict] rows with id, kind, text_hash."""
    return list(db.query(
        f"SELECT id, kind, text_hash FROM documents WHERE ref = ? AND kind IN ({_marks(kinds)})",
        [ref, *kinds]))


def delete_documents(db: sqlite_utils.Database, ids: list[int]) -> None:
    """Delete these documents (the FTS triggers follow; on PostgreSQL `storage.trigrams`
    follows here and their vectors by ON DELETE CASCADE), queueing them for the vector
    indexes (`index_queue`)."""
    if is_postgres(db):
        trigrams.count(db, [row["lexical_text"] for row in
                            document_rows(db, ("lexical_text",), list(ids))], -1)
    enqueue_documents(db, ids)
    for chunk in _chunks(ids):
        db.execute(f"DELETE FROM documents WHERE id IN ({_marks(chunk)})", chunk)


def insert_documents(db: sqlite_utils.Database, docs: list[dict]) -> None:
    """Insert document rows (kind, ref, saved_reply_id, text, lexical_text, text_hash, script)
    (on PostgreSQL also counting their trigrams, `storage.trigrams`), and queue them for the
    vector indexes (`index_queue`)."""
    if is_postgres(db):
        trigrams.count(db, [doc["lexical_text"] for doc in docs], +1)
    last = db.execute("SELECT COALESCE(MAX(id), 0) FROM documents").fetchone()[0]
    db["documents"].insert_all(docs)
    _enqueue(db, "id > ?", [last])


def reply_documents_with_reply(db: sqlite_utils.Database) -> list[dict]:
    """'reply' documents of non-archived saved replies with the reply's language, title and
    status, by document id: list[dict] rows."""
    return list(db.query(
        "SELECT d.id, d.saved_reply_id, d.text, d.text_hash, d.script, r.language, r.title, "
        "r.status FROM documents d JOIN saved_replies r ON r.id = d.saved_reply_id "
        "WHERE d.kind = 'reply' AND r.status != 'archived' ORDER BY d.id"))


def approved_library_documents(db: sqlite_utils.Database) -> list[dict]:
    """'reply' and 'question' documents of approved saved replies: list[dict] rows with id,
    kind, text_hash, script."""
    return list(db.query(
        "SELECT d.id, d.kind, d.text_hash, d.script FROM documents d JOIN saved_replies r "
        "ON r.id = d.saved_reply_id WHERE d.kind IN ('reply', 'question') "
        "AND r.status = 'approved'"))


def recent_past_documents(db: sqlite_utils.Database, teams: list[str] | None,
                          limit: int) -> list[dict]:
    """The newest `limit` 'past' documents of conversations with no team or one of `teams`
    (None: all), newest first: list[dict] rows with id, text, text_hash, script, and
    follow_up (1 when an agent had already replied in the conversation before this question,
    else 0)."""
    of_teams = "" if teams is None else f"AND (c.team = '' OR c.team IN ({_marks(teams)}))"
    return list(db.query(
        "SELECT d.id, d.text, d.text_hash, d.script, CASE WHEN EXISTS (SELECT 1 FROM messages a "
        "JOIN messages m ON m.conversation_id = a.conversation_id "
        "WHERE m.conversation_id = p.conversation_id AND m.message_id = p.message_id "
        "AND a.role = 'agent' AND a.seq < m.seq) THEN 1 ELSE 0 END AS follow_up "
        "FROM documents d JOIN past_replies p "
        "ON p.id = d.ref JOIN conversations c ON c.id = p.conversation_id "
        f"WHERE d.kind = 'past' {of_teams} ORDER BY d.id DESC LIMIT ?",
        [*(teams or []), limit]))


def ensure_fts_vocab(db: sqlite_utils.Database, fts_table: str) -> None:
    """Create the fts5vocab table `<fts_table>_vocab` (document frequencies) if missing."""
    db.execute(f"CREATE VIRTUAL TABLE IF NOT EXISTS {fts_table}_vocab "
               f"USING fts5vocab({fts_table}, 'row')")


def fts_document_count(db: sqlite_utils.Database, fts_table: str) -> int:
    """Number of documents in an FTS5 table: int."""
    return db.execute(f"SELECT COUNT(*) FROM {fts_table}_docsize").fetchone()[0]


def fts_document_frequencies(db: sqlite_utils.Database, fts_table: str,
                             terms: list[str]) -> dict[str, int]:
    """{term: documents containing it} from `<fts_table>_vocab`; absent terms are left out."""
    found: dict[str, int] = {}
    for chunk in _chunks(terms):
        found.update(db.execute(
            f"SELECT term, doc FROM {fts_table}_vocab WHERE term IN ({_marks(chunk)})",
            chunk).fetchall())
    return found


def fts_search(db: sqlite_utils.Database, fts_table: str, match: str,
               limit: int) -> list[tuple[int, float]]:
    """Up to `limit` (rowid, −bm25) pairs matching the FTS5 expression `match`, best first."""
    rows = db.execute(
        f"SELECT rowid, -bm25({fts_table}) AS score FROM {fts_table} "
        f"WHERE {fts_table} MATCH ? ORDER BY bm25({fts_table}) LIMIT ?", [match, limit])
    return [(int(rowid), float(score)) for rowid, score in rows.fetchall()]


def data_version(db: sqlite_utils.Database) -> int:
    """SQLite's data_version: changes when another connection commits: int."""
    return db.execute("PRAGMA data_version").fetchone()[0]


def cached_embeddings(db: sqlite_utils.Database, model: str,
                      hashes: list[str]) -> dict[str, bytes]:
    """{text_hash: vector bytes} of the embedding cache under `model`; misses are absent."""
    found: dict[str, bytes] = {}
    for chunk in _chunks(hashes):
        found.update(db.execute(
            f"SELECT text_hash, vector FROM embedding_cache WHERE model = ? AND text_hash IN "
            f"({_marks(chunk)})", [model, *chunk]).fetchall())
    return found


def store_embeddings(db: sqlite_utils.Database, rows: list[dict]) -> None:
    """Insert or replace embedding cache rows (model, text_hash, vector)."""
    db["embedding_cache"].insert_all(rows, replace=True)


def insert_feedback(db: sqlite_utils.Database, row: dict) -> int:
    """Store one suggestion_feedback row; returns its id: int."""
    return db["suggestion_feedback"].insert(row).last_pk


def reply_usage(db: sqlite_utils.Database, reply_id: str | None = None) -> list[dict]:
    """Per saved reply (or just `reply_id`), by id: list[dict] rows with reply_id, shown,
    inserted, edited, dismissed (feedback counts), last_inserted, sent (agent messages sent
    from it) and last_sent."""
    return list(db.query(
        """SELECT r.id AS reply_id,
               COALESCE(f.shown, 0) AS shown, COALESCE(f.inserted, 0) AS inserted,
               COALESCE(f.edited, 0) AS edited, COALESCE(f.dismissed, 0) AS dismissed,
               f.last_inserted, COALESCE(m.sent, 0) AS sent, m.last_sent
        FROM saved_replies r
        LEFT JOIN (
            SELECT suggestion_id,
                   COUNT(CASE WHEN event = 'shown' THEN 1 END) AS shown,
                   COUNT(CASE WHEN event = 'inserted' THEN 1 END) AS inserted,
                   COUNT(CASE WHEN event = 'edited' THEN 1 END) AS edited,
                   COUNT(CASE WHEN event = 'dismissed' THEN 1 END) AS dismissed,
                   MAX(CASE WHEN event = 'inserted' THEN created_at END) AS last_inserted
            FROM suggestion_feedback WHERE suggestion_kind = 'saved' GROUP BY suggestion_id
        ) f ON f.suggestion_id = r.id
        LEFT JOIN (
            SELECT saved_reply_id, COUNT(*) AS sent, MAX(created_at) AS last_sent
            FROM messages WHERE saved_reply_id IS NOT NULL GROUP BY saved_reply_id
        ) m ON m.saved_reply_id = r.id
        {where}
        ORDER BY r.id""".format(where="" if reply_id is None else "WHERE r.id = ?"),
        [] if reply_id is None else [reply_id]))


# ---- queries used by web/ (appended)


def past_document_ids(db: sqlite_utils.Database, refs: list[str]) -> dict[str, int]:
    """{past reply id: the smallest id of its `past` documents} for the given past reply ids."""
    if not refs:
        return {}
    marks = ",".join("?" * len(refs))
    return dict(db.execute(
        f"SELECT ref, MIN(id) FROM documents WHERE kind = 'past' AND ref IN ({marks}) "
        "GROUP BY ref", list(refs)).fetchall())


def past_document_ref(db: sqlite_utils.Database, document_id: int) -> str | None:
    """The past reply id of a `past` document, or None (no such document)."""
    row = db.execute("SELECT ref FROM documents WHERE id = ? AND kind = 'past'",
                     [document_id]).fetchone()
    return row[0] if row else None


# ---- change detection on both backends (appended)


def change_stamp(db: sqlite_utils.Database) -> tuple:
    """A value that changes whenever the database may have changed: on SQLite this
    connection's total_changes and data_version (other connections' commits), on PostgreSQL
    the server's WAL position (every write, committed or in this transaction, moves it)."""
    if is_postgres(db):
        return (db.execute("SELECT pg_current_wal_insert_lsn()::text").fetchone()[0],)
    return (db.conn.total_changes, data_version(db))


# ---- queries used by suggest.feedback's ranking signals (appended)


def feedback_by_user_and_day(db: sqlite_utils.Database) -> list[dict]:
    """Accepted (`inserted`) and `dismissed` events on saved replies, counted per saved reply,
    user, event and day: list[dict] with reply_id, agent (the user), event, day
    ('YYYY-MM-DD'), events."""
    return list(db.query(
        """SELECT suggestion_id AS reply_id, "user" AS agent, event,
               substr(created_at, 1, 10) AS day, COUNT(*) AS events
        FROM suggestion_feedback
        WHERE suggestion_kind = 'saved' AND event IN ('inserted', 'dismissed')
        GROUP BY suggestion_id, "user", event, substr(created_at, 1, 10)"""))


def inserted_questions(db: sqlite_utils.Database) -> list[dict]:
    """The question of each inserted saved-reply suggestion that kept it: list[dict] with
    query and reply_id, oldest first."""
    return list(db.query(
        """SELECT query, suggestion_id AS reply_id FROM suggestion_feedback
        WHERE suggestion_kind = 'saved' AND event = 'inserted' AND query != ''
        ORDER BY id"""))


# ---- queries used by suggest.sending (appended)


def inserted_events_of(db: sqlite_utils.Database, conversation_id: str) -> list[dict]:
    """The `inserted` feedback events on saved replies made for a conversation, oldest first:
    list[dict] with id, reply_id, user, created_at."""
    return list(db.query(
        'SELECT id, suggestion_id AS reply_id, "user", created_at FROM suggestion_feedback '
        "WHERE conversation_id = ? AND suggestion_kind = 'saved' AND event = 'inserted' "
        "ORDER BY created_at, id", [conversation_id]))


# ---- the index queue (appended): changes the vector indexes have not caught up with


def _enqueue(db: sqlite_utils.Database, where: str, params: list) -> None:
    queued_at = datetime.now(UTC).isoformat(timespec="milliseconds")
    db.execute(
        "INSERT INTO index_queue (document_id, reply, queued_at) SELECT id, CASE WHEN "
        "kind = 'past' THEN 'past:' || ref ELSE 'saved:' || ref END, ? FROM documents "
        f"WHERE {where} ORDER BY id", [queued_at, *params])


def enqueue_documents(db: sqlite_utils.Database, ids: list[int]) -> None:
    """Queue these documents (call before deleting them, in the same transaction)."""
    for chunk in _chunks(list(ids)):
        _enqueue(db, f"id IN ({_marks(chunk)})", chunk)


def queue_head(db: sqlite_utils.Database) -> int:
    """The id of the newest queued change, 0 when the queue is empty: int."""
    return db.execute("SELECT COALESCE(MAX(id), 0) FROM index_queue").fetchone()[0]


def dequeue(db: sqlite_utils.Database, head: int) -> int:
    """Remove the queued changes up to id `head` (the indexes have caught up with them):
    how many went, int."""
    return db.execute("DELETE FROM index_queue WHERE id <= ?", [head]).rowcount


def queue_state(db: sqlite_utils.Database) -> dict:
    """{'changes': queued changes, 'replies': distinct saved or past replies among them,
    'oldest': queued_at of the oldest (None when empty)}."""
    changes, replies, oldest = db.execute(
        "SELECT COUNT(*), COUNT(DISTINCT reply), MIN(queued_at) FROM index_queue").fetchone()
    return {"changes": int(changes), "replies": int(replies), "oldest": oldest}


def edited_ratio_by_reply(db: sqlite_utils.Database) -> list[dict]:
    """Per saved reply: reply_id, body_length (characters of its current body) and
    mean_edit_ratio of its `edited` feedback events (None without one): list[dict]."""
    return list(db.query(
        "SELECT r.id AS reply_id, LENGTH(r.body) AS body_length, f.mean_edit_ratio "
        "FROM saved_replies r LEFT JOIN (SELECT suggestion_id, AVG(edit_ratio) AS "
        "mean_edit_ratio FROM suggestion_feedback WHERE suggestion_kind = 'saved' "
        "AND event = 'edited' AND edit_ratio IS NOT NULL GROUP BY suggestion_id) f "
        "ON f.suggestion_id = r.id"))


# ---- queries used by suggest.feedback's ranking signals, lean form (appended)


def reply_uses(db: sqlite_utils.Database) -> tuple[dict[str, int], int]:
    """({saved reply id: uses} of the replies used at least once, number of saved replies):
    uses = `inserted` feedback events + agent messages sent from it, as `reply_usage`'s
    inserted + sent, without the other figures (ranking needs only these)."""
    uses = dict(db.execute(
        """SELECT r.id, COALESCE(f.n, 0) + COALESCE(m.n, 0)
        FROM saved_replies r
        LEFT JOIN (
            SELECT suggestion_id, COUNT(*) AS n FROM suggestion_feedback
            WHERE suggestion_kind = 'saved' AND event = 'inserted' GROUP BY suggestion_id
        ) f ON f.suggestion_id = r.id
        LEFT JOIN (
            SELECT saved_reply_id, COUNT(*) AS n FROM messages
            WHERE saved_reply_id IS NOT NULL GROUP BY saved_reply_id
        ) m ON m.saved_reply_id = r.id
        WHERE f.n IS NOT NULL OR m.n IS NOT NULL""").fetchall())
    replies = db.execute("SELECT COUNT(*) FROM saved_replies").fetchone()[0]
    return uses, replies
