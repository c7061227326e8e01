"""Fuzz fixtures: one real home per test function, shared by all its examples, and a watcher
that proves a failed import left the database and the attachment store as they were."""

from __future__ import annotations

import sqlite3

import pytest

from replykit.home import Home


class Watch:
    """Snapshots of a home seen from a second connection: PRAGMA data_version (changes when
    any other connection commits), row counts of every table and the attachment files."""

    def __init__(self, home: Home):
        self.home = home
        self.conn = sqlite3.connect(home.config.db_path)
        self.tables = [r[0] for r in self.conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table'")]

    def snapshot(self) -> tuple:
        counts = tuple(self.conn.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0]
                       for t in self.tables)
        directory = self.home.config.attachments_dir
        files = sorted(p.name for p in directory.iterdir()) if directory.exists() else []
        return self.conn.execute("PRAGMA data_version").fetchone()[0], counts, files

    def assert_unchanged(self, before: tuple) -> None:
        assert not self.home.db.conn.in_transaction, "a failed import left a transaction open"
        assert self.snapshot() == before, "a failed import changed the database or the files"


@pytest.fixture
def fuzz_home(config):
    home = Home(config)
    home.db  # noqa: B018 - open (and migrate) before the watcher lists the tables
    yield home
    home.close()


@pytest.fixture
def watch(fuzz_home):
    watcher = Watch(fuzz_home)
    yield watcher
    watcher.conn.close()
