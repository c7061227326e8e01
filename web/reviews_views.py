"""Review pages: the reviewer's queue, a scoring form generated from the rubric, the agent's
view of reviews of their replies with disputes, dispute resolution and the rubric editor for
leads, and the calibration view."""

from __future__ import annotations

import yaml
from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext

from replykit import audit
from replykit.errors import InputError, NotFound, ReplykitError
from replykit.users import users_with_role
from rubrics import (
    assignments,
    calibration,
    calibration_sessions,
    disputes,
    drafts,
    reviews,
    scoring,
    store,
)
from rubrics.calendar import parse_calendar
from rubrics.periods import parse_bounds
from rubrics.rubric import parse_rubric, parse_yaml
from storage import conversations as conversation_store
from storage import reviews as review_store
from storage.db import write_transaction
from web import rubric_form
from web.access import (
    blinded_reviews,
    conversation_in_scope,
    is_named,
    my_review_ids,
    review_in_scope,
    team_scope,
)
from web.db import get_home
from web.security import current_user, forbidden, has_role, require_role

bp = Blueprint("reviews", __name__, url_prefix="/reviews")


def _me() -> str:
    return current_user()["name"]


def _reply_text(db, review: dict) -> dict:
    """The reviewed text, the question it answers and the conversation's messages before
    it ("thread"; a draft's only when its conversation is of the user's teams)."""
    if review["target_kind"] == "draft":
        draft = drafts.draft_result(db, review["draft_id"])
        thread = []
        if draft["conversation_id"] and conversation_in_scope(db, current_user(),
                                                              draft["conversation_id"]):
            thread = conversation_store.conversation_messages(db, draft["conversation_id"])
        return {"body": draft["body"], "question": draft["question"], "thread": thread}
    row = conversation_store.message_with_question(db, review["conversation_id"],
                                                   review["message_id"])
    thread = []
    for message in conversation_store.conversation_messages(db, review["conversation_id"]):
        if message["message_id"] == review["message_id"]:
            break
        thread.append(message)
    return {"body": row["body"], "question": row["question"] or "", "thread": thread} if row \
        else {"body": "", "question": "", "thread": []}


