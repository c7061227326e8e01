"""Who is asking and what they may do: the signed-in user (session cookie or API token),
role checks declared on every view, CSRF protection, security headers and the secret key.

Every view declares its access with `@public` or `@require_role(...)`; the declaration is kept
on the view function (`view.required_roles`, `view.is_public`) so tests can enumerate the
app's URL map and read what each endpoint requires. `create_app` refuses to start with an
undeclared view. Admins pass every role check."""

from __future__ import annotations

from datetime import timedelta
from functools import wraps

from flask import Flask, abort, g, jsonify, redirect, render_template, request, session, url_for
from flask_wtf.csrf import CSRFError, CSRFProtect
from werkzeug.middleware.proxy_fix import ProxyFix

from replykit import users
from replykit.config import Config
from replykit.secret_key import secret_key
from web import framing

ANY_ROLE = users.ROLES
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; "
    "base-uri 'none'; object-src 'none'"
)

csrf = CSRFProtect()


def is_api() -> bool:
    return request.path.startswith("/api/")


def current_user() -> dict | None:
    return g.get("user")


def has_role(user: dict | None, *roles: str) -> bool:
    """Whether `user` holds one of `roles` (admins hold them all)."""
    return bool(user) and ("admin" in user["roles"] or any(r in user["roles"] for r in roles))


def public(view):
    """Mark a view as open to anonymous visitors."""
    view.is_public = True
    return view


def signed_requests(view):
    """Mark a public view that checks a signature on every request itself (a helpdesk's
    webhook, web/hooks.py): it gets no CSRF check, as no browser session can call it."""
    view.signed_requests = True
    return view


def require_role(*roles: str, allow=None):
    """Only signed-in users with one of `roles` (none given: any role). `allow(user,
    **view_args)` may grant access to others for their own data (e.g. an agent reading
    reviews of their replies). Anonymous: login redirect (pages) or 401 (API)."""
    needed = tuple(roles) or ANY_ROLE

    def decorate(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            user = current_user()
            if user is None:
                return unauthenticated()
            if not has_role(user, *needed) and not (allow and allow(user, **kwargs)):
                return forbidden()
            return view(*args, **kwargs)

        wrapper.required_roles = needed
        wrapper.allow_own = allow is not None
        return wrapper

    return decorate


def unauthenticated():
    if is_api():
        return jsonify({"error": "sign in, or send 'Authorization: Bearer TOKEN'"}), 401
    return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))


def forbidden(message: str = "your role does not allow this"):
    if is_api():
        return jsonify({"error": message}), 403
    return render_template("error.html", code=403, message=message), 403


def check_declared(app: Flask) -> None:
    """Refuse to build an app with a view that declares neither `@public` nor a role."""
    for endpoint, view in app.view_functions.items():
        if endpoint != "static" and not (
            getattr(view, "is_public", False) or getattr(view, "required_roles", None)
        ):
            raise RuntimeError(f"view {endpoint!r} declares no access (@public/@require_role)")


def _bearer_token() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" else None


def init_app(app: Flask, config: Config) -> None:
    """Sessions, user loading, CSRF, error pages for 401/403/CSRF and security headers."""
    web = config.sections.get("web", {})
    origins = framing.embed_origins(config)
    in_frame = framing.embed_cookies(config)  # the session lives in the helpdesk's iframe
    app.config.update(
        SECRET_KEY=secret_key(config),
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="None" if in_frame else "Lax",
        SESSION_COOKIE_SECURE=bool(web.get("secure_cookies", True)),
        SESSION_COOKIE_PARTITIONED=in_frame,
        SESSION_COOKIE_NAME="replykit_session",
        PERMANENT_SESSION_LIFETIME=timedelta(hours=config.session_lifetime_hours),
        WTF_CSRF_CHECK_DEFAULT=False,
        WTF_CSRF_TIME_LIMIT=None,
    )
    csrf.init_app(app)
    idle = timedelta(minutes=config.session_idle_minutes)
    lifetime = timedelta(hours=config.session_lifetime_hours)
    proxies = int(web.get("proxies", 0))
    if proxies:  # behind N reverse proxies: trust their X-Forwarded-For/-Proto/-Host
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies)

    @app.before_request
    def load_user():
        from web.db import get_home

        limit = app.config.get("MAX_CONTENT_LENGTH")
        if limit and (request.content_length or 0) > limit:
            abort(413, f"the request is larger than {limit // (1024 * 1024)} MiB")
        g.user, g.via_token = None, False
        token = _bearer_token() if is_api() else None
        db = get_home().db
        if token is not None:
            g.user = users.token_user(db, token)
            if g.user is None:
                return jsonify({"error": "invalid, expired or revoked API token"}), 401
            g.via_token = True
        elif session.get("sid"):
            g.user = users.session_user(db, session["sid"], idle, lifetime)
            if g.user is None:
                session.clear()
        view = app.view_functions.get(request.endpoint)
        if request.method not in SAFE_METHODS and not g.via_token and not getattr(
                view, "signed_requests", False):
            # an anonymous call to a protected API answers 401 (from the view), not a CSRF 400
            if not (is_api() and g.user is None and not getattr(view, "is_public", False)):
                csrf.protect()

    @app.errorhandler(CSRFError)
    def csrf_error(exc: CSRFError):
        message = f"CSRF check failed: {exc.description} Reload the page and try again."
        if is_api():
            return jsonify({"error": message}), 400
        return render_template("error.html", code=400, message=message), 400

    @app.after_request
    def security_headers(response):
        headers = response.headers
        view = app.view_functions.get(request.endpoint)
        # the login form is framed too when the session lives in the helpdesk's iframe
        framed = (getattr(view, "frameable", False)
                  or (in_frame and request.endpoint == "auth.login"))
        csp = headers.get("Content-Security-Policy", CSP)
        headers.update(framing.frame_headers(csp, origins, framed))
        headers["X-Content-Type-Options"] = "nosniff"
        headers["Referrer-Policy"] = "same-origin"
        if request.endpoint != "static":
            headers.setdefault("Cache-Control", "no-store")
        return response


def login(user: dict) -> None:
    """Start a fresh session for `user` (a new session id: nothing of the old one is kept,
    and a session signed in before ends on the server too)."""
    from web.db import get_home

    db = get_home().db
    if session.get("sid"):
        users.end_session(db, session["sid"])
    session.clear()
    session["sid"] = users.start_session(db, user["id"])
    session.permanent = True
    g.user = user


def logout() -> None:
    from web.db import get_home

    if session.get("sid"):
        users.end_session(get_home().db, session["sid"])
    session.clear()
    g.user = None

