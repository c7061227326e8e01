"""Whether the database answers: what a server's health endpoint reports to a load balancer.
A fresh look each time (a pooled PostgreSQL connection, or the SQLite file opened read-only),
bounded by a timeout, so a dead database is reported within seconds and a restarted one is
seen again at once."""

from __future__ import annotations

import sqlite3

import psycopg
import psycopg_pool

from storage.db import is_postgres, sqlite_path
from storage.postgres import pool


def database_problem(url: str, timeout: float = 3.0) -> str | None:
    """None when the database at `url` answers a query on its schema within about `timeout`
    seconds, else the kind of failure (an exception class name: no host or path in it)."""
    path = sqlite_path(url)
    try:
        if path is None:
            with pool(url).connection(timeout=timeout) as conn, conn.transaction():
                conn.execute(f"SET LOCAL statement_timeout = {int(timeout * 1000)}")
                conn.execute("SELECT COUNT(*) FROM schema_version").fetchone()
            return None
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=timeout)
        try:
            conn.execute("SELECT COUNT(*) FROM schema_version").fetchone()
        finally:
            conn.close()
    except (psycopg.Error, psycopg_pool.PoolTimeout, sqlite3.Error) as exc:
        return type(exc).__name__
    return None


def connection_lost(db) -> bool:
    """Whether `db` is a PostgreSQL connection the server has closed (a restart, a failover, an
    administrator's pg_terminate_backend): it can never work again and must be replaced."""
    return is_postgres(db) and db.conn.raw.closed
