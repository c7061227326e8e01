"""Quality, combined and speed reports on the hand-checked fixture, through the library, the
CLI and the JSON API."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from cli.main import cli
from replykit import users
from replykit.config import load_config
from rubrics import reviews as rv
from rubrics.reports import combined_report, quality_report, speed_report
from storage.db import connect
from tests.rubrics.fixtures import END, START, load_speed_fixture
from web.app import create_app

ALL4 = {"accurate": 4, "complete": 4, "clear": 4, "empathy": 4, "personalised": 4,
        "honest": 4, "next_steps": 1, "tone": 4}


def load_reviews(db):
    """A/m3 alice (email, within SLA): bob 100, carol (clear 1) 85 -> mean 92.5, spread 15, good
    B/m2 bob (email, within):  alice (accurate 2) -> auto-failed 0 -> poor
    C/m2 alice (chat, breached): bob 100 -> good, slow
    C/m3 alice (follow-up, answers nothing: no SLA): bob 100"""
    def add(cid, mid, reviewer, ratings):
        rv.add_review(db, rv.resolve_target(db, cid, mid), reviewer, ratings)

    add("A", "m3", "bob", ALL4)
    add("A", "m3", "carol", dict(ALL4, clear=1))
    add("B", "m2", "alice", dict(ALL4, accurate=2))
    add("C", "m2", "bob", ALL4)
    add("C", "m3", "bob", ALL4)


@pytest.fixture
def rdb(db):
    load_speed_fixture(db)
    load_reviews(db)
    return db


def test_quality_report_hand_computed(rdb):
    report = quality_report(rdb, {}, START, END, interval="week")
    overall = report["overall"]
    # per-reply means 92.5, 0, 100, 100: mean 73.125 -> 73.12; median (92.5 + 100) / 2
    assert overall["replies"] == 4 and overall["reviews"] == 5
    assert overall["mean_score"] == 73.12 and overall["median_score"] == 96.25
    assert overall["pass_rate_pct"] == 75.0  # 3 of 4 replies >= 80
    assert overall["auto_failed_reviews"] == 1
    assert overall["spread"] == {"multi_reviewed_replies": 1, "mean_range": 15.0,
                                 "max_range": 15.0}
    # accurate: 100, 100, 33.33, 100, 100 -> 86.67; clear: 100, 0, 100, 100, 100 -> 80
    assert overall["categories"]["accurate"] == 86.67
    assert overall["categories"]["clear"] == 80.0
    assert overall["weakest_categories"] == ["clear", "accurate", "complete"]
    assert overall["rubric_versions"] == {"support-reply v1": 5}
    assert report["by_agent"]["alice"]["mean_score"] == 97.5
    assert report["by_agent"]["bob"]["mean_score"] == 0.0
    assert list(report["by_period"]) == ["2024-W19"]
    assert [(r["conversation_id"], r["message_id"], r["scores"]) for r in report["replies"]][0] \
        == ("A", "m3", [100.0, 85.0])


def test_combined_report_hand_computed(rdb):
    report = combined_report(rdb, {}, START, END, interval="week")
    overall = report["overall"]
    assert overall["quadrants"] == {"good_fast": 1, "good_slow": 1, "poor_fast": 1,
                                    "poor_slow": 0}
    assert (overall["reviewed_replies"], overall["with_sla"], overall["no_sla"]) == (4, 3, 1)
    assert overall["north_star_pct"] == 33.33
    # judged replies' response times: cal [3600, 68400, 300], bus [3600, 12600, 300]
    assert overall["median_response_s"] == {"calendar": 3600.0, "business": 3600.0}
    alice = report["by_agent"]["alice"]
    assert alice["north_star_pct"] == 50.0
    assert alice["weakest_categories"] == ["clear", "accurate", "complete"]
    assert alice["trend"] == {"2024-W19": {
        "mean_score": 97.5, "reviewed_replies": 3,
        "response_median_s": {"calendar": 1950.0, "business": 1950.0},
        "sla_compliance_pct": 50.0}}
    assert report["rubric_versions"] == {"support-reply v1": 5}
    chat = combined_report(rdb, {}, START, END, channel="chat")["overall"]
    assert chat["quadrants"]["good_slow"] == 1 and chat["north_star_pct"] == 0.0


def test_speed_report_groups(rdb):
    report = speed_report(rdb, {}, START, END, interval="day")
    assert report["overall"]["sla"]["compliance_pct"] == 75.0
    assert set(report["by_agent"]) == {"alice", "bob"}
    assert set(report["by_channel"]) == {"chat", "email"}
    assert list(report["by_period"]) == [f"2024-05-{d:02d}" for d in range(6, 11)]
    assert report["by_period"]["2024-05-07"]["replies"] == 2
    only_bob = speed_report(rdb, {}, START, END, agent="bob")
    assert list(only_bob["by_agent"]) == ["bob"] and only_bob["overall"]["replies"] == 2


# --- CLI and API -------------------------------------------------------------------------------

@pytest.fixture
def home_path(tmp_path):
    path = tmp_path / "home"
    db = connect(path / "replykit.db")
    load_speed_fixture(db)
    load_reviews(db)
    db.close()
    return path


def run(home_path, *args):
    return CliRunner().invoke(cli, ["--home", str(home_path), *args])


def test_cli_report_formats(home_path):
    args = ("--from", "2024-05-06", "--to", "2024-05-10")
    data = json.loads(run(home_path, "report", "combined", *args, "--format", "json").output)
    assert data["overall"]["north_star_pct"] == 33.33
    assert (data["from"], data["to"]) == ("2024-05-06T00:00:00+00:00",
                                          "2024-05-11T00:00:00+00:00")
    csv_out = run(home_path, "report", "speed", *args, "--format", "csv").output.splitlines()
    header = csv_out[0].split(",")
    overall = dict(zip(header, csv_out[1].split(","), strict=True))
    assert overall["group"] == "overall" and overall["sla.compliance_pct"] == "75.0"
    assert overall["first_response.calendar.p90"] == "55440.0"
    table = run(home_path, "report", "quality", *args, "--agent", "alice").output.splitlines()
    assert table[0] == ("quality report 2024-05-06T00:00:00+00:00 .. 2024-05-11T00:00:00+00:00 "
                        "(UTC)")
    assert table[1].split() == ["overall", "agent:alice", "channel:chat", "channel:email",
                                "period:2024-05"]
    assert table[4].split() == ["mean_score", "97.50", "97.50", "100", "92.50", "97.50"]


def test_cli_report_invalid_calendar(home_path):
    (home_path / "config.toml").write_text(
        '[calendar]\ntimezone = "Europe/Berlin"\n'
        '[calendar.hours]\nmon = ["09:00-12:00", "11:30-17:00"]\n'
    )
    result = run(home_path, "report", "speed", "--from", "2024-05-06", "--to", "2024-05-10")
    assert (result.exit_code, result.output) == (
        1, "Error: calendar.hours.mon[1]: intervals must be in order and must not overlap\n")


def test_cli_report_uses_config_calendar_and_sla(home_path):
    # Berlin calendar (UTC+2 in May): Mon 16:00Z = 18:00 local, after hours; chat SLA 10 min
    (home_path / "config.toml").write_text(
        '[calendar]\ntimezone = "Europe/Berlin"\n'
        '[[sla.targets]]\nchannel = "*"\nfirst_response = "4h"\nresponse = "8h"\n'
        '[[sla.targets]]\nchannel = "chat"\nfirst_response = "10m"\nresponse = "10m"\n'
        'clock = "calendar"\n'
    )
    data = json.loads(run(home_path, "report", "speed", "--from", "2024-05-06", "--to",
                          "2024-05-10", "--format", "json").output)
    assert data["timezone"] == "Europe/Berlin"
    assert data["overall"]["sla"]["compliance_pct"] == 100.0  # chat 300 s now within 600 s


@pytest.fixture
def client(home_path):
    """The app's test client, authenticated as a lead with an API token."""
    db = connect(home_path / "replykit.db")
    users.add_user(db, "lead", "a-long-test-password", ["lead"])
    token = users.create_token(db, "lead", "tests")["token"]
    db.close()
    app = create_app({"TESTING": True, "REPLYKIT_CONFIG": load_config(home_path)})
    c = app.test_client()
    c.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    return c


