"""Fuzzing the saved-reply import (JSONL and CSV): every file either imports and stores what
it holds, or fails with an InputError naming the file, and changes nothing."""

from __future__ import annotations

import base64
import json
from pathlib import Path

from fuzzing import (
    check_typed_error,
    fuzz_settings,
    json_values,
    mutated,
    noisy,
    record_file,
    texts,
    to_bytes,
)
from hypothesis import example, given
from hypothesis import strategies as st

from suggest import attachments, importers, library, library_io, placeholders

FIELDS = list(library_io.CSV_COLUMNS)
attachment = st.fixed_dictionaries({
    "filename": st.sampled_from(["terms.pdf", "ใบเสร็จ.txt", "a/b.png", "..", "x.exe"]) | texts,
    "content_type": st.sampled_from(["application/pdf", "text/plain", ""]),
    "content_base64": st.binary(max_size=16).map(lambda b: base64.b64encode(b).decode()),
}).flatmap(lambda a: mutated(a, ["filename", "content_type", "content_base64"]))
reply = st.fixed_dictionaries({
    "id": st.sampled_from(["refund", "th-คืนเงิน", "fa-بازپرداخت", "a"]),
    "title": st.sampled_from(["Refund policy", "นโยบายการคืนเงิน", "سیاست بازپرداخت"]) | texts,
    "body": st.sampled_from(["Hi {{customer.first_name|there}}, refunds take 5 days.",
                             "สวัสดีค่ะ คืนเงินภายใน 30 วันค่ะ", "سلام، ۵ روز"]) | texts,
    "tags": st.lists(st.sampled_from(["billing", "vip", "คืนเงิน", "بازپرداخت"]), max_size=3),
    "language": st.sampled_from(["en", "th", "fa"]),
    "status": st.sampled_from(library.STATUSES),
    "folder": st.sampled_from(["", "Billing/Refunds", "ภาษาไทย"]),
    "teams": st.lists(st.sampled_from(["tier1", "vip"]), max_size=2),
    "questions": st.lists(st.sampled_from(["Can I get a refund?", "ขอคืนเงิน"]) | texts,
                          max_size=2),
    "author": st.sampled_from(["ana", ""]),
    "attachments": st.lists(attachment, max_size=2),
}).flatmap(lambda r: mutated(r, FIELDS))


def _line(**fields) -> bytes:
    record = {"id": "refund", "title": "Refund", "body": "Hi", **fields}
    return (json.dumps(record) + "\n").encode()


@fuzz_settings(scale=0.7)
@given(file=record_file(st.lists(reply, max_size=4), FIELDS))
# found by fuzzing: non-ASCII base64 text (ValueError), a content type that is not text
# (sqlite3 binding error), a lone surrogate escape in a JSON line or in the JSON of a CSV
# attachments cell (UnicodeEncodeError when stored), deep nesting in that cell (RecursionError)
@example(file=(".jsonl", _line(attachments=[{"filename": "a.pdf", "content_base64": "\x80"}])))
@example(file=(".jsonl", _line(attachments=[{"filename": "a.pdf", "content_type": [1]}])))
@example(file=(".jsonl", _line(title="\ud800")))
@example(file=(".csv", b'id,title,body,attachments\n'
                      b'a,A,Hi,"[{""filename"": ""\\ud800"", ""content_base64"": """"}]"\n'))
@example(file=(".csv", b"id,title,body,attachments\na,A,Hi," + b"[" * 5000 + b"\n"))
def test_saved_reply_import(fuzz_home, watch, tmp_path, file):
    suffix, data = file
    path = tmp_path / f"replies{suffix}"
    path.write_bytes(data)
    db, directory = fuzz_home.db, fuzz_home.config.attachments_dir
    before = watch.snapshot()
    try:
        counts = library_io.import_replies(db, path, directory, author="fuzz")
    except Exception as exc:  # noqa: BLE001 - anything but our typed error fails the test
        check_typed_error(exc, str(path))
        watch.assert_unchanged(before)
        return
    rows = list(library_io.read_records(path))
    outcomes = ("added", "updated", "unchanged", "skipped")
    assert sum(counts[k] for k in outcomes) == len(rows)
    skipped = {w["line"] for w in counts["warnings"] if w["message"].endswith(": row skipped")}
    assert len(skipped) == counts["skipped"]
    for number, record in rows:
        if number in skipped:
            continue
        stored = library.get_reply(db, record["id"])
        clean = library.validate(library_io.repair(record, foreign=False)[0])
        assert {k: stored[k] for k in library.EDITABLE} == {k: clean[k] for k in library.EDITABLE}
        if "attachments" in record:
            names = {attachments.safe_filename(a["filename"]) for a in record["attachments"]}
            assert {a["filename"] for a in attachments.list_for(db, record["id"])} == names


