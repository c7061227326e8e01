"""Reviews, drafts, assignments, disputes and calibration on a real database."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
import yaml
from click.testing import CliRunner

from cli.main import cli
from replykit.errors import Conflict, InputError, NotFound
from rubrics import assignments, disputes, drafts
from rubrics import reviews as rv
from rubrics.calibration import calibration_report
from rubrics.rubric import default_rubric_path
from rubrics.store import import_rubric_file
from storage.db import connect
from tests.rubrics.fixtures import add_conversation, load_speed_fixture, table_counts

pytestmark = pytest.mark.both_backends

ALL4 = {"accurate": 4, "complete": 4, "clear": 4, "empathy": 4, "personalised": 4,
        "honest": 4, "next_steps": 1, "tone": 4}
FAR = (datetime(2000, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC))


@pytest.fixture
def fdb(db):
    load_speed_fixture(db)
    return db


def reply(db, cid, mid):
    return rv.resolve_target(db, cid, mid)


def test_add_review_hand_computed_and_version_kept(fdb, tmp_path):
    ratings = dict(ALL4, clear=3, empathy=None, tone=2)
    # accurate 100x25 + complete 100x20 + clear 66.67x15 + personalised 100x10 + honest 100x10
    # + next_steps 100x5 + tone 33.33x5 = 2500+2000+1000+1000+1000+500+166.67 = 8166.67 over
    # weights 90 (empathy N/A) = 90.74
    review_id = rv.add_review(fdb, reply(fdb, "A", "m3"), "bob", ratings,
                              comments={"tone": "too casual"}, overall_comment="good")
    review = rv.get_review(fdb, review_id)
    assert (review["score"], review["auto_failed"], review["state"]) == (90.74, False,
                                                                         "submitted")
    assert (review["author"], review["reviewer"]) == ("alice", "bob")
    assert (review["rubric_name"], review["rubric_version"]) == ("support-reply", 1)
    assert review["categories"]["tone"] == {"rated": True, "rating": 2, "comment": "too casual",
                                            "score": 33.33}
    assert review["categories"]["empathy"]["rated"] and review["categories"]["empathy"][
        "rating"] is None
    assert [e["event"] for e in review["history"]] == ["started", "submitted"]
    # a new rubric version does not change the stored review
    data = yaml.safe_load(default_rubric_path().read_text())
    data["categories"][2]["weight"] = 50
    edited = tmp_path / "v2.yaml"
    edited.write_text(yaml.safe_dump(data))
    assert import_rubric_file(fdb, edited)["version"] == 2
    assert rv.get_review(fdb, review_id)["rubric_version"] == 1
    second = rv.add_review(fdb, reply(fdb, "A", "m3"), "carol", ALL4)
    assert rv.get_review(fdb, second)["rubric_version"] == 2


@pytest.mark.parametrize(
    "target, reviewer, ratings, error, message",
    [
        (("A", "m3"), "bob", dict(ALL4, bogus=3), InputError,
         "unknown rubric category 'bogus'"),
        (("A", "m3"), "bob", dict(ALL4, clear=9), InputError,
         "rating 9 for category 'clear' is outside its scale 1-4"),
        (("A", "m3"), "alice", ALL4, InputError, "nobody reviews their own reply: alice wrote it"),
        (("A", "m3"), "bob", {k: v for k, v in ALL4.items() if k != "tone"}, InputError,
         "has no rating for: tone"),
        (("A", "m1"), "bob", ALL4, InputError, "is a customer message, not an agent reply"),
        (("Z", "m1"), "bob", ALL4, NotFound, "no message 'm1' in conversation 'Z'"),
    ],
)
def test_bad_review_input_writes_nothing(fdb, target, reviewer, ratings, error, message):
    rv.add_review(fdb, reply(fdb, "B", "m2"), "alice", ALL4)  # something already there
    before = table_counts(fdb)
    with pytest.raises(error, match=message):
        rv.add_review(fdb, rv.resolve_target(fdb, *target), reviewer, ratings)
    assert table_counts(fdb) == before


def test_start_rate_submit(fdb):
    review_id = rv.start_review(fdb, reply(fdb, "C", "m2"), "bob", ratings={"accurate": 2},
                                comments={"clear": "ok"})
    # a comment alone does not rate a category
    with pytest.raises(InputError, match="no rating for: complete, clear, empathy"):
        rv.submit_review(fdb, review_id, "bob")
    with pytest.raises(InputError, match=r"only its reviewer \(bob\)"):
        rv.rate_review(fdb, review_id, "carol", {"clear": 3})
    rv.rate_review(fdb, review_id, "bob", dict(ALL4, accurate=2), overall_comment="wrong plan")
    result = rv.submit_review(fdb, review_id, "bob")
    assert result["score"] == 0 and result["auto_failed"] is True  # accurate 2 -> 33.33 < 50
    with pytest.raises(Conflict, match="is submitted"):
        rv.rate_review(fdb, review_id, "bob", {"clear": 1})
    with pytest.raises(Conflict, match="bob already reviews this reply"):
        rv.start_review(fdb, reply(fdb, "C", "m2"), "bob")


def test_drafts_flow(fdb):
    with pytest.raises(InputError, match="nobody reviews their own reply"):
        drafts.request_draft(fdb, "alice", "text", reviewer="alice")
    draft_id = drafts.request_draft(fdb, "alice", "Hi Ana, refunds take 5 days.",
                                    question="Where is my refund?", reviewer="bob")
    assert [d["id"] for d in assignments.queue(fdb, "bob")["drafts"]] == [draft_id]
    assert assignments.queue(fdb, "carol")["drafts"] == []  # addressed to bob
    target = rv.resolve_target(fdb, draft_id=draft_id)
    with pytest.raises(InputError, match="nobody reviews their own reply"):
        rv.add_review(fdb, target, "alice", ALL4)
    review_id = rv.add_review(fdb, target, "bob", dict(ALL4, honest=2))
    drafts.return_draft(fdb, draft_id, "bob", "Say 5 business days, not 5 days.")
    seen = drafts.draft_result(fdb, draft_id)
    assert seen["state"] == "returned" and seen["return_comment"].startswith("Say 5")
    # honest 2 -> 33.33 x 10 + 100 x 90 = 9333.33 over 100
    assert [(r["id"], r["score"]) for r in seen["reviews"]] == [(review_id, 93.33)]
    with pytest.raises(Conflict, match="already returned"):
        drafts.return_draft(fdb, draft_id, "bob", "again")


def _agent_replies(db, n_agents=3, per_agent=5):
    for a in range(n_agents):
        for i in range(per_agent):
            add_conversation(db, f"x{a}-{i}", [
                ("customer", "c", f"2024-06-{i + 1:02d}T09:00:00Z"),
                ("agent", f"agent{a}", f"2024-06-{i + 1:02d}T10:00:00Z"),
            ])


def test_assign_reproducible_excludes_reviewed_and_own(tmp_path):
    results = []
    for name in ("one.db", "two.db"):
        db = connect(tmp_path / name)
        _agent_replies(db)
        rv.add_review(db, rv.resolve_target(db, "x0-0", "m2"), "agent1", ALL4)
        start, end = datetime(2024, 6, 1, tzinfo=UTC), datetime(2024, 7, 1, tzinfo=UTC)
        results.append(assignments.assign(db, start, end, "2024-06", 2,
                                          ["agent0", "agent1"], seed="42"))
        db.close()
    first, second = results
    strip = [{k: v for k, v in a.items() if k != "created_at"} for a in first["assigned"]]
    assert strip == [{k: v for k, v in a.items() if k != "created_at"}
                     for a in second["assigned"]]
    assert len(first["assigned"]) == 6  # 2 per agent x 3 agents
    assert all(a["author"] != a["reviewer"] for a in first["assigned"])
    assert ("x0-0", "m2") not in {(a["conversation_id"], a["message_id"])
                                  for a in first["assigned"]}
    # agent2's replies are shared out evenly between the two reviewers
    loads = [a["reviewer"] for a in first["assigned"]]
    assert loads.count("agent0") == loads.count("agent1") == 3


def test_assign_again_skips_assigned_and_queue(tmp_path):
    db = connect(tmp_path / "x.db")
    _agent_replies(db, n_agents=2, per_agent=3)
    start, end = datetime(2024, 6, 1, tzinfo=UTC), datetime(2024, 7, 1, tzinfo=UTC)
    one = assignments.assign(db, start, end, "2024-06", 2, ["agent0", "lead"], seed="s")
    two = assignments.assign(db, start, end, "2024-06", 2, ["agent0", "lead"], seed="s")
    keys = [(a["conversation_id"], a["message_id"]) for a in one["assigned"] + two["assigned"]]
    assert len(keys) == len(set(keys)) == 6  # only 3 replies per agent exist
    queued = assignments.queue(db, "agent0")["assignments"]
    assert {a["author"] for a in queued} == {"agent1"}
    # reviewing closes the assignment
    a = queued[0]
    rv.add_review(db, rv.resolve_target(db, a["conversation_id"], a["message_id"]), "agent0",
                  ALL4)
    assert len(assignments.queue(db, "agent0")["assignments"]) == len(queued) - 1
    db.close()


def test_assign_bad_input_writes_nothing(fdb):
    before = table_counts(fdb)
    with pytest.raises(InputError, match="name at least one reviewer"):
        assignments.assign(fdb, *FAR, "all", 1, [" "])
    result = assignments.assign(fdb, *FAR, "all", 5, ["alice"], seed="1")
    assert result["skipped"] == [{"agent": "alice", "reason": "no reviewer other than the agent"}]
    assert {a["author"] for a in result["assigned"]} == {"bob"}
    assert table_counts(fdb)["review_assignments"] == before["review_assignments"] + 2


def test_disputes_uphold_and_rescore_keep_history(fdb):
    review_id = rv.add_review(fdb, reply(fdb, "B", "m2"), "alice", dict(ALL4, clear=1))
    with pytest.raises(InputError, match=r"only the reviewed agent \(bob\)"):
        disputes.open_dispute(fdb, review_id, "carol", "unfair")
    first = disputes.open_dispute(fdb, review_id, "bob", "clarity was fine")
    with pytest.raises(Conflict, match="unresolved dispute"):
        disputes.open_dispute(fdb, review_id, "bob", "again")
    with pytest.raises(InputError, match="cannot resolve their own dispute"):
        disputes.resolve_dispute(fdb, first, "bob", "uphold")
    assert disputes.resolve_dispute(fdb, first, "lead", "uphold")["state"] == "upheld"
    second = disputes.open_dispute(fdb, review_id, "bob", "really")
    disputes.resolve_dispute(fdb, second, "lead", "rescore", "look again")
    assert rv.get_review(fdb, review_id)["state"] == "in_progress"
    rv.rate_review(fdb, review_id, "alice", {"clear": 4})
    assert rv.submit_review(fdb, review_id, "alice")["score"] == 100.0
    review = rv.get_review(fdb, review_id)
    assert [d["state"] for d in review["disputes"]] == ["upheld", "rescored"]
    events = [e["event"] for e in review["history"]]
    assert events == ["started", "submitted", "disputed", "upheld", "disputed", "reopened",
                      "rated", "submitted"]
    reopened = review["history"][5]["detail"]
    assert reopened["previous_score"] == 85.0 and reopened["previous_ratings"]["clear"] == 1


def test_calibration_hand_computed(fdb):
    # two replies, three reviewers (carol reviews both as an outsider; alice and bob can only
    # review each other's replies):
    # A/m3 (alice's): bob all 4 -> 100, carol clear 1 -> 85  -> mean 92.5
    # B/m2 (bob's):   alice all 4 -> 100, carol all 4 -> 100 -> mean 100
    rv.add_review(fdb, reply(fdb, "A", "m3"), "bob", ALL4)
    rv.add_review(fdb, reply(fdb, "A", "m3"), "carol", dict(ALL4, clear=1))
    rv.add_review(fdb, reply(fdb, "B", "m2"), "alice", ALL4)
    rv.add_review(fdb, reply(fdb, "B", "m2"), "carol", ALL4)
    rv.add_review(fdb, reply(fdb, "C", "m2"), "bob", ALL4)  # one reviewer only: left out
    [entry] = calibration_report(fdb, *FAR)
    assert (entry["replies"], entry["reviews"]) == (2, 4)
    # clear: units {A: (4, 1), B: (4, 4)}: 1 of 2 pairs agree; alpha: n=4, marginals 1:1, 4:3;
    # ordinal d2(1,4) = (1 + 3 - (1+3)/2)^2 = 4; o(1,4) = o(4,1) = 1 -> Do sum = 8;
    # De sum = 2 * 1 * 3 * 4 = 24; alpha = 1 - 3 * 8 / 24 = 0
    assert entry["categories"]["clear"] == {"alpha": 0.0, "metric": "ordinal",
                                            "agreement_pct": 50.0}
    # every other category: all ratings equal -> alpha undefined, 100 % agreement
    assert entry["categories"]["accurate"] == {"alpha": None, "metric": "ordinal",
                                               "agreement_pct": 100.0}
    # deviations: bob +7.5 (A); carol -7.5 (A) and 0 (B) -> -3.75, abs 3.75; alice 0 (B)
    assert entry["reviewers"] == {
        "alice": {"reviews": 1, "mean_deviation": 0.0, "mean_abs_deviation": 0.0},
        "bob": {"reviews": 1, "mean_deviation": 7.5, "mean_abs_deviation": 7.5},
        "carol": {"reviews": 2, "mean_deviation": -3.75, "mean_abs_deviation": 3.75},
    }


# --- CLI -------------------------------------------------------------------------------------

@pytest.fixture
def home(tmp_path):
    path = tmp_path / "home"
    db = connect(path / "replykit.db")
    load_speed_fixture(db)
    db.close()

    def invoke(*args):
        return CliRunner().invoke(cli, ["--home", str(path), *args])

    invoke.db = lambda: connect(path / "replykit.db")
    return invoke


RATINGS = "accurate=4,complete=4,clear=3,empathy=na,personalised=4,honest=4,next_steps=yes,tone=2"


def test_cli_add_show_list(home):
    result = home("reviews", "add", "--conversation", "A", "--message", "m3", "--reviewer",
                  "bob", "--ratings", RATINGS, "--comment", "tone=too casual")
    assert (result.exit_code, result.output) == (0, "review 1 submitted: score 90.74\n")
    shown = json.loads(home("reviews", "show", "1", "--json").output)
    assert shown["categories"]["tone"]["comment"] == "too casual"
    listed = json.loads(home("reviews", "list", "--json", "--author", "alice").output)
    assert [(r["id"], r["score"]) for r in listed] == [(1, 90.74)]


@pytest.mark.parametrize(
    "args, message",
    [
        (["--conversation", "A", "--message", "m3", "--reviewer", "bob", "--ratings",
          RATINGS + ",speed=3"], "Error: unknown rubric category 'speed' (known: accurate, "
         "complete, clear, empathy, personalised, honest, next_steps, tone)\n"),
        (["--conversation", "A", "--message", "m3", "--reviewer", "bob", "--ratings",
          RATINGS.replace("clear=3", "clear=5")],
         "Error: rating '5' for category 'clear' is outside its scale 1-4\n"),
        (["--conversation", "A", "--message", "m9", "--reviewer", "bob", "--ratings", RATINGS],
         "Error: no message 'm9' in conversation 'A'\n"),
        (["--conversation", "A", "--message", "m3", "--reviewer", "alice", "--ratings",
          RATINGS], "Error: nobody reviews their own reply: alice wrote it\n"),
    ],
)
def test_cli_bad_input_writes_nothing(home, args, message):
    result = home("reviews", "add", *args)
    assert (result.exit_code, result.output) == (1, message)
    db = home.db()
    assert db["reviews"].count == 0 and db["review_ratings"].count == 0
    db.close()


def test_cli_draft_assign_dispute_calibration(home):
    assert home("reviews", "request-draft", "--author", "alice", "--body", "Hi!",
                "--question", "refund?").output == "draft 1 requested\n"
    assert "draft 1 by alice" in home("reviews", "queue", "--reviewer", "bob").output
    assert home("reviews", "add", "--draft", "1", "--reviewer", "bob", "--ratings",
                RATINGS).exit_code == 0
    assert home("reviews", "return-draft", "1", "--reviewer", "bob", "--comment",
                "add the timeline").output == "draft 1 returned\n"
    assert home("reviews", "draft", "1").output == (
        "draft 1 by alice: returned by bob\ncomment: add the timeline\n"
        "review 1 by bob (submitted): score 90.74\n")
    assigned = home("reviews", "assign", "--per-agent", "1", "--period", "2024-05",
                    "--reviewers", "carol", "--seed", "7")
    assert assigned.exit_code == 0 and assigned.output.endswith("2 assigned (seed 7)\n")
    assert home("reviews", "add", "--conversation", "A", "--message", "m3", "--reviewer",
                "bob", "--ratings", RATINGS).exit_code == 0
    assert home("reviews", "dispute", "2", "--agent", "alice", "--reason",
                "tone is our brand").output == "dispute 1 opened on review 2\n"
    bad = home("reviews", "resolve-dispute", "1", "--lead", "lee")
    assert (bad.exit_code, bad.output) == (1, "Error: choose --uphold or --rescore\n")
    assert home("reviews", "resolve-dispute", "1", "--lead", "lee", "--rescore").output == (
        "dispute 1: rescore (review 2)\n")
    assert json.loads(home("reviews", "disputes", "--json").output)[0]["state"] == "rescore"
    report = home("reviews", "calibration", "--from", "2000-01-01", "--json")
    assert json.loads(report.output) == []


def test_cli_assign_invalid_calendar_writes_nothing(home, tmp_path):
    (tmp_path / "home" / "config.toml").write_text('[calendar]\ntimezone = "Mars/Olympus"\n')
    result = home("reviews", "assign", "--per-agent", "1", "--period", "2024-05",
                  "--reviewers", "carol")
    assert (result.exit_code, result.output) == (
        1, "Error: calendar.timezone: unknown IANA timezone 'Mars/Olympus'\n")
    bad_period = home("reviews", "assign", "--per-agent", "1", "--period", "May",
                      "--reviewers", "carol")
    assert bad_period.exit_code == 1
    db = home.db()
    assert db["review_assignments"].count == 0
    db.close()
