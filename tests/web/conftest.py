"""Web fixtures: a home with the small en/th/fa library, a few conversations (English, Thai,
Persian), one user per role, and the real app with CSRF on. Helpers sign in through the
login form like a browser would."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from webtest_helpers import PASSWORD, signed_in

# username, display name, roles, teams (the library's refund-policy is billing's,
from replykit import users
from replykit.config import load_config
from replykit.home import Home
from suggest.conversations import import_conversations
from web import create_app

# api-rate-limits technical's; the conversations belong to no team)
PEOPLE = (
    ("ana", "Ana Agent", "agent", "support,billing"),
    ("bo", "Bo Agent", "agent", "support"),
    ("rui", "Rui Reviewer", "reviewer", ""),
    ("lee", "Lee Lead", "lead", "support,billing,technical"),
    ("root", "Root Admin", "admin", ""),
)
MESSAGES = [
    ("C1", "m1", "customer", "Emma Stone", "email", "2026-09-01T09:00:00Z",
     "Hi, can I get a refund? I was charged twice."),
    ("C1", "m2", "agent", "Ana Agent", "email", "2026-09-01T09:30:00Z",
     "Hi Emma, refunds are possible within 30 days. Ana"),
    ("C1", "m3", "customer", "Emma Stone", "email", "2026-09-01T10:00:00Z",
     "Thanks! How long does the refund take?"),
    ("C2", "m1", "customer", "สมชาย ใจดี", "chat", "2026-09-02T03:00:00Z",
     "ลืมรหัสผ่าน เข้าสู่ระบบไม่ได้ค่ะ"),
    ("C3", "m1", "customer", "سارا احمدی", "email", "2026-09-03T08:00:00Z",
     "رمز عبورم را فراموش کرده‌ام، چطور آن را بازنشانی کنم؟"),
    ("C3", "m2", "agent", "Bo Agent", "email", "2026-09-03T08:20:00Z",
     "سلام سارا، از صفحه ورود روی «فراموشی رمز» بزنید."),
]


def write_messages(path: Path) -> Path:
    with open(path, "w", encoding="utf-8") as f:
        for conv, mid, role, author, channel, at, body in MESSAGES:
            f.write(json.dumps({
                "conversation_id": conv, "message_id": mid, "role": role, "author": author,
                "channel": channel, "created_at": at, "body": body,
                "subject": {"C1": "Refund", "C2": "รหัสผ่าน", "C3": "رمز عبور"}[conv],
            }, ensure_ascii=False) + "\n")
    return path


@pytest.fixture(scope="session")
def web_home_template(tmp_path_factory, library_home_template) -> Path:
    """The library template plus conversations and users, built once per session."""
    from suggest.engine import SuggestEngine

    root = tmp_path_factory.mktemp("web") / "home"
    shutil.copytree(library_home_template, root)
    home = Home(load_config(root, multilingual_model=""))
    import_conversations(home.db, write_messages(root.parent / "messages.jsonl"))
    SuggestEngine(home).sync()
    for username, name, roles, team in PEOPLE:
        users.add_user(home.db, username, PASSWORD, roles, name=name, team=team)
    home.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    home.close()
    return root


@pytest.fixture
def web_config(tmp_path, web_home_template):
    root = tmp_path / "home"
    shutil.copytree(web_home_template, root)
    return load_config(root, multilingual_model="")


@pytest.fixture
def app(web_config):
    return create_app({"TESTING": True, "REPLYKIT_CONFIG": web_config})


@pytest.fixture
def client(app):
    """An anonymous client (not a `with` block: that would keep its app context, and `g`,
    for other clients' requests)."""
    return app.test_client()


@pytest.fixture
def db(web_config):
    home = Home(web_config)
    yield home.db
    home.close()


@pytest.fixture
def as_user(app):
    """as_user('ana') -> (a new client signed in as ana, its CSRF token)."""

    def sign_in(username: str):
        client = app.test_client()
        return client, signed_in(client, username)

    return sign_in
