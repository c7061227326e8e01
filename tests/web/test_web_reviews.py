"""Review pages: queue, scoring form, draft review round trip, agent view and disputes,
lead resolution, calibration and the rubric editor; who may see and do what."""

from __future__ import annotations

import re

import pytest

from replykit import audit
from rubrics import disputes, drafts, reviews, store

FULL = {"rating-accurate": "4", "rating-complete": "3", "rating-clear": "4",
        "rating-empathy": "na", "rating-personalised": "3", "rating-honest": "4",
        "rating-next_steps": "1", "rating-tone": "4"}


def _request_draft(db, author="Ana Agent", reviewer=None):
    return drafts.request_draft(db, author, "Refunds take 5-10 days.", "refund?", reviewer)


@pytest.mark.parametrize("path,allowed", [
    ("/reviews/", {"rui", "lee", "root"}), ("/reviews/calibration", {"rui", "lee", "root"}),
    ("/reviews/disputes", {"lee", "root"}), ("/reviews/rubrics", {"lee", "root"}),
    ("/reviews/mine", {"ana", "rui", "lee", "root"}),
])
def test_review_page_permissions(as_user, client, path, allowed):
    assert client.get(path).status_code == 302
    for username in ("ana", "rui", "lee", "root"):
        page, _ = as_user(username)
        assert page.get(path).status_code == (200 if username in allowed else 403), username


def test_draft_review_round_trip(as_user, db):
    draft_id = _request_draft(db, reviewer="Rui Reviewer")
    reviewer, token = as_user("rui")
    html = reviewer.get("/reviews/").get_data(as_text=True)
    assert "Refunds take 5-10 days." in html
    response = reviewer.post("/reviews/start", data={"csrf_token": token, "draft": draft_id})
    assert response.status_code == 302
    review_id = int(response.headers["Location"].split("/")[2])
    form = reviewer.get(f"/reviews/{review_id}/score").get_data(as_text=True)
    assert "critical: below half fails the review" in form and 'value="na"' in form
    assert "js/review_form.js" in form and 'data-weight="25"' in form
    again = reviewer.post("/reviews/start", data={"csrf_token": token, "draft": draft_id})
    assert again.headers["Location"] == response.headers["Location"]  # continues, no duplicate
    saved = reviewer.post(f"/reviews/{review_id}/score", data={
        "csrf_token": token, "action": "save", "rating-accurate": "4"})
    assert saved.status_code == 302
    incomplete = reviewer.post(f"/reviews/{review_id}/score", data={
        "csrf_token": token, "action": "submit", "rating-clear": "3"})
    assert incomplete.status_code == 400 and "Empathy and friendliness: choose a score" in (
        incomplete.get_data(as_text=True))
    done = reviewer.post(f"/reviews/{review_id}/score", data={
        "csrf_token": token, "action": "submit", "overall": "Say business days.", **FULL})
    assert done.status_code == 302
    review = reviews.get_review(db, review_id)
    assert review["state"] == "submitted" and review["score"] == 88.89
    result = drafts.draft_result(db, draft_id)
    assert result["state"] == "returned" and result["return_comment"] == "Say business days."
    agent, _ = as_user("ana")
    html = agent.get(f"/reviews/drafts/{draft_id}").get_data(as_text=True)
    assert "Say business days." in html and "88.89" in html
    other, _ = as_user("bo")
    assert other.get(f"/reviews/drafts/{draft_id}").status_code == 403


def test_only_the_reviewer_scores_and_agents_cannot_review(as_user, db):
    draft_id = _request_draft(db)
    lead, lead_token = as_user("lee")
    review_id = int(lead.post("/reviews/start", data={
        "csrf_token": lead_token, "draft": draft_id}).headers["Location"].split("/")[2])
    reviewer, token = as_user("rui")
    assert reviewer.get(f"/reviews/{review_id}/score").status_code == 403
    assert reviewer.get(f"/reviews/{review_id}").status_code == 200
    agent, agent_token = as_user("ana")
    assert agent.get(f"/reviews/{review_id}").status_code == 403  # not submitted yet
    bo, bo_token = as_user("bo")
    assert bo.post("/reviews/start", data={"csrf_token": bo_token,
                                           "draft": draft_id}).status_code == 403
    assert bo.get(f"/reviews/{review_id}").status_code == 403
    self_review = as_user("ana")[0]
    assert self_review.get(f"/reviews/{review_id}/score").status_code == 403


