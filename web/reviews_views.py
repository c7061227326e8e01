"""Review pages."""

from __future__ import annotations

from flask import Blueprint, render_template

from web.security import require_role

bp = Blueprint("reviews", __name__, url_prefix="/reviews")


@bp.get("/")
@require_role("reviewer", "lead")
def queue():
    return render_template("error.html", code=404, message="coming")


@bp.get("/mine")
@require_role()
def mine():
    return render_template("error.html", code=404, message="coming")


@bp.get("/drafts/<int:draft_id>")
@require_role()
def draft(draft_id):
    return render_template("error.html", code=404, message="coming")
