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
from storage.db import write_transaction


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def record(db: sqlite_utils.Database, review_id: int, event: str, actor: str, **detail) -> None:
    """Append one event to a review's history."""
    db["review_history"].insert(
        {"review_id": review_id, "event": event, "actor": actor,
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
        rows = list(db.query("SELECT author FROM review_drafts WHERE id = ?", [draft_id]))
        if not rows:
            raise NotFound(f"no review draft {draft_id}")
        return {"kind": "draft", "conversation_id": None, "message_id": None,
                "draft_id": draft_id, "author": rows[0]["author"]}
    if not conversation_id or not message_id:
        raise InputError("name the reply: a conversation and message id, or a draft id")
    rows = list(db.query(
        "SELECT role, author FROM messages WHERE conversation_id = ? AND message_id = ?",
        [conversation_id, message_id],
    ))
    if not rows:
        raise NotFound(f"no message {message_id!r} in conversation {conversation_id!r}")
    if rows[0]["role"] != "agent":
        raise InputError(
            f"message {message_id!r} in conversation {conversation_id!r} is a customer "
            "message, not an agent reply"
        )
    return {"kind": "reply", "conversation_id": conversation_id, "message_id": message_id,
            "draft_id": None, "author": rows[0]["author"]}


def _rubric(db: sqlite_utils.Database, name: str | None, version: int | None) -> Rubric:
    if name is None:
        if version is not None:
            raise InputError("--version needs --rubric")
        return ensure_default_rubric(db)
    return get_rubric(db, name, version)


def _load(db: sqlite_utils.Database, review_id: int) -> dict:
    rows = list(db.query("SELECT * FROM reviews WHERE id = ?", [review_id]))
    if not rows:
        raise NotFound(f"no review {review_id}")
    return rows[0]


def _ratings(db: sqlite_utils.Database, review_id: int) -> dict[str, dict]:
    return {
        row["category"]: {"rated": bool(row["rated"]), "rating": row["rating"],
                          "comment": row["comment"]}
        for row in db.query(
            "SELECT category, rated, rating, comment FROM review_ratings WHERE review_id = ?",
            [review_id],
        )
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
        db["review_ratings"].upsert(
            {"review_id": review_id, "category": key, "rated": int(row["rated"]),
             "rating": row["rating"], "comment": row["comment"]},
            pk=("review_id", "category"),
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
        same = list(db.query(
            "SELECT id FROM reviews WHERE reviewer = ? AND target_kind = ? AND "
            "(conversation_id IS ? AND message_id IS ? AND draft_id IS ?)",
            [reviewer, target["kind"], target["conversation_id"], target["message_id"],
             target["draft_id"]],
        ))
        if same:
            raise Conflict(f"{reviewer} already reviews this reply (review {same[0]['id']})")
        stamp = now_iso()
        review_id = db["reviews"].insert({
            "target_kind": target["kind"], "conversation_id": target["conversation_id"],
            "message_id": target["message_id"], "draft_id": target["draft_id"],
            "author": target["author"], "reviewer": reviewer, "rubric_name": rubric.name,
            "rubric_version": rubric.version, "state": "in_progress",
            "overall_comment": overall_comment or "", "created_at": stamp,
            "updated_at": stamp,
        }).last_pk
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
        db["reviews"].update(review_id, update)
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
        db["reviews"].update(review_id, {
            "state": "submitted", "score": result["score"],
            "auto_failed": int(result["auto_failed"]), "submitted_at": stamp,
            "updated_at": stamp,
        })
        if review["target_kind"] == "reply":
            db.execute(
                "UPDATE review_assignments SET state = 'done', review_id = ? WHERE state = 'open'"
                " AND reviewer = ? AND conversation_id = ? AND message_id = ?",
                [review_id, review["reviewer"], review["conversation_id"], review["message_id"]],
            )
        reopened = list(db.query(
            "SELECT id FROM review_disputes WHERE review_id = ? AND state = 'rescore'",
            [review_id],
        ))
        for dispute in reopened:
            db["review_disputes"].update(dispute["id"], {"state": "rescored"})
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
    review["disputes"] = list(db.query(
        "SELECT * FROM review_disputes WHERE review_id = ? ORDER BY id", [review_id]))
    review["history"] = [
        dict(row, detail=json.loads(row["detail"]))
        for row in db.query(
            "SELECT event, actor, detail, created_at FROM review_history WHERE review_id = ? "
            "ORDER BY id", [review_id])
    ]
    return review


def list_reviews(
    db: sqlite_utils.Database, reviewer: str | None = None, author: str | None = None,
    state: str | None = None, conversation_id: str | None = None,
) -> list[dict]:
    """Reviews, newest first, optionally filtered."""
    where, params = [], []
    for column, value in (("reviewer", reviewer), ("author", author), ("state", state),
                          ("conversation_id", conversation_id)):
        if value is not None:
            where.append(f"{column} = ?")
            params.append(value)
    sql = ("SELECT id, target_kind, conversation_id, message_id, draft_id, author, reviewer, "
           "rubric_name, rubric_version, state, score, auto_failed, submitted_at FROM reviews")
    if where:
        sql += " WHERE " + " AND ".join(where)
    rows = [dict(row) for row in db.query(sql + " ORDER BY id DESC", params)]
    for row in rows:
        row["auto_failed"] = bool(row["auto_failed"])
    return rows
