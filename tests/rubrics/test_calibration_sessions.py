"""Calibration sessions: a shared sample that every participant scores blind, then agreement
and a consensus per reply; team limits, bad input writing nothing, the audit entry."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from fixtures import add_conversation
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from replykit import audit
from replykit.errors import InputError
from replykit.users import add_user
from rubrics import assignments, calibration_sessions, reviews
from storage import reviews as review_store

START = datetime(2024, 5, 1, tzinfo=UTC)
END = datetime(2024, 6, 1, tzinfo=UTC)
RATINGS = {"accurate": 4, "complete": 3, "clear": 4, "empathy": 3, "personalised": 3,
           "honest": 4, "next_steps": 1, "tone": 4}


@pytest.fixture
def people(db):
    found = {}
    for username, name, roles in (("lee", "Lee Lead", "lead"), ("rui", "Rui Reviewer",
                                  "reviewer"), ("sam", "Sam Reviewer", "reviewer")):
        found[username] = add_user(db, username, "correct-horse-9", roles, name=name)
    return found


def _replies(db, count=4, team=""):
    for n in range(count):
        add_conversation(db, f"{team}C{n}", [
            ("customer", "cust", f"2024-05-0{n + 1}T09:00:00Z"),
            ("agent", "alice" if n % 2 else "bob", f"2024-05-0{n + 1}T10:00:00Z"),
        ])
        if team:
            db.execute("UPDATE conversations SET team = ? WHERE id = ?", [team, f"{team}C{n}"])


def _create(db, people, size=3, **kwargs):
    participants = [people["rui"], people["sam"]]
    args = {"creator_scope": None, "participant_scopes": [None, None]} | kwargs
    return calibration_sessions.create_session(
        db, people["lee"], "May calibration", START, END, size, participants, **args)


def _score(db, user, item, ratings=RATINGS):
    target = reviews.resolve_target(db, item["conversation_id"], item["message_id"])
    review_id = reviews.start_review(db, target, user["name"])
    review_store.update_review(db, review_id, {"reviewer_id": user["id"]})
    reviews.rate_review(db, review_id, user["name"], ratings)
    reviews.submit_review(db, review_id, user["name"])
    return review_id


def _mine(db, user):
    return review_store.review_ids_of_reviewer(db, user["id"], user["name"])


def test_the_same_replies_go_to_every_participant_and_assign_leaves_them(db, people):
    _replies(db)
    add_conversation(db, "old", [("agent", "bob", "2024-04-30T10:00:00Z")])
    session = _create(db, people, seed="7")
    assert len(session["items"]) == 3 and {p["reviewer"] for p in session["participants"]} == {
        "Rui Reviewer", "Sam Reviewer"}
    assert all(item["conversation_id"] != "old" for item in session["items"])
    for user in (people["rui"], people["sam"]):
        assert [i["state"] for i in calibration_sessions.progress(
            db, session, _mine(db, user))] == [None, None, None]
    assigned = assignments.assign(db, START, END, "2024-05", 10, ["Lee Lead"])["assigned"]
    sampled = {(i["conversation_id"], i["message_id"]) for i in session["items"]}
    assert len(assigned) == 1 and (assigned[0]["conversation_id"], "m2") not in sampled


def test_same_seed_same_sample(tmp_path, people, db):
    _replies(db, 6)
    first = [(i["conversation_id"]) for i in _create(db, people, seed="abc")["items"]]
    db.execute("DELETE FROM calibration_items")
    again = [(i["conversation_id"]) for i in _create(db, people, seed="abc")["items"]]
    assert first == again


def test_scores_stay_hidden_until_the_participant_submits(db, people):
    _replies(db, 2)
    session = _create(db, people, size=2, seed="1")
    rui, sam = people["rui"], people["sam"]
    first, second = session["items"]
    rui_first = _score(db, rui, first)
    assert calibration_sessions.blinded_review_ids(db, sam["id"], _mine(db, sam)) == {rui_first}
    assert calibration_sessions.blinded_review_ids(db, rui["id"], _mine(db, rui)) == set()
    assert not calibration_sessions.may_see_results(db, session, sam, _mine(db, sam))
    assert not calibration_sessions.may_see_results(db, session, rui, _mine(db, rui))
    assert calibration_sessions.may_see_results(db, session, people["lee"], set())
    sam_first = _score(db, sam, first, dict(RATINGS, clear=2))
    assert calibration_sessions.blinded_review_ids(db, sam["id"], _mine(db, sam)) == set()
    rui_second = _score(db, rui, second)
    assert calibration_sessions.blinded_review_ids(db, sam["id"], _mine(db, sam)) == {
        rui_second}
    assert calibration_sessions.may_see_results(db, session, rui, _mine(db, rui))
    assert not calibration_sessions.may_see_results(db, session, sam, _mine(db, sam))
    result = calibration_sessions.results(db, session)
    assert result["submitted"] == 3 and result["expected"] == 4
    assert {r["id"] for r in result["items"][0]["reviews"]} == {rui_first, sam_first}
    consensus = result["items"][0]["consensus"]
    assert consensus["ratings"]["clear"] == 3.0 and consensus["ratings"]["accurate"] == 4.0
    scores = [r["score"] for r in result["items"][0]["reviews"]]
    assert consensus["score"] == round(sum(scores) / 2, 2)
    assert result["categories"]["accurate"]["agreement_pct"] == 100.0
    assert result["categories"]["clear"]["agreement_pct"] == 0.0


def test_team_limits(db, people):
    _replies(db, 2, team="billing")
    _replies(db, 2, team="support")
    session = _create(db, people, size=10, creator_scope=["support"], seed="1")
    assert {i["conversation_id"] for i in session["items"]} == {"supportC0", "supportC1"}
    with pytest.raises(InputError, match="no reply to sample"):
        _create(db, people, creator_scope=["support"], participant_scopes=[["billing"], None])


@pytest.mark.parametrize("change,message", [
    ({"size": 0}, "between 1 and 200"), ({"size": 201}, "between 1 and 200"),
    ({"participants": "one"}, "at least two reviewers"), ({"name": " "}, "name"),
    ({"agent": "nobody"}, "no reply to sample"),
])
def test_bad_input_writes_nothing(db, people, change, message):
    _replies(db)
    participants = [people["rui"]] if change.pop("participants", None) else [
        people["rui"], people["sam"]]
    args = {"name": "x", "size": 2} | change
    with pytest.raises(InputError, match=message):
        calibration_sessions.create_session(
            db, people["lee"], args.pop("name"), START, END, args.pop("size"), participants,
            None, [None, None], **args)
    assert review_store.calibration_sessions_of(db, None) == []
    assert db["calibration_items"].count == 0 and db["calibration_participants"].count == 0
    assert audit.page(db, action="calibration.create")["total"] == 0


def test_creation_is_in_the_audit_log(db, people):
    _replies(db)
    session = _create(db, people, seed="9")
    (entry,) = audit.page(db, action="calibration.create")["entries"]
    assert entry["action"] == "calibration.create" and entry["actor"] == "lee"
    assert entry["target"] == f"calibration session {session['id']}"
    assert entry["details"]["participants"] == ["rui", "sam"]
    assert entry["details"]["replies"] == 3


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.integers(1, 4), st.integers(1, 4)), min_size=2, max_size=2))
def test_consensus_is_the_median_and_alpha_matches_agreement(tmp_path_factory, pairs):
    from storage.db import connect

    db = connect(tmp_path_factory.mktemp("cal") / "replykit.db")
    try:
        people = {u: add_user(db, u, "correct-horse-9", "reviewer", name=u.title())
                  for u in ("lee", "rui", "sam")}
        _replies(db, 2)
        session = _create(db, people, size=2, seed="1")
        for item, (a, b) in zip(session["items"], pairs, strict=True):
            _score(db, people["rui"], item, dict(RATINGS, accurate=a))
            _score(db, people["sam"], item, dict(RATINGS, accurate=b))
        result = calibration_sessions.results(db, session)
        for item, (a, b) in zip(result["items"], pairs, strict=True):
            assert item["consensus"]["ratings"]["accurate"] == (a + b) / 2
        same = sum(a == b for a, b in pairs)
        assert result["categories"]["accurate"]["agreement_pct"] == 50.0 * same
        alpha = result["categories"]["accurate"]["alpha"]
        assert (alpha == 1.0) == (same == 2 and len({a for a, _ in pairs}) == 2)
    finally:
        db.close()


def test_forgetting_a_customer_takes_their_reply_out_of_a_session(db, people):
    from replykit.forget import forget_customer

    _replies(db, 2)
    db.execute("UPDATE conversations SET customer_email = 'kai@example.com' WHERE id = 'C0'")
    session = _create(db, people, size=2, seed="1")
    _score(db, people["rui"], session["items"][0])
    assert forget_customer(db, "kai@example.com")["reviews"] == 1
    left = calibration_sessions.get_session(db, session["id"])
    assert [i["conversation_id"] for i in left["items"]] == ["C1"]
    assert calibration_sessions.results(db, left)["submitted"] == 0


def test_assign_keeps_to_the_leads_teams_and_what_each_reviewer_sees(db):
    _replies(db, 2, team="billing")
    _replies(db, 2, team="support")
    _replies(db, 2)  # no team: everyone's
    result = assignments.assign(db, START, END, "May", 5, ["Rui", "Sam"], seed="1",
                                teams=["support"], scopes={"Rui": ["billing"], "Sam": None})
    given = {(a["conversation_id"], a["reviewer"]) for a in result["assigned"]}
    assert {cid for cid, _ in given} == {"supportC0", "supportC1", "C0", "C1"}
    assert all(reviewer == "Sam" for cid, reviewer in given if cid.startswith("support"))
    again = assignments.assign(db, START, END, "May", 5, ["Rui"], seed="1",
                               teams=["billing"], scopes={"Rui": ["support"]})
    assert again["assigned"] == [] and {s["reason"] for s in again["skipped"]} == {
        "no chosen reviewer sees conversation billingC0",
        "no chosen reviewer sees conversation billingC1"}
