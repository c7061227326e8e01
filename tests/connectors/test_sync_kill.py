"""SIGKILL during `replykit sync` loses nothing and leaves nothing half-written: a sync killed
at a random moment after its first batch committed, then run again, ends with exactly what
one uninterrupted sync stores (messages, past replies, cursor) from a REAL django-helpdesk."""

from __future__ import annotations

import contextlib
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from click.testing import CliRunner
from helpdesk_peer import helpdesk_peer  # noqa: F401 (the session fixture)

import storage.conversations
from cli.main import cli
from storage.db import connect, integrity_check
from storage.sync_state import sync_states

ROOT = Path(__file__).resolve().parents[2]


def _home(path: Path, peer) -> Path:
    path.mkdir(mode=0o700, parents=True)
    (path / "config.toml").write_text(
        f'multilingual_model = ""\n[sync.helpdesk]\ntype = "django-helpdesk"\n'
        f'url = "{peer.base_url}"\nusername_env = "PEER_USER"\npassword_env = "PEER_PASSWORD"\n'
        "page_size = 2\n", "utf-8")
    return path


def _state(home: Path) -> tuple:
    db = connect(home / "replykit.db")
    try:
        assert integrity_check(db) == "ok"
        messages = {
            (c, m["message_id"], m["role"], m["created_at"], m["body"])
            for c in storage.conversations.conversation_ids(db)
            for m in storage.conversations.conversation_messages(db, c)}
        pasts = {(p["id"], p["answer"]) for c in storage.conversations.conversation_ids(db)
                 for p in storage.conversations.stored_past_replies(db, c)}
        return messages, pasts, [s["cursor"] for s in sync_states(db)]
    finally:
        db.close()


def _batches(home: Path) -> int:
    with contextlib.suppress(Exception):  # the database may not exist or be migrated yet
        db = connect(home / "replykit.db", migrate=False)
        try:
            return sum(s["batches"] for s in sync_states(db))
        finally:
            db.close()
    return 0


def test_sigkill_anywhere_loses_nothing(tmp_path, helpdesk_peer, monkeypatch):  # noqa: F811
    peer = helpdesk_peer
    for n in range(5):
        ticket = peer.create_ticket(f"Order {n} late", f"My order {n} has not arrived yet.",
                                    f"buyer{n}@example.com")
        peer.agent_reply(ticket, f"Sorry! Order {n} ships tomorrow with express delivery.")
        peer.customer_reply(ticket, "Thanks, that helps.")
    env = {**os.environ, "PEER_USER": peer.username, "PEER_PASSWORD": peer.password}
    monkeypatch.setenv("PEER_USER", peer.username)
    monkeypatch.setenv("PEER_PASSWORD", peer.password)

    killed = _home(tmp_path / "killed", peer)
    process = subprocess.Popen(
        [sys.executable, "-c", "from cli.main import cli; cli()", "--home", str(killed),
         "sync", "helpdesk", "--no-index"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL)
    while _batches(killed) == 0 and process.poll() is None:
        time.sleep(0.01)
    delay = random.uniform(0, 0.3)
    time.sleep(delay)
    process.send_signal(signal.SIGKILL)
    process.wait()
    interrupted = _batches(killed)

    resumed = CliRunner().invoke(cli, ["--home", str(killed), "sync", "helpdesk", "--no-index"])
    assert resumed.exit_code == 0, resumed.output
    reference_home = _home(tmp_path / "reference", peer)
    reference = CliRunner().invoke(cli, ["--home", str(reference_home), "sync", "helpdesk",
                                         "--no-index"])
    assert reference.exit_code == 0, reference.output

    expected = _state(reference_home)
    assert len(expected[0]) >= 15 and len(expected[1]) >= 5
    assert _state(killed) == expected, f"killed {delay:.3f} s after batch 1, at {interrupted}"
