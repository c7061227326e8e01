"""Making and dropping PostgreSQL databases on the tests' server (tests/conftest.py starts
it): each test gets its own database, a copy of a template."""

from __future__ import annotations

import json
import secrets
from pathlib import Path


def database_url(server_url: str, name: str) -> str:
    """The URL of database `name` on the server of `server_url`."""
    return server_url.replace("/postgres?", f"/{name}?", 1)


def database_name(url: str) -> str:
    """The database name in a URL made by `database_url`."""
    return url.split("?", 1)[0].rsplit("/", 1)[1]


def create_database(server_url: str, template: str = "template0", name: str | None = None) -> str:
    """Create a UTF8 database `name` (default a new random name), a copy of `template`, on
    the server; its URL."""
    import psycopg

    name = name or f"rk_{secrets.token_hex(6)}"
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name} TEMPLATE {template} ENCODING 'UTF8' "
                     "LC_CTYPE 'C.UTF-8' LC_COLLATE 'C.UTF-8'")
    return database_url(server_url, name)


def drop_database(server_url: str, url: str) -> None:
    """Close this process's pool of `url` and drop its database."""
    import psycopg

    from storage.postgres import close_pool

    close_pool(url)
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {database_name(url)} WITH (FORCE)")


def server_of(url: str) -> str:
    """The server URL (its `postgres` database) of a URL made by `database_url`."""
    return url.replace(f"/{database_name(url)}?", "/postgres?", 1)


def pin_database(home: Path, url: str) -> None:
    """Name the PostgreSQL database `url` in the home's config.toml, so that commands given
    only `--home` (CLI tests, subprocesses) open the test's database."""
    home.mkdir(parents=True, exist_ok=True)
    (home / "config.toml").write_text(f"database_url = {json.dumps(url)}\n", encoding="utf-8")
