"""Teams are real and agents read only what they may (issue 11): saved replies restricted to
teams, conversations of other teams or out of the queue, conversation ids in suggestions,
reports per team, and ownership by user id rather than display name. Real app, real model,
real SQLite; the team comes from the signed-in user, never from the request."""

from __future__ import annotations

import io
import json

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from webtest_helpers import PASSWORD

from cli.main import cli
from replykit import users
from replykit.home import Home
from storage.migrations import MIGRATIONS, migrate
from suggest import library
from suggest.conversations import import_conversations
from suggest.engine import SuggestEngine

# conversation, message, role, author, at, body; team, status per conversation
TEAM_MESSAGES = [
    ("B1", "m1", "customer", "Nora Quist", "2026-09-04T09:00:00Z",
     "The zeppelin voucher I bought was billed twice on my card."),
    ("B1", "m2", "agent", "Bill Agent", "2026-09-04T09:20:00Z",
     "Hi Nora, I refunded the second zeppelin voucher charge today."),
    ("S1", "m1", "customer", "Olaf Berg", "2026-09-05T10:00:00Z",
     "My kayak rental booking page shows an error."),
    ("S2", "m1", "customer", "Pia Lund", "2026-09-06T11:00:00Z",
     "Where is the harpsichord tuning appointment I booked?"),
    ("S2", "m2", "agent", "Sam Agent", "2026-09-06T11:30:00Z",
     "Hi Pia, the harpsichord tuner visits on Friday morning."),
]
CONVERSATIONS = {"B1": ("billing", "closed"), "S1": ("support", "open"),
                 "S2": ("support", "resolved")}
# username, display name, roles, teams
TEAM_PEOPLE = (
    ("sam", "Sam Agent", "agent", "support"),
    ("bill", "Bill Agent", "agent", "billing"),
    ("lena", "Lena Lead", "lead", "support"),
    ("rita", "Rita Reviewer", "reviewer", "billing"),
    ("ravi", "Ravi Reviewer", "reviewer", "billing"),
)


@pytest.fixture
def teams_db(web_config, tmp_path, db):
    """The web home plus conversations of the billing and support teams (indexed) and users
    of those teams."""
    path = tmp_path / "team_messages.jsonl"
    with open(path, "w", encoding="utf-8") as f:
        for conv, mid, role, author, at, body in TEAM_MESSAGES:
            team, status = CONVERSATIONS[conv]
            f.write(json.dumps({"conversation_id": conv, "message_id": mid, "role": role,
                                "author": author, "channel": "email", "created_at": at,
                                "body": body, "subject": f"Ticket {conv}", "team": team,
                                "status": status}) + "\n")
    import_conversations(db, path)
    home = Home(web_config)
    SuggestEngine(home).sync()
    home.close()
    for username, name, roles, team in TEAM_PEOPLE:
        users.add_user(db, username, PASSWORD, roles, name=name, team=team)
    return db


def api(as_user, username: str):
    """(client, headers) of a signed-in browser calling the API."""
    client, token = as_user(username)
    return client, {"X-CSRFToken": token}


