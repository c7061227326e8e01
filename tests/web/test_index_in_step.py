"""The vector indexes catch up with the `documents` table after every write path: each web
view and CLI command that changes documents writes through `SuggestEngine.writing()` (one
write transaction that also queues the changed documents in `index_queue`), so none can
forget the index. A CLI command then syncs before it returns; a web view returns at once and
the app's index writer (`suggest.index_writer`) catches up in the background: a save never
waits for the index, and suggestions stay right meanwhile (checked against the database).

A new view or command that writes must be classified below (it fails
`test_every_write_path_is_classified` until it is); if it changes documents it gets a case
that runs it and checks the index caught up (queue drained, not stale)."""

from __future__ import annotations

import fcntl
import io
import json
import threading
from contextlib import contextmanager

import click
import pytest
from click.testing import CliRunner
from jsonl_feed import JsonlFeed

from cli.main import cli
from replykit.home import Home
from storage.db import write_transaction
from suggest import library
from suggest.conversations import import_conversations
from suggest.engine import SuggestEngine

# mutating web endpoints that never change documents (feedback, drafts, reviews, sessions)
WEB_WITHOUT_DOCUMENTS = {
    "api_suggest.api_feedback", "api_suggest.api_suggest", "api_workspace.api_draft_finish",
    "api_workspace.api_draft_start", "api_workspace.api_render",
    "api_workspace.api_review_request", "auth.login", "auth.logout", "reviews.dispute",
    "reviews.resolve", "reviews.rubrics", "reviews.score", "reviews.start",
    "reviews.create_session", "reviews.assign", "i18n.choose_language",
    "reply_actions.apply_actions",  # acts on the helpdesk's ticket only
    "embed.send",  # posts to the helpdesk and records the send (sent_replies)
    # users, roles, teams and API tokens (admin pages)
    "admin.new_user", "admin.set_roles", "admin.set_teams", "admin.reset_password",
    "admin.deactivate", "admin.activate", "admin.create_token", "admin.revoke_token",
}
# CLI commands that change no documents, or rebuild every index themselves (demo, restore,
# index rebuild)
CLI_WITHOUT_DOCUMENTS = {
    "backup", "demo", "eval", "feedback", "index rebuild", "index status", "learn", "worker",
    "replies attach",
    "replies export", "replies history", "replies list", "replies show", "replies usage",
    "restore", "serve", "suggest",
    *(f"report {c}" for c in ("speed", "quality", "combined", "surveys")),
    *(f"rubrics {c}" for c in ("validate", "score", "import", "list", "show")),
    *(f"reviews {c}" for c in (
        "start", "rate", "submit", "add", "list", "show", "assign", "queue", "dispute",
        "resolve-dispute", "disputes", "request-draft", "return-draft", "drafts", "draft",
        "calibration")),
    *(f"users {c}" for c in ("add", "list", "set-role", "set-teams", "reset-password",
                             "deactivate", "activate", "demo")),
    *(f"tokens {c}" for c in ("create", "list", "revoke")),
}
CONVERSATION = [
    {"conversation_id": "S1", "message_id": "m1", "role": "customer", "author": "Kai Berg",
     "channel": "email", "created_at": "2026-09-05T09:00:00Z", "subject": "Invoice",
     "body": "Where can I download last month's invoice?", "customer_email": "kai@example.com"},
    {"conversation_id": "S1", "message_id": "m2", "role": "agent", "author": "Ana Agent",
     "channel": "email", "created_at": "2026-09-05T09:10:00Z", "subject": "Invoice",
     "body": "Hi Kai, invoices are under Billing > Invoices."},
]


def _write_conversation(path):
    path.write_text("".join(json.dumps(m) + "\n" for m in CONVERSATION), encoding="utf-8")
    return path


def _add_version(db, tmp_path):
    library.edit_reply(db, "refund-policy", {"body": "Refunds within 60 days."}, "x", "longer")


def _serve_feed(db, tmp_path):
    """CONVERSATION served as a JSONL-over-HTTP source [sync.feed] of the home (the feed's
    thread is a daemon: it ends with the test process)."""
    feed = JsonlFeed([CONVERSATION])
    with open(tmp_path / "home" / "config.toml", "a", encoding="utf-8") as config:
        config.write(f'\n[sync.feed]\ntype = "jsonl-http"\nurl = "{feed.url}"\n')


def _import_conversation(db, tmp_path):
    import_conversations(db, _write_conversation(tmp_path / "s1.jsonl"))


def _upload(record: dict):
    return (io.BytesIO(json.dumps(record).encode()), "replies.jsonl")


NEW_REPLY = {"id": "gift-cards", "title": "Gift cards", "body": "Gift cards never expire.",
             "questions": "do gift cards expire?"}
