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
empties the WAL (`truncate_wal`); on PostgreSQL `erase_leftovers` VACUUMs the tables it
touched instead (docs/deploy.md says what remains: WAL archives, replicas, backups, and bytes
left in a page's free space until reused). What is not reachable (a message of another customer that
quotes this one, older backups) is out of reach by design; docs/security.md says so."""

from __future__ import annotations

import time
from pathlib import Path

import sqlite_utils

from replykit.customers import Customer, canonical_email, canonical_id
from replykit.errors import InputError, ReplykitError
from storage import erasure, search
from storage.db import is_postgres, write_transaction
from suggest import proposals


def customer_conversations(db: sqlite_utils.Database, customer: str) -> list[str]:
    """Ids of the conversations whose customer id or e-mail is `customer`: ids in any case or
    Unicode form, e-mail addresses in any case and with any +tag (`replykit.customers`)."""
    customer = (customer or "").strip()
    if not customer:
        raise InputError("give a customer id or e-mail address", "--customer")
    wanted_id, wanted_email = canonical_id(customer), canonical_email(customer)
    return [
        row[0]
        for row in erasure.conversation_customers(db)
        if (row[1] and canonical_id(row[1]) == wanted_id)
        or (row[2] and "@" in customer and canonical_email(row[2]) == wanted_email)
    ]


def other_identifiers(db: sqlite_utils.Database, conversations: list[str]) -> list[str]:
    """The customer ids and e-mails on `conversations` that other conversations also carry:
    the same customer, or someone sharing an address; forget leaves those to be named."""
    if not conversations:
        return []
    mine = set(conversations)
    rows = erasure.conversation_customers(db)
    ids = {canonical_id(r[1]): r[1] for r in rows if r[0] in mine and r[1]}
    emails = {canonical_email(r[2]): r[2] for r in rows if r[0] in mine and r[2]}
    return sorted(
        {ids[canonical_id(r[1])] for r in rows
         if r[0] not in mine and r[1] and canonical_id(r[1]) in ids}
        | {emails[canonical_email(r[2])] for r in rows
           if r[0] not in mine and r[2] and canonical_email(r[2]) in emails})


def _customer(db: sqlite_utils.Database, customer: str, conversations: list[str]) -> Customer:
    """What identifies the customer in text not linked to their conversations: the e-mail or
    id asked for, the e-mails, ids, names and subjects of their conversations, and their
    messages."""
    rows = erasure.conversation_details(db, conversations)
    messages = erasure.customer_message_texts(db, conversations)
    given = [customer]
    return Customer.of(emails=[r[0] for r in rows] + given, ids=[r[1] for r in rows] + given,
                       names=[r[2] for r in rows], messages=messages + [r[3] for r in rows])


def _feedback_queries(db: sqlite_utils.Database, who: Customer, conversations: list[str],
                      deleted: list[int]) -> list[int]:
    """Feedback (not deleted with its past reply) whose query came from one of the
    conversations or holds the customer's details."""
    linked = set(erasure.ids_where_in(db, "suggestion_feedback", "conversation_id",
                                      conversations))
    found = linked | {row[0] for row in erasure.feedback_queries(db)
                      if who.mentioned_in(row[1])}
    return sorted(found - set(deleted))


def _unlinked(db: sqlite_utils.Database, who: Customer, table: str,
              columns: tuple[str, ...]) -> set[int]:
    """Ids of the rows of `table` with no conversation whose `columns` hold the customer's
    details: drafts started from a pasted message."""
    return {row[0] for row in erasure.unlinked_rows(db, table, columns)
            if any(who.mentioned_in(text) for text in row[1:])}


