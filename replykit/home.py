"""A replykit home: the directory with the database, the vector indexes and attachments.
With `database_url` set to PostgreSQL the directory still holds config.toml and the caches."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import sqlite_utils

from replykit.config import Config
from storage.db import connect, make_private


@dataclass
class Home:
    """The resolved config plus a lazily opened, migrated database connection (SQLite, or a
    PostgreSQL connection from the pool, held until `close`)."""

    config: Config

    @cached_property
    def db(self) -> sqlite_utils.Database:
        self.make_directories()
        return connect(self.config.database, busy_timeout=self.config.busy_timeout)

    def make_directories(self) -> None:
        """Create the home and its index and attachments folders readable by their owner
        only (0700), tightening them, with a warning, if they exist with looser modes."""
        for folder in (self.config.home, self.config.index_dir, self.config.attachments_dir):
            if folder is None:  # attachments in the database (PostgreSQL)
                continue
            folder.mkdir(parents=True, exist_ok=True, mode=0o700)
            make_private(folder)

    def close(self) -> None:
        if "db" in self.__dict__:
            self.db.close()
            del self.__dict__["db"]
