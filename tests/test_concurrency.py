"""Concurrency with real processes: two `import conversations` (overlapping conversations), a
`replies import` and an `index rebuild` start together on one home while `replykit serve`
takes saved-reply edits through its forms. Every command must succeed, nothing may say
"database is locked" or answer 5xx, and nothing may be lost: every imported row, every web
edit in the version history, and an index that agrees with the database. A form opened
before the import changed its reply is refused on save (409) rather than undoing the change."""

from __future__ import annotations

import http.client
import json
import re
import socket
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode

import pytest

from replykit import users
from replykit.config import load_config
from replykit.home import Home
from suggest import library
from suggest.conversations import import_conversations
from suggest.engine import SuggestEngine

pytestmark = pytest.mark.both_backends

CLI = [sys.executable, "-c", "from cli.main import cli; cli()"]
LOCKED = "database is locked"
PASSWORD = "correct-horse-9"
EDITED = ("password-reset", "order-tracking")  # edited over the web
IMPORTED = ("refund-policy", "invoice-copy")  # changed by the replies import
_CSRF = re.compile(r'name="csrf-token" content="([^"]+)"')
_VERSION = re.compile(r'name="version" value="([0-9]+)"')


def write_conversations(path: Path, first: int, last: int, turns: int) -> Path:
    """Conversations first..last-1 with `turns` question/answer pairs each; a message's text
    depends only on its conversation and position, so two files agree on the messages they
    share."""
    start = datetime(2026, 9, 1, tzinfo=UTC)
    with open(path, "w", encoding="utf-8") as out:
        for c in range(first, last):
            for m in range(2 * turns):
                agent = m % 2 == 1
                message = {
                    "conversation_id": f"conc-{c}",
                    "message_id": f"m{m}",
                    "role": "agent" if agent else "customer",
                    "author": "Agent Smith" if agent else f"Customer {c}",
                    "channel": "chat",
                    "created_at": (start + timedelta(hours=c, minutes=m)).isoformat(),
                    "body": f"Answer {m} about topic {c % 37}: check the settings page."
                    if agent
                    else f"Question {m} about topic {c % 37}: where can I change this?",
                }
                out.write(json.dumps(message) + "\n")
    return path


class Browser:
    """A signed-in browser session against the server: its cookies, CSRF tokens from pages."""

    def __init__(self, port: int):
        self.port = port
        self.cookies: dict[str, str] = {}
        self.responses: list[tuple[str, int, str]] = []
        self.slowest = 0.0

    def request(self, method: str, path: str, form: dict | None = None) -> tuple[int, str]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=600)
        cookie = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        headers = {"Cookie": cookie} if cookie else {}
        body = None
        if form is not None:
            body = urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        started = time.monotonic()
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        self.slowest = max(self.slowest, time.monotonic() - started)
        text = response.read().decode("utf-8", "replace")
        for set_cookie in response.headers.get_all("Set-Cookie") or ():
            name, _, value = set_cookie.split(";", 1)[0].partition("=")
            self.cookies[name.strip()] = value
        conn.close()
        self.responses.append((f"{method} {path}", response.status, text))
        return response.status, text

    def form(self, path: str) -> dict:
        """The hidden fields of the form on a page: CSRF token, and version if it has one."""
        status, page = self.request("GET", path)
        assert status == 200, (path, status)
        version = _VERSION.search(page)
        return {"csrf_token": _CSRF.search(page).group(1)} | (
            {"version": version.group(1)} if version else {}
        )

    def sign_in(self, username: str) -> None:
        form = {"username": username, "password": PASSWORD, **self.form("/login")}
        assert self.request("POST", "/login", form)[0] == 302

    def edit(self, record: dict, hidden: dict, note: str) -> int:
        """Save the edit form of a saved reply with `record`'s fields; the status."""
        form = {
            "title": record["title"],
            "body": record["body"],
            "tags": ", ".join(record["tags"]),
            "language": record["language"],
            "status": record["status"],
            "folder": record["folder"],
            "teams": ", ".join(record.get("teams", [])),
            "questions": "\n".join(record["questions"]),
            "note": note,
            **hidden,
        }
        return self.request("POST", f"/library/replies/{record['id']}/edit", form)[0]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def shared_home(library_config) -> Path:
    """The small library home with a lead user, using only the primary embedder (and the
    test's PostgreSQL database, if any: config.toml tells the CLI subprocesses)."""
    root = library_config.home
    settings = 'multilingual_model = ""\n'
    if library_config.is_postgres:
        # every statement is a round trip to the server: on a shared machine an import of 600
        # conversations held the write lock ~25 s (SQLite: ~5 s), and three writers queue
        settings += f"database_url = {json.dumps(library_config.database_url)}\n"
        settings += "busy_timeout = 120.0\n"
    (root / "config.toml").write_text(settings, encoding="utf-8")
    home = Home(load_config(root))
    users.add_user(home.db, "lee", PASSWORD, "lead", name="Lee Lead", team="billing,technical")
    home.close()
    return root


