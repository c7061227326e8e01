"""`replykit worker` (issue 14): embedding workers on one PostgreSQL database, as separate
processes of the real CLI. Two workers embed every pending document exactly once; a worker
killed with SIGKILL mid-batch loses nothing (its transaction goes, its documents are pending
again and the next worker embeds them); with SQLite the command says it needs PostgreSQL."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import pytest
from click.testing import CliRunner

import storage.vectors
from cli.main import cli
from suggest import demo
from suggest.conversations import import_conversations
from suggest.engine import SuggestEngine

CLI = [sys.executable, "-c", "from cli.main import cli; cli()"]
MODEL = "all-MiniLM-L6-v2"
postgres_only = pytest.mark.parametrize("backend", ["postgresql"], indirect=True)


def worker_env(config) -> dict:
    return {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1",
            "REPLYKIT_DATABASE_URL": config.database_url, "REPLYKIT_MULTILINGUAL_MODEL": ""}


def start_worker(config, *args: str) -> subprocess.Popen:
    return subprocess.Popen([*CLI, "--home", str(config.home), "worker", *args],
                            env=worker_env(config), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


@pytest.fixture
def pending_home(loaded_engine, tmp_path):
    """A PostgreSQL home whose library is embedded, plus imported conversations whose past
    replies are not (as after `import conversations --no-index`): (home, pending count)."""
    home = loaded_engine.home
    path = tmp_path / "conversations.jsonl"
    demo.write_conversations(path, n_conversations=60, seed=3)
    import_conversations(home.db, path)
    pending = storage.vectors.pending_count(home.db, MODEL)
    assert pending > 40
    return home, pending


def test_worker_needs_postgres(home):
    result = CliRunner().invoke(cli, ["--home", str(home.config.home), "worker", "--once"])
    assert result.exit_code == 1
    assert result.output == (
        "Error: replykit worker needs PostgreSQL (set REPLYKIT_DATABASE_URL or database_url): "
        "with SQLite every write command updates the vector indexes itself\n")


@postgres_only
def test_two_workers_embed_every_pending_document_exactly_once(pending_home, config):
    home, pending = pending_home
    workers = [start_worker(config, "--once", "--batch", "4", "--json") for _ in range(2)]
    reports = []
    for process in workers:
        out, err = process.communicate(timeout=600)
        assert process.returncode == 0, err
        reports.append(json.loads(out)["embedded"].get(MODEL, 0))
    # each claimed document is counted by the worker that embedded it: a document embedded
    # twice would make the sum larger than what was pending
    assert sum(reports) == pending
    assert storage.vectors.pending_count(home.db, MODEL) == 0
    assert storage.vectors.vector_ids(home.db, MODEL) == SuggestEngine(home).document_ids()
    assert not SuggestEngine(home).status()["stale"]


@postgres_only
def test_killed_worker_loses_nothing(pending_home, config):
    home, pending = pending_home
    doomed = start_worker(config, "--batch", "2", "--poll", "60")
    first = doomed.stdout.readline()  # a batch committed: it is inside the next one now
    assert first.startswith(f"{MODEL}: 2 embedded"), doomed.stderr.read()
    doomed.send_signal(signal.SIGKILL)
    doomed.communicate(timeout=60)
    left = storage.vectors.pending_count(home.db, MODEL)
    assert 0 < left < pending
    survivor = start_worker(config, "--once", "--json")
    out, err = survivor.communicate(timeout=600)
    assert survivor.returncode == 0, err
    # every document the killed worker held (locked) is pending again and taken over
    assert json.loads(out)["embedded"][MODEL] == left
    assert storage.vectors.vector_ids(home.db, MODEL) == SuggestEngine(home).document_ids()


@postgres_only
def test_a_worker_on_a_new_database_builds_the_model_first(home, tmp_path):
    """Right after `import conversations --no-index` into a new database no vector table
    exists yet: the worker builds it (once, under the model's lock), then has nothing left."""
    from suggest import worker

    path = tmp_path / "conversations.jsonl"
    demo.write_conversations(path, n_conversations=10, seed=4)
    import_conversations(home.db, path)
    engine = SuggestEngine(home)
    assert engine.vector_index(engine.embedders()[0]) is None
    worker.work(engine, once=True)
    assert not engine.status()["stale"]
    assert storage.vectors.vector_ids(home.db, MODEL) == engine.document_ids()


@postgres_only
def test_replies_import_no_index_leaves_the_encoding_to_workers(loaded_engine, config, tmp_path,
                                                               small_library):
    from suggest import worker

    path = tmp_path / "replies.jsonl"
    path.write_text("".join(json.dumps({**record, "id": f"copy-{record['id']}"},
                                       ensure_ascii=False) + "\n"
                            for record in small_library[:5]), encoding="utf-8")
    result = CliRunner().invoke(cli, ["--home", str(config.home), "replies", "import",
                                      str(path), "--no-index", "--json"],
                                env={"REPLYKIT_DATABASE_URL": config.database_url,
                                     "REPLYKIT_MULTILINGUAL_MODEL": ""})
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["added"] == 5
    pending = storage.vectors.pending_count(loaded_engine.db, MODEL)
    assert pending >= 5  # a title and a title + body at least, per reply
    assert worker.work(loaded_engine, once=True) == {MODEL: pending}
    assert not loaded_engine.status()["stale"]
