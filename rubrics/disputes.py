"""Disputes: the reviewed agent disputes a submitted review with a reason; a lead resolves
it by upholding the review or sending it back to its reviewer to re-score (the review
reopens; submitting it again closes the dispute as `rescored`). Nothing is deleted: every
step is recorded in the review's history, with the old score and ratings on re-score."""

from __future__ import annotations

import sqlite_utils

from replykit.errors import Conflict, InputError, NotFound
from rubrics.reviews import get_review, now_iso, record
from storage import reviews as review_store
from storage.db import write_transaction

DECISIONS = ("uphold", "rescore")


def open_dispute(db: sqlite_utils.Database, review_id: int, agent: str, reason: str) -> int:
    """Dispute a submitted review; only the reviewed agent can. Returns the dispute id."""
    if not (reason or "").strip():
        raise InputError("give a reason", "reason")
    with write_transaction(db):
        review = get_review(db, review_id)
        if agent != review["author"]:
            raise InputError(f"only the reviewed agent ({review['author']}) can dispute "
                             f"review {review_id}")
        if review["state"] != "submitted":
            raise Conflict(f"review {review_id} is not submitted yet")
        if any(d["state"] in ("open", "rescore") for d in review["disputes"]):
            raise Conflict(f"review {review_id} already has an unresolved dispute")
        dispute_id = review_store.insert_dispute(db, {
            "review_id": review_id, "agent": agent, "reason": reason.strip(),
            "state": "open", "created_at": now_iso(),
        })
        record(db, review_id, "disputed", agent, dispute=dispute_id, reason=reason.strip())
    return dispute_id


def resolve_dispute(
    db: sqlite_utils.Database, dispute_id: int, lead: str, decision: str, comment: str = ""
) -> dict:
    """Uphold the review, or reopen it for its reviewer to re-score."""
    if decision not in DECISIONS:
        raise InputError(f"must be one of {', '.join(DECISIONS)}", "decision")
    lead = (lead or "").strip()
    if not lead:
        raise InputError("is required", "lead")
    with write_transaction(db):
        dispute = review_store.dispute(db, dispute_id)
        if dispute is None:
            raise NotFound(f"no dispute {dispute_id}")
        if dispute["state"] != "open":
            raise Conflict(f"dispute {dispute_id} is already resolved ({dispute['state']})")
        if lead == dispute["agent"]:
            raise InputError("the disputing agent cannot resolve their own dispute")
        review = get_review(db, dispute["review_id"])
        state = "upheld" if decision == "uphold" else "rescore"
        review_store.update_dispute(db, dispute_id, {
            "state": state, "resolved_by": lead, "resolution_comment": comment or "",
            "resolved_at": now_iso(),
        })
        if decision == "rescore":
            review_store.update_review(db, review["id"],
                                       {"state": "in_progress", "updated_at": now_iso()})
            record(db, review["id"], "reopened", lead, dispute=dispute_id,
                   previous_score=review["score"], previous_auto_failed=review["auto_failed"],
                   previous_ratings={k: v["rating"] for k, v in review["categories"].items()})
        else:
            record(db, review["id"], "upheld", lead, dispute=dispute_id, comment=comment or "")
    return {"dispute": dispute_id, "review": review["id"], "state": state}


def list_disputes(db: sqlite_utils.Database, state: str | None = None) -> list[dict]:
    """Disputes, newest first, optionally by state."""
    return review_store.find_disputes(db, state)
