"""A write that waits past the busy timeout for another process's write (a long import) gets a
clear "busy, nothing saved, try again" answer — 503 with Retry-After on the web, one error line
in the CLI — never "database is locked" or a traceback; once the other write ends, the same
request goes through."""

from __future__ import annotations

import sqlite3
from contextlib import contextmanager

import pytest
from click.testing import CliRunner
from webtest_helpers import PASSWORD, csrf_token, signed_in

from cli.main import cli
from replykit.config import load_config
from web import create_app

# the other writer holds SQLite's file lock (PostgreSQL's busy answer: tests/test_postgres.py)
pytestmark = pytest.mark.sqlite_only("holds the write lock of the SQLite file")


@contextmanager
def another_writer(db_path):
    """Hold the database's write lock from another connection, as a long import does."""
    conn = sqlite3.connect(str(db_path))
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
    finally:
        conn.rollback()
        conn.close()


def test_web_writes_answer_503_while_another_process_writes(web_config):
    config = load_config(web_config.home, multilingual_model="", busy_timeout=0.2)
    client = create_app({"TESTING": True, "REPLYKIT_CONFIG": config}).test_client()
    token = signed_in(client, "ana")
    feedback = {"event": "inserted", "kind": "saved"}
    headers = {"X-CSRFToken": token}
    with another_writer(config.db_path):
        api = client.post("/api/suggestions/refund-policy/feedback", json=feedback,
                          headers=headers)
        other = create_app({"TESTING": True, "REPLYKIT_CONFIG": config}).test_client()
        page = other.post("/login", data={"username": "bo", "password": PASSWORD,
                                          "csrf_token": csrf_token(other)})
    assert api.status_code == 503 and api.headers["Retry-After"] == "30"
    assert "stayed busy" in api.get_json()["error"]
    assert page.status_code == 503 and "stayed busy" in page.get_data(as_text=True)
    for response in (api, page):
        assert "locked" not in response.get_data(as_text=True)
    # the other write is over: the same requests go through
    assert client.post("/api/suggestions/refund-policy/feedback", json=feedback,
                       headers=headers).status_code == 201
    assert other.post("/login", data={"username": "bo", "password": PASSWORD,
                                      "csrf_token": csrf_token(other)}).status_code == 302


def test_cli_write_says_busy_and_writes_nothing(web_config):
    env = {"REPLYKIT_BUSY_TIMEOUT": "0.2", "REPLYKIT_MULTILINGUAL_MODEL": ""}
    args = ["--home", str(web_config.home), "replies", "add", "busy-test", "--title", "Busy",
            "--body", "A reply added while the database was busy"]
    with another_writer(web_config.db_path):
        result = CliRunner().invoke(cli, args, env=env)
    assert result.exit_code == 1
    assert "stayed busy" in result.output and "Traceback" not in result.output
    shown = CliRunner().invoke(cli, ["--home", str(web_config.home), "replies", "show",
                                     "busy-test"], env=env)
    assert shown.exit_code == 1  # nothing was written
    assert CliRunner().invoke(cli, args, env=env).exit_code == 0