@bp.get("/")
@require_role("reviewer", "lead")
def queue():
    """Assigned replies and draft-review requests waiting for me, and my open reviews."""
    db = get_home().db
    mine = _my_reviews(db)
    return render_template(
        "reviews/queue.html", queue=_my_queue(db), in_progress=_in_progress(db, mine),
        calibrating=_calibration_todo(db),
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
        review_id = _start_review(db, target)
    return redirect(url_for("reviews.score", review_id=review_id))


def _start_review(db, target: dict) -> int:
    """Start my review of `target`, with the rubric version of its calibration session if
    it is a reply I calibrate."""
    rubric = None
    if target["kind"] == "reply":
        rubric = calibration_sessions.session_rubric(
            db, current_user()["id"], target["conversation_id"], target["message_id"])
    with write_transaction(db):
        review_id = reviews.start_review(db, target, _me(), *(rubric or (None, None)))
        review_store.update_review(db, review_id, {"reviewer_id": current_user()["id"]})
    return review_id


def _rescore_requests(db, review_id: int) -> list[dict]:
    """The disputes that sent this review back to be scored again."""
    return review_store.review_disputes(db, review_id, state="rescore")


def _in_progress(db, mine: list[dict]) -> list[dict]:
    """My reviews in progress, those sent back for re-scoring first (with "rescore": the
    disputes asking for it)."""
    found = [dict(r, rescore=_rescore_requests(db, r["id"]))
             for r in mine if r["state"] == "in_progress"]
    return sorted(found, key=lambda r: not r["rescore"])


def _calibration_todo(db) -> list[dict]:
    """The replies of my calibration sessions that I have not submitted yet, by session:
    each with "session" (id and name) and my "review_id" when started."""
    user = current_user()
    mine = my_review_ids(db, user)
    todo = []
    for row in calibration_sessions.list_sessions(db, user["id"]):
        session = calibration_sessions.get_session(db, row["id"])
        if not calibration_sessions.is_participant(session, user["id"]):
            continue
        todo += [dict(item, session={"id": session["id"], "name": session["name"]})
                 for item in calibration_sessions.progress(db, session, mine)
                 if item["state"] != "submitted"]
    return todo


def _next_review(db, done: int) -> int | None:
    """Start (or pick up) the next review of my queue after review `done`: a review sent
    back for re-scoring, another review in progress, a calibration reply, an assigned
    reply, a draft; None when the queue is empty."""
    waiting = [r for r in _in_progress(db, _my_reviews(db)) if r["id"] != done]
    if waiting:
        return waiting[0]["id"]
    queue = _my_queue(db)
    targets = [(item["conversation_id"], item["message_id"], None)
               for item in _calibration_todo(db) if item["review_id"] is None]
    targets += [(a["conversation_id"], a["message_id"], None) for a in queue["assignments"]]
    targets += [(None, None, d["id"]) for d in queue["drafts"]]
    for conversation_id, message_id, draft_id in targets:
        target = reviews.resolve_target(db, conversation_id, message_id, draft_id)
        if target["author"] != _me() and _may_review(db, target):
            try:
                return _start_review(db, target)
            except ReplykitError:  # reviewed under this name before, or gone meanwhile
                continue
    return None


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


def _choose(category) -> str:
    """What a reviewer has to do for a category, named by its label."""
    scale = category.scale
    points = "yes or no" if scale.kind == "binary" else f"a score from {scale.min} to {scale.max}"
    return f"{category.label}: choose {points}" + (" or N/A" if category.na_allowed else "")


def _form_ratings(rubric) -> tuple[dict, dict, dict]:
    """The form's valid ratings and comments, and {key: error naming the category by its
    label} for ratings outside the scale."""
    ratings, comments, errors = {}, {}, {}
    for category in rubric.categories:
        value = request.form.get(f"rating-{category.key}")
        if value:
            try:
                scoring.check_ratings(rubric, {category.key: value})
                ratings[category.key] = value
            except InputError:
                errors[category.key] = _choose(category)
        comment = request.form.get(f"comment-{category.key}")
        if comment is not None:
            comments[category.key] = comment
    return ratings, comments, errors


def _unrated(rubric, review: dict, errors: dict) -> dict:
    """`errors` plus {key: error naming the category by its label} for each category not yet
    rated, in the rubric's order."""
    return {c.key: errors.get(c.key) or _choose(c) for c in rubric.categories
            if c.key in errors or not review["categories"][c.key]["rated"]}


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
    error, errors = None, {}
    action = request.form.get("action")
    if request.method == "POST" and review["state"] == "in_progress":
        ratings, comments, errors = _form_ratings(rubric)
        try:
            reviews.rate_review(db, review_id, _me(), ratings, comments,
                                request.form.get("overall", ""))
            review = reviews.get_review(db, review_id)
            if action in ("submit", "submit-next"):
                errors = _unrated(rubric, review, errors)
            if action in ("submit", "submit-next") and not errors:
                return _submit(db, review, next_one=action == "submit-next")
            if not errors:
                flash(gettext("Saved."))
                return redirect(url_for("reviews.score", review_id=review_id))
        except ReplykitError as exc:
            error = str(exc)
            review = reviews.get_review(db, review_id)
    failed = bool(error or errors)
    return render_template(
        "reviews/score.html", review=review, rubric=rubric, error=error, errors=errors,
        target=_reply_text(db, review), rescore=_rescore_requests(db, review_id),
    ), (400 if failed else 200)


def _submit(db, review: dict, next_one: bool):
    """Submit my review (a draft goes back to its author with the overall comment) and
    show it, or open the next review of my queue."""
    result = reviews.submit_review(db, review["id"], _me())
    if review["target_kind"] == "draft":
        drafts.return_draft(db, review["draft_id"], _me(), review["overall_comment"])
    flash(gettext("Review %(id)s submitted: score %(score)s.", id=review["id"],
                  score=result["score"]))
    if not next_one:
        return redirect(url_for("reviews.view", review_id=review["id"]))
    following = _next_review(db, review["id"])
    if following is None:
        flash(gettext("Your review queue is empty."))
        return redirect(url_for("reviews.queue"))
    return redirect(url_for("reviews.score", review_id=following))


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
    flash(gettext("Dispute sent to the leads."))
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
    flash(gettext("Dispute %(id)s: %(state)s.", id=dispute_id, state=result["state"]))
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
                                            request.args.get("rubric") or None,
                                            blinded_reviews(home.db, current_user()))
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
    text, error, rows = None, None, None
    if request.method == "POST":
        text = request.form.get("definition", "")
        try:
            if request.form.get("mode") == "form":  # the form (web/rubric_form.py)
                rows = rubric_form.posted_rows(request.form)
                data = rubric_form.definition_of(request.form, name)
                text = yaml.safe_dump(data, allow_unicode=True, sort_keys=False)
                source = "the form"
            else:
                data, source = parse_yaml(text, "the editor"), "the editor"
            if not isinstance(data, dict):
                raise InputError("the definition must be a YAML mapping")
            data.setdefault("version", 1)
            result = store.store_rubric(db, parse_rubric(data, source), text, _me())
            flash(gettext("Stored %(name)s v%(version)s.", name=result["name"],
                          version=result["version"]) if result["created"]
                  else gettext("Nothing changed: no new version."))
            return redirect(url_for("reviews.rubrics", name=result["name"]))
        except ReplykitError as exc:
            error = str(exc)
    current = store.show_rubric(db, name)
    if text is None:
        definition = {k: current[k] for k in ("name", "version", "pass_threshold",
                                               "description", "categories")}
        text = yaml.safe_dump(definition, allow_unicode=True, sort_keys=False)
    if rows is None:
        rows = rubric_form.rows_of(current)
    form_error = error if request.form.get("mode") == "form" else None
    return render_template("reviews/rubrics.html", names=names, name=name, current=current,
                           text=text, error=error, rows=rows, form_error=form_error,
                           form=request.form,
                           versions=store.list_rubrics(db)), (400 if error else 200)


