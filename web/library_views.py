"""Library pages for team leads."""

from __future__ import annotations

from flask import Blueprint, render_template

from web.security import require_role

bp = Blueprint("library", __name__, url_prefix="/library")


@bp.get("/")
@require_role("lead")
def index():
    return render_template("error.html", code=404, message="coming")