def test_report_api_needs_credentials(client):
    del client.environ_base["HTTP_AUTHORIZATION"]
    assert client.get("/api/reports/speed").status_code == 401


def test_api_reports_match_library(client, home_path):
    response = client.get("/api/reports/combined?from=2024-05-06&to=2024-05-10&interval=week")
    assert response.status_code == 200
    db = connect(home_path / "replykit.db")
    assert response.get_json() == json.loads(json.dumps(
        combined_report(db, {}, START, END, interval="week", teams=[""])))  # a lead of no team
    db.close()
    speed = client.get("/api/reports/speed?from=2024-05-06&to=2024-05-10&channel=chat")
    assert speed.get_json()["overall"]["sla"]["breached"] == 1
    quality = client.get("/api/reports/quality?from=2024-05-06&to=2024-05-10&agent=bob")
    assert quality.get_json()["overall"]["mean_score"] == 0.0


def test_api_reviews_and_rubrics(client):
    reviews = client.get("/api/reviews?author=alice").get_json()
    assert [r["id"] for r in reviews] == [5, 4, 2, 1]
    review = client.get("/api/reviews/2").get_json()
    assert review["score"] == 85.0 and review["categories"]["clear"]["score"] == 0.0
    rubrics = client.get("/api/rubrics").get_json()
    assert [(r["name"], r["latest_version"]) for r in rubrics] == [("support-reply", 1)]
    assert client.get("/api/rubrics/support-reply").get_json()["pass_threshold"] == 80
    assert client.get("/api/reviews/queue?reviewer=bob").get_json()["assignments"] == []
    calibration = client.get("/api/reviews/calibration?from=2000-01-01").get_json()
    assert calibration[0]["replies"] == 1


@pytest.mark.parametrize(
    "url, status, error",
    [
        ("/api/reports/bogus", 400,
         "path: unknown report 'bogus' (speed, quality, combined, surveys)"),
        ("/api/reports/speed?from=yesterday", 400,
         "--from: expected YYYY-MM-DD or an ISO datetime, got 'yesterday'"),
        ("/api/reports/speed?interval=year", 400,
         "parameter interval: must be one of day, week, month"),
        ("/api/reviews/99", 404, "no review 99"),
        ("/api/rubrics/support-reply?version=x", 400,
         "parameter version: must be an integer from 1 to 9223372036854775807, got 'x'"),
        ("/api/reviews/queue", 400, "parameter reviewer: is required"),
    ],
)
def test_api_errors(client, url, status, error):
    response = client.get(url)
    assert (response.status_code, response.get_json()) == (status, {"error": error})
