"""Sign in and out. Failed logins slow down per username at an address and per address
(replykit.users.try_login); `next` may only be a path on this site."""

from __future__ import annotations

import re
import secrets
import unicodedata
from urllib.parse import unquote, urlsplit

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from itsdangerous import BadData, URLSafeTimedSerializer

from replykit import users
from web import security
from web.db import get_home

bp = Blueprint("auth", __name__)
DEVICE_COOKIE = "replykit_device"
DEVICE_DAYS = 180


# Characters that some software reads as a slash or a backslash in a URL.
_SLASH_LOOKALIKES = frozenset("\u2044\u2215\u2216\u29f5\u29f8\u29f9\ufe68\uff0f\uff3c")


def _is_local_path(target: str) -> bool:
    """Whether `target` is a path on this site: it has no control, space or format
    character, and its path (before '?' or '#') and that path's percent-decoded forms start
    with a single '/', have no scheme or host, no backslash, no control, space or format
    characters, and nothing NFKC turns into a slash or backslash. The query may hold any
    percent-encoded text (a library search for 'refund policy')."""
    if any(not c.isprintable() or c.isspace() for c in target):
        return False
    text = re.split(r"[?#]", target, maxsplit=1)[0]
    for _ in range(3):  # the target as given, decoded once and twice
        if (not text.startswith("/") or text.startswith("//") or "\\" in text
                or any(not c.isprintable() or c.isspace() or c in _SLASH_LOOKALIKES
                       for c in text)):
            return False
        folded = unicodedata.normalize("NFKC", text)
        parts = urlsplit(folded)
        if parts.scheme or parts.netloc or folded.startswith("//") or "\\" in folded:
            return False
        text = unquote(text)
    return True


def _safe_next(target: str | None) -> str:
    """A local path to go to after login (never another site)."""
    if target and len(target) <= 2000 and _is_local_path(target):
        return target
    return url_for("workspace.index")


def _device_signer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.secret_key, salt="replykit-device")


def _known_device(username: str) -> str | None:
    """The id in this browser's device cookie when a login as `username` set it (signed
    with the secret key, at most DEVICE_DAYS old), else None."""
    try:
        data = _device_signer().loads(request.cookies.get(DEVICE_COOKIE, ""),
                                      max_age=DEVICE_DAYS * 86400)
    except BadData:
        return None
    if not isinstance(data, dict) or data.get("user") != username.strip().lower():
        return None
    return str(data.get("id", "")) or None


def _remember_device(response, username: str, device: str | None):
    """Give the browser a device cookie for `username` after a successful login."""
    value = _device_signer().dumps({"user": username, "id": device or secrets.token_urlsafe(16)})
    response.set_cookie(DEVICE_COOKIE, value, max_age=DEVICE_DAYS * 86400, httponly=True,
                        secure=current_app.config["SESSION_COOKIE_SECURE"], samesite="Lax")
    return response


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
    device = _known_device(username)
    user, wait = users.try_login(db, username, request.form.get("password", ""),
                                 request.remote_addr or "", device)
    if wait:
        message = (f"Too many failed logins from here. Try again in {wait} seconds, or ask "
                   "an admin to reset the password.")
        return render_template("login.html", error=message, username=username,
                               next=request.form.get("next", "")), 429, {"Retry-After": str(wait)}
    if user is None:
        return render_template("login.html", error="Wrong username or password.",
                               username=username, next=request.form.get("next", "")), 401
    security.login(user)
    flash(f"Signed in as {user['name']}.")
    return _remember_device(redirect(_safe_next(request.form.get("next"))), user["username"],
                            device)


@bp.post("/logout")
@security.require_role()
def logout():
    """End the session (server side too: the old cookie stops working)."""
    security.logout()
    return redirect(url_for("auth.login"))
