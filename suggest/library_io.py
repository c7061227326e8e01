"""Import and export of saved replies as JSONL or CSV (format by file extension), and import
of other helpdesks' saved replies (suggest.importers).

JSONL: one object a line, {"id", "title", "body", "tags", "language", "status", "folder",
"teams", "questions", "author", "attachments", "actions"}; only id, title and body are
required, status defaults to approved. CSV: the same columns; tags and teams are separated by
'|', questions by new lines inside the cell, attachments and actions are JSON lists; a cell a
spreadsheet could take for a formula gets a leading ' (textio.write_csv), which the import
removes again. Attachments travel inline as {"filename", "content_type", "content_base64"}.
Export then import round-trips exactly.

An import is one transaction. A broken file (bad JSON or CSV, a record without a usable id,
an id twice, a refused attachment) stops it with the file, line and field named, and nothing
is written. A row whose content is odd is imported anyway, repaired where that is safe (a
title cut to length, control characters removed, other tools' placeholders converted), or
skipped when it cannot be (no title or text, a bad language code...): either way with one
warning naming file, line, reply, field and what was done."""

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
from suggest import attachments, importers, library, placeholders

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
    "actions",
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
        for column in ("attachments", "actions"):
            if record.get(column):
                where = f"{path} line {number}, field {column}"
                try:
                    record[column] = json.loads(record[column])
                except (json.JSONDecodeError, RecursionError) as exc:
                    raise InputError("must be a JSON list", where) from exc
                check_text(record[column], where)
            else:
                record.pop(column, None)
        yield number, record


def repair(record: dict, foreign: bool) -> tuple[dict, list[tuple[str, str]]]:
    """The record with what can safely be repaired repaired, and (field, what was done)
    notes: a title cut to length, control characters removed, placeholders converted."""
    record, notes = dict(record), []
    for field in ("title", "body"):
        value = record.get(field)
        if isinstance(value, str) and library.CONTROL.search(value):
            record[field] = library.CONTROL.sub("", value)
            notes.append((field, "removed control characters"))
    title = record.get("title")
    if isinstance(title, str) and len(title.strip()) > library.MAX_TITLE:
        record["title"] = title.strip()[: library.MAX_TITLE - 1] + "…"
        notes.append(("title", f"cut to {library.MAX_TITLE} characters"))
    if isinstance(record.get("body"), str):
        converted = placeholders.convert(record["body"], foreign)
        record["body"] = converted.text
        notes += [("body", f"line {line} of the text: {message}")
                  for line, message in converted.notes]
    return record, notes


def _field(error: InputError) -> str:
    return error.where.rpartition("field ")[2] if "field " in error.where else ""


def import_replies(
    db: sqlite_utils.Database, path: Path, attachments_dir: Path, author: str = "",
    source: str | None = None,
) -> dict:
    """Add or update every reply of the file in one transaction (see the module docstring for
    what refuses the file and what only warns). `source`: another helpdesk's JSON
    (importers.SOURCES), else replykit's JSONL or CSV by extension. Returns {"added",
    "updated", "unchanged", "skipped": counts, "warnings": [{"file", "line", "reply", "field",
    "message"}]}."""
    path = Path(path)
    if source is None:
        rows = ((number, record, []) for number, record in read_records(path))
    else:
        rows = importers.read_records(source, path)
    result = {"added": 0, "updated": 0, "unchanged": 0, "skipped": 0, "warnings": []}
    seen: dict[str, int] = {}
    staged = attachments.Staging(attachments_dir)
    try:
        with write_transaction(db):
            for number, record, notes in rows:
                where = f"{path} line {number}, "
                reply_id = library.check_id(record.get("id"), where)
                if reply_id in seen:
                    raise InputError(
                        f"duplicate id {reply_id!r} (first on line {seen[reply_id]})",
                        f"{where}field id",
                    )
                seen[reply_id] = number
                record, repairs = repair(record, source is not None)

                def warn(field: str, message: str, number=number, reply_id=reply_id) -> None:
                    result["warnings"].append({"file": str(path), "line": number,
                                               "reply": reply_id, "field": field,
                                               "message": message})

                try:
                    library.validate(record, where)
                except InputError as exc:
                    warn(_field(exc), f"{exc.message}: row skipped")
                    result["skipped"] += 1
                    continue
                for field, message in notes + repairs:
                    warn(field, message)
                outcome = library.upsert_reply(db, record, author=author, where=where)
                result[outcome] += 1
                files = record.get("attachments")
                if files is not None:
                    if attachments.replace_all(db, staged, reply_id, files, where):
                        if outcome == "unchanged":
                            result["unchanged"] -= 1
                            result["updated"] += 1
            staged.commit()
    except BaseException:
        staged.rollback()
        raise
    return result


def summary(result: dict) -> str:
    """'3 added, 0 updated, 1 unchanged' (+ ', 1 skipped', ', 2 warnings' when there are)."""
    counts = [f"{result[k]} {k}" for k in ("added", "updated", "unchanged")]
    if result["skipped"]:
        counts.append(f"{result['skipped']} skipped")
    if result["warnings"]:
        counts.append(f"{len(result['warnings'])} warning{'s' * (len(result['warnings']) > 1)}")
    return ", ".join(counts)


def warning_line(warning: dict) -> str:
    """One warning as 'FILE line N, reply ID, field F: message'."""
    field = f", field {warning['field']}" if warning["field"] else ""
    return (f"{warning['file']} line {warning['line']}, reply {warning['reply']}{field}: "
            f"{warning['message']}")


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
            "actions": reply["actions"],
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
    row["actions"] = json.dumps(record["actions"], ensure_ascii=False) if record["actions"] else ""
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
