"""Forgetting a customer (a right-to-erasure request): everything stored about their
conversations goes, in one transaction, with SQLite's secure_delete on so the freed pages are
zeroed rather than left in the file.

A customer is found by customer id or e-mail (`replykit.customers`: any case, NFKC, any +tag)
on their conversations. Gone afterwards: the conversations, their messages and past replies,
the past replies' search documents (FTS rows too: the FTS index is optimised so no deleted term
lingers), embedding cache entries no remaining document uses, suggestion feedback on those past
replies, reviews of the replies in those conversations (with ratings, history, disputes and
assignments), drafts sent for review and drafting sessions opened on them. What the workspace
keeps of the customer's message elsewhere goes too: feedback queries are emptied, saved replies
proposed from the conversation are templated (`suggest.proposals.strip_customer`), and rows
linked to no conversation that hold the customer's identifiers are treated the same way. The
caller then syncs the vector indexes (`SuggestEngine.sync`), which drops the vectors, and
empties the WAL (`truncate_wal`). What is not reachable (a message of another customer that
quotes this one, older backups) is out of reach by design; docs/security.md says so."""

from __future__ import annotations

import time
from contextlib import contextmanager
from pathlib import Path

import sqlite_utils

from replykit.customers import Customer, canonical_email, canonical_id
from replykit.errors import InputError, ReplykitError
from storage.db import write_transaction
from suggest import proposals


def _marks(values: list) -> str:
    return ",".join("?" * len(values))


def _ids(db: sqlite_utils.Database, sql: str, values: list) -> list:
    """First column of `sql` for `values` (an IN list), or [] when there are no values."""
    if not values:
        return []
    return [row[0] for row in db.execute(sql.format(marks=_marks(values)), values)]


def customer_conversations(db: sqlite_utils.Database, customer: str) -> list[str]:
    """Ids of the conversations whose customer id or e-mail is `customer`: ids in any case or
    Unicode form, e-mail addresses in any case and with any +tag (`replykit.customers`)."""
    customer = (customer or "").strip()
    if not customer:
        raise InputError("give a customer id or e-mail address", "--customer")
    wanted_id, wanted_email = canonical_id(customer), canonical_email(customer)
    return [
        row[0]
        for row in db.execute("SELECT id, customer_id, customer_email FROM conversations "
                              "ORDER BY id")
        if (row[1] and canonical_id(row[1]) == wanted_id)
        or (row[2] and "@" in customer and canonical_email(row[2]) == wanted_email)
    ]


def other_identifiers(db: sqlite_utils.Database, conversations: list[str]) -> list[str]:
    """The customer ids and e-mails on `conversations` that other conversations also carry:
    the same customer, or someone sharing an address; forget leaves those to be named."""
    if not conversations:
        return []
    mine = set(conversations)
    rows = list(db.execute("SELECT id, customer_id, customer_email FROM conversations"))
    ids = {canonical_id(r[1]): r[1] for r in rows if r[0] in mine and r[1]}
    emails = {canonical_email(r[2]): r[2] for r in rows if r[0] in mine and r[2]}
    return sorted(
        {ids[canonical_id(r[1])] for r in rows
         if r[0] not in mine and r[1] and canonical_id(r[1]) in ids}
        | {emails[canonical_email(r[2])] for r in rows
           if r[0] not in mine and r[2] and canonical_email(r[2]) in emails})


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


def _customer(db: sqlite_utils.Database, customer: str, conversations: list[str]) -> Customer:
    """What identifies the customer in text not linked to their conversations: the e-mail or
    id asked for, the e-mails, ids, names and subjects of their conversations, and their
    messages."""
    rows = list(db.execute(
        "SELECT customer_email, customer_id, customer_name, subject FROM conversations "
        f"WHERE id IN ({_marks(conversations)})", conversations)) if conversations else []
    messages = [text for row in db.execute(
        "SELECT body, clean_body FROM messages WHERE role = 'customer' "
        f"AND conversation_id IN ({_marks(conversations)})", conversations) for text in row]
    given = [customer]
    return Customer.of(emails=[r[0] for r in rows] + given, ids=[r[1] for r in rows] + given,
                       names=[r[2] for r in rows], messages=messages + [r[3] for r in rows])


