"""Shared fixtures: a replykit home in tmp_path (real SQLite file, real MiniLM model, real
FAISS) and a small saved-reply library in English, Thai and Persian taken from the demo data."""

from __future__ import annotations

import json
import os
import shutil
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


@pytest.fixture(scope="session")
def small_library() -> list[dict]:
    """15 saved replies (en, th, fa; one draft) as import records. Copy before mutating."""
    with open(DEMO_LIBRARY, encoding="utf-8") as f:
        by_id = {r["id"]: r for r in map(json.loads, filter(str.strip, f))}
    return [by_id[i] for i in SMALL_LIBRARY_IDS]


@pytest.fixture
def config(tmp_path):
    """A home in tmp_path with only the primary (MiniLM) embedder."""
    return load_config(tmp_path / "home", multilingual_model="")


@pytest.fixture
def home(config):
    h = Home(config)
    yield h
    h.close()


@pytest.fixture
def engine(home):
    from suggest.engine import SuggestEngine

    return SuggestEngine(home)


@pytest.fixture(scope="session")
def library_home_template(tmp_path_factory, small_library) -> Path:
    """A closed home holding the small library and its MiniLM index, built once per session."""
    from suggest import library
    from suggest.engine import SuggestEngine

    root = tmp_path_factory.mktemp("template") / "home"
    template = Home(load_config(root, multilingual_model=""))
    for record in small_library:
        library.add_reply(template.db, record, author="fixture")
    SuggestEngine(template).sync()
    template.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    template.close()
    return root


@pytest.fixture
def loaded_engine(config, library_home_template):
    """An engine over a private copy of the template home (library added, index in sync)."""
    from suggest.engine import SuggestEngine

    shutil.copytree(library_home_template, config.home)
    h = Home(config)
    yield SuggestEngine(h)
    h.close()
