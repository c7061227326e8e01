"""Reviews: a reviewer scores one reply (a sent agent message, or a draft) against a stored
rubric version. A review is started (`in_progress`), rated, and submitted, which fixes its
score; `add_review` does all three at once. Nobody reviews their own reply, and a reviewer
reviews a reply at most once (a dispute may reopen that review). Every change is recorded in
`review_history`."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import sqlite_utils

from replykit.errors import Conflict, InputError, NotFound
from rubrics import scoring
from rubrics.rubric import Rubric
from rubrics.store import ensure_default_rubric, get_rubric
from storage import conversations as conversation_store
from storage import reviews as review_store
from storage.db import write_transaction


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def record(db: sqlite_utils.Database, review_id: int, event: str, actor: str, **detail) -> None:
    """Append one event to a review's history."""
    review_store.insert_history(
        db, {"review_id": review_id, "event": event, "actor": actor,
         "detail": json.dumps(detail, ensure_ascii=False), "created_at": now_iso()}
    )


def _name(value: str, field: str) -> str:
    value = (value or "").strip()
    if not value:
        raise InputError("is required", field)
    return value


def resolve_target(
    db: sqlite_utils.Database,
    conversation_id: str | None = None,
    message_id: str | None = None,
    draft_id: int | None = None,
) -> dict:
    """The reviewed reply: a sent agent message (conversation + message id) or a draft.
    Returns {"kind", "conversation_id", "message_id", "draft_id", "author"}."""
    if draft_id is not None:
        if conversation_id or message_id:
            raise InputError("give either a draft or a conversation and message, not both")
        draft = review_store.review_draft(db, draft_id)
        if draft is None:
            raise NotFound(f"no review draft {draft_id}")
        return {"kind": "draft", "conversation_id": None, "message_id": None,
                "draft_id": draft_id, "author": draft["author"]}
    if not conversation_id or not message_id:
        raise InputError("name the reply: a conversation and message id, or a draft id")
    message = conversation_store.message_row(db, conversation_id, message_id)
    if message is None:
        raise NotFound(f"no message {message_id!r} in conversation {conversation_id!r}")
    if message["role"] != "agent":
        raise InputError(
            f"message {message_id!r} in conversation {conversation_id!r} is a customer "
            "message, not an agent reply"
        )
    return {"kind": "reply", "conversation_id": conversation_id, "message_id": message_id,
            "draft_id": None, "author": message["author"]}


def _rubric(db: sqlite_utils.Database, name: str | None, version: int | None) -> Rubric:
    if name is None:
        if version is not None:
            raise InputError("--version needs --rubric")
        return ensure_default_rubric(db)
    return get_rubric(db, name, version)


def _load(db: sqlite_utils.Database, review_id: int) -> dict:
    review = review_store.review(db, review_id)
    if review is None:
        raise NotFound(f"no review {review_id}")
    return review


def _ratings(db: sqlite_utils.Database, review_id: int) -> dict[str, dict]:
    return {
        row["category"]: {"rated": bool(row["rated"]), "rating": row["rating"],
                          "comment": row["comment"]}
        for row in review_store.review_ratings(db, review_id)
    }


def _write_ratings(
    db: sqlite_utils.Database, rubric: Rubric, review_id: int, ratings: dict, comments: dict
) -> None:
    checked = scoring.check_ratings(rubric, ratings or {})
    for key in comments or {}:
        rubric.category(key)
    existing = _ratings(db, review_id)
    for key in set(checked) | set(comments or {}):
        row = existing.get(key, {"rated": False, "rating": None, "comment": ""})
        if key in checked:
            row["rated"], row["rating"] = True, checked[key]
        if key in (comments or {}):
            row["comment"] = comments[key]
        review_store.upsert_rating(
            db, {"review_id": review_id, "category": key, "rated": int(row["rated"]),
                 "rating": row["rating"], "comment": row["comment"]},
        )


def start_review(
    db: sqlite_utils.Database, target: dict, reviewer: str, rubric_name: str | None = None,
    rubric_version: int | None = None, ratings: dict | None = None,
    comments: dict | None = None, overall_comment: str = "",
) -> int:
    """Open an in-progress review of `target` (see `resolve_target`); returns its id."""
    reviewer = _name(reviewer, "reviewer")
    with write_transaction(db):
        if reviewer == target["author"]:
            raise InputError(f"nobody reviews their own reply: {reviewer} wrote it")
        rubric = _rubric(db, rubric_name, rubric_version)
        same = review_store.reviewer_review_of(
            db, reviewer, target["kind"], target["conversation_id"], target["message_id"],
            target["draft_id"],
        )
        if same is not None:
            raise Conflict(f"{reviewer} already reviews this reply (review {same})")
        stamp = now_iso()
        review_id = review_store.insert_review(db, {
            "target_kind": target["kind"], "conversation_id": target["conversation_id"],
            "message_id": target["message_id"], "draft_id": target["draft_id"],
            "author": target["author"], "reviewer": reviewer, "rubric_name": rubric.name,
            "rubric_version": rubric.version, "state": "in_progress",
            "overall_comment": overall_comment or "", "created_at": stamp,
            "updated_at": stamp,
        })
        _write_ratings(db, rubric, review_id, ratings or {}, comments or {})
        record(db, review_id, "started", reviewer, rubric=f"{rubric.name} v{rubric.version}")
    return review_id


