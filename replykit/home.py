"""A replykit home: the directory with the database, the vector indexes and attachments."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import sqlite_utils

from replykit.config import Config
from replykit.db import connect


@dataclass
class Home:
    """The resolved config plus a lazily opened, migrated database connection."""

    config: Config

    @cached_property
    def db(self) -> sqlite_utils.Database:
        return connect(self.config.db_path, busy_timeout=self.config.busy_timeout)

    def close(self) -> None:
        if "db" in self.__dict__:
            self.db.close()
            del self.__dict__["db"]
