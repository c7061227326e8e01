"""Saved-reply import/export (JSONL and CSV): exact round trips into a fresh home, and imports
that fail as a whole with the file, line and field named."""

from __future__ import annotations

import base64
import json

import pytest

from replykit.config import load_config
from replykit.errors import InputError
from replykit.home import Home
from suggest import library, library_io

PDF = base64.b64encode(b"%PDF-1.4 refund terms \x00\xff").decode()
RECORDS = [
    {
        "id": "fa-refund",
        "title": "سیاست بازپرداخت وجه",
        "body": "سلام {{customer.first_name|مشتری عزیز}}،\n"
        "وجه شما ظرف ۵ روز برگشت داده می\u200cشود.",
        "tags": ["billing", "refunds"],
        "language": "fa",
        "status": "approved",
        "folder": "Billing/Refunds",
        "teams": [],
        "questions": ["می\u200cخواهم پولم را پس بگیرم"],
        "author": "sara",
        "attachments": [],
        "actions": [],
    },
    {
        "id": "refund-policy",
        "title": "Refund policy, 30 days",
        "body": 'Hi {{customer.first_name|there}},\n\n"Refunds", within 30 days; see the PDF.\n',
        "tags": ["billing", "refunds"],
        "language": "en",
        "status": "approved",
        "folder": "Billing/Refunds",
        "teams": ["tier1", "vip"],
        "questions": ["Can I get a refund, please?", 'money back, "now"'],
        "author": "ana",
        "attachments": [
            {"filename": "terms.pdf", "content_type": "application/pdf", "content_base64": PDF}
        ],
        "actions": [
            {"type": "add_tags", "value": ["refund", "billing"]},
            {"type": "set_status", "value": "solved"},
        ],
    },
    {
        "id": "th-refund",
        "title": "นโยบายการคืนเงิน",
        "body": "สวัสดีค่ะ คืนเงินภายใน 30 วันค่ะ",
        "tags": [],
        "language": "th",
        "status": "draft",
        "folder": "",
        "teams": [],
        "questions": ["ขอคืนเงินได้ไหมคะ"],
        "author": "",
        "attachments": [],
        "actions": [],
    },
]


def write_jsonl(path, records):
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), "utf-8")
    return path


def fresh_home(tmp_path, name):
    return Home(load_config(tmp_path / name, multilingual_model=""))


def counts(home):
    return tuple(
        home.db.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]
        for t in (
            "saved_replies",
            "saved_reply_versions",
            "reply_questions",
            "attachments",
            "documents",
        )
    )


def blob_count(home):
    d = home.config.attachments_dir
    return len(list(d.iterdir())) if d.exists() else 0


@pytest.mark.parametrize("suffix", [".jsonl", ".csv"])
def test_export_import_export_is_byte_identical_in_a_fresh_home(tmp_path, suffix):
    first, second = fresh_home(tmp_path, "a"), fresh_home(tmp_path, "b")
    try:
        source = write_jsonl(tmp_path / "source.jsonl", RECORDS)
        assert library_io.import_replies(first.db, source, first.config.attachments_dir) == {
            "added": 3,
            "updated": 0,
            "unchanged": 0,
            "skipped": 0,
            "warnings": [],
        }
        exported = tmp_path / f"one{suffix}"
        assert library_io.export_replies(first.db, exported, first.config.attachments_dir) == 3
        library_io.import_replies(second.db, exported, second.config.attachments_dir)
        again = tmp_path / f"two{suffix}"
        library_io.export_replies(second.db, again, second.config.attachments_dir)
        assert again.read_bytes() == exported.read_bytes()
        # and nothing was lost on the way: the second home holds the source records
        assert list(library_io.export_records(second.db, second.config.attachments_dir)) == RECORDS
    finally:
        first.close()
        second.close()


