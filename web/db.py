"""The web app's way to the replykit home and the suggest engine (as flaskr's `db.py`): one
Home (database connection) and one SuggestEngine per server thread, opened on first use and
kept across requests; vector indexes are loaded once and shared by all threads."""

from __future__ import annotations

from flask import current_app, g

from replykit.home import Home
from suggest.engine import SuggestEngine


def get_home() -> Home:
    """This server thread's Home (its database connection is opened on first use and kept)."""
    if "replykit_home" not in g:
        local = current_app.extensions["replykit.per_thread"]
        if getattr(local, "home", None) is None:
            local.home = Home(current_app.extensions["replykit.config"])
        g.replykit_home = local.home
    return g.replykit_home


def engine() -> SuggestEngine:
    """This server thread's engine: models stay loaded, and vector indexes are shared by all
    threads of the app (FAISS searches are read-only). Its writes commit and return: the
    app's index writer (`suggest.index_writer`) catches the indexes up after them."""
    local = current_app.extensions["replykit.per_thread"]
    found = getattr(local, "engine", None)
    if found is None:
        found = local.engine = SuggestEngine(
            get_home(), _loaded=current_app.extensions["replykit.vector_indexes"],
            background=current_app.extensions["replykit.index_writer"],
        )
    return found


def indexing() -> int:
    """How many saved or past replies have changes the vector indexes have not caught up with;
    when there are some, the app's index writer is nudged (a CLI `--no-index` write or a
    stopped server may have left them, and nothing else would wake it)."""
    pending = engine().pending()["pending_replies"]
    writer = current_app.extensions["replykit.index_writer"]
    if pending and writer is not None:
        writer.nudge()
    return pending
