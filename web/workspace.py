"""The agent workspace page: paste or pick a customer message, get suggestions as you type,
fill placeholders, edit, copy, ask for review, or propose a new saved reply."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, url_for

from replykit import users
from rubrics import drafts as review_drafts
from suggest import placeholders
from web.db import get_home
from web.limits import limit_for
from web.security import current_user, has_role, public, require_role

bp = Blueprint("workspace", __name__)


@bp.get("/")
@public
def index():
    """Home: the workspace for signed-in users, the login page for others."""
    user = current_user()
    if user is None:
        return redirect(url_for("auth.login"))
    if not has_role(user, "agent") and has_role(user, "reviewer", "lead"):
        target = "reviews.queue" if has_role(user, "reviewer") else "reports.dashboard"
        return redirect(url_for(target))
    return redirect(url_for("workspace.workspace"))


@bp.get("/workspace")
@require_role("agent")
def workspace():
    """The workspace page (the JavaScript in static/js/workspace.js does the rest)."""
    db = get_home().db
    me = current_user()
    reviewers = [u for u in users.users_with_role(db, "reviewer") if u["id"] != me["id"]]
    requests = review_drafts.list_drafts(db, author_id=me["id"])[:10]
    return render_template("workspace.html", reviewers=reviewers, requests=requests,
                           placeholder_labels=placeholders.LABELS,
                           max_question=limit_for("query"))
