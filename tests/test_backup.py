"""`replykit backup` / `replykit restore`: a round trip through the real CLI, a backup taken
while another connection writes, and a bad backup refused before anything changes."""

from __future__ import annotations

import sqlite3

from click.testing import CliRunner

from cli.main import cli
from replykit.config import load_config
from replykit.home import Home
from storage.db import connect
from suggest import attachments, library

RECORD = {
    "id": "refund",
    "title": "Refund policy",
    "body": "Within 30 days.",
    "questions": ["money back?"],
}


def run(home, *args, **kwargs):
    return CliRunner().invoke(cli, ["--home", str(home), *args], **kwargs)


def test_backup_and_restore_round_trip(tmp_path):
    home_dir = tmp_path / "home"
    home = Home(load_config(home_dir, multilingual_model=""))
    library.add_reply(home.db, RECORD)
    attachments.add(home.db, home.config.attachments_dir, "refund", "form.txt", b"fill me in")
    home.close()
    backup_file = tmp_path / "backups" / "rk.db"
    result = run(home_dir, "backup", str(backup_file))
    assert result.exit_code == 0, result.output
    assert backup_file.is_file() and (tmp_path / "backups" / "rk.db.attachments").is_dir()

    fresh = tmp_path / "fresh"
    env = {"REPLYKIT_MULTILINGUAL_MODEL": ""}
    result = run(fresh, "restore", str(backup_file), "--yes", env=env)
    assert result.exit_code == 0, result.output
    restored = Home(load_config(fresh, multilingual_model=""))
    assert library.get_reply(restored.db, "refund")["questions"] == ["money back?"]
    assert attachments.read(restored.db, restored.config.attachments_dir, "refund", "form.txt") == (
        b"fill me in"
    )
    result = run(fresh, "suggest", "can I get my money back", "--json", env=env)
    assert '"id": "refund"' in result.output
    restored.close()


def test_backup_is_consistent_while_another_connection_writes(tmp_path):
    db = connect(tmp_path / "home" / "replykit.db")
    library.add_reply(db, RECORD)
    writer = connect(tmp_path / "home" / "replykit.db")
    writer.conn.execute("BEGIN IMMEDIATE")
    writer.execute("UPDATE saved_replies SET title = 'half-done' WHERE id = 'refund'")
    from replykit.backup import backup

    backup(db, tmp_path / "b.db", tmp_path / "home" / "attachments")
    writer.conn.execute("ROLLBACK")
    copy = sqlite3.connect(tmp_path / "b.db")
    assert copy.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert copy.execute("SELECT title FROM saved_replies").fetchone()[0] == "Refund policy"
    copy.close()
    db.close()
    writer.close()


def test_restore_refuses_a_file_that_is_not_a_backup(tmp_path):
    home_dir = tmp_path / "home"
    home = Home(load_config(home_dir, multilingual_model=""))
    library.add_reply(home.db, RECORD)
    home.close()
    bogus = tmp_path / "bogus.db"
    bogus.write_bytes(b"this is not sqlite" * 100)
    result = run(home_dir, "restore", str(bogus), "--yes")
    assert result.exit_code == 1
    assert result.output.startswith(f"Error: {bogus}: not a replykit backup")
    home = Home(load_config(home_dir, multilingual_model=""))
    assert library.get_reply(home.db, "refund")["title"] == "Refund policy"
    home.close()
