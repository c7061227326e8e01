"""`replykit users ...` and `replykit tokens ...`."""

from __future__ import annotations

import json

from click.testing import CliRunner

from cli.main import cli
from replykit import users
from replykit.config import load_config
from replykit.home import Home
from suggest import library


def run(home_dir, *args, env=None):
    result = CliRunner().invoke(cli, ["--home", str(home_dir), *args], env=env)
    return result


def test_users_commands(tmp_path):
    home = tmp_path / "home"
    result = run(home, "users", "add", "alice", "--role", "admin,lead", "--name", "Alice Ng",
                 "--generate-password")
    assert result.exit_code == 0, result.output
    password = result.output.split("Password (shown once): ")[1].strip()
    assert "alice  Alice Ng  [admin, lead]" in result.output
    h = Home(load_config(home))
    assert users.authenticate(h.db, "alice", password)["name"] == "Alice Ng"
    result = run(home, "users", "add", "bob", "--role", "agent", env={
        "REPLYKIT_NEW_PASSWORD": "bob-password-1"})
    assert result.exit_code == 0 and users.authenticate(h.db, "bob", "bob-password-1")
    assert run(home, "users", "add", "bob", "--role", "agent", "--password",
               "whatever-123").output == "Error: user 'bob' exists\n"
    assert "unknown role 'boss'" in run(home, "users", "add", "x", "--role", "boss",
                                        "--password", "whatever-123").output
    listed = json.loads(run(home, "users", "list", "--json").output)
    assert [u["username"] for u in listed] == ["alice", "bob"]
    assert "[agent, reviewer]" in run(home, "users", "set-role", "bob", "agent,reviewer").output
    result = run(home, "users", "reset-password", "bob", "--password", "new-password-2")
    assert result.exit_code == 0 and users.authenticate(h.db, "bob", "new-password-2")
    assert "no user 'nobody'" in run(home, "users", "set-role", "nobody", "agent").output
    h.close()


def test_tokens_commands(tmp_path):
    home = tmp_path / "home"
    run(home, "users", "add", "bot", "--role", "agent", "--password", "bot-password-1")
    created = json.loads(run(home, "tokens", "create", "bot", "--name", "ci", "--json").output)
    assert created["token"].startswith("rk_") and created["name"] == "ci"
    text = run(home, "tokens", "create", "bot").output
    assert "shown once" in text and "rk_" in text
    listed = json.loads(run(home, "tokens", "list", "--json").output)
    assert len(listed) == 2 and all("token" not in t for t in listed)
    assert run(home, "tokens", "revoke", str(created["id"])).output == (
        f"Revoked token {created['id']}\n")
    assert "already revoked" in run(home, "tokens", "revoke", str(created["id"])).output
    assert "revoked" in run(home, "tokens", "list").output


def test_demo_users_only_in_demo_homes(tmp_path):
    home = tmp_path / "home"
    result = run(home, "users", "demo")
    assert result.exit_code == 1 and "not a demo home" in result.output

    h = Home(load_config(home))
    library.add_reply(h.db, {"id": "x", "title": "X", "body": "Y"}, author="demo")
    h.close()
    first = run(home, "users", "demo")
    assert first.exit_code == 0 and "maya   / demo-agent" in first.output
    again = run(home, "users", "demo")
    assert again.exit_code == 0 and again.output == first.output
    assert len(json.loads(run(home, "users", "list", "--json").output)) == 4
