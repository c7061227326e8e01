"""The saved-reply library: replies with tags, language, status, folder, team visibility and
example questions; every change is a new version that can be viewed and restored.

Functions take a sqlite_utils.Database and return plain dicts. Each write is one transaction
that also refreshes the reply's search documents (see suggest.documents); callers then bring
the vector indexes up to date with `SuggestEngine.sync()`."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime

import sqlite_utils

import storage.library
from replykit.errors import Conflict, InputError, NotFound
from storage.db import write_transaction
from suggest import documents

STATUSES = ("draft", "approved", "archived")
EDITABLE = ("title", "body", "tags", "language", "status", "folder", "teams", "questions",
            "actions")
# A team's own stable key: any visible text up to 200 characters without slashes, so it is
# usable in URLs and file names.
_ID = re.compile(r"^[^\s/\\\x00-\x1f\x7f]([^/\\\x00-\x1f\x7f]{0,198}[^\s/\\\x00-\x1f\x7f])?$")
_LANGUAGE = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$")
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
MAX_TITLE = 300
MAX_BODY = 20_000


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _string_list(value, field: str, where: str) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str) or not isinstance(value, list):
        raise InputError("must be a list of strings", f"{where}field {field}")
    items = []
    for item in value:
        if not isinstance(item, str):
            raise InputError("must be a list of strings", f"{where}field {field}")
        item = item.strip()
        if item and item not in items:
            items.append(item)
    return items


def _text(data: dict, field: str, where: str, limit: int, required: bool = True) -> str:
    value = data.get(field)
    if value is None and not required:
        return ""
    if not isinstance(value, str) or (required and not value.strip()):
        raise InputError("is required and must be non-empty text", f"{where}field {field}")
    if len(value) > limit:
        raise InputError(f"is longer than {limit} characters", f"{where}field {field}")
    if CONTROL.search(value):
        raise InputError("contains control characters", f"{where}field {field}")
    return value


def normalize_folder(folder: str, where: str = "") -> str:
    """'Billing / Refunds/' -> 'Billing/Refunds'; rejects '..' and empty segments."""
    parts = [p.strip() for p in (folder or "").replace("\\", "/").split("/")]
    parts = [p for p in parts if p]
    if any(p in (".", "..") for p in parts):
        raise InputError("must not contain '.' or '..' segments", f"{where}field folder")
    return "/".join(parts)


def check_id(reply_id, where: str = "") -> str:
    """`reply_id` if it is a usable saved-reply id, else InputError naming `where` field id."""
    if not isinstance(reply_id, str) or not _ID.fullmatch(reply_id):
        raise InputError(
            "must be 1-200 characters with no slashes, control characters or "
            "leading/trailing spaces",
            f"{where}field id",
        )
    return reply_id


def validate(data: dict, where: str = "", require_id: bool = True) -> dict:
    """A clean reply record from user data, or InputError naming the field (and `where`,
    e.g. 'replies.jsonl line 4, ')."""
    if not isinstance(data, dict):
        raise InputError("expected a JSON object", where.rstrip(", "))
    clean: dict = {}
    if require_id or data.get("id") is not None:
        clean["id"] = check_id(data.get("id"), where)
    clean["title"] = _text(data, "title", where, MAX_TITLE).strip()
    clean["body"] = _text(data, "body", where, MAX_BODY)
    clean["tags"] = _string_list(data.get("tags"), "tags", where)
    language = data.get("language") or "en"
    if not isinstance(language, str) or not _LANGUAGE.fullmatch(language):
        raise InputError("must be a language code such as en, th or fa", f"{where}field language")
    clean["language"] = language
    status = data.get("status") or "approved"
    if status not in STATUSES:
        raise InputError(f"must be one of {', '.join(STATUSES)}", f"{where}field status")
    clean["status"] = status
    clean["folder"] = normalize_folder(_text(data, "folder", where, 300, required=False), where)
    clean["teams"] = _string_list(data.get("teams"), "teams", where)
    clean["questions"] = _string_list(data.get("questions"), "questions", where)
    for question in clean["questions"]:
        if len(question) > MAX_BODY:
            raise InputError("an example question is too long", f"{where}field questions")
    clean["actions"] = _actions(data.get("actions"), where)
    return clean


def _actions(value, where: str) -> list[dict]:
    """What the reply does to the ticket: a list of {"type": text, "value": any JSON, ...}
    objects (e.g. {"type": "add_tags", "value": ["refund"]}), kept as given."""
    if value is None:
        return []
    if not isinstance(value, list) or not all(
            isinstance(a, dict) and isinstance(a.get("type"), str) and a["type"].strip()
            for a in value):
        raise InputError('must be a list of objects with a "type"', f"{where}field actions")
    if len(json.dumps(value, ensure_ascii=False)) > MAX_BODY:
        raise InputError(f"is longer than {MAX_BODY} characters as JSON", f"{where}field actions")
    return value


def _row_to_reply(db: sqlite_utils.Database, row: dict) -> dict:
    reply = dict(row)
    reply["tags"] = json.loads(reply["tags"])
    reply["teams"] = json.loads(reply["teams"])
    reply["actions"] = json.loads(reply["actions"])
    reply.pop("team_id", None)
    reply["questions"] = storage.library.reply_questions(db, reply["id"])
    return reply


def visible_to(reply_teams: list[str], teams) -> bool:
    """Whether a reply restricted to `reply_teams` (empty: everyone) is visible to a user of
    `teams` (None: every team, as for an admin)."""
    return teams is None or not reply_teams or bool(set(reply_teams) & set(teams))


def get_reply(db: sqlite_utils.Database, reply_id: str) -> dict:
    """One saved reply with its questions; NotFound if there is none."""
    row = storage.library.reply_row(db, reply_id)
    if row is None:
        raise NotFound(f"no saved reply with id {reply_id!r}")
    return _row_to_reply(db, row)


def _write_current(db: sqlite_utils.Database, reply: dict, author: str, note: str) -> None:
    row = {k: reply[k] for k in ("id", "title", "body", "language", "status", "folder")}
    row.update(
        tags=json.dumps(reply["tags"], ensure_ascii=False),
        teams=json.dumps(reply["teams"], ensure_ascii=False),
        actions=json.dumps(reply["actions"], ensure_ascii=False),
        author=reply["author"],
        version=reply["version"],
        created_at=reply["created_at"],
        updated_at=reply["updated_at"],
    )
    storage.library.write_reply(db, row)
    storage.library.replace_questions(db, reply["id"], reply["questions"])
    version = {k: row[k] for k in ("title", "body", "tags", "language", "status", "folder")}
    version.update(
        reply_id=reply["id"],
        version=reply["version"],
        teams=row["teams"],
        actions=row["actions"],
        questions=json.dumps(reply["questions"], ensure_ascii=False),
        author=author,
        note=note,
        created_at=reply["updated_at"],
    )
    storage.library.insert_version(db, version)
    documents.sync_reply(db, reply["id"])


def add_reply(db: sqlite_utils.Database, data: dict, author: str = "") -> dict:
    """Create a saved reply (version 1). InputError if invalid or the id is taken."""
    clean = validate(data)
    with write_transaction(db):
        if storage.library.reply_version(db, clean["id"]) is not None:
            raise InputError(f"a saved reply with id {clean['id']!r} exists", "field id")
        stamp = now()
        reply = {**clean, "author": author, "version": 1, "created_at": stamp, "updated_at": stamp}
        _write_current(db, reply, author, "created")
    return get_reply(db, clean["id"])


def edit_reply(
    db: sqlite_utils.Database,
    reply_id: str,
    changes: dict,
    author: str = "",
    note: str = "",
    base_version: int | None = None,
) -> dict:
    """Apply `changes` (any of EDITABLE) as a new version; unchanged data adds no version.
    With `base_version` (the version the changes were made to), Conflict if the reply has
    changed since: saving a whole form made to an older version would undo that change."""
    unknown = set(changes) - set(EDITABLE)
    if unknown:
        raise InputError(f"cannot edit {', '.join(sorted(unknown))}", "fields")
    with write_transaction(db):
        current = get_reply(db, reply_id)
        if base_version is not None and base_version != current["version"]:
            raise Conflict(
                f"{reply_id} changed while you were editing it (you edited version "
                f"{base_version}, it is now version {current['version']}): your changes are "
                "below; check them against the current version, then save again"
            )
        merged = validate({**{k: current[k] for k in EDITABLE}, **changes, "id": reply_id})
        if all(merged[k] == current[k] for k in EDITABLE):
            return current
        reply = {
            **merged,
            "author": current["author"],
            "version": current["version"] + 1,
            "created_at": current["created_at"],
            "updated_at": now(),
        }
        _write_current(db, reply, author, note or "edited")
    return get_reply(db, reply_id)


def upsert_reply(db: sqlite_utils.Database, data: dict, author: str = "", where: str = "") -> str:
    """Import one record: create it, or update the reply with that id (a new version when
    something changed). Returns 'added', 'updated' or 'unchanged'."""
    clean = validate(data, where)
    version = storage.library.reply_version(db, clean["id"])
    if version is None:
        add_reply(db, {**clean}, author=data.get("author") or author)
        return "added"
    updated = edit_reply(db, clean["id"], {k: clean[k] for k in EDITABLE}, author, "imported")
    return "updated" if updated["version"] != version else "unchanged"


def archive_reply(db: sqlite_utils.Database, reply_id: str, author: str = "") -> dict:
    """Retire a reply: status archived (a new version); it leaves suggestions."""
    return edit_reply(db, reply_id, {"status": "archived"}, author, "archived")


def list_replies(
    db: sqlite_utils.Database,
    status: str | None = None,
    tag: str | None = None,
    language: str | None = None,
    folder: str | None = None,
    text: str | None = None,
    teams=None,
) -> list[dict]:
    """Replies filtered by status, tag, language, folder (prefix), text (title/body) and the
    teams they are visible to (`visible_to`; None: all)."""
    rows = storage.library.find_reply_rows(
        db, status=status, language=language, tag=tag, text=text,
        folder=normalize_folder(folder) if folder else None)
    return [_row_to_reply(db, row) for row in rows if visible_to(json.loads(row["teams"]), teams)]


def history(db: sqlite_utils.Database, reply_id: str) -> list[dict]:
    """Every version of a reply, oldest first."""
    get_reply(db, reply_id)
    return [_version_to_dict(row) for row in storage.library.version_rows(db, reply_id)]


def _version_to_dict(row: dict) -> dict:
    version = dict(row)
    for key in ("tags", "teams", "questions", "actions"):
        version[key] = json.loads(version[key])
    return version


def get_version(db: sqlite_utils.Database, reply_id: str, version: int) -> dict:
    """One stored version of a reply."""
    rows = storage.library.version_rows(db, reply_id, version)
    if not rows:
        raise NotFound(f"saved reply {reply_id!r} has no version {version}")
    return _version_to_dict(rows[0])


def restore_version(
    db: sqlite_utils.Database, reply_id: str, version: int, author: str = ""
) -> dict:
    """Make an old version current again, as a new version."""
    old = get_version(db, reply_id, version)
    return edit_reply(
        db, reply_id, {k: old[k] for k in EDITABLE}, author, f"restored version {version}"
    )
