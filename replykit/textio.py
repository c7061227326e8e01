"""Reading user files line by line (JSONL and CSV), decoding each line on its own so a bad
byte is reported with its line number, and writing files atomically."""

from __future__ import annotations

import csv
import json
import os
import re
import tempfile
import unicodedata
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from replykit.errors import InputError

MAX_LINE_BYTES = 8 * 1024 * 1024
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
_QUOTES_THEN_CONTROL = re.compile(r"'*[\t\r]")
_SPACES_AND_QUOTES = re.compile(r"[\s']*")


def iter_lines(path: Path, on_bytes: Callable[[int], None] | None = None) -> Iterator[str]:
    """Decoded lines (ends kept). InputError for a line that is not UTF-8 or too long."""
    path = Path(path)
    try:
        handle = open(path, "rb")
    except OSError as exc:
        raise InputError(f"cannot read file ({exc.strerror})", str(path)) from exc
    with handle:
        number = 0
        while True:
            raw = handle.readline(MAX_LINE_BYTES + 1)
            if not raw:
                return
            number += 1
            if len(raw) > MAX_LINE_BYTES:
                raise InputError(
                    f"line is longer than {MAX_LINE_BYTES // (1024 * 1024)} MB",
                    f"{path} line {number}",
                )
            if on_bytes:
                on_bytes(len(raw))
            try:
                text = raw.decode("utf-8-sig" if number == 1 else "utf-8")
            except UnicodeDecodeError as exc:
                raise InputError(
                    f"not UTF-8 text (byte {exc.start + 1} of the line is {raw[exc.start]:#04x}); "
                    "save the file as UTF-8",
                    f"{path} line {number}",
                ) from exc
            yield text


def check_text(value, where: str) -> None:
    """InputError if decoded data (JSON, YAML) holds a lone UTF-16 surrogate, e.g. from the
    escape "\\ud800" without its pair: that is not text, and storing it would fail."""
    try:
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InputError(
            f"contains {exc.object[exc.start]!r}, half of a surrogate pair, which is not text",
            where,
        ) from exc


def read_jsonl(path: Path, on_bytes=None) -> Iterator[tuple[int, dict]]:
    """(line number, object) for each non-blank line."""
    for number, line in enumerate(iter_lines(path, on_bytes), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InputError(f"invalid JSON ({exc.msg})", f"{path} line {number}") from exc
        except RecursionError as exc:
            raise InputError("invalid JSON (nested too deeply)", f"{path} line {number}") from exc
        if not isinstance(record, dict):
            raise InputError("expected a JSON object", f"{path} line {number}")
        if _SURROGATE_ESCAPE.search(line):
            check_text(record, f"{path} line {number}")
        yield number, record


def read_csv(path: Path, required: set[str], on_bytes=None) -> Iterator[tuple[int, dict]]:
    """(line number where the row starts, row dict) for each CSV row after the header."""
    csv.field_size_limit(MAX_LINE_BYTES)
    reader = csv.DictReader(iter_lines(path, on_bytes))
    try:
        missing = required - set(reader.fieldnames or ())
        if missing:
            raise InputError(f"missing column(s): {', '.join(sorted(missing))}", f"{path} line 1")
        start = reader.line_num + 1
        for row in reader:
            if None in row:
                raise InputError("more cells than header columns", f"{path} line {start}")
            yield start, {k: v for k, v in row.items() if v is not None}
            start = reader.line_num + 1
    except csv.Error as exc:
        raise InputError(f"malformed CSV ({exc})", f"{path} line {reader.line_num}") from exc


def _looks_like_formula(text: str) -> bool:
    """True if a spreadsheet could read the cell as a formula: after any spaces and single
    quotes it starts with = + - @ (or a full-width or other compatibility form of them), or
    after any single quotes with a tab or carriage return (OWASP "CSV injection")."""
    if _QUOTES_THEN_CONTROL.match(text):
        return True
    first = text[_SPACES_AND_QUOTES.match(text).end():][:1]
    return unicodedata.normalize("NFKC", first)[:1] in ("=", "+", "-", "@")


def csv_cell(value):
    """A value to write into a CSV cell: text a spreadsheet could run as a formula gets a
    leading single quote (which spreadsheets show as text and `csv_text` removes again);
    numbers and other values are kept as they are."""
    return "'" + value if isinstance(value, str) and _looks_like_formula(value) else value


def csv_text(cell: str) -> str:
    """The text `csv_cell` was given: its added single quote removed. Exactly inverse: a
    text that itself starts with a quote before a formula character was quoted once more."""
    return cell[1:] if cell.startswith("'") and _looks_like_formula(cell[1:]) else cell


def write_csv(out, columns: list[str], rows, lineterminator: str = "\r\n") -> None:
    """Write a header and `rows` (dicts; a missing key is an empty cell) as CSV to the text
    stream `out`, every cell through `csv_cell`: the one CSV writer of replykit."""
    writer = csv.writer(out, lineterminator=lineterminator)
    writer.writerow([csv_cell(column) for column in columns])
    for row in rows:
        writer.writerow([csv_cell(row.get(column)) for column in columns])


def file_format(path: Path) -> str:
    """'jsonl' or 'csv' from the file extension."""
    suffix = Path(path).suffix.lower()
    if suffix in (".jsonl", ".ndjson"):
        return "jsonl"
    if suffix == ".csv":
        return "csv"
    raise InputError("unknown format: use a .jsonl or .csv file", str(path))


@contextmanager
def atomic_file(path: Path, mode: str = "wb") -> Iterator:
    """A file to write `path` through: a temp file beside it, fsynced and renamed over `path`
    when the block ends, removed if it raises. Readers see the old file or the new, never half."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".", suffix=".tmp")
    try:
        encoding = None if "b" in mode else "utf-8"
        with os.fdopen(
            fd, mode, encoding=encoding, newline=None if encoding is None else ""
        ) as out:
            yield out
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_atomically(path: Path, text: str) -> None:
    """Write UTF-8 text to `path` atomically (see `atomic_file`)."""
    with atomic_file(path, "w") as out:
        out.write(text)
