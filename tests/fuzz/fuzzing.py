"""Shared pieces of the fuzz tests: settings profiles, input strategies (random and near-valid)
and the check that a failure is one of our typed errors saying what and where.

Profiles: "replykit-default" (a small sample, part of the default test run) and "fuzz"
(10,000 examples per parser, no deadline: `make fuzz`, or REPLYKIT_FUZZ=1). They are applied
per test with `fuzz_settings`, so loading this module changes no other test's settings."""

from __future__ import annotations

import csv
import io
import json
import os

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from replykit.config import ConfigError
from replykit.errors import ReplykitError

_COMMON = {
    "deadline": None,
    "database": None,
    # the home/database fixture is deliberately shared by all examples of a test
    "suppress_health_check": [HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                              HealthCheck.data_too_large, HealthCheck.filter_too_much],
}
settings.register_profile("replykit-default", max_examples=60, **_COMMON)
settings.register_profile("fuzz", max_examples=10_000, **_COMMON)
PROFILE = "fuzz" if os.environ.get("REPLYKIT_FUZZ") else "replykit-default"


def fuzz_settings(scale: float = 1.0, share: int = 1) -> settings:
    """The active profile. `scale` trims the default sample of a slow parser; `share` splits
    the fuzz profile's 10,000 examples over that many parametrized cases of one parser."""
    base = settings.get_profile(PROFILE)
    if PROFILE == "fuzz":
        return settings(base, max_examples=-(-base.max_examples // share))
    return settings(base, max_examples=max(10, int(base.max_examples * scale)))


def check_typed_error(exc: BaseException, *where: str) -> None:
    """`exc` must be our typed error with a message that names every string in `where`."""
    if not isinstance(exc, ReplykitError | ConfigError):
        raise exc
    message = str(exc)
    assert message.strip(), f"{type(exc).__name__} without a message"
    assert "Traceback" not in message
    for part in where:
        assert part in message, f"{message!r} does not say {part!r}"


# --- text and JSON values -------------------------------------------------------------------

TRICKY = [
    "", " ", "\x00", "\r\n", "\n", "\r", "\t", "\ufeff", "\u200c", "\u200f", "\ud800", "\udfff",
    "\U0001f600", "สวัสดีค่ะ ลืมรหัสผ่าน", "سلام، رمز عبورم را فراموش کرده‌ام ۱۲۳", "ك ي",
    "{{", "}}", "{{customer.first_name}}", "{{ customer.first_name | there }}", "{{1bad}}",
    "{{a|{b}}", '"', '""', "'", ",", "|", "\\", "/", "..", "../../etc/passwd", "a/b", "*",
    "1e999", "-0", "NaN", "9" * 40, "2026-01-02T03:04:05Z", "2026-01-02T03:04:05",
    "0001-01-01T00:00:00+05:00", "9999-12-31T23:59:59-05:00", "2026-02-30T00:00:00Z",
    "customer", "agent", "email", "chat", "urgent", "approved", "draft", "archived", "en", "th",
    "fa", "binary", "ordinal", "<script>alert(1)</script>", "x" * 300,
]

texts = st.one_of(st.sampled_from(TRICKY), st.text(max_size=40),
                  st.lists(st.sampled_from(TRICKY), max_size=4).map("".join))
numbers = st.one_of(
    st.integers(), st.integers(-(2**70), 2**70), st.sampled_from([0, -1, 1, 2**63, -(2**63) - 1]),
    st.floats(allow_nan=True, allow_infinity=True),
)
scalars = st.one_of(st.none(), st.booleans(), numbers, texts)
json_values = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4),
                            st.dictionaries(texts, inner, max_size=4)),
    max_leaves=12,
)


@st.composite
def mutated(draw, record: dict, fields: list[str]) -> dict:
    """A copy of `record` with a few fields dropped, retyped or added."""
    record = dict(record)
    for _ in range(draw(st.integers(0, 3))):
        action = draw(st.sampled_from(["drop", "retype", "text", "extra"]))
        field = draw(st.sampled_from(fields))
        if action == "drop":
            record.pop(field, None)
        elif action == "retype":
            record[field] = draw(json_values)
        elif action == "text":
            record[field] = draw(texts)
        else:
            record[draw(texts)] = draw(json_values)
    return record


# --- files ---------------------------------------------------------------------------------

BYTE_NOISE = [b"\xff", b"\xc3", b"\xe0\xb8", b"\x00", b'"', b"\n", b"\r", b"\r\n", b",",
              b"{", b"}", b"[", b"\\", b"\xef\xbb\xbf", b"\xed\xa0\x80"]


def to_bytes(text: str) -> bytes:
    """UTF-8, lone surrogates written as the (invalid) bytes Python would give them."""
    return text.encode("utf-8", "surrogatepass")


@st.composite
def noisy(draw, data: bytes) -> bytes:
    """`data` with a BOM, bad bytes, broken quoting or truncation now and then."""
    if draw(st.integers(0, 9)) == 0:
        data = b"\xef\xbb\xbf" + data
    for _ in range(draw(st.integers(0, 3) if draw(st.booleans()) else st.just(0))):
        at = draw(st.integers(0, len(data)))
        data = data[:at] + draw(st.sampled_from(BYTE_NOISE)) + data[at:]
    if data and draw(st.integers(0, 9)) == 0:
        data = data[: draw(st.integers(0, len(data) - 1))]
    return data


def jsonl_bytes(records: list, ensure_ascii: bool, newline: str) -> bytes:
    """Records as JSON lines (any JSON value, not only objects)."""
    lines = [json.dumps(r, ensure_ascii=ensure_ascii) for r in records]
    return to_bytes(newline.join(lines) + newline)


def csv_bytes(records: list[dict], columns: list[str], newline: str) -> bytes:
    """Records as CSV under `columns` (values as text: lists joined with '|', other JSON as
    JSON); a record with extra keys gets extra cells."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator=newline)
    writer.writerow(columns)
    for record in records:
        row = [_cell(record.get(c)) for c in columns]
        row += [_cell(v) for k, v in record.items() if k not in columns]
        writer.writerow(row)
    return to_bytes(buffer.getvalue())


def _cell(value) -> str:
    if value is None or isinstance(value, str):
        return value or ""
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return "|".join(value)
    return json.dumps(value)


@st.composite
def record_file(draw, records, columns: list[str]) -> tuple[str, bytes]:
    """(suffix, content) of a JSONL or CSV file of `records`, mostly near-valid, sometimes
    random bytes."""
    choice = draw(st.integers(0, 19))
    suffix = draw(st.sampled_from([".jsonl", ".csv"]))
    if choice == 0:
        return suffix, draw(st.binary(max_size=200))
    if choice == 1:
        return suffix, to_bytes(draw(st.text(max_size=200)))
    items = draw(records)
    newline = draw(st.sampled_from(["\n", "\r\n"]))
    if suffix == ".jsonl":
        if choice == 2:
            items = [*items, draw(json_values)]
        data = jsonl_bytes(items, draw(st.booleans()), newline)
    else:
        cols = list(columns)
        if choice == 2 and cols:
            cols.remove(draw(st.sampled_from(cols)))
        data = csv_bytes([r for r in items if isinstance(r, dict)], cols, newline)
    return suffix, draw(noisy(data))
