"""The app factory: config, per-request database connection, security (logins, roles, CSRF,
headers), one blueprint per area, and errors as JSON (API) or an error page."""

from __future__ import annotations

import sqlite3
import threading

import psycopg
from flask import Flask, g, jsonify, render_template
from werkzeug.exceptions import HTTPException, InternalServerError
from werkzeug.routing import IntegerConverter

from replykit.config import Config, load_config
from replykit.errors import ReplykitError
from storage.db import busy_message
from storage.health import connection_lost
from suggest.index_writer import IndexWriter

MAX_REQUEST_BYTES = 2 * 1024 * 1024


class Int64Converter(IntegerConverter):
    """`<int:...>` in routes: an id that SQLite's INTEGER can hold; a longer one does not
    match the route (404) instead of overflowing in the query (500)."""

    def __init__(self, url_map, *args, **kwargs):
        kwargs.setdefault("max", 2**63 - 1)
        super().__init__(url_map, *args, **kwargs)


def create_app(config: Config | dict | None = None) -> Flask:
    """Build the app for a replykit home. `config` is a Config, or a dict of Flask settings
    plus optional 'REPLYKIT_CONFIG' (a Config) / 'REPLYKIT_HOME' (a path)."""
    flask_settings: dict = {}
    if isinstance(config, Config):
        rk_config = config
    else:
        flask_settings = dict(config or {})
        rk_config = flask_settings.pop("REPLYKIT_CONFIG", None) or load_config(
            flask_settings.pop("REPLYKIT_HOME", None)
        )
    app = Flask(__name__)
    app.url_map.converters["int"] = Int64Converter
    app.config.update(MAX_CONTENT_LENGTH=MAX_REQUEST_BYTES, JSON_SORT_KEYS=False)
    app.extensions["replykit.config"] = rk_config
    # one Home (database connection) and one suggest engine per server thread, reused across
    # requests: opening a connection and checking migrations on every request cost more
    # than the suggestion itself. Vector indexes are loaded once and shared by all threads.
    app.extensions["replykit.per_thread"] = threading.local()
    app.extensions["replykit.vector_indexes"] = {}
    # writes commit and return; this thread brings the vector indexes in line after them
    app.extensions["replykit.index_writer"] = IndexWriter(
        rk_config, app.extensions["replykit.vector_indexes"])

    from web import i18n, limits, security

    security.init_app(app, rk_config)
    i18n.init_app(app)
    limits.init_app(app)  # after the security hook: the size check and sign-in come first
    app.config.update(flask_settings)

    @app.teardown_appcontext
    def end_request(_exc):
        home = g.pop("replykit_home", None)
        if home is None or "db" not in home.__dict__:
            return
        if connection_lost(home.db):  # the thread's next request opens a new connection
            home.close()
            local = app.extensions["replykit.per_thread"]
            local.home = local.engine = None
            return
        home.db.rollback()  # no request leaves a transaction open on its thread's connection

    @app.errorhandler(ReplykitError)
    def replykit_error(exc: ReplykitError):
        if security.is_api():
            return jsonify({"error": str(exc)}), exc.status
        return render_template("error.html", code=exc.status, message=str(exc)), exc.status

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        # keep the exception's own headers (a 405's Allow, RFC 9110), not its HTML content type
        headers = [(k, v) for k, v in exc.get_headers() if k.lower() != "content-type"]
        if security.is_api():
            return jsonify({"error": exc.description}), exc.code, headers
        page = render_template("error.html", code=exc.code, message=exc.description)
        return page, exc.code, headers

    @app.errorhandler(sqlite3.OperationalError)
    @app.errorhandler(psycopg.OperationalError)
    def database_error(exc: sqlite3.OperationalError | psycopg.OperationalError):
        message = busy_message(exc)
        if message is None and isinstance(exc, psycopg.OperationalError):
            app.logger.warning("database unreachable: %s", exc)
            message = "the database could not be reached; try again in a minute"
        if message is None:
            app.logger.exception("database error")
            return http_error(InternalServerError())
        if security.is_api():
            response = jsonify({"error": message})
        else:
            response = render_template("error.html", code=503, message=message)
        return response, 503, {"Retry-After": "30"}

    @app.context_processor
    def template_globals():
        user = security.current_user()
        return {"user": user, "has_role": lambda *roles: security.has_role(user, *roles)}

    from web import (
        admin_views,
        api_reports,
        api_suggest,
        api_workspace,
        auth,
        embed,
        health,
        hooks,
        i18n,
        library_views,
        openapi,
        reply_actions,
        reports_views,
        reviews_views,
        workspace,
    )

    for module in (auth, workspace, library_views, reviews_views, reports_views,
                   api_suggest, api_reports, api_workspace, openapi, admin_views, health, i18n,
                   embed, hooks, reply_actions):
        app.register_blueprint(module.bp)
    security.check_declared(app)
    return app
