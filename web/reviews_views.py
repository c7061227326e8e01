"""Review pages: the reviewer's queue, a scoring form generated from the rubric, the agent's
view of reviews of their replies with disputes, dispute resolution and the rubric editor for
leads, and the calibration view."""

from __future__ import annotations

import yaml
from flask import Blueprint, flash, redirect, render_template, request, url_for

from replykit.errors import InputError, NotFound, ReplykitError
from rubrics import assignments, calibration, disputes, drafts, reviews, store
from rubrics.calendar import parse_calendar
from rubrics.periods import parse_bounds
from rubrics.rubric import parse_rubric, parse_yaml
from storage import conversations as conversation_store
from storage import reviews as review_store
from storage.db import write_transaction
from web.access import conversation_in_scope, is_named, my_review_ids, review_in_scope
from web.db import get_home
from web.security import current_user, forbidden, has_role, require_role

bp = Blueprint("reviews", __name__, url_prefix="/reviews")


def _me() -> str:
    return current_user()["name"]


def _reply_text(db, review: dict) -> dict:
    """The reviewed text and the question it answers."""
    if review["target_kind"] == "draft":
        draft = drafts.draft_result(db, review["draft_id"])
        return {"body": draft["body"], "question": draft["question"]}
    row = conversation_store.message_with_question(db, review["conversation_id"],
                                                   review["message_id"])
    return {"body": row["body"], "question": row["question"] or ""} if row else {
        "body": "", "question": ""}


@bp.get("/")
@require_role("reviewer", "lead")
def queue():
    """Assigned replies and draft-review requests waiting for me, and my open reviews."""
    db = get_home().db
    mine = _my_reviews(db)
    return render_template(
        "reviews/queue.html", queue=_my_queue(db),
        in_progress=[r for r in mine if r["state"] == "in_progress"],
        submitted=[r for r in mine if r["state"] == "submitted"][:20],
        open_disputes=len(disputes.list_disputes(db, "open")) if has_role(
            current_user(), "lead") else None,
    )


@bp.post("/start")
@require_role("reviewer", "lead")
def start():
    """Start reviewing a draft or a sent reply (or continue my review of it)."""
    form = request.form
    db = get_home().db
    draft_id = form.get("draft", type=int)
    target = reviews.resolve_target(db, form.get("conversation") or None,
                                    form.get("message") or None, draft_id)
    if not _may_review(db, target):
        return forbidden("this reply is another team's, or the draft is addressed to another "
                         "reviewer")
    existing = [r for r in _my_reviews(db)
                if (r["draft_id"], r["conversation_id"], r["message_id"]) == (
                    target["draft_id"], target["conversation_id"], target["message_id"])]
    if existing:
        review_id = existing[0]["id"]
    else:
        with write_transaction(db):
            review_id = reviews.start_review(db, target, _me())
            review_store.update_review(db, review_id, {"reviewer_id": current_user()["id"]})
    return redirect(url_for("reviews.score", review_id=review_id))


def _my_reviews(db) -> list[dict]:
    """The reviews I do (by user id; see web.access.my_review_ids), newest first."""
    ids = my_review_ids(db, current_user())
    return [r for r in reviews.list_reviews(db, reviewer=_me()) if r["id"] in ids]


def _my_queue(db) -> dict:
    """My assignments (named by display name: only while no one else has mine) and the
    drafts awaiting review addressed to me (by id) or to anyone."""
    found = assignments.queue(db, _me())
    if not is_named(db, current_user(), _me()):
        found["assignments"] = []
    mine = review_store.review_draft_ids_for_reviewer(db, current_user()["id"])
    found["drafts"] = [d for d in found["drafts"] if d["id"] in mine]
    return found


def _may_review(db, target: dict) -> bool:
    """A reply of a conversation of my teams, or a draft addressed to me or to anyone (leads:
    any draft)."""
    user = current_user()
    if target["draft_id"] is not None:
        addressed = drafts.draft_result(db, target["draft_id"])["reviewer_id"]
        return addressed in (None, user["id"]) or has_role(user, "lead")
    return conversation_in_scope(db, user, target["conversation_id"])


def _form_ratings(rubric) -> tuple[dict, dict]:
    ratings, comments = {}, {}
    for category in rubric.categories:
        value = request.form.get(f"rating-{category.key}")
        if value:
            ratings[category.key] = value
        comment = request.form.get(f"comment-{category.key}")
        if comment is not None:
            comments[category.key] = comment
    return ratings, comments


@bp.route("/<int:review_id>/score", methods=["GET", "POST"])
@require_role("reviewer", "lead")
def score(review_id: int):
    """The scoring form of my in-progress review; save, or submit (a draft is returned to
    its author with the overall comment)."""
    db = get_home().db
    review = reviews.get_review(db, review_id)
    if review_id not in my_review_ids(db, current_user()):
        return forbidden("only the review's reviewer scores it")
    rubric = store.get_rubric(db, review["rubric_name"], review["rubric_version"])
    error = None
    if request.method == "POST" and review["state"] == "in_progress":
        ratings, comments = _form_ratings(rubric)
        try:
            reviews.rate_review(db, review_id, _me(), ratings, comments,
                                request.form.get("overall", ""))
            if request.form.get("action") == "submit":
                result = reviews.submit_review(db, review_id, _me())
                if review["target_kind"] == "draft":
                    drafts.return_draft(db, review["draft_id"], _me(),
                                        request.form.get("overall", ""))
                flash(f"Review {review_id} submitted: score {result['score']}.")
                return redirect(url_for("reviews.view", review_id=review_id))
            flash("Saved.")
            return redirect(url_for("reviews.score", review_id=review_id))
        except ReplykitError as exc:
            error = str(exc)
            review = reviews.get_review(db, review_id)
    return render_template("reviews/score.html", review=review, rubric=rubric, error=error,
                           target=_reply_text(db, review)), (400 if error else 200)