def _check_editable(review: dict, actor: str) -> None:
    if review["state"] != "in_progress":
        raise Conflict(f"review {review['id']} is submitted; only a dispute can reopen it")
    if actor != review["reviewer"]:
        raise InputError(f"only its reviewer ({review['reviewer']}) can change review "
                         f"{review['id']}")


def rate_review(
    db: sqlite_utils.Database, review_id: int, actor: str, ratings: dict | None = None,
    comments: dict | None = None, overall_comment: str | None = None,
) -> None:
    """Add or change ratings, category comments or the overall comment of an in-progress
    review."""
    with write_transaction(db):
        review = _load(db, review_id)
        _check_editable(review, actor)
        rubric = get_rubric(db, review["rubric_name"], review["rubric_version"])
        _write_ratings(db, rubric, review_id, ratings or {}, comments or {})
        update = {"updated_at": now_iso()}
        if overall_comment is not None:
            update["overall_comment"] = overall_comment
        review_store.update_review(db, review_id, update)
        record(db, review_id, "rated", actor, ratings=ratings or {}, comments=comments or {})


def submit_review(db: sqlite_utils.Database, review_id: int, actor: str) -> dict:
    """Score and submit an in-progress review: every category needs a rating or N/A.
    Closes the reviewer's assignment for that reply and a dispute waiting for a re-score."""
    with write_transaction(db):
        review = _load(db, review_id)
        _check_editable(review, actor)
        rubric = get_rubric(db, review["rubric_name"], review["rubric_version"])
        rated = {key: r["rating"] for key, r in _ratings(db, review_id).items() if r["rated"]}
        unrated = scoring.missing_categories(rubric, rated)
        if unrated:
            raise InputError(f"review {review_id} has no rating for: {', '.join(unrated)} "
                             "(rate them, or na where allowed)")
        result = scoring.score(rubric, rated)
        stamp = now_iso()
        review_store.update_review(db, review_id, {
            "state": "submitted", "score": result["score"],
            "auto_failed": int(result["auto_failed"]), "submitted_at": stamp,
            "updated_at": stamp,
        })
        if review["target_kind"] == "reply":
            review_store.close_assignment(db, review_id, review["reviewer"],
                                          review["conversation_id"], review["message_id"])
        for dispute in review_store.review_disputes(db, review_id, state="rescore"):
            review_store.update_dispute(db, dispute["id"], {"state": "rescored"})
        record(db, review_id, "submitted", actor, score=result["score"],
               auto_failed=result["auto_failed"])
    return result


def add_review(
    db: sqlite_utils.Database, target: dict, reviewer: str, ratings: dict,
    rubric_name: str | None = None, rubric_version: int | None = None,
    comments: dict | None = None, overall_comment: str = "",
) -> int:
    """Start, rate and submit a review in one all-or-nothing step; returns its id."""
    with write_transaction(db):
        review_id = start_review(db, target, reviewer, rubric_name, rubric_version, ratings,
                                 comments, overall_comment)
        submit_review(db, review_id, reviewer)
    return review_id


def get_review(db: sqlite_utils.Database, review_id: int) -> dict:
    """A review with its per-category ratings, category scores, disputes and history."""
    review = dict(_load(db, review_id))
    rubric = get_rubric(db, review["rubric_name"], review["rubric_version"])
    ratings = _ratings(db, review_id)
    review["auto_failed"] = bool(review["auto_failed"])
    empty = {"rated": False, "rating": None, "comment": ""}
    review["categories"] = {}
    for key in rubric.keys:
        row = ratings.get(key, empty)
        value = row["rating"]
        review["categories"][key] = {
            "rated": row["rated"], "rating": value, "comment": row["comment"],
            "score": None if value is None
            else round(float(scoring.category_score(rubric, key, value)), 2),
        }
    review["pass_threshold"] = rubric.pass_threshold
    review["disputes"] = review_store.review_disputes(db, review_id)
    review["history"] = [
        dict(row, detail=json.loads(row["detail"]))
        for row in review_store.review_history(db, review_id)
    ]
    return review


def list_reviews(
    db: sqlite_utils.Database, reviewer: str | None = None, author: str | None = None,
    state: str | None = None, conversation_id: str | None = None,
) -> list[dict]:
    """Reviews, newest first, optionally filtered."""
    rows = review_store.find_reviews(db, reviewer=reviewer, author=author, state=state,
                                     conversation_id=conversation_id)
    for row in rows:
        row["auto_failed"] = bool(row["auto_failed"])
    return rows
