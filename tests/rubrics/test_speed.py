"""Speed metrics on the hand-checked fixture (see tests/rubrics/fixtures.py)."""

from __future__ import annotations

from rubrics.calendar import parse_calendar
from rubrics.sla import parse_sla
from rubrics.speed import load_facts, quantile, reply_rows, speed_metrics
from tests.rubrics.fixtures import END, START, load_speed_fixture

CAL = parse_calendar(None)
SLA = parse_sla(None)


def metrics(db, **kwargs):
    load_speed_fixture(db)
    facts = load_facts(db, CAL, SLA, END)
    return facts, speed_metrics(facts, START, END, CAL, as_of=END, **kwargs)


def test_quantile_type7():
    assert quantile([300, 3600, 12600, 68400], 0.5) == 8100
    assert quantile([300, 3600, 12600, 68400], 0.9) == 51660  # h = 2.7
    assert quantile([5], 0.9) == 5
    assert quantile([], 0.5) is None


def test_team_metrics_hand_computed(db):
    _, m = metrics(db)
    assert m["replies"] == 5 and m["conversations"] == 4
    # response: cal [300, 3600, 12600, 68400]; bus [300, 3600, 9000, 12600]
    assert m["response"] == {
        "calendar": {"count": 4, "median": 8100.0, "p90": 51660.0, "mean": 21225.0},
        "business": {"count": 4, "median": 6300.0, "p90": 11520.0, "mean": 6375.0},
    }
    # first response: cal [300, 3600, 68400] -> p90 h = 1.8 -> 3600 + 0.8 * 64800 = 55440
    assert m["first_response"]["calendar"] == {
        "count": 3, "median": 3600.0, "p90": 55440.0, "mean": 24100.0}
    assert m["first_response"]["business"]["p90"] == 10800.0  # 3600 + 0.8 * 9000
    # resolution: cal [600, 5400, 82800]; bus [600, 5400, 23400]
    assert m["resolution"]["calendar"]["p90"] == 67320.0
    assert m["resolution"]["business"]["median"] == 5400.0
    assert m["resolution"]["business"]["p90"] == 19800.0
    assert m["sla"] == {"replies": 4, "within": 3, "breached": 1, "compliance_pct": 75.0}
    assert m["fcr"] == {"eligible": 3, "one_reply": 1, "rate_pct": 33.33}
    assert m["resolution_rate"] == {"conversations": 4, "resolved": 3, "rate_pct": 75.0}
    assert m["agent_replies_per_conversation"] == 1.25
    assert m["backlog"] == {"count": 1, "conversations": [{
        "conversation_id": "D", "waiting_since": "2024-05-09T09:00:00+00:00",
        "overdue_by_s": 50400.0, "clock": "business", "kind": "first_response"}]}
    assert m["csat"] == {"count": 2, "average": 4.0}


def test_agent_and_channel_filters(db):
    facts, alice = metrics(db, agent="alice")
    assert alice["replies"] == 3
    assert alice["sla"]["compliance_pct"] == 50.0
    assert alice["first_response"]["calendar"]["median"] == 1950.0  # [300, 3600]
    assert alice["fcr"] == {"eligible": 2, "one_reply": 1, "rate_pct": 50.0}
    assert alice["csat"]["average"] == 5.0
    assert alice["backlog"]["count"] == 0  # D has no agent yet
    chat = speed_metrics(facts, START, END, CAL, channel="chat")
    assert chat["sla"] == {"replies": 1, "within": 0, "breached": 1, "compliance_pct": 0.0}


def test_reply_rows_sla_verdicts(db):
    facts, _ = metrics(db)
    rows = {(r["conversation_id"], r["message_id"]): r for r in reply_rows(facts, START, END)}
    assert set(rows) == {("A", "m3"), ("B", "m2"), ("B", "m4"), ("C", "m2")}
    assert rows[("A", "m3")]["asked_at"] == "2024-05-06T09:00:00+00:00"
    assert rows[("C", "m2")]["sla"] == {"target_s": 120, "elapsed_s": 300.0, "within": False,
                                        "by_s": 180.0, "clock": "calendar",
                                        "kind": "first_response"}
    assert rows[("B", "m4")]["sla"]["kind"] == "response"
    assert rows[("B", "m4")]["business_s"] == 9000.0


def test_period_bounds_filter(db):
    facts, _ = metrics(db)
    tuesday = speed_metrics(facts, START.replace(day=7), START.replace(day=8), CAL)
    # replies sent Tuesday: bob's two; conversations started Tuesday: none
    assert tuesday["replies"] == 2 and tuesday["conversations"] == 0
    assert tuesday["first_response"]["calendar"]["count"] == 0
