"""Fixtures for the rubrics tests: a real migrated SQLite file."""

from __future__ import annotations

import pytest

from storage.db import connect


@pytest.fixture
def db(tmp_path):
    database = connect(tmp_path / "replykit.db")
    yield database
    database.close()