# calibration sessions


def _eligible_reviewers(db) -> list[dict]:
    """Active users who may take part in a calibration session (reviewers and leads), by
    name."""
    found = {u["id"]: u for role in ("reviewer", "lead") for u in users_with_role(db, role)}
    return sorted(found.values(), key=lambda u: (u["name"], u["id"]))


def session_data(db, user: dict, session_id: int) -> dict | None:
    """What `user` may see of a calibration session: {"session" (without the replies'
    texts), "mine" (my progress when I take part), "results" (None until I may see them:
    see rubrics.calibration_sessions.may_see_results)}; None when it is not theirs (not
    its creator, a participant or an admin)."""
    session = calibration_sessions.get_session(db, session_id)
    if not (session["created_by_id"] == user["id"] or "admin" in user["roles"]
            or calibration_sessions.is_participant(session, user["id"])):
        return None
    mine = my_review_ids(db, user)
    return {
        "session": session,
        "mine": calibration_sessions.progress(db, session, mine)
        if calibration_sessions.is_participant(session, user["id"]) else [],
        "results": calibration_sessions.results(db, session)
        if calibration_sessions.may_see_results(db, session, user, mine) else None,
    }


def _sessions_page(error: str | None = None):
    user = current_user()
    db = get_home().db
    return render_template(
        "reviews/sessions.html", error=error, form=request.form,
        sessions=calibration_sessions.list_sessions(
            db, None if "admin" in user["roles"] else user["id"]),
        reviewers=_eligible_reviewers(db) if has_role(user, "lead") else [],
        teams=user["teams"],
    ), (400 if error else 200)


@bp.get("/sessions")
@require_role("reviewer", "lead")
def sessions():
    """Calibration sessions I created or take part in (admins: all), and for leads the form
    creating one."""
    return _sessions_page()


