"""Rubric versions in the database. Importing a rubric whose definition differs from the
latest stored version of that name creates a new version (latest + 1); importing an
unchanged definition changes nothing. Stored versions are never edited, so a review always
keeps the exact rubric it was scored with."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import sqlite_utils

from replykit.errors import NotFound
from rubrics.rubric import Rubric, default_rubric_path, load_rubric, parse_rubric
from storage import reviews as review_store
from storage.db import write_transaction


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _body(rubric: Rubric) -> dict:
    data = rubric.to_dict()
    data.pop("version")
    return data


def latest_version(db: sqlite_utils.Database, name: str) -> int | None:
    """Newest stored version number of rubric `name`, or None."""
    return review_store.latest_rubric_version(db, name)


def get_rubric(db: sqlite_utils.Database, name: str, version: int | None = None) -> Rubric:
    """Stored rubric `name` at `version` (default: the newest)."""
    if version is None:
        version = latest_version(db, name)
        if version is None:
            raise NotFound(f"no rubric named {name!r}; store one with 'replykit rubrics import'")
    row = review_store.rubric_version(db, name, version)
    if row is None:
        raise NotFound(f"rubric {name!r} has no version {version}")
    return parse_rubric(json.loads(row["definition"]), f"{name} v{version}")


def store_rubric(db: sqlite_utils.Database, rubric: Rubric, source: str = "", by: str = "") -> dict:
    """Store `rubric` as a new version unless it equals the newest one. Returns
    {"name", "version", "created": bool}."""
    with write_transaction(db):
        latest = latest_version(db, rubric.name)
        if latest is not None and _body(get_rubric(db, rubric.name, latest)) == _body(rubric):
            return {"name": rubric.name, "version": latest, "created": False}
        version = 1 if latest is None else latest + 1
        definition = dict(rubric.to_dict(), version=version)
        review_store.insert_rubric_version(
            db,
            {
                "name": rubric.name,
                "version": version,
                "definition": json.dumps(definition, ensure_ascii=False),
                "source": source,
                "created_by": by,
                "created_at": _now(),
            }
        )
    return {"name": rubric.name, "version": version, "created": True}


def import_rubric_file(db: sqlite_utils.Database, path, by: str = "") -> dict:
    """Validate the YAML file at `path` and store it (see `store_rubric`)."""
    rubric = load_rubric(path)
    with open(path, encoding="utf-8") as handle:
        source = handle.read()
    return store_rubric(db, rubric, source=source, by=by)


def list_rubrics(db: sqlite_utils.Database) -> list[dict]:
    """Every stored rubric: name, newest version, all versions, pass threshold."""
    result = []
    for row in review_store.rubric_names(db):
        rubric = get_rubric(db, row["name"], row["latest"])
        result.append(
            {
                "name": row["name"],
                "latest_version": row["latest"],
                "versions": sorted(int(v) for v in row["versions"].split(",")),
                "pass_threshold": rubric.pass_threshold,
                "categories": len(rubric.categories),
            }
        )
    return result


def show_rubric(db: sqlite_utils.Database, name: str, version: int | None = None) -> dict:
    """A stored version's definition plus when and by whom it was stored."""
    rubric = get_rubric(db, name, version)
    row = review_store.rubric_version(db, rubric.name, rubric.version)
    return dict(rubric.to_dict(), created_at=row["created_at"], created_by=row["created_by"])


def ensure_default_rubric(db: sqlite_utils.Database) -> Rubric:
    """The shipped default rubric, stored first if no version of it exists yet."""
    rubric = load_rubric(default_rubric_path())
    if latest_version(db, rubric.name) is None:
        import_rubric_file(db, default_rubric_path(), by="replykit")
    return get_rubric(db, rubric.name)
