"""Reports dashboard."""

from __future__ import annotations

from flask import Blueprint, render_template

from web.security import require_role

bp = Blueprint("reports", __name__, url_prefix="/reports")


@bp.get("/")
@require_role("reviewer", "lead")
def dashboard():
    return render_template("error.html", code=404, message="coming")