def test_jsonl_keeps_newlines_inside_questions(tmp_path, home):
    record = {**RECORDS[0], "id": "q", "questions": ["line one\nline two", "other"]}
    library_io.import_replies(
        home.db, write_jsonl(tmp_path / "r.jsonl", [record]), home.config.attachments_dir
    )
    out = tmp_path / "out.jsonl"
    library_io.export_replies(home.db, out, home.config.attachments_dir)
    assert json.loads(out.read_text("utf-8"))["questions"] == ["line one\nline two", "other"]


def test_csv_export_layout(tmp_path, home):
    library_io.import_replies(
        home.db, write_jsonl(tmp_path / "r.jsonl", RECORDS[1:2]), home.config.attachments_dir
    )
    out = tmp_path / "out.csv"
    library_io.export_replies(home.db, out, home.config.attachments_dir)
    text = out.read_bytes().decode("utf-8")
    assert text.startswith(
        "id,title,body,tags,language,status,folder,teams,questions,author,attachments,actions\r\n"
    )
    assert 'refund-policy,"Refund policy, 30 days",' in text
    assert (
        ",billing|refunds,en,approved,Billing/Refunds,tier1|vip,"
        '"Can I get a refund, please?\nmoney back, ""now""",ana,' in text
    )


def test_status_defaults_to_approved_in_jsonl_and_csv(tmp_path, home):
    write_jsonl(tmp_path / "a.jsonl", [{"id": "a", "title": "A", "body": "a"}])
    (tmp_path / "b.csv").write_text("id,title,body,status\r\nb,B,b,\r\n", "utf-8")
    for name in ("a.jsonl", "b.csv"):
        library_io.import_replies(home.db, tmp_path / name, home.config.attachments_dir)
    assert [(r["id"], r["status"]) for r in library.list_replies(home.db)] == [
        ("a", "approved"),
        ("b", "approved"),
    ]


def test_reimport_of_a_changed_record_adds_a_version(tmp_path, home):
    path = write_jsonl(tmp_path / "r.jsonl", RECORDS)
    library_io.import_replies(home.db, path, home.config.attachments_dir)
    assert library_io.import_replies(home.db, path, home.config.attachments_dir) == {
        "added": 0,
        "updated": 0,
        "unchanged": 3,
        "skipped": 0,
        "warnings": [],
    }
    changed = [dict(r) for r in RECORDS]
    changed[0]["tags"] = ["billing"]
    changed[2]["attachments"] = [
        {"filename": "a.txt", "content_type": "text/plain", "content_base64": "aGk="}
    ]
    assert library_io.import_replies(
        home.db, write_jsonl(path, changed), home.config.attachments_dir
    ) == {
        "added": 0,
        "updated": 2,
        "unchanged": 1,
        "skipped": 0,
        "warnings": [],
    }
    assert [v["note"] for v in library.history(home.db, "fa-refund")] == ["created", "imported"]
    assert library.get_reply(home.db, "fa-refund")["tags"] == ["billing"]


@pytest.mark.parametrize(
    "line, message",
    [
        ({"title": "C", "body": "c"}, "line 3, field id: must be 1-200 characters"),
        ({"id": "c/d", "title": "C", "body": "c"}, "line 3, field id: must be 1-200 characters"),
        (
            {
                "id": "c",
                "title": "C",
                "body": "c",
                "attachments": [{"filename": "x", "content_base64": "%%"}],
            },
            "line 3, attachment x: content_base64 is not valid base64",
        ),
        (
            {"id": "a", "title": "Again", "body": "c"},
            "line 3, field id: duplicate id 'a' (first on line 1)",
        ),
    ],
)
def test_a_bad_line_names_file_line_and_field_and_writes_nothing(tmp_path, home, line, message):
    library.add_reply(home.db, {"id": "z", "title": "Existing", "body": "z"})
    before, blobs_before = counts(home), blob_count(home)
    path = tmp_path / "replies.jsonl"
    write_jsonl(
        path,
        [
            {"id": "a", "title": "A", "body": "a", "attachments": RECORDS[1]["attachments"]},
            {"id": "z", "title": "Existing, edited", "body": "z"},
            line,
        ],
    )
    with pytest.raises(InputError) as info:
        library_io.import_replies(home.db, path, home.config.attachments_dir)
    assert str(info.value).startswith(f"{path} {message}")
    assert counts(home) == before and blob_count(home) == blobs_before
    assert library.get_reply(home.db, "z")["title"] == "Existing"


