"""Data the security tests need besides the web fixtures: reviews of Ana's reply (one
submitted by Rui, one still in progress by Lee), Ana's dispute of the submitted one, Ana's
draft sent to Rui for review, Ana's open drafting session in the workspace and a Thai-named
attachment of the billing team's refund-policy."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from replykit import users
from rubrics import calibration_sessions, disputes, drafts, reviews, store
from suggest import attachments
from suggest import drafts as workspace_drafts

ALL_FOUR = {"accurate": 4, "complete": 4, "clear": 4, "empathy": 4, "personalised": 4,
            "honest": 4, "next_steps": 1, "tone": 4}


def seed(db) -> dict:
    """Create the records; returns their ids: review, in_progress, dispute, review_draft,
    drafting (a drafting session), attachment (its file name), calibration_session (Lee's,
    with Rui and Lee scoring Bo's reply)."""
    store.ensure_default_rubric(db)
    target = reviews.resolve_target(db, "C1", "m2")  # Ana Agent's reply
    review = reviews.add_review(db, target, "Rui Reviewer", ALL_FOUR,
                                overall_comment="Clear and kind.")
    in_progress = reviews.start_review(db, target, "Lee Lead", overall_comment="Half done")
    dispute = disputes.open_dispute(db, review, "Ana Agent", "The customer was happy.")
    ana, rui = users.get_user(db, "ana")["id"], users.get_user(db, "rui")["id"]
    review_draft = drafts.request_draft(db, "Ana Agent", "Refunds take 5 days.", "refund?",
                                        reviewer="Rui Reviewer", author_id=ana, reviewer_id=rui)
    drafting = workspace_drafts.start(db, "Ana Agent", "support", "refund?", agent_id=ana)["id"]
    home_db = Path(db.execute("PRAGMA database_list").fetchone()[2])  # HOME/replykit.db
    attachment = attachments.add(db, home_db.with_name("attachments"), "refund-policy",
                                 "ใบคืนเงิน.pdf", b"%PDF-1.4 refund form")["filename"]
    lee = users.get_user(db, "lee")
    session = calibration_sessions.create_session(  # Bo's reply C3/m2, for Rui and Lee
        db, lee, "Seeded calibration", datetime(2026, 9, 1, tzinfo=UTC),
        datetime(2026, 10, 1, tzinfo=UTC), 1, [users.get_user(db, "rui"), lee], None,
        [None, None])["id"]
    return {"review": review, "in_progress": in_progress, "dispute": dispute,
            "review_draft": review_draft, "drafting": drafting, "attachment": attachment,
            "calibration_session": session}