def _may_read(review: dict) -> bool:
    user = current_user()
    db = get_home().db
    if has_role(user, "reviewer", "lead"):
        return review_in_scope(db, user, review)
    return is_named(db, user, review["author"])


@bp.get("/<int:review_id>")
@require_role()
def view(review_id: int):
    """A review with ratings, disputes and history: for reviewers, leads and its agent."""
    db = get_home().db
    review = reviews.get_review(db, review_id)
    if not _may_read(review):
        return forbidden("only reviewers and leads of its team and the reviewed agent see a "
                         "review")
    if review["state"] != "submitted" and not has_role(current_user(), "reviewer", "lead"):
        return forbidden("this review is not submitted yet")
    rubric = store.get_rubric(db, review["rubric_name"], review["rubric_version"])
    return render_template("reviews/view.html", review=review, rubric=rubric,
                           target=_reply_text(db, review))


@bp.post("/<int:review_id>/dispute")
@require_role()
def dispute(review_id: int):
    """The reviewed agent disputes a submitted review."""
    db = get_home().db
    if not is_named(db, current_user(), reviews.get_review(db, review_id)["author"]):
        return forbidden("only the reviewed agent disputes a review")
    disputes.open_dispute(db, review_id, _me(), request.form.get("reason", ""))
    flash("Dispute sent to the leads.")
    return redirect(url_for("reviews.view", review_id=review_id))


@bp.get("/mine")
@require_role()
def mine():
    """Reviews of my replies and my drafts sent for review."""
    db = get_home().db
    return render_template(
        "reviews/mine.html",
        reviews=reviews.list_reviews(db, author=_me(), state="submitted")
        if is_named(db, current_user(), _me()) else [],
        drafts=drafts.list_drafts(db, author_id=current_user()["id"]))


@bp.get("/drafts/<int:draft_id>")
@require_role()
def draft(draft_id: int):
    """A draft sent for review and its result: for its author, reviewers and leads."""
    db = get_home().db
    result = drafts.draft_result(db, draft_id)
    user = current_user()
    if result["author_id"] != user["id"] and not (
            has_role(user, "reviewer", "lead")
            and conversation_in_scope(db, user, result["conversation_id"])):
        return forbidden("only its author, reviewers and leads see a draft's review")
    if not has_role(user, "reviewer", "lead"):
        result["reviews"] = [r for r in result["reviews"] if r["state"] == "submitted"]
    return render_template("reviews/draft.html", draft=result)


@bp.get("/disputes")
@require_role("lead")
def disputes_list():
    """Disputes of reviews the lead may read (their teams' conversations)."""
    db = get_home().db
    found = [d for d in disputes.list_disputes(db, request.args.get("state") or None)
             if review_in_scope(db, current_user(), reviews.get_review(db, d["review_id"]))]
    return render_template("reviews/disputes.html", disputes=found,
                           state=request.args.get("state", ""))


@bp.post("/disputes/<int:dispute_id>/resolve")
@require_role("lead")
def resolve(dispute_id: int):
    """Resolve a dispute of a review the lead may read."""
    db = get_home().db
    row = review_store.dispute(db, dispute_id)
    if row and not review_in_scope(db, current_user(), reviews.get_review(db, row["review_id"])):
        return forbidden("this dispute is of another team's conversation")
    result = disputes.resolve_dispute(db, dispute_id, _me(),
                                      request.form.get("decision", ""),
                                      request.form.get("comment", ""))
    flash(f"Dispute {dispute_id}: {result['state']}.")
    return redirect(url_for("reviews.disputes_list"))


@bp.get("/calibration")
@require_role("reviewer", "lead")
def calibration_view():
    """Reviewer agreement (Krippendorff's alpha, % agreement, deviations) for a period."""
    home = get_home()
    calendar = parse_calendar(home.config.sections.get("calendar"))
    start, end = parse_bounds(request.args.get("from") or None, request.args.get("to") or None,
                              calendar)
    report = calibration.calibration_report(home.db, start, end,
                                            request.args.get("rubric") or None)
    return render_template("reviews/calibration.html", report=report, args=request.args)


@bp.route("/rubrics", methods=["GET", "POST"])
@require_role("lead")
def rubrics():
    """Rubric editor: the newest version as YAML; saving a changed one stores a new version."""
    db = get_home().db
    store.ensure_default_rubric(db)
    names = [r["name"] for r in store.list_rubrics(db)]
    name = request.values.get("name") or names[0]
    if name not in names:
        raise NotFound(f"no rubric named {name!r}")
    text, error = None, None
    if request.method == "POST":
        text = request.form.get("definition", "")
        try:
            data = parse_yaml(text, "the editor")
            if not isinstance(data, dict):
                raise InputError("the definition must be a YAML mapping")
            data.setdefault("version", 1)
            result = store.store_rubric(db, parse_rubric(data, "the editor"), text, _me())
            flash(f"Stored {result['name']} v{result['version']}." if result["created"]
                  else "Nothing changed: no new version.")
            return redirect(url_for("reviews.rubrics", name=result["name"]))
        except ReplykitError as exc:
            error = str(exc)
    current = store.show_rubric(db, name)
    if text is None:
        definition = {k: current[k] for k in ("name", "version", "pass_threshold",
                                               "description", "categories")}
        text = yaml.safe_dump(definition, allow_unicode=True, sort_keys=False)
    return render_template("reviews/rubrics.html", names=names, name=name, current=current,
                           text=text, error=error,
                           versions=store.list_rubrics(db)), (400 if error else 200)