# endpoint: (setup, user, path, form, json or upload, documents change)
WEB_WRITES = {
    "library.new": (None, "lee", "/library/new", {"form": NEW_REPLY}, True),
    "library.edit": (None, "lee", "/library/replies/refund-policy/edit", {"form": {
        "title": "Refunds", "body": "Refunds within 14 days.", "status": "approved"}}, True),
    "library.restore": (_add_version, "lee", "/library/replies/refund-policy/restore/1", {},
                        True),
    "library.approve": (None, "lee", "/library/replies/sso-setup/approve", {}, False),
    "library.archive": (None, "lee", "/library/replies/refund-policy/archive", {}, True),
    "library.bulk_tag": (None, "lee", "/library/bulk-tag", {"form": {
        "ids": ["invoice-copy", "refund-policy"], "tag": "vip", "action": "add"}}, False),
    "library.import_": (None, "lee", "/library/import", {"upload": dict(
        NEW_REPLY, questions=["do gift cards expire?"])}, True),
    "library.merge": (None, "lee", "/library/merge", {"form": {
        "keep": "refund-policy", "merge": "refund-processed"}}, True),
    "api_workspace.api_propose_reply": (None, "ana", "/api/saved-replies/proposals", {"json": {
        "title": "Gift cards", "body": "They never expire.", "question": "gift card expiry?"}},
        True),
}
# write views checked elsewhere: a helpdesk's webhook signs its requests instead of signing in
# (its messages reach the index writer: tests/connectors/test_hooks.py)
WEB_CHECKED_ELSEWHERE = {"hooks.receive"}
# command: (setup, arguments, documents change)
CLI_WRITES = {
    "replies add": (None, ["gift-cards", "--title", "Gift cards", "--body", "Never expire."],
                    True),
    "replies edit": (None, ["refund-policy", "--body", "Refunds within 14 days."], True),
    "replies archive": (None, ["refund-policy"], True),
    "replies restore": (_add_version, ["refund-policy", "1"], True),
    "replies import": (None, ["{tmp}/replies.jsonl"], True),
    "import conversations": (None, ["{tmp}/s1.jsonl"], True),
    "privacy forget": (_import_conversation, ["--customer", "kai@example.com"], True),
    "sync": (_serve_feed, ["feed"], True),
}


def _mutating_endpoints(app) -> set[str]:
    return {rule.endpoint for rule in app.url_map.iter_rules()
            if rule.methods - {"GET", "HEAD", "OPTIONS"}}


def _commands(group: click.Group, prefix: str = "") -> set[str]:
    found = set()
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            found |= _commands(command, f"{prefix}{name} ")
        else:
            found.add(prefix + name)
    return found


def test_every_write_path_is_classified(app):
    assert _mutating_endpoints(app) == (WEB_WITHOUT_DOCUMENTS | set(WEB_WRITES)
                                        | WEB_CHECKED_ELSEWHERE)

    assert _commands(cli) == CLI_WITHOUT_DOCUMENTS | set(CLI_WRITES)


def _status(web_config) -> tuple[set[int], dict]:
    """The document ids and `SuggestEngine.status()`, seen from a fresh connection."""
    home = Home(web_config)
    try:
        engine = SuggestEngine(home)
        return engine.document_ids(), engine.status()
    finally:
        home.close()


def _documents(web_config) -> tuple[set[int], bool]:
    """The document ids, and whether any index is stale or any change is still queued."""
    ids, status = _status(web_config)
    return ids, status["stale"] or status["pending_changes"] > 0


def _prepare(web_config, tmp_path, setup) -> set[int]:
    home = Home(web_config)
    try:
        if setup:
            setup(home.db, tmp_path)
        SuggestEngine(home).sync()
    finally:
        home.close()
    before, stale = _documents(web_config)
    assert not stale
    return before


def _post(client, token, path, body):
    if "json" in body:
        return client.post(path, json=body["json"], headers={"X-CSRFToken": token})
    if "upload" in body:
        return client.post(path, data={"csrf_token": token, "file": _upload(body["upload"])},
                           content_type="multipart/form-data")
    return client.post(path, data={"csrf_token": token, **body.get("form", {})})


@pytest.mark.parametrize("endpoint", sorted(WEB_WRITES))
def test_every_document_write_view_is_caught_up_by_the_index_writer(app, as_user, web_config,
                                                                     tmp_path, endpoint):
    setup, user, path, body, changes = WEB_WRITES[endpoint]
    before = _prepare(web_config, tmp_path, setup)
    client, token = as_user(user)
    response = _post(client, token, path, body)
    assert response.status_code in (201, 302), response.get_data(as_text=True)
    app.extensions["replykit.index_writer"].wait()
    after, stale = _documents(web_config)
    assert (after != before) == changes
    assert not stale, f"{endpoint} changed documents and the index writer did not catch up"


