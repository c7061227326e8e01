"""Sign in and out. Failed logins are rate limited per username and per address."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for

from web import security, users
from web.app import get_home

bp = Blueprint("auth", __name__)


def _safe_next(target: str | None) -> str:
    """A local path to go to after login (never another site)."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return url_for("workspace.index")


@bp.route("/login", methods=["GET", "POST"])
@security.public
def login():
    """The login form; on success a new session and a redirect to `next`."""
    if request.method == "GET":
        if security.current_user():
            return redirect(_safe_next(request.args.get("next")))
        return render_template("login.html", next=request.args.get("next", ""))
    db = get_home().db
    username = request.form.get("username", "")
    ip = request.remote_addr or ""
    if users.login_blocked(db, username, ip):
        message = "Too many failed logins. Wait 15 minutes, or ask an admin to reset the password."
        return render_template("login.html", error=message, username=username,
                               next=request.form.get("next", "")), 429
    user = users.authenticate(db, username, request.form.get("password", ""))
    users.record_login(db, username, ip, user is not None)
    if user is None:
        return render_template("login.html", error="Wrong username or password.",
                               username=username, next=request.form.get("next", "")), 401
    security.login(user)
    flash(f"Signed in as {user['name']}.")
    return redirect(_safe_next(request.form.get("next")))


@bp.post("/logout")
@security.require_role()
def logout():
    """End the session (server side too: the old cookie stops working)."""
    security.logout()
    return redirect(url_for("auth.login"))
