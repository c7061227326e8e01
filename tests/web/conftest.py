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


def _add_web_data(root: Path, database_url: str | None = None) -> None:
    """Add the conversations and users to the library home at `root` (database at
    `database_url`, default the home's SQLite file) and close it."""
    from suggest.engine import SuggestEngine

    home = Home(load_config(root, multilingual_model="", database_url=database_url))
    import_conversations(home.db, write_messages(root.parent / "messages.jsonl"))
    SuggestEngine(home).sync()
    for username, name, roles, team in PEOPLE:
        users.add_user(home.db, username, PASSWORD, roles, name=name, team=team)
    if database_url is None:
        home.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    home.close()


@pytest.fixture(scope="session")
def web_home_template(tmp_path_factory, library_home_template) -> Path:
    """The library template plus conversations and users, built once per session."""
    root = tmp_path_factory.mktemp("web") / "home"
    shutil.copytree(library_home_template, root)
    _add_web_data(root)
    return root


@pytest.fixture(scope="module")
def module_web_config(tmp_path_factory, web_home_template):
    """A copy of the web template home (SQLite) shared by one module's tests: the browser
    tests serve one app per module."""
    root = tmp_path_factory.mktemp("module-web") / "home"
    shutil.copytree(web_home_template, root)
    return load_config(root, multilingual_model="")


@pytest.fixture(scope="session")
def postgres_web_template(tmp_path_factory, postgres_library_template, postgres_server):
    """(home, database name): `web_home_template` on PostgreSQL, its database closed so that
    tests can copy it."""
    from postgres_databases import create_database, database_name

    from storage.postgres import close_pool

    library_root, library_database = postgres_library_template
    root = tmp_path_factory.mktemp("pg-web") / "home"
    shutil.copytree(library_root, root)
    url = create_database(postgres_server, template=library_database)
    _add_web_data(root, url)
    close_pool(url)
    return root, database_name(url)


@pytest.fixture
def web_config(request, tmp_path, backend):
    """A copy of the web template home (on PostgreSQL: and of its database)."""
    root = tmp_path / "home"
    if backend == "sqlite":
        shutil.copytree(request.getfixturevalue("web_home_template"), root)
        return load_config(root, multilingual_model="")
    from postgres_databases import pin_database

    template_root, template_database = request.getfixturevalue("postgres_web_template")
    shutil.copytree(template_root, root)
    url = request.getfixturevalue("postgres_database")(template_database)
    pin_database(root, url)  # commands given --home open the same database
    return load_config(root, multilingual_model="", database_url=url)


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
