"""Reports dashboard: charts, filters, drill-down tables and CSV export; who may see them."""

from __future__ import annotations

import csv
import io

import pytest

from rubrics import reviews
from suggest import drafts, feedback
from web import charts

TABLES = ("responses", "quality", "categories", "quadrant", "drafting", "usage")


@pytest.fixture
def reviewed(db):
    target = reviews.resolve_target(db, "C1", "m2")
    reviews.add_review(db, target, "Rui Reviewer", {
        "accurate": 4, "complete": 3, "clear": 2, "empathy": "na", "personalised": 3,
        "honest": 4, "next_steps": 1, "tone": 4})
    feedback.record(db, "refund-policy", "shown")
    feedback.record(db, "refund-policy", "inserted")
    row = drafts.start(db, "Ana Agent", "support", "refund?")
    drafts.finish(db, row["id"], "copied", "Hi", "saved", "refund-policy", "Hi there")
    db["drafts"].update(row["id"], {"finished_at": "2026-09-01T10:00:00+00:00"})


def test_dashboard_permissions(as_user, client):
    assert client.get("/reports/").status_code == 302
    assert as_user("ana")[0].get("/reports/").status_code == 403
    assert as_user("ana")[0].get("/reports/tables/usage").status_code == 403
    assert as_user("rui")[0].get("/reports/").status_code == 200


def test_dashboard_has_every_chart_as_inline_svg(as_user, reviewed):
    lead, _ = as_user("lee")
    html = lead.get("/reports/?from=2026-08-01&to=2026-09-30").get_data(as_text=True)
    for caption in ("First-response time", "SLA compliance", "Quality score",
                    "Quality × speed", "Weakest rubric categories", "Saved-reply usage",
                    "Median drafting time"):
        assert caption in html, caption
    assert html.count("<svg") == 7 and "<script>" not in html
    assert 'href="/reports/tables/responses?' in html
    assert "clear" in html  # the weakest category is charted


@pytest.mark.parametrize("name", TABLES)
def test_every_table_renders_and_exports_csv(as_user, reviewed, name):
    lead, _ = as_user("lee")
    query = "from=2026-08-01&to=2026-09-30"
    page = lead.get(f"/reports/tables/{name}?{query}")
    assert page.status_code == 200
    response = lead.get(f"/reports/tables/{name}?{query}&format=csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert rows, name


def test_drill_down_filters(as_user, reviewed):
    lead, _ = as_user("lee")
    query = "from=2026-08-01&to=2026-09-30"
    rows = lambda extra: list(csv.DictReader(io.StringIO(lead.get(  # noqa: E731
        f"/reports/tables/responses?{query}&format=csv&{extra}").get_data(as_text=True))))
    everything = rows("")
    assert {r["conversation_id"] for r in everything} == {"C1", "C3"}
    assert len(rows("agent=Bo+Agent")) == 1
    assert rows("first=1&min_m=15&max_m=60") == [r for r in everything if 900 <= float(
        r["calendar_s"]) < 3600]
    page = lead.get(f"/reports/tables/responses?{query}").get_data(as_text=True)
    assert 'href="/reports/conversations/C1"' in page
    conversation = lead.get("/reports/conversations/C3").get_data(as_text=True)
    assert "سارا احمدی" in conversation and 'dir="auto"' in conversation
    assert lead.get("/reports/tables/nope").status_code == 404
    assert lead.get("/reports/?interval=year").status_code == 400


def test_charts_escape_labels():
    svg = charts.bars([("<script>x</script>", 3, "/a?b=1&c=2")], title="t")
    assert "<script>" not in svg and "&lt;script&gt;" in svg and "b=1&amp;c=2" in svg
    assert "No data" in charts.columns([], title="t")
    assert "fill=" in charts.stacked([("a", {"good_fast": 1}, None)], ("good_fast", "poor_slow"))
