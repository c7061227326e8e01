"""`replykit sync` from a REAL django-helpdesk over HTTP (tests/helpdesk_peer.py): tickets and
follow-ups made through its API arrive as conversations, messages and past replies; a second
run adds nothing; a new follow-up arrives alone; replies and actions go back."""

from __future__ import annotations

import contextlib
import json

import pytest
from click.testing import CliRunner
from helpdesk_peer import helpdesk_peer  # noqa: F401 (the session fixture)

import storage.conversations
from cli.main import cli
from connectors.base import make_source
from replykit.config import load_config
from replykit.home import Home
from storage.sync_state import sync_states
from suggest.engine import SuggestEngine


def write_config(home_dir, peer, **extra) -> None:
    home_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    lines = [f'{k} = "{v}"' for k, v in extra.items()]
    (home_dir / "config.toml").write_text(
        'multilingual_model = ""\n\n[sync.helpdesk]\ntype = "django-helpdesk"\n'
        f'url = "{peer.base_url}"\nusername_env = "PEER_USER"\npassword_env = "PEER_PASSWORD"\n'
        + "\n".join(lines) + '\n[sync.helpdesk.queues]\n1 = "Billing"\n', "utf-8")


@pytest.fixture
def sync(tmp_path, helpdesk_peer, monkeypatch):  # noqa: F811
    """Run `replykit --home H sync helpdesk --json ...`; returns (exit code, output)."""
    monkeypatch.setenv("PEER_USER", helpdesk_peer.username)
    monkeypatch.setenv("PEER_PASSWORD", helpdesk_peer.password)
    write_config(tmp_path / "home", helpdesk_peer)

    def invoke(*args):
        result = CliRunner().invoke(
            cli, ["--home", str(tmp_path / "home"), "sync", "helpdesk", "--json", *args])
        return result.exit_code, result.output

    return invoke


def open_home(tmp_path):
    return contextlib.closing(Home(load_config(tmp_path / "home")))


def test_sync_pulls_tickets_then_only_what_is_new(sync, helpdesk_peer, tmp_path):  # noqa: F811
    peer = helpdesk_peer
    first = peer.create_ticket("Double charge", "I was charged twice for order A-1001, "
                               "please refund one", "ana@example.com")
    peer.agent_reply(first, "Hi, I have refunded the second charge; it shows in 3 days.")
    peer.agent_reply(first, "internal: checked with finance", public=False)
    peer.customer_reply(first, "Thank you, it arrived!")
    second = peer.create_ticket("ลืมรหัสผ่าน", "ฉันลืมรหัสผ่าน เข้าระบบไม่ได้", "somchai@example.com")
    peer.agent_reply(second, "กดลิงก์ลืมรหัสผ่านในหน้าเข้าสู่ระบบได้เลยค่ะ")

    code, output = sync()  # the vector indexes catch up at the end
    assert code == 0, output
    counts = json.loads(output)
    assert counts["messages"] >= 5 and counts["rejected"] == 0
    assert peer.password not in output

    with open_home(tmp_path) as home:
        conversation = storage.conversations.conversation_row(home.db, str(first))
        assert conversation["subject"] == "Double charge"
        assert conversation["team"] == "Billing"
        assert conversation["status"] == "open"
        messages = storage.conversations.conversation_messages(home.db, str(first))
        assert [(m["role"], m["body"][:12]) for m in messages] == [
            ("customer", "I was charge"), ("agent", "Hi, I have r"), ("customer", "Thank you, i")]
        assert "internal" not in " ".join(m["body"] for m in messages)  # private note
        pasts = storage.conversations.stored_past_replies(home.db, str(first))
        assert len(pasts) == 1 and "refunded the second charge" in pasts[0]["answer"]
        assert "A-1001" not in pasts[0]["question"]  # templated like a file import
        assert len(storage.conversations.stored_past_replies(home.db, str(second))) == 1
        cursor_after_first = sync_states(home.db)[0]["cursor"]
        indexes = SuggestEngine(home).status()["indexes"]
        assert [(i["vectors"], i["state"]) for i in indexes] == [(2, "ok")]

    code, output = sync("--no-index")
    assert code == 0, output
    assert json.loads(output)["messages"] == 0  # nothing new

    peer.customer_reply(second, "ได้แล้วค่ะ ขอบคุณ")
    code, output = sync("--no-index")
    again = json.loads(output)
    assert (again["messages"], again["skipped"]) == (1, 0)  # only the new follow-up
    with open_home(tmp_path) as home:
        state = sync_states(home.db)[0]
        assert state["cursor"] != cursor_after_first
        assert [m["body"] for m in storage.conversations.conversation_messages(
            home.db, str(second))][-1] == "ได้แล้วค่ะ ขอบคุณ"


