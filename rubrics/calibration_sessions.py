"""Calibration sessions: a lead samples sent replies (a period, optionally one agent or one
team) that every chosen participant scores blind, under one rubric version. Until a
participant has submitted their own review of a reply, the others' reviews of it are hidden
from them (`blinded_review_ids`); the session's results (Krippendorff's alpha per category,
% agreement, a consensus per reply: the median rating per category and the median score)
are for its creator and admins at any time, and for each participant once they have
submitted all of their reviews. A sampled reply is in no other session and was neither
reviewed nor assigned before, so the session's reviews are the only ones of it."""

from __future__ import annotations

import random
import secrets
import statistics
from datetime import datetime

import sqlite_utils

from replykit import audit
from replykit.errors import InputError, NotFound
from rubrics.assignments import visible_to
from rubrics.calendar import parse_instant
from rubrics.calibration import category_agreement, ratings_by_review
from rubrics.reviews import now_iso
from rubrics.store import ensure_default_rubric, get_rubric
from storage import conversations as conversation_store
from storage import reviews as review_store
from storage.db import write_transaction

MAX_SIZE = 200


def _candidates(
    db: sqlite_utils.Database, start: datetime, end: datetime, agent: str, team: str,
    scopes: list[list[str] | None], participants: set[str],
) -> list[dict]:
    """Sent replies in [start, end) nobody reviewed, was assigned or calibrates yet, of
    `agent` and `team` when given, visible under every one of `scopes`, not written by a
    participant."""
    taken = {(r["conversation_id"], r["message_id"])
             for r in review_store.reviewed_or_assigned_replies(db)}
    rows = [
        r for r in conversation_store.agent_messages(db, with_author=True)
        if (r["conversation_id"], r["message_id"]) not in taken
        and start <= parse_instant(r["created_at"]) < end
        and (not agent or r["author"] == agent) and r["author"] not in participants
    ]
    teams = {cid: t for cid, t, _queued in conversation_store.conversation_teams_queued(
        db, sorted({r["conversation_id"] for r in rows}))}
    return [
        dict(r) for r in rows
        if (not team or teams[r["conversation_id"]] == team)
        and all(visible_to(teams[r["conversation_id"]], scope) for scope in scopes)
    ]


def create_session(
    db: sqlite_utils.Database, creator: dict, name: str, start: datetime, end: datetime,
    size: int, participants: list[dict], creator_scope: list[str] | None,
    participant_scopes: list[list[str] | None], agent: str = "", team: str = "",
    rubric_name: str | None = None, seed: str | None = None,
) -> dict:
    """Sample up to `size` replies sent in [start, end) (of `agent`, of `team`, when given)
    that the creator (`creator_scope`) and every participant (`participant_scopes`, in the
    order of `participants`) may read, and share them with the participants (users with
    "id" and "name"; at least two). The same seed on the same data gives the same sample.
    Logs the creation in the audit log. Returns the session (see `get_session`)."""
    name = (name or "").strip()
    if not name:
        raise InputError("give the session a name", "name")
    if not 1 <= size <= MAX_SIZE:
        raise InputError(f"must be between 1 and {MAX_SIZE}", "size")
    by_id = {p["id"]: p for p in participants}
    if len(by_id) < 2:
        raise InputError("choose at least two reviewers", "reviewers")
    seed = (seed or "").strip() or str(secrets.randbelow(10**9))
    with write_transaction(db):
        rubric = (get_rubric(db, rubric_name) if rubric_name else ensure_default_rubric(db))
        found = _candidates(db, start, end, (agent or "").strip(), (team or "").strip(),
                            [creator_scope, *participant_scopes],
                            {p["name"] for p in participants})
        if not found:
            raise InputError("no reply to sample: none was sent in this period (for this "
                             "agent and team) that is not reviewed, assigned or written by "
                             "a chosen reviewer", "from")
        found.sort(key=lambda r: (r["created_at"], r["conversation_id"], r["message_id"]))
        picked = random.Random(seed).sample(found, min(size, len(found)))
        session_id = review_store.insert_calibration_session(db, {
            "name": name, "rubric_name": rubric.name, "rubric_version": rubric.version,
            "period_start": start.isoformat(), "period_end": end.isoformat(),
            "agent": (agent or "").strip(), "team": (team or "").strip(), "size": size,
            "seed": seed, "created_by": creator["name"], "created_by_id": creator["id"],
            "created_at": now_iso(),
        })
        for user in by_id.values():
            review_store.insert_calibration_participant(db, {
                "session_id": session_id, "reviewer_id": user["id"], "reviewer": user["name"]})
        for row in picked:
            review_store.insert_calibration_item(db, {
                "session_id": session_id, "conversation_id": row["conversation_id"],
                "message_id": row["message_id"], "author": row["author"],
                "sent_at": row["created_at"]})
        audit.record(db, creator, "calibration.create", f"calibration session {session_id}", {
            "name": name, "replies": len(picked), "seed": seed,
            "participants": sorted(u.get("username", u["name"]) for u in by_id.values()),
            "rubric": f"{rubric.name} v{rubric.version}",
        })
        return get_session(db, session_id)


