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

import storage.conversations
import storage.library
from replykit.customers import Customer
from replykit.errors import NotFound
from storage.db import write_transaction
from suggest import documents, library, privacy


def _known(db: sqlite_utils.Database, conversation_id: str) -> list[tuple[str, str]]:
    row = storage.conversations.conversation_row(db, conversation_id)
    if row is None:
        raise NotFound(f"no conversation {conversation_id!r}")
    return privacy.known_details(row)


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
            storage.library.insert_proposal_source(db, reply["id"], conversation_id)
    return reply


def customer_replies(db: sqlite_utils.Database, customer: Customer,
                     conversations: list[str]) -> dict[str, set[str]]:
    """Saved replies holding the customer's text: {reply id: questions to drop}. A reply
    proposed from one of `conversations` loses the questions it was proposed with (the
    customer's message), and so does any reply those questions reached (a merge moves them);
    any other reply is found by `customer.mentioned_in`."""
    found: dict[str, set[str]] = {}
    for reply_id in storage.library.proposed_from(db, conversations):
        versions = storage.library.version_rows(db, reply_id)
        found[reply_id] = set(json.loads(versions[0]["questions"])) if versions else set()
    quoted = set().union(*found.values())
    if quoted:
        for reply_id, questions in storage.library.question_lists(db):
            if quoted & set(json.loads(questions)):
                found.setdefault(reply_id, set()).update(quoted)
    for reply_id, text in storage.library.reply_texts(db):
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
    for row in storage.library.version_rows(db, reply_id):
        storage.library.update_version(db, reply_id, row["version"], {
            "title": customer.template(row["title"]), "body": customer.template(row["body"]),
            "questions": json.dumps(_questions(json.loads(row["questions"]), customer, drop),
                                    ensure_ascii=False),
            "note": customer.template(row["note"])})
    reply = library.get_reply(db, reply_id)
    storage.library.update_reply(db, reply_id, {"title": customer.template(reply["title"]),
                                                "body": customer.template(reply["body"])})
    storage.library.replace_questions(
        db, reply_id, _questions(reply["questions"], customer, drop))
    storage.library.delete_proposal_sources(db, reply_id)
    documents.sync_reply(db, reply_id)
