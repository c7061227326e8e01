"""Admin pages: users (add, roles, teams, password reset, deactivate/activate), their API
tokens (list, create shown once, revoke) and the audit log. Admins only; every change goes
through `replykit.users`, which records it in the audit log with the signed-in admin as actor.

An admin cannot take the admin role from themselves or deactivate themselves, and the last
active admin keeps the role (`replykit.users` refuses that for every caller). A password or token
the page generates is shown once, in the answer to the POST, never in a redirect or a flash
message (both would travel in the session cookie)."""

from __future__ import annotations

import secrets

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext

from replykit import audit, users
from replykit.errors import Conflict, InputError, NotFound, ReplykitError
from storage import audit as audit_store
from web.db import get_home
from web.security import current_user, login, require_role

bp = Blueprint("admin", __name__, url_prefix="/admin")


def _actor() -> dict:
    user = current_user()
    return {"id": user["id"], "username": user["username"]}


def _user(user_id: int) -> dict:
    """Any user by id, deactivated ones included; NotFound otherwise."""
    for user in users.list_users(get_home().db):
        if user["id"] == user_id:
            return user
    raise NotFound(f"no user {user_id}")


def _user_page(user_id: int, status: int = 200, **shown):
    """The user's page; `shown`: a generated password or token (once), or an error."""
    db = get_home().db
    user = _user(user_id)
    tokens = users.list_tokens(db, user["username"])
    return render_template("admin/user.html", person=user, tokens=tokens, roles=users.ROLES,
                           is_self=user["id"] == current_user()["id"], **shown), status


@bp.get("/")
@require_role("admin")
def users_list():
    """Every user: username, name, roles, teams, active, last sign-in."""
    db = get_home().db
    return render_template("admin/users.html", people=users.list_users(db),
                           last_logins=audit_store.last_logins(db))


@bp.route("/users/new", methods=["GET", "POST"])
@require_role("admin")
def new_user():
    """Add a user with a password the admin types, or one generated and shown once."""
    form = {"username": "", "name": "", "roles": ["agent"], "teams": ""}
    if request.method == "GET":
        return render_template("admin/new_user.html", form=form, roles=users.ROLES)
    form = {"username": request.form.get("username", ""), "name": request.form.get("name", ""),
            "roles": request.form.getlist("roles"), "teams": request.form.get("teams", "")}
    generated = bool(request.form.get("generate"))
    password = secrets.token_urlsafe(12) if generated else request.form.get("password", "")
    try:
        user = users.add_user(get_home().db, form["username"], password, form["roles"],
                              name=form["name"], team=form["teams"], actor=_actor())
    except ReplykitError as exc:
        return render_template("admin/new_user.html", form=form, roles=users.ROLES,
                               error=str(exc)), exc.status
    if not generated:
        flash(gettext("User %(username)s added.", username=user["username"]))
        return redirect(url_for("admin.user", user_id=user["id"]))
    return _user_page(user["id"], 201, password=password,
                      notice=gettext("User %(username)s added.", username=user["username"]))


@bp.get("/users/<int:user_id>")
@require_role("admin")
def user(user_id: int):
    """One user: roles and teams, password reset, deactivate/activate, API tokens."""
    return _user_page(user_id)


def _change(user_id: int, change, done: str):
    """Run `change(username)`; back to the user's page with `done`, or the page with the
    error (its status). A change that ended the admin's own sessions (their roles, their
    password) signs them in afresh here, with the new roles: their other sessions stay
    ended."""
    person = _user(user_id)
    try:
        change(person["username"])
    except ReplykitError as exc:
        return _user_page(user_id, exc.status, error=str(exc))
    if user_id == current_user()["id"]:
        login(users.get_user_by_id(get_home().db, user_id))
    flash(done)
    return redirect(url_for("admin.user", user_id=user_id))


