"""The audit log: who changed users, roles, teams, passwords and API tokens, and who
exported or erased data, when. `record` is called inside the change's own write transaction
where there is one, so a change and its entry commit together (or neither does).

Actors are users by id (`actor_user_id`) with their username kept as a label; changes made
from the command line have no user (`actor_user_id` NULL, label "command line (OS user)":
the account that ran the command, as far as the system says). Details never hold a
password, a token or a customer's identifiers."""

from __future__ import annotations

import getpass
import hashlib
import hmac
import json
import unicodedata
from datetime import UTC, datetime

import sqlite_utils

from storage import audit as store
from storage.db import write_transaction

COMMAND_LINE = "command line"
PAGE_SIZE = 50


def record(
    db: sqlite_utils.Database, actor: dict | None, action: str, target: str = "",
    details: dict | None = None,
) -> int:
    """Log one change; `actor` is the signed-in user ({"id", "username"}) or None for the
    command line. Returns the entry's id."""
    with write_transaction(db):
        return store.insert_entry(db, {
            "at": datetime.now(UTC).isoformat(timespec="seconds"),
            "actor_user_id": actor["id"] if actor else None,
            "actor": (actor.get("username") or "") if actor else _command_line(),
            "action": action,
            "target": target,
            "details": json.dumps(details or {}, ensure_ascii=False, sort_keys=True),
        })


def _command_line() -> str:
    try:
        return f"{COMMAND_LINE} ({getpass.getuser()})"
    except (OSError, KeyError):  # no login name and no passwd entry (some containers)
        return COMMAND_LINE


def customer_digest(customer: str, key: str) -> str:
    """A keyed hash (HMAC-SHA256 with the home's secret key) of a customer's id or e-mail, as
    `privacy forget` logs it: whoever holds the key can check whether a given customer was
    forgotten, and the log alone reveals no address (a plain hash of an e-mail is easily
    guessed). Case and Unicode form do not change it."""
    folded = unicodedata.normalize("NFKC", (customer or "").strip()).casefold()
    return hmac.new(key.encode("utf-8"), folded.encode("utf-8"), hashlib.sha256).hexdigest()


def page(
    db: sqlite_utils.Database, number: int = 1, actor: str = "", action: str = "",
    size: int = PAGE_SIZE,
) -> dict:
    """One page of the log, newest first: {"entries": [...] (details decoded), "page",
    "pages", "total", "actions"}. `actor` is a user id, "cli" for the command line, or ""
    for everyone; `action` one action or "" for all."""
    command_line = actor == "cli"
    actor_id = int(actor) if actor.isascii() and actor.isdigit() and len(actor) < 19 else None
    total = store.count_entries(db, actor_id, command_line, action or None)
    pages = max(1, -(-total // size))
    number = min(max(1, number), pages)
    rows = store.entries(db, actor_id, command_line, action or None, size, (number - 1) * size)
    for row in rows:
        row["details"] = json.loads(row["details"])
    return {"entries": rows, "page": number, "pages": pages, "total": total,
            "actions": store.actions(db)}