@pytest.mark.parametrize("command", sorted(CLI_WRITES))
def test_every_document_write_command_is_followed_by_a_sync(web_config, tmp_path, command):
    setup, arguments, changes = CLI_WRITES[command]
    before = _prepare(web_config, tmp_path, setup)
    (tmp_path / "replies.jsonl").write_text(json.dumps(dict(
        NEW_REPLY, questions=["do gift cards expire?"])) + "\n", encoding="utf-8")
    _write_conversation(tmp_path / "s1.jsonl")
    result = CliRunner().invoke(
        cli, ["--home", str(web_config.home), *command.split(),
              *(a.format(tmp=tmp_path) for a in arguments)],
        env={"REPLYKIT_MULTILINGUAL_MODEL": ""})
    assert result.exit_code == 0, result.output
    after, stale = _documents(web_config)
    assert (after != before) == changes
    assert not stale, f"{command} changed documents without syncing the vector indexes"


def test_writing_syncs_after_commit_and_not_on_rollback(web_config):
    home = Home(web_config)
    engine = SuggestEngine(home)
    try:
        with pytest.raises(RuntimeError), engine.writing() as db:
            library.archive_reply(db, "refund-policy", "x")
            raise RuntimeError("rolled back")
        assert library.get_reply(home.db, "refund-policy")["status"] != "archived"
        assert not engine.status()["stale"]
        with engine.writing() as db:
            library.archive_reply(db, "refund-policy", "x")
        assert not engine.status()["stale"]
    finally:
        home.close()


@contextmanager
def _writer_held(web_config):
    """Hold what the index writer needs, so it cannot catch up until the block ends: the
    index file lock (SQLite), or each model's vectors lock taken as a rebuild does
    (PostgreSQL)."""
    home = Home(web_config)
    try:
        if home.config.database_url:
            import storage.vectors

            with home.db.atomic():
                for embedder in SuggestEngine(home).embedders():
                    storage.vectors.lock_model(home.db, embedder.name)
                yield
            return
        with open(web_config.index_dir / ".lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            yield
    finally:
        home.close()


EDIT_INVOICE = {"title": "Download or resend an invoice", "status": "approved",
                "body": "Every invoice is under Billing > Invoices, as a PDF.",
                "questions": "where can i download my invoice"}


@pytest.mark.both_backends
def test_writes_return_while_the_index_writer_is_busy_and_suggestions_stay_right(
        app, as_user, web_config):
    """With the index writer held busy, a save, an archive and a new reply commit and return;
    meanwhile the library page says replies are being indexed, the archived reply is never
    suggested and the edited one shows its new text; once released, the writer drains the
    queue."""
    _prepare(web_config, None, None)
    lee, lee_token = as_user("lee")
    ana, ana_token = as_user("ana")
    done: list[int] = []

    def write() -> None:
        done.append(_post(lee, lee_token, "/library/replies/invoice-copy/edit",
                          {"form": EDIT_INVOICE}).status_code)
        done.append(_post(lee, lee_token, "/library/replies/refund-policy/archive",
                          {}).status_code)
        done.append(_post(lee, lee_token, "/library/new", {"form": NEW_REPLY}).status_code)

    with _writer_held(web_config):
        writer = threading.Thread(target=write)
        writer.start()
        writer.join(timeout=300)  # a guard against a deadlock (the old inline sync), not a timing
        assert not writer.is_alive(), "a web write waited for the index writer"
        assert done == [302, 302, 302]
        _, status = _status(web_config)
        assert status["stale"] and status["pending_changes"] > 0
        assert status["pending_replies"] == 3 and status["oldest_pending_seconds"] >= 0
        assert any(index["pending"] > 0 for index in status["indexes"])
        page = lee.get("/library/").get_data(as_text=True)
        assert "indexing 3 replies…" in page
        for query in ("Can I get a refund?", "where can i download my invoice"):
            found = ana.post("/api/suggest", json={"query": query, "k": 10},
                             headers={"X-CSRFToken": ana_token}).get_json()["suggestions"]
            assert "refund-policy" not in [s["id"] for s in found]
        invoice = next(s for s in found if s["id"] == "invoice-copy")
        assert invoice["body"] == EDIT_INVOICE["body"]
    app.extensions["replykit.index_writer"].wait()
    _, status = _status(web_config)
    assert not status["stale"] and status["pending_changes"] == 0
    assert status["oldest_pending_seconds"] is None
    assert "indexing" not in lee.get("/library/").get_data(as_text=True)


def test_the_library_page_wakes_the_index_writer_for_changes_left_queued(app, as_user,
                                                                         web_config):
    """A change committed without a sync (a CLI `--no-index` write, a killed server) is shown
    as being indexed, and opening the library page sets the app's index writer to it."""
    home = Home(web_config)
    try:
        with write_transaction(home.db):
            library.archive_reply(home.db, "refund-policy", "x")
    finally:
        home.close()
    lee, _ = as_user("lee")
    assert "indexing 1 reply…" in lee.get("/library/").get_data(as_text=True)
    app.extensions["replykit.index_writer"].wait()
    _, stale = _documents(web_config)
    assert not stale
    assert "indexing" not in lee.get("/library/").get_data(as_text=True)