@bp.post("/users/<int:user_id>/roles")
@require_role("admin")
def set_roles(user_id: int):
    """Replace the user's roles (their sessions end and their tokens are revoked)."""
    roles = request.form.getlist("roles")

    def change(username):
        if user_id == current_user()["id"] and "admin" not in roles:
            raise Conflict("you cannot remove your own admin role")
        users.set_roles(get_home().db, username, roles, actor=_actor())

    return _change(user_id, change, gettext(
        "Roles changed; the user's sessions ended and API tokens were revoked."))


@bp.post("/users/<int:user_id>/teams")
@require_role("admin")
def set_teams(user_id: int):
    """Replace the user's teams (a comma list; empty: no team)."""
    teams = request.form.get("teams", "")
    return _change(user_id, lambda username: users.set_teams(
        get_home().db, username, teams, actor=_actor()), gettext("Teams changed."))


@bp.post("/users/<int:user_id>/password")
@require_role("admin")
def reset_password(user_id: int):
    """Set a new password (typed, or generated and shown once); the user's sessions end and
    their API tokens are revoked."""
    person = _user(user_id)
    generated = bool(request.form.get("generate"))
    password = secrets.token_urlsafe(12) if generated else request.form.get("password", "")
    try:
        users.reset_password(get_home().db, person["username"], password, actor=_actor())
    except ReplykitError as exc:
        return _user_page(user_id, exc.status, error=str(exc))
    notice = gettext("Password reset; the user's sessions ended and API tokens were revoked.")
    if user_id == current_user()["id"]:
        login(users.get_user_by_id(get_home().db, user_id))
    if generated:
        return _user_page(user_id, password=password, notice=notice)
    flash(notice)
    return redirect(url_for("admin.user", user_id=user_id))


@bp.post("/users/<int:user_id>/deactivate")
@require_role("admin")
def deactivate(user_id: int):
    """Deactivate a user: sessions end, tokens are revoked, sign-in is refused."""

    def change(username):
        if user_id == current_user()["id"]:
            raise Conflict("you cannot deactivate yourself")
        users.deactivate_user(get_home().db, username, actor=_actor())

    return _change(user_id, change, gettext("User deactivated."))


@bp.post("/users/<int:user_id>/activate")
@require_role("admin")
def activate(user_id: int):
    """Let a deactivated user sign in again (their old tokens stay revoked)."""
    return _change(user_id, lambda username: users.activate_user(
        get_home().db, username, actor=_actor()), gettext("User activated."))


@bp.post("/users/<int:user_id>/tokens")
@require_role("admin")
def create_token(user_id: int):
    """A new API token for the user, shown once on the answer page."""
    person = _user(user_id)
    try:
        expires = users.parse_expiry(request.form.get("expires") or "never")
        token = users.create_token(get_home().db, person["username"],
                                   request.form.get("name", "").strip(), expires,
                                   actor=_actor())
    except ReplykitError as exc:
        return _user_page(user_id, exc.status, error=str(exc))
    return _user_page(user_id, 201, token=token, notice=gettext("API token created."))


@bp.post("/tokens/<int:token_id>/revoke")
@require_role("admin")
def revoke_token(token_id: int):
    """Revoke an API token; back to its user's page."""
    db = get_home().db
    owner = next((t["user"] for t in users.list_tokens(db) if t["id"] == token_id), None)
    if owner is None:
        raise NotFound(f"no API token {token_id}")
    user_id = users.get_user(db, owner)["id"]
    return _change(user_id, lambda _username: users.revoke_token(db, token_id, actor=_actor()),
                   f"API token {token_id} revoked.")


@bp.get("/audit")
@require_role("admin")
def audit_log():
    """The audit log, newest first, 50 a page; filter by actor (a user id, or 'cli') and
    action."""
    try:
        number = int(request.args.get("page", "1"))
    except ValueError:
        raise InputError("must be a page number", "parameter page") from None
    actor = request.args.get("actor", "")
    action = request.args.get("action", "")
    db = get_home().db
    log = audit.page(db, number, actor, action)
    return render_template("admin/audit.html", log=log, actor=actor, action=action,
                           people=users.list_users(db), command_line=audit.COMMAND_LINE)
