"""Reports dashboard: charts, filters, drill-down tables and CSV export; who may see them."""

from __future__ import annotations

import csv
import io
import json

import pytest

from rubrics import reviews
from suggest import drafts, feedback
from web import charts

TABLES = ("responses", "quality", "categories", "quadrant", "drafting", "usage",
          "saved_replies")


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
                    "Median drafting time", "Saved replies with the lowest review scores"):
        assert caption in html, caption
    assert html.count("<svg") == 8 and "<script>" not in html
    assert 'href="/reports/tables/responses?' in html
    # the weakest categories by their rubric labels, with how many reviews each bar stands for
    assert ">Next steps and follow-up</tspan>" in html and ">next_steps<" not in html
    assert "· 1 review<" in html and "pass 80" in html


@pytest.mark.parametrize("name", TABLES)
def test_every_table_renders_and_exports_csv(as_user, reviewed, saved_reply_reviews, name):
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


def _conversations(db, tmp_path, rows):
    """Import conversations given as (conversation, message, role, author, at, body,
    saved_reply_id, csat) rows."""
    from suggest.conversations import import_conversations

    path = tmp_path / "more.jsonl"
    with open(path, "w", encoding="utf-8") as f:
        for conv, mid, role, author, at, body, saved, csat in rows:
            f.write(json.dumps({"conversation_id": conv, "message_id": mid, "role": role,
                                "author": author, "channel": "email", "created_at": at,
                                "body": body, "saved_reply_id": saved, "csat": csat}) + "\n")
    import_conversations(db, path)


RATINGS = {"good": {"accurate": 4, "complete": 4, "clear": 4, "empathy": 4, "personalised": 4,
                    "honest": 4, "next_steps": 1, "tone": 4},
           "poor": {"accurate": 2, "complete": 2, "clear": 1, "empathy": 2, "personalised": 2,
                    "honest": 2, "next_steps": 0, "tone": 2}}


@pytest.fixture
def saved_reply_reviews(db, tmp_path):
    """D1 (refund-policy, poor review, CSAT 2, answered in 5 minutes) and D2 (refund-policy,
    good review, CSAT 5, answered after 3 days: breached) and D3 (password-reset, good)."""
    _conversations(db, tmp_path, [
        ("D1", "m1", "customer", "Kim", "2026-09-10T09:00:00Z", "Refund?", "", "2"),
        ("D1", "m2", "agent", "Ana Agent", "2026-09-10T09:05:00Z", "Refunds: 30 days.",
         "refund-policy", "2"),
        ("D2", "m1", "customer", "Lou", "2026-09-11T09:00:00Z", "Money back?", "", "5"),
        ("D2", "m2", "agent", "Ana Agent", "2026-09-14T09:00:00Z", "Refunds: 30 days.",
         "refund-policy", "5"),
        ("D3", "m1", "customer", "Max", "2026-09-12T09:00:00Z", "Password?", "", ""),
        ("D3", "m2", "agent", "Bo Agent", "2026-09-12T09:10:00Z", "Reset it here.",
         "password-reset", ""),
    ])
    for conv, verdict in (("D1", "poor"), ("D2", "good"), ("D3", "good")):
        reviews.add_review(db, reviews.resolve_target(db, conv, "m2"), "Rui Reviewer",
                           RATINGS[verdict])


def test_saved_reply_quality_counts_reviews_and_csat(db, saved_reply_reviews):
    from rubrics.reports import saved_reply_quality

    found = saved_reply_quality(db)
    refund = found["refund-policy"]
    assert (refund["sent"], refund["reviewed"], refund["poor"], refund["rated"]) == (2, 2, 1, 2)
    assert refund["csat_mean"] == 3.5 and refund["low_csat"] == 1 and refund["few"] is True
    assert found["password-reset"]["poor"] == 0 and found["password-reset"]["rated"] == 0
    assert "invoice-copy" not in found  # never sent: nothing to judge


def test_library_list_sorts_by_review_score_with_counts(as_user, saved_reply_reviews):
    lead, _ = as_user("lee")
    html = lead.get("/library/?sort=quality").get_data(as_text=True)
    assert html.index('"/library/replies/refund-policy"') < html.index(
        '"/library/replies/password-reset"')
    assert "(2 reviewed, 1 poor, too few to judge)" in html and "(2 rated, 1 low)" in html
    assert 'href="/library/?sort=csat"' in html
    page = lead.get("/library/replies/refund-policy").get_data(as_text=True)
    assert "Replies sent from it: 2" in page and "(2 rated, 1 low)" in page


