"""Survey results: NPS (0-10) and CES (1-7) as import fields, the NPS arithmetic, and the
surveys report (per agent, channel, team, period and saved reply, beside quality and speed)
on the hand-checked speed fixture, through the library, the JSON API, the CSV export and the
dashboard."""

from __future__ import annotations

import csv
import io
import json

import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

from cli.main import cli
from replykit import users
from replykit.errors import InputError
from rubrics.reports import saved_reply_quality
from rubrics.survey_scores import nps
from rubrics.surveys import surveys_report
from storage.db import connect, write_transaction
from suggest import library, sending
from suggest.conversations import import_conversations, validate_message
from tests.rubrics.fixtures import END, START, load_speed_fixture
from tests.rubrics.test_reports import load_reviews
from tests.web.webtest_helpers import PASSWORD, signed_in
from web.app import create_app

pytestmark = pytest.mark.both_backends

RECORD = {"conversation_id": "C1", "message_id": "m1", "role": "customer", "author": "Ana",
          "channel": "email", "created_at": "2026-09-01T09:00:00Z", "body": "Hello"}
REPLY = {"id": "refund-policy", "title": "Refunds", "body": "Hi {{customer.first_name}}, "
         "your refund is on its way.", "status": "approved"}


# --- import --------------------------------------------------------------------------------

@given(st.integers(-5, 15), st.integers(-5, 15), st.sampled_from([str, int, float]))
def test_nps_and_ces_fields_are_whole_scores_in_range(nps_value, ces_value, kind):
    record = dict(RECORD, nps=kind(nps_value), ces=kind(ces_value))
    if not 0 <= nps_value <= 10:
        with pytest.raises(InputError, match=r"^f\.jsonl line 3, field nps: .* is not a score "
                                             r"from 0 to 10$"):
            validate_message(record, "f.jsonl line 3, ")
    elif not 1 <= ces_value <= 7:
        with pytest.raises(InputError, match=r"field ces: .* is not a score from 1 to 7$"):
            validate_message(record, "f.jsonl line 3, ")
    else:
        _, conversation = validate_message(record, "")
        assert (conversation["nps"], conversation["ces"]) == (nps_value, ces_value)


@pytest.mark.parametrize("value", ["9.5", "nine", "1e1x", True])
def test_an_nps_that_is_not_a_whole_number_is_refused(value):
    with pytest.raises(InputError, match="field nps"):
        validate_message(dict(RECORD, nps=value), "")


def test_import_stores_nps_and_ces_and_a_bad_one_writes_nothing(db, tmp_path):
    path = tmp_path / "surveys.csv"
    path.write_text("conversation_id,message_id,role,author,channel,created_at,body,nps,ces\n"
                    "C1,m1,customer,Ana,email,2026-09-01T09:00:00Z,Hello,9,2\n"
                    "C2,m1,customer,Bo,chat,2026-09-01T09:00:00Z,Hi,,\n", encoding="utf-8")
    import_conversations(db, path)
    rows = {r["id"]: (r["nps"], r["ces"]) for r in db.query("SELECT * FROM conversations")}
    assert rows == {"C1": (9, 2), "C2": (None, None)}
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps(dict(RECORD, conversation_id="C3")) + "\n"
                   + json.dumps(dict(RECORD, conversation_id="C4", ces="8")) + "\n",
                   encoding="utf-8")
    with pytest.raises(InputError, match=r"bad\.jsonl line 2, field ces: '8' is not a score"):
        import_conversations(db, bad)
    assert db.execute("SELECT COUNT(*) FROM conversations").fetchone()[0] == 2


# --- arithmetic ----------------------------------------------------------------------------

def test_nps_by_hand():
    assert nps([]) == {"n": 0, "promoters": 0, "passives": 0, "detractors": 0, "score": None}
    assert nps([10, 9, 8, 7, 6, 0]) == {"n": 6, "promoters": 2, "passives": 2,
                                         "detractors": 2, "score": 0.0}
    assert nps([10, 10, 3])["score"] == 33.33
    assert nps([0])["score"] == -100.0 and nps([9])["score"] == 100.0


