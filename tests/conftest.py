"""Shared fixtures: a replykit home in tmp_path (real SQLite file, real MiniLM model, real
FAISS) and a small saved-reply library in English, Thai and Persian taken from the demo data."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from replykit.config import load_config
from replykit.home import Home
from suggest import demo

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


@pytest.fixture
def loaded_engine(engine, small_library):
    """`engine` with the small library added and its vector index built."""
    from suggest import library

    for record in small_library:
        library.add_reply(engine.db, record, author="fixture")
    engine.sync()
    return engine