def get_session(db: sqlite_utils.Database, session_id: int) -> dict:
    """A session row with its "participants" [{"reviewer_id", "reviewer"}] and "items"
    [{"conversation_id", "message_id", "author", "sent_at"}]."""
    session = review_store.calibration_session(db, session_id)
    if session is None:
        raise NotFound(f"no calibration session {session_id}")
    session["participants"] = review_store.calibration_participants(db, session_id)
    session["items"] = review_store.calibration_items(db, session_id)
    return session


def list_sessions(db: sqlite_utils.Database, user_id: int | None) -> list[dict]:
    """Sessions created by or shared with `user_id` (None: all), newest first."""
    return review_store.calibration_sessions_of(db, user_id)


def is_participant(session: dict, user_id: int) -> bool:
    """Whether `user_id` scores this session."""
    return any(p["reviewer_id"] == user_id for p in session["participants"])


def progress(db: sqlite_utils.Database, session: dict, my_review_ids: set[int]) -> list[dict]:
    """The session's replies with the state of the caller's own review of each
    ("review_id", "state": None, "in_progress" or "submitted"); `my_review_ids` are the ids
    of the caller's reviews."""
    mine = {(r["conversation_id"], r["message_id"]): r
            for r in review_store.calibration_item_reviews(db, session["id"])
            if r["id"] in my_review_ids}
    items = []
    for item in session["items"]:
        review = mine.get((item["conversation_id"], item["message_id"]))
        items.append(dict(item, review_id=review["id"] if review else None,
                          state=review["state"] if review else None))
    return items


def may_see_results(db: sqlite_utils.Database, session: dict, user: dict,
                    my_review_ids: set[int]) -> bool:
    """A participant (even its creator) once all their reviews of the session are
    submitted; otherwise its creator and admins; nobody else."""
    if is_participant(session, user["id"]):
        return all(item["state"] == "submitted"
                   for item in progress(db, session, my_review_ids))
    return session["created_by_id"] == user["id"] or "admin" in user["roles"]


def blinded_review_ids(db: sqlite_utils.Database, user_id: int,
                       my_review_ids: set[int]) -> set[int]:
    """Ids of the reviews `user_id` may not read yet: others' reviews of a reply of a
    session they take part in, as long as their own review of it is not submitted."""
    by_reply: dict[tuple, list[dict]] = {}
    for row in review_store.participant_item_reviews(db, user_id):
        by_reply.setdefault((row["conversation_id"], row["message_id"]), []).append(row)
    hidden: set[int] = set()
    for rows in by_reply.values():
        if any(r["review_id"] in my_review_ids and r["state"] == "submitted" for r in rows):
            continue
        hidden |= {r["review_id"] for r in rows
                   if r["review_id"] is not None and r["review_id"] not in my_review_ids}
    return hidden


def session_rubric(db: sqlite_utils.Database, user_id: int, conversation_id: str,
                   message_id: str) -> tuple[str, int] | None:
    """(rubric name, version) of the session in which `user_id` scores this reply, or None
    when it is no reply of a session of theirs."""
    for row in review_store.participant_item_reviews(db, user_id):
        if (row["conversation_id"], row["message_id"]) == (conversation_id, message_id):
            session = review_store.calibration_session(db, row["session_id"])
            return session["rubric_name"], session["rubric_version"]
    return None


def _median(values: list) -> float | None:
    values = [v for v in values if v is not None]
    return round(float(statistics.median(values)), 2) if values else None


def results(db: sqlite_utils.Database, session: dict) -> dict:
    """Agreement and consensus over the submitted reviews of the session: {"categories":
    {key: {"alpha", "metric", "agreement_pct"}}, "items": [item + "reviews" [{"id",
    "reviewer", "score", "ratings"}] and "consensus" {"score", "ratings": {key: median
    rating, None when all N/A}}], "submitted", "expected"}. Alpha is None while fewer than
    two reviewers scored any reply (or nobody varied)."""
    rubric = get_rubric(db, session["rubric_name"], session["rubric_version"])
    ratings = ratings_by_review(db)
    submitted: dict[tuple, list[dict]] = {}
    for row in review_store.calibration_item_reviews(db, session["id"]):
        if row["state"] == "submitted":
            submitted.setdefault((row["conversation_id"], row["message_id"]), []).append(row)
    items = []
    for item in session["items"]:
        reviews = submitted.get((item["conversation_id"], item["message_id"]), [])
        items.append(dict(item, reviews=[
            {"id": r["id"], "reviewer": r["reviewer"], "score": r["score"],
             "ratings": {k: ratings.get(r["id"], {}).get(k) for k in rubric.keys}}
            for r in reviews
        ], consensus={
            "score": _median([r["score"] for r in reviews]),
            "ratings": {k: _median([ratings.get(r["id"], {}).get(k) for r in reviews])
                        for k in rubric.keys},
        }))
    shared = {key: rs for key, rs in submitted.items() if len({r["reviewer"] for r in rs}) >= 2}
    return {
        "rubric": {"name": rubric.name, "version": rubric.version,
                   "labels": {c.key: c.label for c in rubric.categories}},
        "categories": category_agreement(rubric, shared, ratings),
        "items": items,
        "submitted": sum(len(rs) for rs in submitted.values()),
        "expected": len(session["items"]) * len(session["participants"]),
    }