def test_invalid_json_line_and_non_object(tmp_path, home):
    path = tmp_path / "r.jsonl"
    path.write_text('{"id": "a", "title": "A", "body": "a"}\n\n{"id": "b",\n', "utf-8")
    with pytest.raises(InputError, match=r"r\.jsonl line 3: invalid JSON \("):
        library_io.import_replies(home.db, path, home.config.attachments_dir)
    path.write_text("[1, 2]\n", "utf-8")
    with pytest.raises(InputError, match=r"r\.jsonl line 1: expected a JSON object$"):
        library_io.import_replies(home.db, path, home.config.attachments_dir)
    assert counts(home)[0] == 0


@pytest.mark.parametrize("suffix", [".jsonl", ".csv"])
def test_a_non_utf8_file_is_a_clear_error_with_its_line(tmp_path, home, suffix):
    path = tmp_path / f"r{suffix}"
    if suffix == ".jsonl":
        path.write_bytes(
            b'{"id": "a", "title": "A", "body": "a"}\n'
            b'{"id": "b", "title": "Caf\xe9", "body": "b"}\n'
        )
        line = 2
    else:
        path.write_bytes(b"id,title,body\r\na,A,a\r\nb,Caf\xe9,b\r\n")
        line = 3
    with pytest.raises(InputError) as info:
        library_io.import_replies(home.db, path, home.config.attachments_dir)
    bad_line = path.read_bytes().splitlines()[line - 1]
    assert str(info.value) == (
        f"{path} line {line}: not UTF-8 text "
        f"(byte {bad_line.index(0xE9) + 1} of the line is 0xe9); "
        "save the file as UTF-8"
    )
    assert counts(home)[0] == 0


def test_csv_with_bom_missing_columns_or_extra_cells(tmp_path, home):
    path = tmp_path / "r.csv"
    path.write_bytes("\ufeffid,title,body,tags\r\na,Ä,x,one|two\r\n".encode())
    library_io.import_replies(home.db, path, home.config.attachments_dir)
    assert library.get_reply(home.db, "a")["tags"] == ["one", "two"]
    path.write_text("id,body\r\na,x\r\n", "utf-8")
    with pytest.raises(InputError, match=r"r\.csv line 1: missing column\(s\): title$"):
        library_io.import_replies(home.db, path, home.config.attachments_dir)
    path.write_text("id,title,body\r\nb,B,b,extra\r\n", "utf-8")
    with pytest.raises(InputError, match=r"r\.csv line 2: more cells than header columns$"):
        library_io.import_replies(home.db, path, home.config.attachments_dir)
    with pytest.raises(InputError, match=r"r\.txt: unknown format: use a \.jsonl or \.csv file$"):
        library_io.import_replies(home.db, tmp_path / "r.txt", home.config.attachments_dir)