def test_replies_and_actions_go_back(helpdesk_peer, monkeypatch):  # noqa: F811
    peer = helpdesk_peer
    monkeypatch.setenv("PEER_USER", peer.username)
    monkeypatch.setenv("PEER_PASSWORD", peer.password)
    source = make_source({"sync": {"helpdesk": {
        "type": "django-helpdesk", "url": peer.base_url, "username_env": "PEER_USER",
        "password_env": "PEER_PASSWORD"}}}, "helpdesk")
    ticket = peer.create_ticket("Refund", "Where is my refund?", "li@example.com")

    note_id = source.post_reply(str(ticket), "Suggested: refund-policy", private=True)
    reply_id = source.post_reply(str(ticket), "Your refund is on its way.", private=False)
    followups = {str(f["id"]): f for f in peer.followups(ticket)}
    assert (followups[note_id]["comment"], followups[note_id]["public"]) == (
        "Suggested: refund-policy", False)
    assert followups[reply_id]["public"] is True

    done = source.apply_actions(str(ticket), [
        {"type": "set_status", "value": "solved"}, {"type": "set_priority", "value": "high"},
        {"type": "add_tags", "value": ["refund"]}])
    assert done == ["set_status solved: applied", "set_priority high: applied",
                    "add_tags ['refund']: not supported by django-helpdesk's API"]
    after = peer.api("GET", f"api/tickets/{ticket}/")
    assert (after["status"], after["priority"]) == (3, 2)


def test_wrong_password_is_one_line_without_the_password(sync, monkeypatch):
    monkeypatch.setenv("PEER_PASSWORD", "wrong-secret-5d1e")
    code, output = sync("--no-index")
    assert code == 1
    assert output.startswith("Error: helpdesk: GET http://127.0.0.1:")
    assert "HTTP 401" in output and "check the credentials" in output
    assert "wrong-secret-5d1e" not in output and output.count("\n") == 1


def test_a_status_change_alone_reaches_the_conversation(sync, helpdesk_peer, tmp_path):  # noqa: F811
    ticket = helpdesk_peer.create_ticket("Login", "I cannot log in", "dana@example.com")
    helpdesk_peer.agent_reply(ticket, "Please reset your password from the login page.")
    assert sync("--no-index")[0] == 0
    source = make_source(load_config(tmp_path / "home").sections, "helpdesk")
    # an internal follow-up with the new status and no text, as the helpdesk's form makes it
    assert source.apply_actions(str(ticket), [{"type": "set_status", "value": "resolved"}]) == [
        "set_status resolved: applied"]
    code, output = sync("--no-index")
    assert code == 0, output
    assert (json.loads(output)["messages"], json.loads(output)["skipped"]) == (0, 1)
    with open_home(tmp_path) as home:
        row = storage.conversations.conversation_row(home.db, str(ticket))
        assert row["status"] == "resolved" and row["resolved_at"].endswith("+00:00")
        assert len(storage.conversations.conversation_messages(home.db, str(ticket))) == 2


def test_customer_users_comment_as_the_customer(helpdesk_peer, monkeypatch):  # noqa: F811
    peer = helpdesk_peer
    monkeypatch.setenv("PEER_USER", peer.username)
    monkeypatch.setenv("PEER_PASSWORD", peer.password)
    ticket = peer.create_ticket("Account", "Please close my account", "eve@example.com")
    peer.agent_reply(ticket, "I am signed in as myself and still want it closed")
    settings = {"type": "django-helpdesk", "url": peer.base_url, "username_env": "PEER_USER",
                "password_env": "PEER_PASSWORD"}
    for customer_users, role in (([], "agent"), ([1], "customer")):  # 1: the peer's admin
        source = make_source({"sync": {"helpdesk": {
            **settings, "customer_users": customer_users}}}, "helpdesk")
        records = [r for batch in source.pull(None) for r in batch.records
                   if r["conversation_id"] == str(ticket)]
        assert [r["role"] for r in records] == ["customer", role]
        assert records[1]["author"] == ("eve@example.com" if role == "customer" else "agent 1")