def test_agent_sees_and_disputes_a_review_and_the_lead_resolves_it(as_user, db):
    target = reviews.resolve_target(db, "C1", "m2")
    review_id = reviews.add_review(db, target, "Rui Reviewer", {
        "accurate": 2, "complete": 2, "clear": 2, "empathy": "na", "personalised": 2,
        "honest": 2, "next_steps": 0, "tone": 2})
    agent, token = as_user("ana")
    html = agent.get("/reviews/mine").get_data(as_text=True)
    assert f"Review {review_id}" in html
    page = agent.get(f"/reviews/{review_id}").get_data(as_text=True)
    assert "failed a critical category" in page and "Dispute this review" in page
    assert agent.post(f"/reviews/{review_id}/dispute", data={
        "csrf_token": token, "reason": "The price was right then."}).status_code == 302
    (dispute,) = disputes.list_disputes(db, "open")
    other, other_token = as_user("bo")
    assert other.get(f"/reviews/{review_id}").status_code == 403
    assert other.post(f"/reviews/{review_id}/dispute", data={
        "csrf_token": other_token, "reason": "x"}).status_code == 403
    assert agent.post(f"/reviews/disputes/{dispute['id']}/resolve", data={
        "csrf_token": token, "decision": "uphold"}).status_code == 403
    lead, lead_token = as_user("lee")
    assert "The price was right then." in lead.get("/reviews/disputes?state=open").get_data(
        as_text=True)
    resolved = lead.post(f"/reviews/disputes/{dispute['id']}/resolve", data={
        "csrf_token": lead_token, "decision": "rescore", "comment": "Look again"})
    assert resolved.status_code == 302
    assert reviews.get_review(db, review_id)["state"] == "in_progress"


def test_calibration_view_shows_agreement(as_user, db):
    target = reviews.resolve_target(db, "C1", "m2")
    ratings = {"accurate": 4, "complete": 3, "clear": 4, "empathy": 3, "personalised": 3,
               "honest": 4, "next_steps": 1, "tone": 4}
    reviews.add_review(db, target, "Rui Reviewer", ratings)
    reviews.add_review(db, target, "Lee Lead", dict(ratings, clear=3))
    lead, _ = as_user("lee")
    html = lead.get("/reviews/calibration?from=2000-01-01").get_data(as_text=True)
    assert "1 replies, 2 reviews" in html and "Rui Reviewer" in html


def test_rubric_editor_creates_a_new_version(as_user, db):
    lead, token = as_user("lee")
    page = lead.get("/reviews/rubrics").get_data(as_text=True)
    assert "name: support-reply" in page
    text = page.split('class="code" dir="auto">')[1].split("</textarea>")[0]
    import html as html_lib

    text = html_lib.unescape(text).replace("pass_threshold: 80", "pass_threshold: 75")
    response = lead.post("/reviews/rubrics", data={"csrf_token": token, "name": "support-reply",
                                                   "definition": text})
    assert response.status_code == 302
    assert store.get_rubric(db, "support-reply").version == 2
    assert store.get_rubric(db, "support-reply").pass_threshold == 75
    bad = lead.post("/reviews/rubrics", data={"csrf_token": token, "name": "support-reply",
                                              "definition": "name: [unclosed"})
    assert bad.status_code == 400 and "not valid YAML" in bad.get_data(as_text=True)
    bad = lead.post("/reviews/rubrics", data={"csrf_token": token, "name": "support-reply",
                                              "definition": text.replace("weight: 25",
                                                                         "weight: 101")})
    assert bad.status_code == 400 and "weight" in bad.get_data(as_text=True)
    reviewer, reviewer_token = as_user("rui")
    assert reviewer.post("/reviews/rubrics", data={"csrf_token": reviewer_token,
                                                   "definition": text}).status_code == 403


def _start(client, token, **target) -> int:
    response = client.post("/reviews/start", data={"csrf_token": token, **target})
    assert response.status_code == 302, response.get_data(as_text=True)
    return int(response.headers["Location"].split("/")[2])


def test_validation_errors_name_categories_by_their_labels(as_user, db):
    reviewer, token = as_user("rui")
    review_id = _start(reviewer, token, draft=_request_draft(db, reviewer="Rui Reviewer"))
    response = reviewer.post(f"/reviews/{review_id}/score", data={
        "csrf_token": token, "action": "submit", "rating-clear": "3", "rating-tone": "9"})
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "Empathy and friendliness: choose a score from 1 to 4 or N/A" in html
    assert "Accurate and correct: choose a score from 1 to 4<" in html
    assert "Tone matches the brand: choose a score from 1 to 4" in html
    summary = html.split('id="score-errors"')[1].split("</div>")[0]
    shown = re.sub(r"<[^>]+>", " ", summary)  # the text, not the links' targets
    assert "has no rating for" not in html
    assert not {"accurate", "empathy", "tone", "next_steps"} & set(shown.split())
    assert 'class="category invalid" id="cat-empathy"' in html  # marked, with its error
    assert 'class="category" id="cat-clear"' in html  # rated: no error, and the rating kept
    assert reviews.get_review(db, review_id)["categories"]["clear"]["rating"] == 3
    assert reviews.get_review(db, review_id)["state"] == "in_progress"