def test_drill_down_reaches_only_the_breached_or_poor_replies(as_user, saved_reply_reviews):
    lead, _ = as_user("lee")
    query = "from=2026-09-01&to=2026-09-30&interval=month"
    html = lead.get(f"/reports/?{query}").get_data(as_text=True)
    assert "period=2026-09&amp;breached=1" in html and "period=2026-09&amp;poor=1" in html

    def rows(name, extra):
        return list(csv.DictReader(io.StringIO(lead.get(
            f"/reports/tables/{name}?{query}&format=csv&{extra}").get_data(as_text=True))))

    breached = rows("responses", "period=2026-09&breached=1")
    assert [r["conversation_id"] for r in breached] == ["D2"]
    poor = rows("quality", "period=2026-09&poor=1")
    assert [r["conversation_id"] for r in poor] == ["D1"]
    assert [r["conversation_id"] for r in rows("quality", "quadrant=good_slow")] == ["D2"]
    assert [r["conversation_id"] for r in rows("quality", "category=next_steps")] == ["D1"]
    assert [r["conversation_id"] for r in rows(
        "quality", "saved_reply=refund-policy&poor=1")] == ["D1"]
    table = rows("saved_replies", "")
    assert [(r["id"], r["reviewed"], r["poor"]) for r in table] == [
        ("refund-policy", "2", "1"), ("password-reset", "1", "0")]
    assert "saved_reply=refund-policy&amp;poor=1" in html


def test_default_period_ends_today_and_shows_time_saved(as_user, db):
    from datetime import UTC, datetime

    for suggestion, seconds in (("refund-policy", 30), (None, 90)):
        row = drafts.start(db, "Ana Agent", "support", "refund?")
        drafts.finish(db, row["id"], "copied", "Hi", "saved" if suggestion else None,
                      suggestion, "Hi" if suggestion else None)
        db["drafts"].update(row["id"], {"seconds": seconds})
    lead, _ = as_user("lee")
    html = lead.get("/reports/").get_data(as_text=True)
    today = datetime.now(UTC).date().isoformat()
    assert f"– {today}</h1>" in html
    assert "<b>60.0 s</b>saved per draft" in html or "<b>60 s</b>saved per draft" in html


def test_charts_are_readable():
    import re

    long_label = "Refund issued to the original payment method within five working days"
    thai = "แจ้งคืนเงินเรียบร้อยแล้วภายในห้าวันทำการสำหรับคำสั่งซื้อนี้"
    svg = str(charts.bars([(long_label, 40, None, "3 reviews"), (thai, 90, None)],
                          limit=100, pass_line=80))
    assert all(int(size) >= 14 for size in re.findall(r'font-size="(\d+)"', svg))
    spans = "".join(re.findall(r"<tspan[^>]*>([^<]*)</tspan>", svg))
    assert all(word in spans for word in long_label.split())  # wrapped, never cut
    assert thai in spans  # a word longer than a line is split, not cut
    assert "3 reviews" in svg and "pass 80" in svg and 'class="pass-line"' in svg
    fills = set(re.findall(r'fill="(#[0-9A-Fa-f]{6})"', str(charts.stacked(
        [("Ana", {"good_fast": 1, "good_slow": 2, "poor_fast": 1, "poor_slow": 1}, None)],
        ("good_fast", "good_slow", "poor_fast", "poor_slow")))))
    assert fills <= set(charts.PALETTE)  # Okabe-Ito
    columns = str(charts.columns([(f"2026-W{w}", 50, None, "12 reviews") for w in range(30, 42)],
                                 limit=100))
    assert "rotate(-45" in columns  # too long for its column: slanted, not cut
    assert len(re.findall(r"<tspan[^>]*>2026-W\d\d · 12 reviews</tspan>", columns)) == 12


@pytest.mark.parametrize("query", ["to=abc", "to=0001-01-02", "from=abc"])
def test_a_bad_period_is_a_400(as_user, query):
    lead, _ = as_user("lee")
    assert lead.get(f"/reports/?{query}").status_code == 400  # to=abc was a 500
    assert lead.get("/reports/tables/responses?min_m=abc").status_code == 400  # also
