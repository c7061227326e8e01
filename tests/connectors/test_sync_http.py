"""The connectors' HTTP (connectors/http.py) and the JSONL-over-HTTP source against a local
server: 429 with Retry-After and 500 are retried until the answer comes; credentials never
show in output or errors; settings that would hold a secret are refused."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from jsonl_feed import JsonlFeed

import connectors.http
from cli.main import cli
from connectors.base import ConnectorError, make_source
from connectors.http import Client
from storage.db import connect

MESSAGES = [
    {"conversation_id": "J1", "message_id": "m1", "role": "customer", "author": "Kai Berg",
     "channel": "chat", "created_at": "2026-09-05T09:00:00Z", "subject": "Invoice",
     "body": "Where can I download last month's invoice?"},
    {"conversation_id": "J1", "message_id": "m2", "role": "agent", "author": "Ana",
     "channel": "chat", "created_at": "2026-09-05T09:10:00Z",
     "body": "Hi Kai, invoices are under Billing > Invoices.", "nps": 9},
    {"conversation_id": "J2", "message_id": "m1", "role": "customer", "author": "Li",
     "channel": "chat", "created_at": "2026-09-06T09:00:00Z", "body": "สวัสดีค่ะ"},
]
TOKEN = "tok-3f9a2c-very-secret"


def sync(home, name="feed", *args):
    result = CliRunner().invoke(cli, ["--home", str(home), "sync", name, "--json", "--no-index",
                                      *args], env={"FEED_TOKEN": TOKEN})
    return result.exit_code, result.output


def configure(home, url, extra=""):
    home.mkdir(mode=0o700, parents=True, exist_ok=True)
    (home / "config.toml").write_text(
        f'multilingual_model = ""\n[sync.feed]\ntype = "jsonl-http"\nurl = "{url}"\n'
        f'token_env = "FEED_TOKEN"\n{extra}', "utf-8")


def test_429_and_500_are_retried_and_the_token_is_sent_not_shown(tmp_path):
    trouble = [(429, {"Retry-After": "1"}), (500, {})]
    with JsonlFeed([MESSAGES[:2], MESSAGES[2:]], trouble) as feed:
        configure(tmp_path / "home", feed.url)
        code, output = sync(tmp_path / "home")
        assert code == 0, output
        counts = json.loads(output)
        assert (counts["messages"], counts["batches"], counts["cursor"]) == (3, 2, "2")
        # the two troubled answers, then pages 0, 1 and the empty page 2
        assert len(feed.requests) == 5
        assert feed.requests[0][0] == feed.requests[2][0] == "/feed?limit=500"
        assert all(h["Authorization"] == f"Bearer {TOKEN}" for _, h in feed.requests)
        assert TOKEN not in output
        code, output = sync(tmp_path / "home")
        assert (code, json.loads(output)["messages"]) == (0, 0)
        assert feed.requests[-1][0] == "/feed?cursor=2&limit=500"  # resumed from the cursor


def test_errors_never_show_credentials(tmp_path):
    with JsonlFeed([], [(503, {})] * 3) as feed:
        configure(tmp_path / "home", feed.url.replace("http://", "http://user:pa55word@")
                  + f"?key={TOKEN}", "retries = 2\n")
        code, output = sync(tmp_path / "home")
    assert code == 1
    assert output == (f"Error: feed: GET {feed.url}: HTTP 503 Service Unavailable\n")
    assert TOKEN not in output and "pa55word" not in output
    assert len(feed.requests) == 3  # 2 retries, then the error


def test_a_bad_record_is_left_out_with_a_warning_and_the_rest_stored(tmp_path):
    bad = dict(MESSAGES[0], message_id="m0", created_at="yesterday")
    with JsonlFeed([[bad, *MESSAGES]]) as feed:
        configure(tmp_path / "home", feed.url)
        result = CliRunner().invoke(
            cli, ["--home", str(tmp_path / "home"), "sync", "feed", "--json", "--no-index"],
            env={"FEED_TOKEN": TOKEN})
    assert result.exit_code == 0, result.output
    assert "left out: feed after cursor None, record 1, field created_at: 'yesterday' is not " \
           "an ISO 8601 time" in result.stderr
    counts = json.loads(result.stdout)
    assert (counts["messages"], counts["rejected"]) == (3, 1)


@pytest.mark.parametrize(("settings", "message"), [
    ({"type": "jsonl-http", "url": "http://x", "token": TOKEN},
     "config.toml [sync.feed] token: secrets are not kept in the file"),
    ({"type": "jsonl-http", "url": "http://x", "token_env": "NOT_SET_ANYWHERE"},
     "environment variable NOT_SET_ANYWHERE (config.toml [sync.feed] token_env) is not set"),
    ({"type": "freshdesk", "url": "http://x"},
     "config.toml [sync.feed] type: 'freshdesk' is not one of django-helpdesk, jsonl-http"),
    ({"type": "jsonl-http", "url": "ftp://x"},
     "config.toml [sync.feed] url: 'ftp://x' is not an http(s) URL"),
    ({"type": "jsonl-http", "url": "http://x", "retries": "many"},
     "config.toml [sync.feed] retries: 'many' is not a whole number"),
    ({"type": "django-helpdesk", "url": "http://x", "token_env": "FEED_TOKEN", "queues": 5},
     'config.toml [sync.feed] queues: must be a table of id = "name"'),
    ({"type": "django-helpdesk", "url": "http://x", "token_env": "FEED_TOKEN",
      "time_zone": "Mars/Base"},
     "config.toml [sync.feed] time_zone: 'Mars/Base' is not a time zone name"),
])
def test_bad_settings_are_one_clear_line(settings, message, monkeypatch):
    monkeypatch.setenv("FEED_TOKEN", TOKEN)
    with pytest.raises(ConnectorError) as caught:
        make_source({"sync": {"feed": settings}}, "feed")
    assert str(caught.value).startswith(message)
    assert TOKEN not in str(caught.value)


def test_two_helpdesks_with_one_id_prefix_are_refused(monkeypatch):
    """Both number their tickets from 1: ticket 42 of each would be one conversation."""
    monkeypatch.setenv("FEED_TOKEN", TOKEN)
    desk = {"type": "django-helpdesk", "url": "http://x", "token_env": "FEED_TOKEN"}
    chat = {"type": "chatwoot", "url": "http://y", "token_env": "FEED_TOKEN", "account_id": 1}
    for sources in ({"feed": desk, "chat": chat},
                    {"feed": {**desk, "id_prefix": "d-"}, "chat": {**chat, "id_prefix": "d-"}}):
        with pytest.raises(ConnectorError, match=r"\[sync.feed\] id_prefix: .* is also "
                                                 r"\[sync.chat\]'s"):
            make_source({"sync": sources}, "feed")
    # own prefixes, or a JSONL feed (its records carry their own ids) beside one: fine
    make_source({"sync": {"feed": desk, "chat": {**chat, "id_prefix": "chat-"}}}, "feed")
    make_source({"sync": {"feed": desk, "crm": {"type": "jsonl-http", "url": "http://z"}}},
                "feed")


def test_a_redirect_or_a_link_to_another_host_is_refused():
    client = Client("feed", "http://127.0.0.1:9/api/")
    with pytest.raises(ConnectorError, match="not on http://127.0.0.1:9/api/, refused"):
        client.request("GET", "http://evil.example/steal")


def start_every(home: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", "from cli.main import cli; cli()", "--home", str(home), "sync",
         "feed", "--every", "10s", "--json", "--no-index"],
        cwd=Path(__file__).resolve().parents[2], env={**os.environ, "FEED_TOKEN": TOKEN},
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_every_keeps_syncing_until_sigterm_then_stops_cleanly(tmp_path):
    with JsonlFeed([MESSAGES]) as feed:
        configure(tmp_path / "home", feed.url)
        process = start_every(tmp_path / "home")
        lines = []
        while not lines or lines[-1] != "}\n":  # the first run's summary
            line = process.stdout.readline()
            assert line, process.stderr.read()
            lines.append(line)
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=60)
    assert process.returncode == 0, err
    assert json.loads("".join(lines))["messages"] == 3
    assert out == "" and TOKEN not in err


def test_every_outlives_a_helpdesk_down_and_a_busy_database(tmp_path):
    with JsonlFeed([MESSAGES], [(503, {})]) as feed:
        configure(tmp_path / "home", feed.url, "retries = 0\n")
        config = tmp_path / "home" / "config.toml"  # a write waits 0.2 s for another writer
        config.write_text("busy_timeout = 0.2\n" + config.read_text())
        process = start_every(tmp_path / "home")
        first = process.stderr.readline()
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=60)
        assert process.returncode == 0
        assert first == f"Error: feed: GET {feed.url}: HTTP 503 Service Unavailable (trying " \
                        "again in 10s)\n"

        holder = connect(tmp_path / "home" / "replykit.db")  # another writer holds the lock
        holder.conn.execute("BEGIN IMMEDIATE")
        try:
            process = start_every(tmp_path / "home")
            first = process.stderr.readline()
            process.send_signal(signal.SIGTERM)
            process.communicate(timeout=60)
        finally:
            holder.conn.execute("ROLLBACK")
            holder.close()
    assert process.returncode == 0
    assert first.startswith("Error: the database stayed busy")
    assert first.endswith("(trying again in 10s)\n")


def test_a_redirect_is_not_followed_and_the_token_stays_home(tmp_path):
    with JsonlFeed([MESSAGES]) as elsewhere, JsonlFeed(
            [], [(302, {"Location": elsewhere.url + "?stolen=1"})]) as feed:
        configure(tmp_path / "home", feed.url)
        code, output = sync(tmp_path / "home")
    assert code == 1
    assert output == f"Error: feed: GET {feed.url}: redirected to {elsewhere.url} (set the " \
                     "url to it)\n"
    assert elsewhere.requests == []


def test_retry_after_is_bounded_and_a_huge_answer_is_refused(monkeypatch):
    client = Client("feed", "http://127.0.0.1:9/")
    retry = client.session.get_adapter("http://127.0.0.1:9/").max_retries
    assert retry.parse_retry_after("86400") == connectors.http.RETRY_AFTER_MAX == 120
    monkeypatch.setattr(connectors.http, "MAX_BYTES", 1000)
    with JsonlFeed([MESSAGES * 10]) as feed:
        source = make_source({"sync": {"feed": {"type": "jsonl-http", "url": feed.url}}},
                             "feed")
        with pytest.raises(ConnectorError, match="the answer is larger than 0 MiB, refused"):
            list(source.pull(None))


@pytest.mark.parametrize("page", [
    {"results": [{"id": "x"}], "next": None},
    {"results": [{"id": 1, "ticket": 1, "date": "yesterday"}], "next": None},
    {"results": "nope"},
    ["not", "a", "page"],
])
def test_a_malformed_helpdesk_answer_is_one_clear_error(page, monkeypatch):
    monkeypatch.setenv("FEED_TOKEN", TOKEN)
    with JsonlFeed([[page]]) as feed:
        source = make_source({"sync": {"dh": {
            "type": "django-helpdesk", "url": feed.url.removesuffix("feed"),
            "token_env": "FEED_TOKEN"}}}, "dh")
        with pytest.raises(ConnectorError) as caught:
            list(source.pull(None))
    assert str(caught.value).startswith("dh: ")
    assert feed.requests[0][1]["Authorization"] == f"Token {TOKEN}"