def test_submit_and_next_opens_the_next_review_then_says_the_queue_is_empty(as_user, db):
    first, second = (_request_draft(db, reviewer="Rui Reviewer") for _ in range(2))
    reviewer, token = as_user("rui")
    review_id = _start(reviewer, token, draft=first)
    response = reviewer.post(f"/reviews/{review_id}/score", data={
        "csrf_token": token, "action": "submit-next", **FULL})
    assert reviews.get_review(db, review_id)["state"] == "submitted"
    next_id = int(response.headers["Location"].split("/")[2])
    assert response.headers["Location"] == f"/reviews/{next_id}/score" and next_id != review_id
    assert reviews.get_review(db, next_id)["draft_id"] == second
    response = reviewer.post(f"/reviews/{next_id}/score", data={
        "csrf_token": token, "action": "submit-next", **FULL})
    assert response.headers["Location"] == "/reviews/"
    html = reviewer.get("/reviews/").get_data(as_text=True)
    assert "Your review queue is empty." in html and f"Review {next_id} submitted" in html


def test_a_review_sent_back_for_rescoring_is_flagged_in_the_queue(as_user, db):
    target = reviews.resolve_target(db, "C1", "m2")
    review_id = reviews.add_review(db, target, "Rui Reviewer", {
        "accurate": 2, "complete": 2, "clear": 2, "empathy": "na", "personalised": 2,
        "honest": 2, "next_steps": 0, "tone": 2})
    disputes.open_dispute(db, review_id, "Ana Agent", "The price was right then.")
    (dispute,) = disputes.list_disputes(db, "open")
    disputes.resolve_dispute(db, dispute["id"], "Lee Lead", "rescore", "Check the old price")
    reviewer, _ = as_user("rui")
    html = reviewer.get("/reviews/").get_data(as_text=True)
    flagged = html.split('id="in-progress"')[1].split("</ul>")[0]
    assert f"Review {review_id}" in flagged and "Re-score requested" in flagged
    assert "The price was right then." in flagged and "Check the old price" in flagged
    form = reviewer.get(f"/reviews/{review_id}/score").get_data(as_text=True)
    assert "Re-score requested" in form and "The price was right then." in form


SESSION = {"name": "September calibration", "from": "2026-08-01", "to": "2026-09-30",
           "size": "5"}


def _session(lead, token, reviewers, **fields):
    return lead.post("/reviews/sessions", data={
        "csrf_token": token, **SESSION, "reviewers": reviewers, **fields})


def _user_id(db, username):
    return db.execute("SELECT id FROM users WHERE username = ?", [username]).fetchone()[0]


def test_calibration_session_scores_stay_blind_until_submitted(as_user, db):
    """An attacker's view: a participant tries every page and API that shows review scores
    before submitting their own."""
    lead, lead_token = as_user("lee")
    ids = [_user_id(db, "rui"), _user_id(db, "lee")]
    response = _session(lead, lead_token, ids)
    assert response.status_code == 302, response.get_data(as_text=True)
    session_id = int(response.headers["Location"].rstrip("/").split("/")[-1])
    reviewer, token = as_user("rui")
    queue = reviewer.get("/reviews/").get_data(as_text=True)
    assert "September calibration" in queue and queue.count('name="message" value="m2"') == 2
    rui_review = _start(reviewer, token, conversation="C1", message="m2")
    reviewer.post(f"/reviews/{rui_review}/score", data={
        "csrf_token": token, "action": "submit", **FULL})
    assert reviews.get_review(db, rui_review)["state"] == "submitted"
    # the lead takes part too: nothing of Rui's score reaches them before they submit
    assert lead.get(f"/reviews/{rui_review}").status_code == 403
    assert lead.get(f"/api/reviews/{rui_review}").status_code == 403
    listed = lead.get("/api/reviews?reviewer=Rui Reviewer").get_json()
    assert rui_review not in [r["id"] for r in listed]
    assert lead.get("/api/reviews/calibration?from=2000-01-01").get_json() == []
    data = lead.get(f"/api/reviews/sessions/{session_id}").get_json()
    assert data["results"] is None and "88.89" not in str(data)
    assert "88.89" not in lead.get(f"/reviews/sessions/{session_id}").get_data(as_text=True)
    assert f"Review {rui_review}" not in lead.get("/reports/conversations/C1").get_data(
        as_text=True)
    period = "from=2026-08-01&to=2026-09-30"
    assert "88.89" not in str(lead.get(f"/api/reports/quality?{period}").get_json())
    assert "88.89" not in lead.get(f"/reports/tables/quality?{period}").get_data(as_text=True)
    # the lead submits theirs for C1: Rui's review of C1 opens to them, results not yet (C3)
    lee_review = _start(lead, lead_token, conversation="C1", message="m2")
    lead.post(f"/reviews/{lee_review}/score", data={
        "csrf_token": lead_token, "action": "submit", **dict(FULL, **{"rating-clear": "3"})})
    assert lead.get(f"/api/reviews/{rui_review}").status_code == 200
    assert lead.get(f"/api/reviews/sessions/{session_id}").get_json()["results"] is None
    # an admin who takes no part sees everything; an agent nothing
    admin, _ = as_user("root")
    results = admin.get(f"/api/reviews/sessions/{session_id}").get_json()["results"]
    assert results["submitted"] == 2 and results["expected"] == 4
    assert results["categories"]["clear"]["agreement_pct"] == 0.0
    assert as_user("bo")[0].get(f"/api/reviews/sessions/{session_id}").status_code == 403
    assert as_user("bo")[0].get(f"/reviews/sessions/{session_id}").status_code == 403
    # once both submitted everything, both see the agreement and the consensus
    for client, csrf in ((reviewer, token), (lead, lead_token)):
        review_id = _start(client, csrf, conversation="C3", message="m2")
        client.post(f"/reviews/{review_id}/score", data={
            "csrf_token": csrf, "action": "submit", **FULL})
        page = client.get(f"/reviews/sessions/{session_id}").get_data(as_text=True)
        assert 'id="agreement"' in page and "Consensus (median)" in page
    assert reviewer.get(f"/api/reviews/{lee_review}").status_code == 200


