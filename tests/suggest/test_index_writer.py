"""The index queue and the background index writer (suggest/index_writer.py): changes to
`documents` are queued in their own transaction, survive a killed process, show in
`index status`, and the next writer drains them."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import pytest
from click.testing import CliRunner

import storage.search
from cli.main import cli
from replykit.forget import forget_customer
from replykit.home import Home
from storage.db import write_transaction
from suggest import library
from suggest.conversations import import_conversations
from suggest.engine import SuggestEngine
from suggest.index_writer import IndexWriter
from suggest.suggester import suggest

pytestmark = pytest.mark.both_backends

# commits a change to the library (queueing its documents), then dies before any sync
KILLED_WRITE = """
import os, signal, sys
from replykit.config import load_config
from replykit.home import Home
from storage.db import write_transaction
from suggest import library

home = Home(load_config(sys.argv[1], multilingual_model=""))
with write_transaction(home.db):
    library.edit_reply(home.db, "refund-policy", {"body": "Refunds within 60 days."}, "killed",
                       "")
os.kill(os.getpid(), signal.SIGKILL)
"""


def _status(home) -> dict:
    result = CliRunner().invoke(cli, ["--home", str(home), "index", "status", "--json"],
                                env={"REPLYKIT_MULTILINGUAL_MODEL": ""})
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_a_queued_change_survives_a_killed_process_and_the_next_writer_drains_it(
        library_config):
    killed = subprocess.run([sys.executable, "-c", KILLED_WRITE, str(library_config.home)],
                            env={**os.environ, "HF_HUB_OFFLINE": "1"}, capture_output=True,
                            text=True)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    status = _status(library_config.home)
    assert status["pending_changes"] > 0 and status["pending_replies"] == 1
    assert status["oldest_pending_seconds"] >= 0
    [index] = status["indexes"]
    assert index["pending"] > 0 and status["stale"]
    text = CliRunner().invoke(cli, ["--home", str(library_config.home), "index", "status"],
                              env={"REPLYKIT_MULTILINGUAL_MODEL": ""}).output
    assert f"Pending: {status['pending_changes']} queued changes of 1 replies" in text

    writer = IndexWriter(library_config, {})
    writer.nudge()
    assert writer.wait(timeout=600)
    status = _status(library_config.home)
    assert (status["pending_changes"], status["oldest_pending_seconds"]) == (0, None)
    assert not status["stale"] and status["indexes"][0]["pending"] == 0


MESSAGES = [
    {"conversation_id": "Q1", "message_id": "m1", "role": "customer", "author": "Kai Berg",
     "channel": "email", "created_at": "2026-09-05T09:00:00Z", "subject": "Invoice",
     "body": "Where can I download last month's invoice?", "customer_email": "kai@example.com"},
    {"conversation_id": "Q1", "message_id": "m2", "role": "agent", "author": "Ana Agent",
     "channel": "email", "created_at": "2026-09-05T09:10:00Z", "subject": "Invoice",
     "body": "Hi Kai, invoices are under Billing > Invoices."},
]


def test_every_document_change_is_queued_in_its_transaction(library_config, tmp_path):
    """Added and deleted documents of a saved reply, a past reply and a forgotten customer's
    past reply are queued with the reply they belong to; a rolled-back write queues nothing;
    a sync empties the queue; the forgotten past reply is not suggested before it."""
    home = Home(library_config)
    try:
        db = home.db
        assert storage.search.queue_state(db)["changes"] == 0
        with pytest.raises(RuntimeError), write_transaction(db):
            library.edit_reply(db, "refund-policy", {"body": "Refunds within 60 days."}, "x", "")
            raise RuntimeError("rolled back")
        assert storage.search.queue_state(db)["changes"] == 0
        with write_transaction(db):
            library.edit_reply(db, "refund-policy", {"body": "Refunds within 60 days."}, "x", "")
        # the title + body document goes and comes back: one deletion, one addition
        assert storage.search.queue_state(db) | {"oldest": None} == {
            "changes": 2, "replies": 1, "oldest": None}
        path = tmp_path / "q1.jsonl"
        path.write_text("".join(json.dumps(m) + "\n" for m in MESSAGES), encoding="utf-8")
        import_conversations(db, path)
        assert storage.search.queue_state(db)["replies"] == 2
        engine = SuggestEngine(home)
        engine.sync()
        assert storage.search.queue_state(db) == {"changes": 0, "replies": 0, "oldest": None}

        def past_conversations() -> set[str]:
            found = suggest(engine, MESSAGES[0]["body"], k=10)["suggestions"]
            return {s["conversation_id"] for s in found if s["kind"] == "past"}

        assert past_conversations() == {"Q1"}
        forget_customer(db, "kai@example.com")
        assert storage.search.queue_state(db)["changes"] == 1
        assert engine.status()["indexes"][0]["pending"] == (
            0 if library_config.is_postgres else 1)  # the forgotten document's vector
        assert past_conversations() == set()  # not suggested, though the index still has it
    finally:
        home.close()


def test_a_worker_that_has_embedded_everything_empties_the_queue(library_config):
    if not library_config.is_postgres:
        pytest.skip("replykit worker runs on PostgreSQL only")
    from suggest.worker import work

    home = Home(library_config)
    try:
        with write_transaction(home.db):
            library.edit_reply(home.db, "refund-policy", {"body": "Within 60 days."}, "x", "")
        engine = SuggestEngine(home)
        assert engine.pending()["pending_changes"] == 2
        assert work(engine, once=True) == {"all-MiniLM-L6-v2": 1}
        assert engine.pending()["pending_changes"] == 0 and not engine.status()["stale"]
    finally:
        home.close()