@bp.post("/sessions")
@require_role("lead")
def create_session():
    """A lead creates a calibration session from a sample of sent replies of their teams
    (team limits: web.access.team_scope) that every chosen reviewer may read."""
    home = get_home()
    db, user, form = home.db, current_user(), request.form
    eligible = {u["id"]: u for u in _eligible_reviewers(db)}
    try:
        chosen = form.getlist("reviewers", type=int)
        unknown = [str(i) for i in chosen if i not in eligible]
        if unknown:
            raise InputError(f"no reviewer with id {', '.join(unknown)}", "reviewers")
        participants = [eligible[i] for i in dict.fromkeys(chosen)]
        start, end = parse_bounds(form.get("from") or None, form.get("to") or None,
                                  parse_calendar(home.config.sections.get("calendar")))
        size = form.get("size", type=int)
        if size is None:
            raise InputError("give the number of replies to sample", "size")
        session = calibration_sessions.create_session(
            db, user, form.get("name", ""), start, end, size, participants,
            team_scope(user, form.get("team") or None),
            [team_scope(p) for p in participants], agent=form.get("agent", ""),
            team=form.get("team", ""), seed=form.get("seed") or None)
    except ReplykitError as exc:
        return _sessions_page(str(exc))
    flash(gettext("Calibration session %(id)s created: %(replies)s replies for %(reviewers)s "
                  "reviewers.", id=session["id"], replies=len(session["items"]),
                  reviewers=len(participants)))
    return redirect(url_for("reviews.session_view", session_id=session["id"]))


@bp.get("/sessions/<int:session_id>")
@require_role("reviewer", "lead")
def session_view(session_id: int):
    """A calibration session: my replies to score, and, once I may see them, agreement and
    the consensus per reply."""
    db = get_home().db
    data = session_data(db, current_user(), session_id)
    if data is None:
        return forbidden("only its creator and participants see a calibration session")
    return render_template("reviews/session.html", **data)


# assignments


def _assign_page(result: dict | None = None, error: str | None = None):
    user = current_user()
    return render_template("reviews/assign.html", result=result, error=error,
                           form=request.form, reviewers=_eligible_reviewers(get_home().db),
                           teams=user["teams"]), (400 if error else 200)


@bp.get("/assign")
@require_role("lead")
def assign_view():
    """The form sampling sent replies of the lead's teams into reviewers' queues."""
    return _assign_page()


@bp.post("/assign")
@require_role("lead")
def assign():
    """Sample up to N replies per agent sent in the period (of the lead's teams, or one of
    them) and queue each for the least-loaded chosen reviewer who may read it; logged in the
    audit log (review.assign)."""
    home = get_home()
    db, user, form = home.db, current_user(), request.form
    eligible = {u["id"]: u for u in _eligible_reviewers(db)}
    try:
        chosen = [eligible.get(i) for i in dict.fromkeys(form.getlist("reviewers", type=int))]
        if None in chosen or not chosen:
            raise InputError("choose at least one reviewer from the list", "reviewers")
        start, end = parse_bounds(form.get("from") or None, form.get("to") or None,
                                  parse_calendar(home.config.sections.get("calendar")))
        per_agent = form.get("per_agent", type=int)
        if per_agent is None:
            raise InputError("give the number of replies per agent", "per_agent")
        period = f"{start.date().isoformat()}..{end.date().isoformat()}"
        with write_transaction(db):
            result = assignments.assign(
                db, start, end, period, per_agent, [u["name"] for u in chosen],
                form.get("seed") or None, teams=team_scope(user, form.get("team") or None),
                scopes={u["name"]: team_scope(u) for u in chosen},
                team=form.get("team", ""))
            audit.record(db, user, "review.assign", f"{len(result['assigned'])} replies", {
                "period": period, "per_agent": per_agent, "seed": result["seed"],
                "reviewers": sorted(u["username"] for u in chosen)})
    except ReplykitError as exc:
        return _assign_page(error=str(exc))
    return _assign_page(result)