def test_calibration_session_creation_rules(as_user, db):
    lead, token = as_user("lee")
    ids = [_user_id(db, "rui"), _user_id(db, "lee")]
    reviewer, reviewer_token = as_user("rui")
    assert _session(reviewer, reviewer_token, ids).status_code == 403
    assert reviewer.get("/reviews/sessions").status_code == 200
    assert as_user("ana")[0].get("/reviews/sessions").status_code == 403
    one = _session(lead, token, ids[:1])
    assert one.status_code == 400 and "choose at least two reviewers" in one.get_data(
        as_text=True)
    assert _session(lead, token, ids, team="elsewhere").status_code == 403  # not their team
    none = _session(lead, token, ids, team="technical")  # the conversations have no team
    assert none.status_code == 400 and "no reply to sample" in none.get_data(as_text=True)
    bad = _session(lead, token, ids + [999999])
    assert bad.status_code == 400 and "no reviewer with id 999999" in bad.get_data(as_text=True)
    assert db.execute("SELECT COUNT(*) FROM calibration_sessions").fetchone()[0] == 0
    assert _session(lead, token, ids, agent="Ana Agent").status_code == 302
    (item,) = db.execute("SELECT author FROM calibration_items").fetchall()
    assert item[0] == "Ana Agent"
    entry = audit.page(db, action="calibration.create")["entries"][0]
    assert entry["actor"] == "lee" and entry["details"]["participants"] == ["lee", "rui"]
    assert "September calibration" in lead.get("/reviews/sessions").get_data(as_text=True)


def test_a_lead_assigns_replies_of_their_teams_from_the_web(as_user, db):
    lead, token = as_user("lee")
    form = {"csrf_token": token, "from": "2026-08-01", "to": "2026-09-30", "per_agent": "1",
            "reviewers": [_user_id(db, "rui")], "seed": "7"}
    assert "Assign replies" in lead.get("/reviews/").get_data(as_text=True)
    reviewer, reviewer_token = as_user("rui")
    assert reviewer.post("/reviews/assign", data=dict(form, csrf_token=reviewer_token)
                         ).status_code == 403
    assert lead.post("/reviews/assign", data=dict(form, team="elsewhere")).status_code == 403
    none = lead.post("/reviews/assign", data=dict(form, team="technical"))
    assert none.status_code == 200 and "0 replies assigned" in none.get_data(as_text=True)
    missing = lead.post("/reviews/assign", data=dict(form, reviewers=[]))
    assert missing.status_code == 400 and "choose at least one reviewer" in missing.get_data(
        as_text=True)
    done = lead.post("/reviews/assign", data=form).get_data(as_text=True)
    assert "2 replies assigned" in done and "seed 7" in done
    queue = reviewer.get("/reviews/").get_data(as_text=True)
    assert "Assigned replies (2)" in queue
    entry = audit.page(db, action="review.assign")["entries"][0]
    assert entry["actor"] == "lee" and entry["details"]["reviewers"] == ["rui"]
    assert entry["target"] == "2 replies"