ODD_ROWS = [
    # (record on line 2, warning field, message, stored title or None when skipped)
    ({"id": "c", "title": "C", "body": "c", "language": "english"}, "language",
     "must be a language code such as en, th or fa: row skipped", None),
    ({"id": "c", "title": "", "body": "c"}, "title",
     "is required and must be non-empty text: row skipped", None),
    ({"id": "c", "title": "C"}, "body", "is required and must be non-empty text: row skipped",
     None),
    ({"id": "c", "title": "C", "body": "x" * 20_001}, "body",
     "is longer than 20000 characters: row skipped", None),
    ({"id": "c", "title": "C", "body": "c", "status": "live"}, "status",
     "must be one of draft, approved, archived: row skipped", None),
    ({"id": "c", "title": "ว" * 400, "body": "c"}, "title", "cut to 300 characters",
     "ว" * 299 + "…"),
    ({"id": "c", "title": "Bell\x07", "body": "c"}, "title", "removed control characters",
     "Bell"),
    ({"id": "c", "title": "Order {{Purchase", "body": "Your order {{Purchase"}, "body",
     "line 1 of the text: kept 1 '{{' or '}}' as text (the first: '{{Purchase'): they form "
     "no placeholder", "Order {{Purchase"),
]


@pytest.mark.parametrize("odd, field, message, title", ODD_ROWS)
def test_an_odd_row_is_repaired_or_skipped_with_one_warning(tmp_path, home, odd, field,
                                                             message, title):
    path = write_jsonl(tmp_path / "r.jsonl", [{"id": "a", "title": "A", "body": "a"}, odd,
                                              {"id": "b", "title": "B", "body": "b"}])
    result = library_io.import_replies(home.db, path, home.config.attachments_dir)
    assert result["warnings"] == [
        {"file": str(path), "line": 2, "reply": "c", "field": field, "message": message}]
    assert (result["added"], result["skipped"]) == ((3, 0) if title else (2, 1))
    ids = [r["id"] for r in library.list_replies(home.db)]
    assert sorted(ids) == (["a", "b", "c"] if title else ["a", "b"])
    if title:
        assert library.get_reply(home.db, "c")["title"] == title


def test_other_tools_placeholders_convert_in_replykit_files_too(tmp_path, home):
    path = tmp_path / "r.csv"
    path.write_text(
        "id,title,body\r\n"
        'a,A,"Hi {%customer.firstName,fallback=there%}, welcome to {{Website Name}}"\r\n'
        "b,B,Hi {{ contact.first_name || 'there' }} from {{ticket.requester.name}}\r\n", "utf-8")
    result = library_io.import_replies(home.db, path, home.config.attachments_dir)
    assert (result["added"], result["warnings"]) == (2, [])
    assert library.get_reply(home.db, "a")["body"] == (
        "Hi {{customer.first_name|there}}, welcome to {{Website Name}}")
    assert library.get_reply(home.db, "b")["body"] == (
        "Hi {{customer.first_name|there}} from {{customer.name}}")


def test_one_odd_row_of_3000_does_not_refuse_the_other_2999(tmp_path, home):
    rows = [{"id": f"r{i}", "title": f"Reply {i} {{{{Purchase", "body": f"{{{{7c23d0}}}} {i}"}
            for i in range(3000)]
    rows[1700] = {"id": "r1700", "title": "Odd", "body": "   "}
    path = write_jsonl(tmp_path / "big.jsonl", rows)
    result = library_io.import_replies(home.db, path, home.config.attachments_dir)
    assert (result["added"], result["skipped"]) == (2999, 1)
    assert result["warnings"] == [{
        "file": str(path), "line": 1701, "reply": "r1700", "field": "body",
        "message": "is required and must be non-empty text: row skipped"}]
    assert counts(home)[0] == 2999
    assert library.get_reply(home.db, "r2999")["title"] == "Reply 2999 {{Purchase"


def test_bad_json_in_the_middle_of_3000_rows_imports_nothing(tmp_path, home):
    lines = [json.dumps({"id": f"r{i}", "title": f"Reply {i}", "body": "b"}) for i in range(3000)]
    lines[2000] = lines[2000][:-2]
    path = tmp_path / "big.jsonl"
    path.write_text("\n".join(lines) + "\n", "utf-8")
    with pytest.raises(InputError, match=rf"^{path} line 2001: invalid JSON \("):
        library_io.import_replies(home.db, path, home.config.attachments_dir)
    assert counts(home) == (0, 0, 0, 0, 0)
