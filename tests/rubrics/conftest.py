"""Fixtures for the rubrics tests: a real migrated SQLite file (or PostgreSQL database, see
the `backend` fixture)."""

from __future__ import annotations

import pytest

from storage.db import connect


@pytest.fixture
def db(tmp_path, database_url_of_backend):
    database = connect(database_url_of_backend or tmp_path / "replykit.db")
    yield database
    database.close()