name = st.sampled_from(["customer.first_name", "Website Name", "7c23d0a1", "Order Number",
                        "ชื่อลูกค้า", "نام مشتری", "order.id"])
placeholder_body = st.lists(
    st.sampled_from(["Hi ", "สวัสดีค่ะ ", "سلام ", ", ", "\n", " {{Purchase", "}} "])
    | st.tuples(name, st.none() | st.sampled_from(["there", "คุณลูกค้า", "دوست"])).map(
        lambda p: "{{" + p[0] + ("" if p[1] is None else "|" + p[1]) + "}}"),
    min_size=1, max_size=8).map("".join).filter(str.strip)


@fuzz_settings(scale=0.5)
@given(body=placeholder_body, suffix=st.sampled_from([".jsonl", ".csv"]))
def test_export_then_import_keeps_placeholders(fuzz_home, tmp_path, body, suffix):
    db, directory = fuzz_home.db, fuzz_home.config.attachments_dir
    source = tmp_path / "in.jsonl"
    source.write_text(json.dumps({"id": "p", "title": "T", "body": body}) + "\n", "utf-8")
    library_io.import_replies(db, source, directory)
    exported = tmp_path / f"out{suffix}"
    library_io.export_replies(db, exported, directory)
    again = library_io.import_replies(db, exported, directory)
    assert (again["unchanged"], again["skipped"]) == (len(library.list_replies(db)), 0)
    stored = library.get_reply(db, "p")["body"]
    assert stored == body
    assert placeholders.names(stored) == placeholders.names(body)


# --- other helpdesks' JSON (`replies import --from`): real sample records, mutated

SAMPLES = Path(__file__).parents[1] / "suggest" / "data"
SAMPLE_FILES = {"zendesk": "zendesk_macros.json", "helpscout": "helpscout_saved_replies.json",
                "freshdesk": "freshdesk_canned_responses.json",
                "chatwoot": "chatwoot_canned_responses.json", "gorgias": "gorgias_macros.json"}


def _sample_records(source: str) -> list[dict]:
    document = json.loads((SAMPLES / SAMPLE_FILES[source]).read_text("utf-8"))
    key = importers.SOURCES[source].LIST_KEY
    return document[key] if isinstance(document, dict) else document


@st.composite
def vendor_file(draw) -> tuple[str, bytes]:
    source = draw(st.sampled_from(sorted(SAMPLE_FILES)))
    samples = _sample_records(source)
    fields = sorted({k for record in samples for k in record})
    items = draw(st.lists(st.sampled_from(samples).flatmap(lambda r: mutated(r, fields))
                          | json_values, max_size=4))
    key = importers.SOURCES[source].LIST_KEY
    document = draw(st.sampled_from([items, {key or "data": items}, [{key or "x": items}]])
                    | json_values)
    return source, draw(noisy(to_bytes(json.dumps(document, ensure_ascii=False, indent=1))))


@fuzz_settings(scale=0.7)
@given(file=vendor_file())
def test_helpdesk_import(fuzz_home, watch, tmp_path, file):
    source, data = file
    path = tmp_path / "export.json"
    path.write_bytes(data)
    db, directory = fuzz_home.db, fuzz_home.config.attachments_dir
    before = watch.snapshot()
    try:
        result = library_io.import_replies(db, path, directory, source=source)
    except Exception as exc:  # noqa: BLE001 - anything but our typed error fails the test
        check_typed_error(exc, str(path))
        watch.assert_unchanged(before)
        return
    rows = list(importers.read_records(source, path))
    assert sum(result[k] for k in ("added", "updated", "unchanged", "skipped")) == len(rows)
    for _, record, _ in rows:
        if all(w["reply"] != record["id"] or not w["message"].endswith("row skipped")
               for w in result["warnings"]):
            assert library.get_reply(db, record["id"])["status"] in library.STATUSES
