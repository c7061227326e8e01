"""Import and export of saved replies as JSONL or CSV (format by file extension).

JSONL: one object a line, {"id", "title", "body", "tags", "language", "status", "folder",
"teams", "questions", "author", "attachments"}; only id, title and body are required, status
defaults to approved. CSV: the same columns; tags and teams are separated by '|', questions by
new lines inside the cell, attachments are a JSON list; a cell a spreadsheet could take for
a formula gets a leading ' (textio.write_csv), which the import removes again. Attachments
travel inline as {"filename", "content_type", "content_base64"}. Export then import
round-trips exactly.

An import is one transaction: any bad line aborts it with the file, line and field named,
and nothing is written."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path

import sqlite_utils

from replykit.errors import InputError
from replykit.textio import (
    check_text,
    csv_text,
    file_format,
    read_csv,
    read_jsonl,
    write_atomically,
    write_csv,
)
from storage.db import write_transaction
from suggest import attachments, library

CSV_COLUMNS = (
    "id",
    "title",
    "body",
    "tags",
    "language",
    "status",
    "folder",
    "teams",
    "questions",
    "author",
    "attachments",
)


def _split(value: str, sep: str) -> list[str]:
    return [part.strip() for part in value.split(sep) if part.strip()]


def read_records(path: Path) -> Iterator[tuple[int, dict]]:
    """(line number, record) of a JSONL or CSV library file, CSV list columns split."""
    path = Path(path)
    if file_format(path) == "jsonl":
        yield from read_jsonl(path)
        return
    for number, record in read_csv(path, {"id", "title", "body"}):
        record = {column: csv_text(cell) for column, cell in record.items()}
        for column, sep in (("tags", "|"), ("teams", "|"), ("questions", "\n")):
            if column in record:
                record[column] = _split(record[column], sep)
        if record.get("attachments"):
            where = f"{path} line {number}, field attachments"
            try:
                record["attachments"] = json.loads(record["attachments"])
            except (json.JSONDecodeError, RecursionError) as exc:
                raise InputError("must be a JSON list", where) from exc
            check_text(record["attachments"], where)
        else:
            record.pop("attachments", None)
        yield number, record


def import_replies(
    db: sqlite_utils.Database, path: Path, attachments_dir: Path, author: str = ""
) -> dict:
    """Add or update every reply in the file, all or nothing. Returns counts by outcome."""
    counts = {"added": 0, "updated": 0, "unchanged": 0}
    seen: dict[str, int] = {}
    staged = attachments.Staging(attachments_dir)
    try:
        with write_transaction(db):
            for number, record in read_records(path):
                where = f"{path} line {number}, "
                reply_id = record.get("id")
                if isinstance(reply_id, str) and reply_id in seen:
                    raise InputError(
                        f"duplicate id {reply_id!r} (first on line {seen[reply_id]})",
                        f"{where}field id",
                    )
                outcome = library.upsert_reply(db, record, author=author, where=where)
                seen[record["id"]] = number
                counts[outcome] += 1
                files = record.get("attachments")
                if files is not None:
                    if attachments.replace_all(db, staged, record["id"], files, where):
                        if outcome == "unchanged":
                            counts["unchanged"] -= 1
                            counts["updated"] += 1
            staged.commit()
    except BaseException:
        staged.rollback()
        raise
    return counts


def export_records(db: sqlite_utils.Database, attachments_dir: Path, status: str | None = None,
                   teams=None):
    """Replies (visible to `teams`, None: all) as export records, in id order."""
    replies = library.list_replies(db, status=status, teams=teams)
    for reply in sorted(replies, key=lambda r: r["id"]):
        yield {
            "id": reply["id"],
            "title": reply["title"],
            "body": reply["body"],
            "tags": reply["tags"],
            "language": reply["language"],
            "status": reply["status"],
            "folder": reply["folder"],
            "teams": reply["teams"],
            "questions": reply["questions"],
            "author": reply["author"],
            "attachments": attachments.export(db, attachments_dir, reply["id"]),
        }


def _csv_row(record: dict) -> dict:
    for column, sep in (("tags", "|"), ("teams", "|"), ("questions", "\n")):
        if any(sep in item for item in record[column]):
            raise InputError(
                f"a value contains {sep!r}, which CSV uses as the list separator: export as "
                ".jsonl instead",
                f"saved reply {record['id']}, field {column}",
            )
    row = dict(record)
    row["tags"] = "|".join(record["tags"])
    row["teams"] = "|".join(record["teams"])
    row["questions"] = "\n".join(record["questions"])
    row["attachments"] = json.dumps(record["attachments"]) if record["attachments"] else ""
    return row


def export_replies(
    db: sqlite_utils.Database, path: Path, attachments_dir: Path, status: str | None = None,
    teams=None,
) -> int:
    """Write every reply (visible to `teams`, None: all) to `path` (format by extension)
    atomically; returns the count."""
    path = Path(path)
    fmt = file_format(path)
    records = list(export_records(db, attachments_dir, status, teams))
    buffer = io.StringIO(newline="")
    if fmt == "jsonl":
        for record in records:
            buffer.write(json.dumps(record, ensure_ascii=False) + "\n")
    else:
        write_csv(buffer, CSV_COLUMNS, (_csv_row(r) for r in records))
    write_atomically(path, buffer.getvalue())
    return len(records)