def forget_customer(db: sqlite_utils.Database, customer: str, dry_run: bool = False) -> dict:
    """Delete everything stored about `customer` (id or e-mail); returns what was (or, with
    `dry_run`, would be) deleted, table by table. Feedback keeps its event with the query
    erased; saved replies keep their text with the customer's details templated out
    (`suggest.proposals.strip_customer`)."""
    ids_where_in, delete = erasure.ids_where_in, erasure.delete_where_in
    with erasure.secure_delete(db), write_transaction(db):
        conversations = customer_conversations(db, customer)
        who = _customer(db, customer, conversations)
        pasts = ids_where_in(db, "past_replies", "conversation_id", conversations)
        documents = erasure.past_document_ids(db, pasts)
        hashes = erasure.document_hashes(db, documents)
        # cached embeddings of texts no other document has (another may ask the same thing)
        orphans = [h for h in hashes if not erasure.hash_used_elsewhere(db, h, documents)]
        embeddings = erasure.count_where_in(db, "embedding_cache", "text_hash", orphans)
        review_drafts = sorted(
            set(ids_where_in(db, "review_drafts", "conversation_id", conversations))
            | _unlinked(db, who, "review_drafts", ("body", "question"))
        )
        reviews = sorted(
            set(ids_where_in(db, "reviews", "conversation_id", conversations))
            | set(ids_where_in(db, "reviews", "draft_id", review_drafts))
        )
        feedback = erasure.past_feedback_ids(db, pasts)
        queries = _feedback_queries(db, who, conversations, feedback)
        replies = proposals.customer_replies(db, who.for_library(), conversations)
        drafts = sorted(
            set(ids_where_in(db, "drafts", "conversation_id", conversations))
            | set(ids_where_in(db, "drafts", "review_draft_id", review_drafts))
            | _unlinked(db, who, "drafts", ("query", "text"))
        )
        messages = erasure.count_where_in(db, "messages", "conversation_id", conversations)
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
        delete(db, "suggestion_feedback", "id", feedback)
        erasure.erase_feedback_queries(db, queries)
        reply_hashes = erasure.reply_document_hashes(db, list(replies))
        for reply_id, drop in replies.items():
            proposals.strip_customer(db, reply_id, who.for_library(), drop)
        search.enqueue_documents(db, documents)  # the vector indexes follow
        delete(db, "documents", "id", documents)
        for table in ("review_ratings", "review_history", "review_disputes"):
            delete(db, table, "review_id", reviews)
        delete(db, "review_assignments", "review_id", reviews)
        delete(db, "review_assignments", "conversation_id", conversations)
        delete(db, "drafts", "id", drafts)
        delete(db, "reviews", "id", reviews)
        delete(db, "review_drafts", "id", review_drafts)
        # messages and past replies go with their conversation (ON DELETE CASCADE)
        delete(db, "conversations", "id", conversations)
        stale = sorted(set(orphans) | set(reply_hashes))
        if stale:
            report["embeddings"] = erasure.delete_unused_embeddings(db, stale)
        # merge the FTS segments so the deleted documents' terms leave the index itself
        erasure.optimize_fts(db)
    return report


# the tables a forget deletes from or rewrites (and the vector tables, found by name)
TOUCHED = ("conversations", "messages", "past_replies", "documents", "embedding_cache",
           "suggestion_feedback", "reviews", "review_ratings", "review_history",
           "review_disputes", "review_assignments", "review_drafts", "drafts", "saved_replies",
           "saved_reply_versions", "reply_questions", "proposal_sources", "sent_replies")


def erase_leftovers(db: sqlite_utils.Database, db_path: Path) -> dict:
    """After a forget has committed, remove the copies of the deleted rows that the database
    keeps outside its tables. SQLite: fold and empty the WAL file (`truncate_wal`) ->
    {"wal_truncated": True}. PostgreSQL: VACUUM the touched tables, whose dead row versions
    still hold the text -> {"vacuumed": [table names]}."""
    if is_postgres(db):
        return {"vacuumed": erasure.vacuum(db, list(TOUCHED))}
    truncate_wal(db, db_path.with_name(db_path.name + "-wal"))
    return {"wal_truncated": True}


class WalNotTruncated(ReplykitError):
    """The WAL file could not be emptied: a reader kept it busy."""

    status = 503


def truncate_wal(db: sqlite_utils.Database, wal: Path, attempts: int = 7,
                 pause: float = 0.05) -> None:
    """Fold the WAL into the database file and empty it, so no copy of deleted pages stays in
    it. A connection in a read transaction blocks that: retried `attempts` times with
    doubling pauses (about 3 s in all), then WalNotTruncated (what was deleted stays deleted)."""
    # no busy wait inside the checkpoint: it would block for the whole busy timeout (30 s)
    with erasure.no_busy_wait(db):
        for attempt in range(attempts):
            if erasure.checkpoint_truncate(db):
                return
            if attempt < attempts - 1:
                time.sleep(pause * 2**attempt)
    raise WalNotTruncated(
        f"{wal}: could not be emptied while another connection reads the database: what was "
        "deleted is gone from the database but may remain in this file until every reader "
        "closes (stop replykit serve, or wait); then run privacy forget again to empty it")
