"""Draft reviews: an agent who is unsure sends a draft reply for review before sending it;
a reviewer scores it (a normal review whose target is the draft) and returns it with
comments; the agent sees the result with `draft_result`."""

from __future__ import annotations

import sqlite_utils

from replykit.errors import Conflict, InputError, NotFound
from rubrics.reviews import list_reviews, now_iso
from storage import conversations as conversation_store
from storage import reviews as review_store
from storage import users as user_store
from storage.db import write_transaction


def request_draft(
    db: sqlite_utils.Database, author: str, body: str, question: str = "",
    reviewer: str | None = None, conversation_id: str | None = None, channel: str = "",
    author_id: int | None = None, reviewer_id: int | None = None,
) -> int:
    """Store a draft awaiting review (optionally addressed to one reviewer); returns its id.
    `author_id`/`reviewer_id` are the web users behind the names (ownership is by id); a
    name given without its id is linked to the one user with that display name, if only one
    has it."""
    author = (author or "").strip()
    if not author:
        raise InputError("is required", "author")
    if not (body or "").strip():
        raise InputError("the draft is empty", "body")
    if reviewer is not None and reviewer.strip() == author:
        raise InputError(f"nobody reviews their own reply: {author} wrote the draft")
    with write_transaction(db):
        if conversation_id is not None and conversation_store.conversation_row(
            db, conversation_id
        ) is None:
            raise NotFound(f"no conversation {conversation_id!r}")
        return review_store.insert_review_draft(db, {
            "author": author, "body": body, "question": question or "",
            "conversation_id": conversation_id, "channel": channel or "",
            "reviewer": reviewer.strip() if reviewer else None, "state": "requested",
            "requested_at": now_iso(),
            "author_id": author_id or _only_user_named(db, author),
            "reviewer_id": reviewer_id or (_only_user_named(db, reviewer) if reviewer else None),
        })


def _only_user_named(db: sqlite_utils.Database, name: str) -> int | None:
    ids = user_store.user_ids_named(db, name.strip(), limit=2)
    return ids[0] if len(ids) == 1 else None


def _draft(db: sqlite_utils.Database, draft_id: int) -> dict:
    draft = review_store.review_draft(db, draft_id)
    if draft is None:
        raise NotFound(f"no review draft {draft_id}")
    return draft


def return_draft(db: sqlite_utils.Database, draft_id: int, reviewer: str, comment: str) -> None:
    """Send a reviewed draft back to its author with the reviewer's comments."""
    reviewer = (reviewer or "").strip()
    if not reviewer:
        raise InputError("is required", "reviewer")
    with write_transaction(db):
        draft = _draft(db, draft_id)
        if draft["state"] == "returned":
            raise Conflict(f"draft {draft_id} was already returned")
        if reviewer == draft["author"]:
            raise InputError(f"nobody reviews their own reply: {reviewer} wrote the draft")
        if draft["reviewer"] and draft["reviewer"] != reviewer:
            raise InputError(f"draft {draft_id} is addressed to {draft['reviewer']}")
        review_store.update_review_draft(db, draft_id, {
            "state": "returned", "reviewer": reviewer, "return_comment": comment or "",
            "returned_at": now_iso(),
        })


def draft_result(db: sqlite_utils.Database, draft_id: int) -> dict:
    """What the agent sees: the draft, its state, the return comment and its reviews."""
    draft = dict(_draft(db, draft_id))
    draft["reviews"] = [r for r in list_reviews(db) if r["draft_id"] == draft_id]
    return draft


def list_drafts(
    db: sqlite_utils.Database, author: str | None = None, state: str | None = None,
    author_id: int | None = None,
) -> list[dict]:
    """Drafts, newest first, optionally by author (name or web user id) and state."""
    return review_store.find_review_drafts(db, author=author, state=state, author_id=author_id)