@given(st.lists(st.integers(0, 10), max_size=40))
def test_nps_is_promoters_minus_detractors(answers):
    found = nps(answers)
    assert found["promoters"] + found["passives"] + found["detractors"] == len(answers)
    if answers:
        exact = 100 * (sum(a >= 9 for a in answers) - sum(a <= 6 for a in answers)) / len(answers)
        assert found["score"] == round(exact, 2) and -100 <= found["score"] <= 100


# --- the report ----------------------------------------------------------------------------

def load_surveys(db):
    """Answers on the speed fixture: A (alice) NPS 10, CES 2, CSAT 5; B (bob) NPS 3, CES 6,
    CSAT 3; C (alice, chat) NPS 8; D none. B's team is 'billing'. The saved reply
    refund-policy was sent as A/m3 (from the panel; 3600 s) and as B/m4 (unreviewed; 12600 s)."""
    with write_transaction(db):
        for cid, values in {"A": (10, 2), "B": (3, 6), "C": (8, None)}.items():
            db.execute("UPDATE conversations SET nps = ?, ces = ? WHERE id = ?", [*values, cid])
        db.execute("UPDATE conversations SET team = 'billing' WHERE id = 'B'")
    library.add_reply(db, REPLY)
    sending.record_sent(db, "A", "Hi Ana, your refund is on its way.", agent="alice",
                        message_id="m3", saved_reply_id="refund-policy",
                        inserted_text="Hi Ana, your refund is on its way.",
                        sent_at="2024-05-06T10:00:00Z")
    sending.record_sent(db, "B", "Your refund is on its way, sorry.", agent="bob",
                        message_id="m4", saved_reply_id="refund-policy",
                        inserted_text="Hi Bo, your refund is on its way.",
                        sent_at="2024-05-07T15:00:00Z")


@pytest.fixture
def sdb(db):
    load_speed_fixture(db)
    load_reviews(db)
    load_surveys(db)
    return db


def test_surveys_report_by_hand(sdb):
    report = surveys_report(sdb, {}, START, END, interval="week")
    overall = report["overall"]
    assert overall["conversations"] == 4
    assert overall["nps"] == {"n": 3, "promoters": 1, "passives": 1, "detractors": 1,
                              "score": 0.0}
    assert overall["ces"] == {"n": 2, "mean": 4.0} and overall["csat"] == {"n": 2, "mean": 4.0}
    alice, bob = report["by_agent"]["alice"], report["by_agent"]["bob"]
    assert (alice["nps"]["score"], alice["nps"]["n"], alice["ces"]) == (
        50.0, 2, {"n": 1, "mean": 2.0})  # owns A (10) and C (8)
    assert bob["nps"]["score"] == -100.0 and bob["csat"]["mean"] == 3.0
    # beside them, quality (reviews) and speed (answering replies: A 3600 s, C 300 s)
    assert alice["quality"] == {"reviewed": 3, "mean_score": 97.5, "pass_rate_pct": 100.0}
    assert alice["speed"] == {"replies": 2, "response_median_s": 1950.0,
                              "sla_compliance_pct": 50.0}
    chat = report["by_channel"]["chat"]
    assert (chat["nps"]["score"], chat["ces"]["mean"], chat["csat"]["n"]) == (0.0, None, 0)
    assert set(report["by_team"]) == {"", "billing"}
    assert report["by_team"]["billing"]["nps"]["score"] == -100.0
    assert list(report["by_period"]) == ["2024-W19"]
    refund = report["by_saved_reply"]["refund-policy"]
    assert refund["sends"] == 2 and refund["conversations"] == 2  # A and B
    assert refund["nps"]["score"] == 0.0 and refund["ces"]["mean"] == 4.0
    assert refund["quality"]["reviewed"] == 1 and refund["quality"]["mean_score"] == 92.5
    assert refund["speed"]["replies"] == 2 and refund["speed"]["response_median_s"] == 8100.0
    assert 0 < refund["mean_edit_ratio"] < 0.5


