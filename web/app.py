"""The app factory: config, per-request database connection, blueprints, JSON errors."""

from __future__ import annotations

from flask import Flask, g, jsonify

from replykit.config import Config, load_config
from replykit.errors import ReplykitError
from replykit.home import Home

MAX_REQUEST_BYTES = 2 * 1024 * 1024


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
    app.config.update(MAX_CONTENT_LENGTH=MAX_REQUEST_BYTES, JSON_SORT_KEYS=False)
    app.config.update(flask_settings)
    app.extensions["replykit.config"] = rk_config

    @app.teardown_appcontext
    def close_home(_exc):
        home = g.pop("replykit_home", None)
        if home is not None:
            home.close()

    @app.errorhandler(ReplykitError)
    def replykit_error(exc: ReplykitError):
        return jsonify({"error": str(exc)}), exc.status

    from web import api_reports, api_suggest

    app.register_blueprint(api_suggest.bp)
    app.register_blueprint(api_reports.bp)
    return app


def get_home() -> Home:
    """The request's Home (database opened on first use, closed at teardown)."""
    from flask import current_app

    if "replykit_home" not in g:
        g.replykit_home = Home(current_app.extensions["replykit.config"])
    return g.replykit_home