def _feedback_queries(db: sqlite_utils.Database, who: Customer, conversations: list[str],
                      deleted: list[int]) -> list[int]:
    """Feedback (not deleted with its past reply) whose query came from one of the
    conversations or holds the customer's details."""
    linked = set(_ids(db, "SELECT id FROM suggestion_feedback WHERE conversation_id IN ({marks})",
                      conversations))
    found = linked | {row[0] for row in db.execute(
        "SELECT id, query FROM suggestion_feedback WHERE query != ''")
        if who.mentioned_in(row[1])}
    return sorted(found - set(deleted))


def _unlinked(db: sqlite_utils.Database, who: Customer, sql: str) -> set[int]:
    """Ids of the rows of `sql` (id, then texts) with no conversation that hold the
    customer's details: drafts started from a pasted message."""
    return {row[0] for row in db.execute(f"{sql} WHERE conversation_id IS NULL")
            if any(who.mentioned_in(text) for text in row[1:])}


def forget_customer(db: sqlite_utils.Database, customer: str, dry_run: bool = False) -> dict:
    """Delete everything stored about `customer` (id or e-mail); returns what was (or, with
    `dry_run`, would be) deleted, table by table. Feedback keeps its event with the query
    erased; saved replies keep their text with the customer's details templated out
    (`suggest.proposals.strip_customer`)."""
    with _secure_delete(db), write_transaction(db):
        conversations = customer_conversations(db, customer)
        who = _customer(db, customer, conversations)
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
        review_drafts = sorted(
            set(_ids(db, "SELECT id FROM review_drafts WHERE conversation_id IN ({marks})",
                     conversations))
            | _unlinked(db, who, "SELECT id, body, question FROM review_drafts")
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
        queries = _feedback_queries(db, who, conversations, feedback)
        replies = proposals.customer_replies(db, who.for_library(), conversations)
        drafts = sorted(
            set(_ids(db, "SELECT id FROM drafts WHERE conversation_id IN ({marks})",
                     conversations))
            | set(_ids(db, "SELECT id FROM drafts WHERE review_draft_id IN ({marks})",
                       review_drafts))
            | _unlinked(db, who, "SELECT id, query, text FROM drafts")
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
            "feedback_queries": len(queries),
            "saved_replies": len(replies),
            "also_on_other_conversations": other_identifiers(db, conversations),
            "dry_run": dry_run,
        }
        if dry_run or not (conversations or queries or replies or drafts or review_drafts):
            return report
        _delete(db, "suggestion_feedback", "id", feedback)
        if queries:
            db.execute("UPDATE suggestion_feedback SET query = '', conversation_id = NULL "
                       f"WHERE id IN ({_marks(queries)})", queries)
        reply_hashes = _ids(db, "SELECT text_hash FROM documents WHERE kind IN "
                            "('reply', 'question') AND ref IN ({marks})", list(replies))
        for reply_id, drop in replies.items():
            proposals.strip_customer(db, reply_id, who.for_library(), drop)
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
        stale = sorted(set(orphans) | set(reply_hashes))
        if stale:
            report["embeddings"] = db.execute(
                f"DELETE FROM embedding_cache WHERE text_hash IN ({_marks(stale)}) "
                "AND text_hash NOT IN (SELECT text_hash FROM documents)", stale).rowcount
        # merge the FTS segments so the deleted documents' terms leave the index itself
        db.execute("INSERT INTO documents_fts(documents_fts) VALUES ('optimize')")
    return report


class WalNotTruncated(ReplykitError):
    """The WAL file could not be emptied: a reader kept it busy."""

    status = 503


def truncate_wal(db: sqlite_utils.Database, wal: Path, attempts: int = 7,
                 pause: float = 0.05) -> None:
    """Fold the WAL into the database file and empty it, so no copy of deleted pages stays in
    it. A connection in a read transaction blocks that: retried `attempts` times with
    doubling pauses (about 3 s in all), then WalNotTruncated (what was deleted stays deleted)."""
    previous = db.execute("PRAGMA busy_timeout").fetchone()[0]
    # no busy wait inside the checkpoint: it would block for the whole busy timeout (30 s)
    db.execute("PRAGMA busy_timeout = 0")
    try:
        for attempt in range(attempts):
            if not db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]:
                return
            if attempt < attempts - 1:
                time.sleep(pause * 2**attempt)
    finally:
        db.execute(f"PRAGMA busy_timeout = {int(previous)}")
    raise WalNotTruncated(
        f"{wal}: could not be emptied while another connection reads the database: what was "
        "deleted is gone from the database but may remain in this file until every reader "
        "closes (stop replykit serve, or wait); then run privacy forget again to empty it")
