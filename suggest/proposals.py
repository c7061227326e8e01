"""Saved replies that agents propose from the workspace, linked to the conversation they were
written for, and taking a forgotten customer's text back out of saved replies.

A proposal from a conversation carries the customer's message as its example question and
often their name in its title or body. `proposal_sources` links it to that conversation so
`privacy forget` can find it; its id is made from the title with the customer's details
templated, because an id never changes."""

from __future__ import annotations

import json
import re
import secrets

import sqlite_utils

from replykit.customers import Customer
from replykit.errors import NotFound
from storage.db import write_transaction
from suggest import documents, library, privacy


def _known(db: sqlite_utils.Database, conversation_id: str) -> list[tuple[str, str]]:
    rows = list(db.query("SELECT * FROM conversations WHERE id = ?", [conversation_id]))
    if not rows:
        raise NotFound(f"no conversation {conversation_id!r}")
    return privacy.known_details(rows[0])


def new_reply_id(title: str) -> str:
    """A fresh id from the title's words: 'refund-policy-3fa2c1'."""
    slug = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")[:50] or "reply"
    return f"{slug}-{secrets.token_hex(3)}"


def propose(db: sqlite_utils.Database, record: dict, author: str,
            conversation_id: str | None = None) -> dict:
    """Add `record` (library fields, no id) as a draft saved reply for a lead to approve,
    linked to `conversation_id` when it was written from that conversation."""
    title = record.get("title") if isinstance(record.get("title"), str) else ""
    if conversation_id is not None:  # templating runs before the write lock is taken
        title = privacy.template(title, _known(db, conversation_id))
    with write_transaction(db):
        reply = library.add_reply(
            db, {**record, "id": new_reply_id(title), "status": "draft"}, author=author)
        if conversation_id is not None:
            db["proposal_sources"].insert(
                {"reply_id": reply["id"], "conversation_id": conversation_id})
    return reply


def customer_replies(db: sqlite_utils.Database, customer: Customer,
                     conversations: list[str]) -> dict[str, set[str]]:
    """Saved replies holding the customer's text: {reply id: questions to drop}. A reply
    proposed from one of `conversations` loses the questions it was proposed with (the
    customer's message), and so does any reply those questions reached (a merge moves them);
    any other reply is found by `customer.mentioned_in`."""
    found: dict[str, set[str]] = {}
    if conversations:
        marks = ",".join("?" * len(conversations))
        for (reply_id,) in db.execute(
                f"SELECT DISTINCT reply_id FROM proposal_sources WHERE conversation_id IN "
                f"({marks})", conversations):
            first = db.execute("SELECT questions FROM saved_reply_versions WHERE reply_id = ? "
                               "ORDER BY version LIMIT 1", [reply_id]).fetchone()
            found[reply_id] = set(json.loads(first[0])) if first else set()
    quoted = set().union(*found.values())
    if quoted:
        for reply_id, questions in db.execute(
                "SELECT reply_id, questions FROM saved_reply_versions UNION ALL "
                "SELECT reply_id, json_array(question) FROM reply_questions"):
            if quoted & set(json.loads(questions)):
                found.setdefault(reply_id, set()).update(quoted)
    texts = (
        "SELECT id, title FROM saved_replies UNION ALL SELECT id, body FROM saved_replies "
        "UNION ALL SELECT reply_id, title FROM saved_reply_versions "
        "UNION ALL SELECT reply_id, body FROM saved_reply_versions "
        "UNION ALL SELECT reply_id, note FROM saved_reply_versions "
        "UNION ALL SELECT reply_id, question FROM reply_questions"
    )
    for reply_id, text in db.execute(texts):
        if reply_id not in found and customer.mentioned_in(text):
            found[reply_id] = set()
    return found


def _questions(questions: list[str], customer: Customer, drop: set[str]) -> list[str]:
    kept = []
    for question in questions:
        if question in drop:
            continue
        templated = customer.template(question)
        if templated.strip() and templated.strip() != "[removed]" and templated not in kept:
            kept.append(templated)
    return kept


def strip_customer(db: sqlite_utils.Database, reply_id: str, customer: Customer,
                   drop: set[str]) -> None:
    """Template the customer's details out of a saved reply's title, body and questions, in
    every version (history and notes included), drop the `drop` questions, unlink it from
    conversations and refresh its search documents. The reply itself stays: it is the
    team's. Call inside the forget transaction."""
    for row in list(db.query("SELECT * FROM saved_reply_versions WHERE reply_id = ?",
                             [reply_id])):
        db.execute(
            "UPDATE saved_reply_versions SET title = ?, body = ?, questions = ?, note = ? "
            "WHERE reply_id = ? AND version = ?",
            [customer.template(row["title"]), customer.template(row["body"]),
             json.dumps(_questions(json.loads(row["questions"]), customer, drop),
                        ensure_ascii=False), customer.template(row["note"]), reply_id,
             row["version"]])
    reply = library.get_reply(db, reply_id)
    db.execute("UPDATE saved_replies SET title = ?, body = ? WHERE id = ?",
               [customer.template(reply["title"]), customer.template(reply["body"]), reply_id])
    db.execute("DELETE FROM reply_questions WHERE reply_id = ?", [reply_id])
    db["reply_questions"].insert_all(
        {"reply_id": reply_id, "position": i, "question": q}
        for i, q in enumerate(_questions(reply["questions"], customer, drop)))
    db.execute("DELETE FROM proposal_sources WHERE reply_id = ?", [reply_id])
    documents.sync_reply(db, reply_id)
