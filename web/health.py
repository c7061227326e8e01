"""`GET /health`: for load balancers and uptime checks. 200 {"status": "ok", "database":
"reachable"} when this server's database answers, else 503 {"status": "unavailable",
"database": "unreachable"} (the reason goes to the log, not to the anonymous caller)."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify

from storage.health import database_problem
from web.security import public

bp = Blueprint("health", __name__)


@bp.get("/health")
@public
def health():
    problem = database_problem(current_app.extensions["replykit.config"].database)
    if problem is None:
        return jsonify({"status": "ok", "database": "reachable"})
    current_app.logger.warning("health: the database does not answer (%s)", problem)
    return jsonify({"status": "unavailable", "database": "unreachable"}), 503, {
        "Retry-After": "10", "Cache-Control": "no-store"}