def test_imports_rebuild_and_web_edits_at_the_same_time(shared_home, tmp_path, small_library):
    first = write_conversations(tmp_path / "a.jsonl", 0, 300, turns=2)
    # overlaps conversations 150-299 of the first file: the same messages, then more of them
    second = write_conversations(tmp_path / "b.jsonl", 150, 450, turns=3)
    by_id = {r["id"]: r for r in small_library}
    replies = tmp_path / "replies.jsonl"
    with open(replies, "w", encoding="utf-8") as out:
        for i in range(60):
            out.write(json.dumps({**by_id["shipping-delay"], "id": f"conc-{i}"}) + "\n")
        for reply_id in IMPORTED:
            out.write(json.dumps({**by_id[reply_id], "body": "Imported body."}) + "\n")

    port = free_port()
    server = subprocess.Popen(
        [*CLI, "--home", str(shared_home), "serve", "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    commands = [
        ["import", "conversations", str(first)],
        ["import", "conversations", str(second)],
        ["replies", "import", str(replies)],
        ["index", "rebuild"],
    ]
    browser = Browser(port)
    edits: list[tuple[str, str]] = []
    processes: list[subprocess.Popen] = []
    try:
        deadline = time.monotonic() + 180
        while True:
            assert server.poll() is None, server.stdout.read().decode()
            try:
                browser.sign_in("lee")
                break
            except OSError:
                assert time.monotonic() < deadline, "the server did not start"
                time.sleep(0.2)
        # a form opened before the replies import changes that reply, saved after it
        stale_form = browser.form(f"/library/replies/{IMPORTED[0]}/edit")
        processes += [
            subprocess.Popen(
                [*CLI, "--home", str(shared_home), *args],
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
            )
            for args in commands
        ]
        outputs: list[str] = [""] * len(processes)

        def collect(i: int) -> None:
            outputs[i] = processes[i].communicate()[0].decode("utf-8", "replace")

        readers = [threading.Thread(target=collect, args=(i,)) for i in range(len(processes))]
        for reader in readers:
            reader.start()
        # edit over the web for as long as the commands run (and at least 10 times)
        while len(edits) < 10 or any(p.poll() is None for p in processes):
            record = by_id[EDITED[len(edits) % len(EDITED)]]
            note = f"web edit {len(edits)}"
            hidden = browser.form(f"/library/replies/{record['id']}/edit")
            changed = {**record, "body": f"{record['body']}\n\n({note})"}
            assert browser.edit(changed, hidden, note) == 302
            edits.append((record["id"], note))
        for reader in readers:
            reader.join()
        stale = {**by_id[IMPORTED[0]], "body": "Stale web body."}
        assert browser.edit(stale, stale_form, "stale") == 409  # not a silent overwrite
        # web edits return before the index catches up: let the server's index writer drain
        # the queue before it stops (no time limit: it either drains or the suite times out)
        watcher = Home(load_config(shared_home))
        try:
            while SuggestEngine(watcher).pending()["pending_changes"]:
                time.sleep(0.2)
        finally:
            watcher.close()
    finally:
        for process in processes:
            if process.poll() is None:  # the test failed while it ran
                process.kill()
        server.terminate()
        server_output = server.communicate()[0].decode("utf-8", "replace")

    print(f"\n{len(edits)} web edits during the commands; slowest {browser.slowest:.1f} s")
    for args, process, output in zip(commands, processes, outputs, strict=True):
        assert process.returncode == 0, (args, output)
        assert LOCKED not in output, (args, output)
    assert LOCKED not in server_output and "Traceback" not in server_output, server_output
    for request, status, text in browser.responses:
        assert status < 500 and LOCKED not in text, (request, status)

    home = Home(load_config(shared_home))
    reference = Home(load_config(tmp_path / "reference", multilingual_model=""))
    try:
        db = home.db
        # every web edit is a version; the import's changes and new replies are there
        for reply_id in EDITED:
            notes = {v["note"] for v in library.history(db, reply_id)}
            assert {note for r, note in edits if r == reply_id} <= notes
        for reply_id in IMPORTED:
            assert library.get_reply(db, reply_id)["body"] == "Imported body."
        assert all(library.get_reply(db, f"conc-{i}") for i in range(60))
        # the conversations are what importing the two files one after the other gives
        import_conversations(reference.db, first)
        import_conversations(reference.db, second)
        for sql in (
            "SELECT conversation_id, message_id, role, created_at, body FROM messages",
            "SELECT id, question, answer, asked_at, answered_at FROM past_replies",
        ):
            got = sorted(db.execute(sql).fetchall())
            assert got == sorted(reference.db.execute(sql).fetchall()) and got
        # the last writer's index update saw every committed document
        assert not SuggestEngine(home).status()["stale"]
    finally:
        home.close()
        reference.close()
