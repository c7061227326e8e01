"""The home holds customer data and password hashes: it is private to the user who runs
replykit (directories 0700, database files and backups 0600), and a home made with loose
modes is tightened, with a warning, when it is opened."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from click.testing import CliRunner

from cli.main import cli
from replykit import users
from replykit.config import load_config
from replykit.home import Home
from web import create_app


def mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def database_files(home: Path) -> list[Path]:
    return sorted(p for p in home.iterdir() if p.name.startswith("replykit.db"))


def test_a_fresh_home_is_private_even_with_a_permissive_umask(tmp_path):
    old = os.umask(0o022)
    try:
        home = Home(load_config(tmp_path / "home", multilingual_model=""))
        users.add_user(home.db, "ana", "correct-horse-9", "agent")
        root = home.config.home
        assert mode(root) == 0o700
        assert mode(root / "index") == 0o700 and mode(root / "attachments") == 0o700
        files = database_files(root)
        assert {p.name for p in files} >= {"replykit.db", "replykit.db-wal", "replykit.db-shm"}
        assert all(mode(p) == 0o600 for p in files), {p.name: oct(mode(p)) for p in files}
        home.close()
    finally:
        os.umask(old)


def test_files_stay_private_after_the_server_writes(tmp_path, capsys):
    old = os.umask(0o022)
    try:
        config = load_config(tmp_path / "home", multilingual_model="")
        app = create_app({"TESTING": True, "REPLYKIT_CONFIG": config})
        home = Home(config)
        users.add_user(home.db, "ana", "correct-horse-9", "agent")
        client = app.test_client()
        page = client.get("/login").get_data(as_text=True)
        token = page.split('name="csrf-token" content="')[1].split('"')[0]
        response = client.post("/login", data={"username": "ana", "password": "correct-horse-9",
                                               "csrf_token": token})
        assert response.status_code == 302  # the server wrote a session row
        assert all(mode(p) == 0o600 for p in database_files(config.home))
        assert mode(config.home) == 0o700 and mode(config.home / "secret_key") == 0o600
        assert capsys.readouterr().err == ""  # a fresh home is made private, not tightened
        home.close()
    finally:
        os.umask(old)


def test_a_loose_home_is_tightened_with_a_warning(tmp_path, capsys):
    root = tmp_path / "home"
    Home(load_config(root, multilingual_model="")).db.execute("SELECT 1")
    os.chmod(root, 0o755)
    os.chmod(root / "index", 0o775)
    for path in database_files(root):
        os.chmod(path, 0o644)
    home = Home(load_config(root, multilingual_model=""))
    home.db.execute("SELECT 1")
    warned = capsys.readouterr().err
    assert "0755" in warned and str(root) in warned and "0700" in warned
    assert mode(root) == 0o700 and mode(root / "index") == 0o700
    assert all(mode(p) == 0o600 for p in database_files(root))
    home.close()
    Home(load_config(root, multilingual_model="")).db.execute("SELECT 1")
    assert capsys.readouterr().err == ""  # said once: the modes are now right


def test_backups_are_private(tmp_path):
    old = os.umask(0o022)
    try:
        home = tmp_path / "home"
        target = tmp_path / "backups" / "copy.db"
        result = CliRunner().invoke(cli, ["--home", str(home), "backup", str(target)])
        assert result.exit_code == 0, result.output
        assert mode(target) == 0o600
        assert mode(target.with_name("copy.db.attachments")) == 0o700
    finally:
        os.umask(old)