def suggested(client, headers, query: str, **body) -> list[dict]:
    response = client.post("/api/suggest", json={"query": query, "k": 10, **body},
                           headers=headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()["suggestions"]


def test_an_agent_never_sees_another_teams_saved_reply(as_user, teams_db):
    """refund-policy is billing's: a support agent gets it neither by suggest (with or without
    a `team` in the body), nor by render; a billing agent gets it first."""
    sam, sam_headers = api(as_user, "sam")
    assert "refund-policy" not in [s["id"] for s in suggested(sam, sam_headers,
                                                                "Can I get a refund?")]
    asked = sam.post("/api/suggest", json={"query": "Can I get a refund?", "team": "billing"},
                     headers=sam_headers)
    assert asked.status_code == 403  # the body may only narrow to one of the user's teams
    narrowed = suggested(sam, sam_headers, "Can I get a refund?", team="support")
    assert "refund-policy" not in [s["id"] for s in narrowed]
    rendered = sam.post("/api/render", json={"id": "refund-policy"}, headers=sam_headers)
    assert rendered.status_code == 404
    bill, bill_headers = api(as_user, "bill")
    assert suggested(bill, bill_headers, "Can I get a refund?")[0]["id"] == "refund-policy"
    assert bill.post("/api/render", json={"id": "refund-policy"},
                     headers=bill_headers).status_code == 200


def test_render_refuses_drafts_and_archived_replies_to_agents(as_user, teams_db):
    library.archive_reply(teams_db, "invoice-copy", "Lee Lead")
    sam, headers = api(as_user, "sam")
    for reply_id in ("sso-setup", "invoice-copy", "no-such-reply"):  # draft, archived, none
        response = sam.post("/api/render", json={"id": reply_id}, headers=headers)
        assert response.status_code == 404, reply_id
        assert response.get_json() == {"error": f"no saved reply with id {reply_id!r}"}
    lead, lead_headers = api(as_user, "lee")  # may edit the library: previews drafts
    assert lead.post("/api/render", json={"id": "sso-setup"},
                     headers=lead_headers).status_code == 200


@settings(max_examples=12, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(reply_teams=st.lists(st.sampled_from(["support", "billing", "vip"]), unique=True),
       user_teams=st.lists(st.sampled_from(["support", "billing", "vip"]), unique=True))
def test_visibility_follows_the_users_teams(as_user, teams_db, reply_teams, user_teams):
    """For any teams on the reply and the user: render and suggest show the reply exactly
    when it has no teams or shares one with the user."""
    library.edit_reply(teams_db, "refund-processed", {"teams": reply_teams}, "Lee Lead")
    users.set_teams(teams_db, "sam", user_teams)
    visible = not reply_teams or bool(set(reply_teams) & set(user_teams))
    sam, headers = api(as_user, "sam")
    rendered = sam.post("/api/render", json={"id": "refund-processed"}, headers=headers)
    assert rendered.status_code == (200 if visible else 404)
    shown = [s["id"] for s in suggested(sam, headers, "Your refund has been issued")]
    assert ("refund-processed" in shown) == visible


def test_library_pages_and_export_show_only_the_leads_teams(as_user, teams_db):
    lena, token = as_user("lena")  # support lead
    listed = lena.get("/library/").get_data(as_text=True)
    assert '"/library/replies/refund-policy"' not in listed
    assert '"/library/replies/password-reset"' in listed
    assert lena.get("/library/replies/refund-policy").status_code == 404
    assert lena.get("/library/replies/refund-policy/history").status_code == 404
    exported = lena.get("/library/export?format=jsonl").get_data(as_text=True)
    ids = [json.loads(line)["id"] for line in exported.splitlines()]
    assert "refund-policy" not in ids and "api-rate-limits" not in ids and "password-reset" in ids
    stale = lena.get("/library/curation?days=0&age=0").get_data(as_text=True)  # all never used
    assert '"/library/replies/password-reset"' in stale
    assert '"/library/replies/refund-policy"' not in stale
    upload = {"csrf_token": token, "file": (io.BytesIO(json.dumps(
        {"id": "refund-policy", "title": "Mine now", "body": "Hi."}).encode()), "r.jsonl")}
    lena.post("/library/import", data=upload, content_type="multipart/form-data")
    assert library.get_reply(teams_db, "refund-policy")["title"] != "Mine now"
    admin, _ = as_user("root")
    exported = admin.get("/library/export?format=jsonl").get_data(as_text=True)
    assert "refund-policy" in [json.loads(line)["id"] for line in exported.splitlines()]
    stale = admin.get("/library/curation?days=0&age=0").get_data(as_text=True)
    assert '"/library/replies/refund-policy"' in stale


def test_conversations_are_read_only_by_whom_they_concern(as_user, teams_db):
    """B1 is billing's and closed, S1 support's and open, S2 support's and resolved."""
    from rubrics import reviews, store

    store.ensure_default_rubric(teams_db)
    reviews.start_review(teams_db, reviews.resolve_target(teams_db, "B1", "m2"),
                         "Rita Reviewer")
    readable = {"sam": {"S1"}, "bill": set(), "lena": {"S1", "S2"}, "rita": {"B1"},
                "ravi": set(), "root": {"B1", "S1", "S2"}}
    for username, expected in readable.items():
        client, headers = api(as_user, username)
        for cid in ("B1", "S1", "S2"):
            response = client.get(f"/api/conversations/{cid}")
            assert response.status_code == (200 if cid in expected else 404), (username, cid)
        rendered = client.post("/api/render", json={"id": "password-reset",
                                                    "conversation_id": "B1"}, headers=headers)
        assert rendered.status_code == (200 if "B1" in expected else 404), username
        if username not in ("sam", "bill"):  # the reports page of a conversation
            page = client.get("/reports/conversations/B1")
            assert page.status_code == (200 if "B1" in expected else 404), username
    sam, headers = api(as_user, "sam")
    queue = {c["id"] for c in sam.get("/api/conversations").get_json()["conversations"]}
    assert "S1" in queue and not queue & {"B1", "S2"}
    started = sam.post("/api/drafts", json={"conversation_id": "B1"}, headers=headers)
    assert started.status_code == 404  # a drafting session does not open another team's door
    with teams_db.conn:  # a status from the helpdesk, in its own spelling
        teams_db.execute("UPDATE conversations SET status = 'Closed' WHERE id = 'S1'")
    assert sam.get("/api/conversations/S1").status_code == 404


def test_suggestions_hand_out_only_conversation_ids_the_reader_may_open(as_user, teams_db):
    """S2's past reply is suggested to support people; its conversation id only to those who
    may read it (resolved: out of the agents' queue). B1's is not suggested to support."""
    sam, headers = api(as_user, "sam")
    past = [s for s in suggested(sam, headers, "when is my harpsichord tuning appointment?")
            if s["kind"] == "past"]
    assert past and "harpsichord" in past[0]["body"]
    assert all(s["conversation_id"] is None for s in past)
    assert "S2" not in json.dumps(past)  # nor in the id: "past-N" names no conversation
    rendered = sam.post("/api/render", json={"kind": "past", "id": past[0]["id"]},
                        headers=headers)
    assert "harpsichord" in rendered.get_json()["text"]
    shown = sam.post(f"/api/suggestions/{past[0]['id']}/feedback",
                     json={"event": "shown", "kind": "past"}, headers=headers)
    assert shown.status_code == 201 and shown.get_json()["suggestion_id"] == "S2:m2"
    lena, lena_headers = api(as_user, "lena")
    past = [s for s in suggested(lena, lena_headers, "when is my harpsichord tuning appointment?")
            if s["kind"] == "past"]
    assert past[0]["conversation_id"] == "S2"
    billed = suggested(sam, headers, "my zeppelin voucher was billed twice")
    assert not [s for s in billed if s["kind"] == "past" and "zeppelin" in s["body"]]


def test_feedback_and_drafts_take_only_usable_suggestions(as_user, teams_db):
    """Feedback on, or a draft finished with, another team's saved or past reply answers 404
    like a missing one: existence is not revealed and usage figures are not skewed."""
    sam, headers = api(as_user, "sam")
    for kind, reply_id in (("saved", "refund-policy"), ("past", "B1:m2")):
        response = sam.post(f"/api/suggestions/{reply_id}/feedback",
                            json={"event": "shown", "kind": kind}, headers=headers)
        assert response.status_code == 404, reply_id
        draft_id = sam.post("/api/drafts", json={}, headers=headers).get_json()["id"]
        finished = sam.post(f"/api/drafts/{draft_id}/finish", json={
            "outcome": "copied", "text": "Hi.", "suggestion_kind": kind,
            "suggestion_id": reply_id, "inserted_text": "Hi."}, headers=headers)
        assert finished.status_code == 404, reply_id
    assert teams_db.execute("SELECT COUNT(*) FROM suggestion_feedback").fetchone()[0] == 0


def test_reports_cover_only_the_users_teams(as_user, teams_db):
    period = "from=2026-09-01&to=2026-09-30"
    lena, _ = as_user("lena")
    report = lena.get(f"/api/reports/speed?{period}").get_json()
    answered = {r["conversation_id"] for r in report["replies"]}
    assert "S2" in answered and "B1" not in answered and "C1" in answered  # C1: no team
    assert lena.get(f"/api/reports/speed?{period}&team=billing").status_code == 403
    only = lena.get(f"/api/reports/combined?{period}&team=support").get_json()
    assert only["filters"]["teams"] == ["support"]
    table = lena.get(f"/reports/tables/responses?{period}&format=csv").get_data(as_text=True)
    assert "S2" in table and "B1" not in table
    admin, _ = as_user("root")
    report = admin.get(f"/api/reports/speed?{period}&team=billing").get_json()
    assert {r["conversation_id"] for r in report["replies"]} == {"B1"}


def test_same_display_name_each_sees_only_their_own(as_user, teams_db):
    """Two users named 'Sam Agent': neither finishes, reads or lists the other's drafting
    session and review request."""
    users.add_user(teams_db, "sam2", PASSWORD, "agent", name="Sam Agent", team="support")
    sam, headers = api(as_user, "sam")
    draft_id = sam.post("/api/drafts", json={"query": "refund?"}, headers=headers).get_json()["id"]
    twin, twin_headers = api(as_user, "sam2")
    finish = {"outcome": "copied", "text": "Done."}
    assert twin.post(f"/api/drafts/{draft_id}/finish", json=finish,
                     headers=twin_headers).status_code == 404
    sent = sam.post(f"/api/drafts/{draft_id}/review-request",
                    json={"text": "Secret draft about refunds.", "reviewer": "rita"},
                    headers=headers)
    assert sent.status_code == 201
    request_id = sent.get_json()["review_draft_id"]
    assert sam.get(f"/api/review-requests/{request_id}").status_code == 200
    assert twin.get(f"/api/review-requests/{request_id}").status_code == 403
    assert twin.get(f"/reviews/drafts/{request_id}").status_code == 403
    assert "Secret draft" not in twin.get("/reviews/mine").get_data(as_text=True)
    assert "Secret draft" not in twin.get("/workspace").get_data(as_text=True)
    assert "Secret draft" in sam.get("/reviews/mine").get_data(as_text=True)


def test_users_belong_to_several_teams_from_the_cli(tmp_path):
    home = tmp_path / "home"
    runner = CliRunner()
    result = runner.invoke(cli, ["--home", str(home), "users", "add", "kim", "--role", "agent",
                                 "--team", "support", "--team", "billing,vip",
                                 "--password", PASSWORD])
    assert result.exit_code == 0, result.output
    assert "teams support, billing, vip" in result.output
    result = runner.invoke(cli, ["--home", str(home), "users", "set-teams", "kim", "vip"])
    assert result.exit_code == 0 and "teams vip" in result.output
    listed = json.loads(runner.invoke(cli, ["--home", str(home), "users", "list",
                                            "--json"]).output)
    assert [u["teams"] for u in listed] == [["vip"]]


def test_migrations_keep_teams_and_link_owners_by_unique_name(tmp_path):
    """users.team becomes a user_teams row; drafting sessions and review requests get the id
    of the one user with their display name, none where two users share it."""
    import sqlite_utils

    db = sqlite_utils.Database(tmp_path / "old.db")
    db.execute("CREATE TABLE schema_version (version INTEGER PRIMARY KEY, name TEXT NOT NULL, "
               "applied_at TEXT NOT NULL)")
    for version, name, apply in sorted(MIGRATIONS):
        if version <= 200:
            apply(db)
            db["schema_version"].insert({"version": version, "name": name, "applied_at": "x"})
    for username, name, team in (("a1", "Ann", "support"), ("t1", "Twin", ""),
                                 ("t2", "Twin", "")):
        db["users"].insert({"username": username, "name": name, "password_hash": "x",
                            "team": team, "created_at": "x", "updated_at": "x"})
    for agent in ("Ann", "Twin"):
        db["drafts"].insert({"agent": agent, "opened_at": "x"})
        db["review_drafts"].insert({"author": agent, "body": "b", "requested_at": "x"})
    migrate(db)
    assert [tuple(r) for r in db.execute("SELECT user_id, team FROM user_teams")] == [
        (1, "support")]
    assert [r[0] for r in db.execute("SELECT agent_id FROM drafts ORDER BY id")] == [1, None]
    assert [r[0] for r in db.execute("SELECT author_id FROM review_drafts ORDER BY id")] == [
        1, None]


def test_a_reviewer_with_a_twins_name_scores_only_their_own_reviews(as_user, teams_db):
    rui, token = as_user("rui")
    started = rui.post("/reviews/start", data={"csrf_token": token, "conversation": "C3",
                                               "message": "m2"})
    review_id = int(started.headers["Location"].split("/")[2])
    users.add_user(teams_db, "rui2", PASSWORD, "reviewer", name="Rui Reviewer")
    twin, _ = as_user("rui2")
    assert twin.get(f"/reviews/{review_id}/score").status_code == 403
    assert f"/reviews/{review_id}/score" not in twin.get("/reviews/").get_data(as_text=True)
    assert rui.get(f"/reviews/{review_id}/score").status_code == 200  # owned by user id


def test_a_shared_display_name_reads_no_ones_reviews(as_user, teams_db):
    """Reviews of imported replies name the agent by display name: once two users share it,
    the name links to neither of them."""
    from security_seed import seed

    ids = seed(teams_db)  # Rui's submitted review of Ana Agent's reply in C1
    users.add_user(teams_db, "ana2", PASSWORD, "agent", name="Ana Agent", team="support")
    twin, token = as_user("ana2")
    assert twin.get(f"/api/reviews/{ids['review']}").status_code == 403
    assert twin.get(f"/reviews/{ids['review']}").status_code == 403
    assert twin.get("/api/reviews?author=Ana Agent").status_code == 403
    assert "Clear and kind." not in twin.get("/reviews/mine").get_data(as_text=True)
    disputed = twin.post(f"/reviews/{ids['review']}/dispute",
                         data={"csrf_token": token, "reason": "Not me."})
    assert disputed.status_code == 403


def test_reviewers_and_leads_read_only_their_teams_reviews(as_user, teams_db):
    """A review shows the original reply (customer details included): reviewers and leads
    of another team read neither it nor a draft sent for review from that team's
    conversation."""
    from rubrics import drafts, reviews, store

    store.ensure_default_rubric(teams_db)
    review_id = reviews.start_review(teams_db, reviews.resolve_target(teams_db, "B1", "m2"),
                                     "Rita Reviewer")
    request_id = drafts.request_draft(teams_db, "Bill Agent", "Refund sent.", "billed twice",
                                      conversation_id="B1")
    users.add_user(teams_db, "rob", PASSWORD, "reviewer", name="Rob Reviewer", team="support")
    for username, allowed in (("rob", False), ("lena", False), ("ravi", True), ("root", True)):
        client, _ = as_user(username)
        want = 200 if allowed else 403
        assert client.get(f"/reviews/{review_id}").status_code == want, username
        assert client.get(f"/api/reviews/{review_id}").status_code == want, username
        listed = [r["id"] for r in client.get("/api/reviews").get_json()]
        assert (review_id in listed) == allowed, username
        assert client.get(f"/reviews/drafts/{request_id}").status_code == want, username
        assert client.get(f"/api/review-requests/{request_id}").status_code == want, username
    rob, token = as_user("rob")  # nor starts reviewing another team's reply
    assert rob.post("/reviews/start", data={"csrf_token": token, "conversation": "B1",
                                            "message": "m2"}).status_code == 403
    ravi, token = as_user("ravi")
    assert ravi.post("/reviews/start", data={"csrf_token": token, "conversation": "B1",
                                             "message": "m2"}).status_code == 302


def test_curation_gaps_show_only_the_leads_teams_questions(web_config, teams_db):
    """Gaps quote customer questions: a support lead never sees billing customers'."""
    from suggest import curation

    home = Home(web_config)
    engine = SuggestEngine(home)

    def questions(teams):
        found = curation.gaps(engine, weak=0.99, same=0.0, min_size=1, teams=teams)
        return " ".join(q for gap in found for q in gap["examples"])

    assert "zeppelin" in questions(None) and "harpsichord" in questions(None)
    assert "zeppelin" not in questions(["support"]) and "harpsichord" in questions(["support"])
    home.close()


def test_queues_list_only_what_the_reader_may_read(as_user, teams_db):
    """The conversation queue quotes the customer's last message: a reviewer with no reply
    to review in it lists nothing; a lead reading a reviewer's queue sees only their
    teams' drafts."""
    from rubrics import drafts

    users.add_user(teams_db, "rob", PASSWORD, "reviewer", name="Rob Reviewer", team="support")
    rob, _ = as_user("rob")
    assert rob.get("/api/conversations").get_json()["conversations"] == []
    sam, _ = as_user("sam")
    assert "S1" in [c["id"] for c in sam.get("/api/conversations").get_json()["conversations"]]
    request_id = drafts.request_draft(teams_db, "Bill Agent", "Refund sent.", "billed twice",
                                      reviewer="Rita Reviewer", conversation_id="B1")
    for username, shown in (("lena", False), ("rita", True), ("root", True)):
        client, _ = as_user(username)
        queue = client.get("/api/reviews/queue?reviewer=Rita Reviewer").get_json()
        assert (request_id in [d["id"] for d in queue["drafts"]]) == shown, username


def test_leads_see_and_resolve_only_their_teams_disputes(as_user, teams_db):
    from rubrics import disputes, reviews, store

    store.ensure_default_rubric(teams_db)
    target = reviews.resolve_target(teams_db, "B1", "m2")
    review_id = reviews.add_review(teams_db, target, "Rita Reviewer", {
        k: 4 for k in ("accurate", "complete", "clear", "empathy", "personalised", "honest",
                       "tone")} | {"next_steps": 1})
    dispute_id = disputes.open_dispute(teams_db, review_id, "Bill Agent", "Zeppelin dispute.")
    lena, token = as_user("lena")
    assert "Zeppelin dispute." not in lena.get("/reviews/disputes").get_data(as_text=True)
    refused = lena.post(f"/reviews/disputes/{dispute_id}/resolve",
                        data={"csrf_token": token, "decision": "uphold"})
    assert refused.status_code == 403
    assert disputes.list_disputes(teams_db)[0]["state"] == "open"
    admin, _ = as_user("root")
    assert "Zeppelin dispute." in admin.get("/reviews/disputes").get_data(as_text=True)


def test_a_drafting_session_counts_for_the_conversations_team(as_user, teams_db):
    lee, headers = api(as_user, "lee")  # support, billing, technical
    started = lee.post("/api/drafts", json={"conversation_id": "B1"}, headers=headers)
    assert started.get_json()["team"] == "billing"
    assert lee.post("/api/drafts", json={}, headers=headers).get_json()["team"] == "support"
