"""Queries that find and erase one customer's rows (`replykit.forget`), plus the connection
settings erasure needs (secure_delete, emptying the WAL).

The one exception to "one storage module per group of tables": forgetting a customer reaches
every group at once (conversations, search, reviews, drafting sessions), and its queries are
only meaningful together, so they live here rather than spread over the groups' modules.
Table and column names below come from `replykit.forget`'s constants, never from input."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import sqlite_utils

from storage.db import is_postgres

# ---- queries


def _marks(values: list) -> str:
    return ",".join("?" * len(values))


def _column(db: sqlite_utils.Database, sql: str, values: list) -> list:
    """First column of `sql` (with a `{marks}` IN list) for `values`; [] when none."""
    if not values:
        return []
    return [row[0] for row in db.execute(sql.format(marks=_marks(values)), values)]


def ids_where_in(db: sqlite_utils.Database, table: str, column: str, values: list) -> list:
    """list of ids of `table`'s rows whose `column` is one of `values`."""
    return _column(db, f"SELECT id FROM {table} WHERE {column} IN ({{marks}})", values)


def count_where_in(db: sqlite_utils.Database, table: str, column: str, values: list) -> int:
    """int: how many rows of `table` have `column` in `values`."""
    found = _column(db, f"SELECT COUNT(*) FROM {table} WHERE {column} IN ({{marks}})", values)
    return found[0] if found else 0


def conversation_customers(db: sqlite_utils.Database) -> list[tuple[str, str, str]]:
    """list of (id, customer_id, customer_email) of every conversation, by id."""
    return [tuple(row) for row in db.execute(
        "SELECT id, customer_id, customer_email FROM conversations ORDER BY id")]


def conversation_details(db: sqlite_utils.Database,
                         conversations: list[str]) -> list[tuple[str, str, str, str]]:
    """list of (customer_email, customer_id, customer_name, subject) of these conversations."""
    if not conversations:
        return []
    return [tuple(row) for row in db.execute(
        "SELECT customer_email, customer_id, customer_name, subject FROM conversations "
        f"WHERE id IN ({_marks(conversations)})", conversations)]


def customer_message_texts(db: sqlite_utils.Database, conversations: list[str]) -> list[str]:
    """list of the body and clean body of every customer message of these conversations."""
    if not conversations:
        return []
    return [text for row in db.execute(
        "SELECT body, clean_body FROM messages WHERE role = 'customer' "
        f"AND conversation_id IN ({_marks(conversations)})", conversations) for text in row]


def past_document_ids(db: sqlite_utils.Database, past_replies: list[int]) -> list[int]:
    """list of the ids of the search documents of these past replies."""
    return _column(db, "SELECT id FROM documents WHERE kind = 'past' AND ref IN ({marks})",
                   past_replies)


def document_hashes(db: sqlite_utils.Database, documents: list[int]) -> list[str]:
    """list of the distinct text hashes of these documents."""
    return _column(db, "SELECT DISTINCT text_hash FROM documents WHERE id IN ({marks})",
                   documents)


def reply_document_hashes(db: sqlite_utils.Database, reply_ids: list[str]) -> list[str]:
    """list of the text hashes of these saved replies' documents (reply texts and questions)."""
    return _column(db, "SELECT text_hash FROM documents WHERE kind IN ('reply', 'question') "
                   "AND ref IN ({marks})", reply_ids)


def hash_used_elsewhere(db: sqlite_utils.Database, text_hash: str, documents: list[int]) -> bool:
    """bool: whether a document other than `documents` has this text hash."""
    return db.execute(
        f"SELECT 1 FROM documents WHERE text_hash = ? AND id NOT IN ({_marks(documents)})",
        [text_hash, *documents]).fetchone() is not None


def past_feedback_ids(db: sqlite_utils.Database, past_replies: list[int]) -> list[int]:
    """list of the ids of the suggestion feedback on these past replies."""
    return _column(db, "SELECT id FROM suggestion_feedback WHERE suggestion_kind = 'past' "
                   "AND suggestion_id IN ({marks})", past_replies)