def test_an_empty_period_has_no_scores(sdb):
    report = surveys_report(sdb, {}, END, END.replace(day=20))
    assert report["overall"]["conversations"] == 0
    assert report["overall"]["nps"]["score"] is None and report["overall"]["ces"]["mean"] is None
    assert report["overall"]["speed"]["response_median_s"] is None
    assert report["by_saved_reply"] == {}


def test_saved_reply_rows_count_recorded_sends(sdb):
    # A/m3 is named by no import: only its recorded send ties it to the saved reply
    row = saved_reply_quality(sdb)["refund-policy"]
    assert (row["sent"], row["reviewed"], row["mean_score"]) == (2, 1, 92.5)
    assert (row["rated"], row["csat_mean"], row["ces_rated"], row["ces_mean"]) == (2, 4.0, 2, 4.0)
    assert row["nps"]["score"] == 0.0 and row["nps"]["n"] == 2


# --- API, CSV and dashboard ----------------------------------------------------------------

@pytest.fixture
def client(sdb, config):
    """The app's test client, signed in as a lead of no team through the login form."""
    users.add_user(sdb, "lead", PASSWORD, ["lead"])
    c = create_app({"TESTING": True, "REPLYKIT_CONFIG": config}).test_client()
    signed_in(c, "lead")
    return c


@pytest.fixture
def db(config):
    """The database of the `config` home (the app's), on the test's backend."""
    database = connect(config.database)
    yield database
    database.close()


def test_web_shows_nps_and_ces(client, sdb):
    period = "from=2024-05-06&to=2024-05-10&interval=week"
    api = client.get(f"/api/reports/surveys?{period}").get_json()
    assert api["by_agent"]["alice"]["nps"]["score"] == 50.0
    assert set(api["by_team"]) == {""}  # a lead of no team sees the conversations of no team
    exported = client.get(f"/reports/tables/surveys?{period}&format=csv")
    rows = {r["group"]: r for r in csv.DictReader(io.StringIO(exported.get_data(as_text=True)))}
    assert rows["agent:alice"]["nps.score"] == "50.0"
    assert rows["saved_reply:refund-policy"]["ces.mean"] == "2.0"
    page = client.get(f"/reports/?{period}").get_data(as_text=True)
    assert "NPS" in page and "CES" in page
    assert 'data-survey="nps">50' in page  # alice's row, with its n beside it
    # the library's panel of the saved reply: its NPS and CES, and how its sends went
    panel = client.get("/library/replies/refund-policy").get_data(as_text=True)
    # (B is the billing team's: not this lead's, so only A's answers count)
    assert 'data-survey="nps">100<' in panel and 'data-survey="ces">2.0<' in panel
    assert "measured on 2 replies really sent" in panel and "edited 11% on average" in panel


def test_cli_report_surveys(sdb, config):
    result = CliRunner().invoke(cli, ["--home", str(config.home), "report", "surveys", "--from",
                                      "2024-05-06", "--to", "2024-05-10", "--format", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)  # stderr may warn about the home's mode
    assert data["report"] == "surveys" and data["by_team"]["billing"]["nps"]["score"] == -100.0
    table = CliRunner().invoke(cli, ["--home", str(config.home), "report", "surveys", "--from",
                                     "2024-05-06", "--to", "2024-05-10"]).stdout.splitlines()
    assert table[1].split()[-1] == "saved_reply:refund-policy"
    assert [line.split() for line in table if line.startswith("nps.score ")] == [
        ["nps.score", "0", "50", "-100", "0", "0", "50", "-100", "0", "0"]]
