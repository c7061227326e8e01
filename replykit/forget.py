"""Forgetting a customer (a right-to-erasure request): everything stored about their
conversations goes, in one transaction, with SQLite's secure_delete on so the freed pages are
zeroed rather than left in the file.

A customer is found by customer id or e-mail (case-insensitive) on their conversations. Gone
afterwards: the conversations, their messages and past replies, the past replies' search
documents (FTS rows too: the FTS index is optimised so no deleted term lingers), embedding
cache entries no remaining document uses, suggestion feedback on those past replies, reviews
of the replies in those conversations (with ratings, history, disputes and assignments),
drafts sent for review and drafting sessions opened on them. The caller then syncs the vector
indexes (`SuggestEngine.sync`), which drops the vectors. What is not reachable from the
conversation (a message of another customer that quotes this one, older backups) is out of
reach by design; docs/security.md says so."""

from __future__ import annotations

from contextlib import contextmanager

import sqlite_utils

from replykit.db import write_transaction
from replykit.errors import InputError


def _marks(values: list) -> str:
    return ",".join("?" * len(values))


def _ids(db: sqlite_utils.Database, sql: str, values: list) -> list:
    """First column of `sql` for `values` (an IN list), or [] when there are no values."""
    if not values:
        return []
    return [row[0] for row in db.execute(sql.format(marks=_marks(values)), values)]


def customer_conversations(db: sqlite_utils.Database, customer: str) -> list[str]:
    """Ids of the conversations whose customer id or e-mail is `customer`."""
    customer = (customer or "").strip()
    if not customer:
        raise InputError("give a customer id or e-mail address", "--customer")
    return [
        row[0]
        for row in db.execute(
            "SELECT id FROM conversations WHERE customer_id = ? "
            "OR (customer_email != '' AND lower(customer_email) = lower(?)) ORDER BY id",
            [customer, customer],
        )
    ]


def _count(db: sqlite_utils.Database, sql: str, values: list) -> int:
    found = _ids(db, sql, values)
    return found[0] if found else 0


@contextmanager
def _secure_delete(db: sqlite_utils.Database):
    previous = db.execute("PRAGMA secure_delete").fetchone()[0]
    db.execute("PRAGMA secure_delete = ON")
    try:
        yield
    finally:
        db.execute(f"PRAGMA secure_delete = {int(previous)}")


def _delete(db: sqlite_utils.Database, table: str, column: str, values: list) -> int:
    if not values:
        return 0
    return db.execute(
        f"DELETE FROM {table} WHERE {column} IN ({_marks(values)})", values
    ).rowcount


def forget_customer(db: sqlite_utils.Database, customer: str, dry_run: bool = False) -> dict:
    """Delete everything stored about `customer` (id or e-mail); returns what was (or, with
    `dry_run`, would be) deleted, table by table."""
    with _secure_delete(db), write_transaction(db):
        conversations = customer_conversations(db, customer)
        pasts = _ids(db, "SELECT id FROM past_replies WHERE conversation_id IN ({marks})",
                     conversations)
        documents = _ids(db, "SELECT id FROM documents WHERE kind = 'past' AND ref IN ({marks})",
                         pasts)
        hashes = _ids(db, "SELECT DISTINCT text_hash FROM documents WHERE id IN ({marks})",
                      documents)
        # cached embeddings of texts no other document has (another may ask the same thing)
        orphans = [h for h in hashes if not db.execute(
            f"SELECT 1 FROM documents WHERE text_hash = ? AND id NOT IN ({_marks(documents)})",
            [h, *documents]).fetchone()]
        embeddings = _count(
            db, "SELECT COUNT(*) FROM embedding_cache WHERE text_hash IN ({marks})", orphans
        )
        review_drafts = _ids(
            db, "SELECT id FROM review_drafts WHERE conversation_id IN ({marks})", conversations
        )
        reviews = sorted(
            set(_ids(db, "SELECT id FROM reviews WHERE conversation_id IN ({marks})",
                     conversations))
            | set(_ids(db, "SELECT id FROM reviews WHERE draft_id IN ({marks})", review_drafts))
        )
        feedback = _ids(
            db, "SELECT id FROM suggestion_feedback WHERE suggestion_kind = 'past' "
            "AND suggestion_id IN ({marks})", pasts,
        )
        drafts = sorted(
            set(_ids(db, "SELECT id FROM drafts WHERE conversation_id IN ({marks})",
                     conversations))
            | set(_ids(db, "SELECT id FROM drafts WHERE review_draft_id IN ({marks})",
                       review_drafts))
        )
        messages = _count(
            db, "SELECT COUNT(*) FROM messages WHERE conversation_id IN ({marks})", conversations
        )
        report = {
            "customer": customer,
            "conversations": len(conversations),
            "messages": messages,
            "past_replies": len(pasts),
            "documents": len(documents),
            "embeddings": embeddings,
            "reviews": len(reviews),
            "review_drafts": len(review_drafts),
            "drafts": len(drafts),
            "feedback": len(feedback),
            "dry_run": dry_run,
        }
        if dry_run or not conversations:
            return report
        _delete(db, "suggestion_feedback", "id", feedback)
        _delete(db, "documents", "id", documents)
        for table in ("review_ratings", "review_history", "review_disputes"):
            _delete(db, table, "review_id", reviews)
        _delete(db, "review_assignments", "review_id", reviews)
        _delete(db, "review_assignments", "conversation_id", conversations)
        _delete(db, "drafts", "id", drafts)
        _delete(db, "reviews", "id", reviews)
        _delete(db, "review_drafts", "id", review_drafts)
        # messages and past replies go with their conversation (ON DELETE CASCADE)
        _delete(db, "conversations", "id", conversations)
        _delete(db, "embedding_cache", "text_hash", orphans)
        # merge the FTS segments so the deleted documents' terms leave the index itself
        db.execute("INSERT INTO documents_fts(documents_fts) VALUES ('optimize')")
    return report