def feedback_queries(db: sqlite_utils.Database) -> list[tuple[int, str]]:
    """list of (id, query) of the suggestion feedback that kept its query."""
    return [tuple(row) for row in db.execute(
        "SELECT id, query FROM suggestion_feedback WHERE query != ''")]


def unlinked_rows(db: sqlite_utils.Database, table: str, columns: tuple[str, ...]) -> list[tuple]:
    """list of (id, *columns) of `table`'s rows linked to no conversation."""
    return [tuple(row) for row in db.execute(
        f"SELECT id, {', '.join(columns)} FROM {table} WHERE conversation_id IS NULL")]


def delete_where_in(db: sqlite_utils.Database, table: str, column: str, values: list) -> int:
    """int: rows of `table` deleted whose `column` is one of `values`."""
    if not values:
        return 0
    return db.execute(
        f"DELETE FROM {table} WHERE {column} IN ({_marks(values)})", values
    ).rowcount


def erase_feedback_queries(db: sqlite_utils.Database, feedback_ids: list[int]) -> None:
    """Empty the query of these feedback rows and unlink them from their conversation."""
    if feedback_ids:
        db.execute("UPDATE suggestion_feedback SET query = '', conversation_id = NULL "
                   f"WHERE id IN ({_marks(feedback_ids)})", feedback_ids)


def delete_unused_embeddings(db: sqlite_utils.Database, hashes: list[str]) -> int:
    """int: cached embeddings deleted among `hashes` that no document uses any more."""
    if not hashes:
        return 0
    return db.execute(
        f"DELETE FROM embedding_cache WHERE text_hash IN ({_marks(hashes)}) "
        "AND text_hash NOT IN (SELECT text_hash FROM documents)", hashes).rowcount


def optimize_fts(db: sqlite_utils.Database) -> None:
    """Merge the FTS segments so deleted documents' terms leave the index itself (SQLite; on
    PostgreSQL the trigram index's entries go with VACUUM, see `vacuum`)."""
    if is_postgres(db):
        return
    db.execute("INSERT INTO documents_fts(documents_fts) VALUES ('optimize')")


@contextmanager
def secure_delete(db: sqlite_utils.Database) -> Iterator[None]:
    """SQLite's secure_delete on (freed pages zeroed) for the block, then as before (nothing
    on PostgreSQL: `vacuum` after the commit prunes the deleted rows instead)."""
    if is_postgres(db):
        yield
        return
    previous = db.execute("PRAGMA secure_delete").fetchone()[0]
    db.execute("PRAGMA secure_delete = ON")
    try:
        yield
    finally:
        db.execute(f"PRAGMA secure_delete = {int(previous)}")


@contextmanager
def no_busy_wait(db: sqlite_utils.Database) -> Iterator[None]:
    """busy_timeout 0 for the block (a lock held elsewhere fails at once), then as before."""
    previous = db.execute("PRAGMA busy_timeout").fetchone()[0]
    db.execute("PRAGMA busy_timeout = 0")
    try:
        yield
    finally:
        db.execute(f"PRAGMA busy_timeout = {int(previous)}")


def checkpoint_truncate(db: sqlite_utils.Database) -> bool:
    """bool: whether a WAL checkpoint that empties the WAL file completed (False: busy)."""
    return not db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]


def vacuum(db, tables: list[str]) -> list[str]:
    """PostgreSQL: VACUUM each of `tables` that exists, and every vector table, outside any
    transaction, so that the dead row versions a delete leaves (they still hold the deleted
    text) are pruned from the tables, their TOAST data and their indexes; the names vacuumed."""
    present = db.table_names()
    names = [t for t in tables if t in present] + sorted(
        t for t in present if t.startswith("vectors_"))
    for name in names:  # names from code and the catalogue, never from input
        db.execute(f'VACUUM "{name}"')
    return names
