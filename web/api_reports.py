"""JSON API of the rubrics area: speed / quality / combined reports, rubrics and reviews
(read-only), used by the web dashboards.

    GET /api/reports/speed|quality|combined|surveys?from=&to=&agent=&channel=&interval=&team=
    GET /api/rubrics                      GET /api/rubrics/<name>?version=
    GET /api/reviews?reviewer=&author=&state=      GET /api/reviews/<id>
    GET /api/reviews/queue?reviewer=      GET /api/reviews/calibration?from=&to=&rubric=
    GET /api/reviews/sessions/<id>        (a calibration session; scores blind until submitted)

Access: reports, queues and calibration need the reviewer or lead role; rubrics any
signed-in user; reviews reviewers and leads, or an agent for reviews of their own replies.
Reports cover the user's teams and conversations with no team (admins: all); `team` narrows
to one of them (403 for a team not theirs)."""

from __future__ import annotations

from flask import Blueprint, jsonify, request
from werkzeug.exceptions import Forbidden

from replykit.errors import InputError
from rubrics import assignments, calibration, reports, store, surveys
from rubrics import reviews as reviews_mod
from rubrics.calendar import parse_calendar
from rubrics.periods import INTERVALS, parse_bounds
from storage import reviews as review_store
from web.access import (
    blinded_reviews,
    conversation_in_scope,
    is_named,
    own_review,
    own_reviews_query,
    report_teams,
    review_in_scope,
)
from web.api_suggest import int_arg
from web.db import get_home
from web.reviews_views import session_data
from web.security import current_user, has_role, require_role

bp = Blueprint("api_reports", __name__, url_prefix="/api")

BUILDERS = {
    "speed": reports.speed_report,
    "quality": reports.quality_report,
    "combined": reports.combined_report,
    "surveys": surveys.surveys_report,
}


def _bounds(sections: dict):
    calendar = parse_calendar(sections.get("calendar"))
    return parse_bounds(request.args.get("from"), request.args.get("to"), calendar)


@bp.get("/reports/<kind>")
@require_role("reviewer", "lead")
def api_report(kind: str):
    """A speed, quality, combined or surveys report (same JSON as `replykit report KIND
    --format json`) over the user's teams, or the one `team` asked for."""
    if kind not in BUILDERS:
        raise InputError(f"unknown report {kind!r} ({', '.join(BUILDERS)})", "path")
    interval = request.args.get("interval", "month")
    if interval not in INTERVALS:
        raise InputError(f"must be one of {', '.join(INTERVALS)}", "parameter interval")
    home = get_home()
    sections = home.config.sections
    start, end = _bounds(sections)
    return jsonify(BUILDERS[kind](
        home.db, sections, start, end, agent=request.args.get("agent"),
        channel=request.args.get("channel"), interval=interval,
        teams=report_teams(current_user(), request.args.get("team")),
    ))


@bp.get("/rubrics")
@require_role()
def api_rubrics():
    """Stored rubrics with their versions."""
    return jsonify(store.list_rubrics(get_home().db))


@bp.get("/rubrics/<name>")
@require_role()
def api_rubric(name: str):
    """One stored rubric version (default: the newest)."""
    return jsonify(store.show_rubric(get_home().db, name, int_arg("version", 1, 2**63 - 1)))


@bp.get("/reviews")
@require_role("reviewer", "lead", allow=own_reviews_query)
def api_reviews():
    """Reviews, newest first; filters reviewer, author, state."""
    args = request.args
    state = args.get("state")
    if not has_role(current_user(), "reviewer", "lead"):
        state = "submitted"  # an agent listing their own: never reviews in progress
    db = get_home().db
    found = reviews_mod.list_reviews(db, reviewer=args.get("reviewer"), author=args.get("author"),
                                     state=state)
    if has_role(current_user(), "reviewer", "lead"):
        found = [r for r in found if review_in_scope(db, current_user(), r)]
    return jsonify(found)


@bp.get("/reviews/<int:review_id>")
@require_role("reviewer", "lead", allow=own_review)
def api_review(review_id: int):
    """One review with ratings, comments, disputes and history (reviewers and leads: of
    their teams' conversations, or their own)."""
    db = get_home().db
    review = reviews_mod.get_review(db, review_id)
    user = current_user()
    if has_role(user, "reviewer", "lead") and not review_in_scope(db, user, review):
        raise Forbidden("this review is of another team's conversation")
    return jsonify(review)


@bp.get("/reviews/queue")
@require_role("reviewer", "lead")
def api_queue():
    """A reviewer's open assignments and drafts awaiting review: one's own queue, or
    anyone's for a lead."""
    reviewer = request.args.get("reviewer")
    if not reviewer:
        raise InputError("is required", "parameter reviewer")
    user = current_user()
    db = get_home().db
    if is_named(db, user, reviewer):
        return jsonify(assignments.queue(db, reviewer))
    if not has_role(user, "lead"):
        raise Forbidden("only leads may read another reviewer's queue")
    found = assignments.queue(db, reviewer)  # a lead: only what concerns their teams
    found["assignments"] = [a for a in found["assignments"]
                            if conversation_in_scope(db, user, a["conversation_id"])]
    found["drafts"] = [d for d in found["drafts"] if conversation_in_scope(
        db, user, review_store.review_draft(db, d["id"])["conversation_id"])]
    return jsonify(found)


@bp.get("/reviews/calibration")
@require_role("reviewer", "lead")
def api_calibration():
    """Reviewer agreement per rubric version for reviews submitted in the period."""
    home = get_home()
    start, end = _bounds(home.config.sections)
    return jsonify(calibration.calibration_report(home.db, start, end,
                                                  request.args.get("rubric"),
                                                  blinded_reviews(home.db, current_user())))


@bp.get("/reviews/sessions/<int:session_id>")
@require_role("reviewer", "lead")
def api_calibration_session(session_id: int):
    """A calibration session for its creator, participants and admins: my progress, and the
    agreement and consensus once I may see them (null before)."""
    data = session_data(get_home().db, current_user(), session_id)
    if data is None:
        raise Forbidden("only its creator and participants see a calibration session")
    return jsonify(data)
