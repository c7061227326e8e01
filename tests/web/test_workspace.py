"""The agent workspace: page, conversation queue, placeholder filling, drafting sessions,
review requests and saved-reply proposals."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from suggest import drafts, feedback, library


def test_workspace_page_for_agents_only(as_user):
    client, _ = as_user("ana")
    html = client.get("/workspace").get_data(as_text=True)
    assert 'id="query"' in html and 'dir="auto"' in html
    assert "Rui Reviewer" in html and "js/workspace.js" in html
    assert "<script>" not in html and "onclick" not in html
    client, _ = as_user("lee")
    assert client.get("/workspace").status_code == 403
    assert client.get("/").headers["Location"] == "/reports/"


def test_queue_lists_conversations_waiting_for_an_answer(as_user):
    client, _ = as_user("ana")
    data = client.get("/api/conversations").get_json()
    assert [c["id"] for c in data["conversations"]] == ["C2", "C1"]
    detail = client.get("/api/conversations/C1").get_json()
    assert detail["question"] == "Thanks! How long does the refund take?"
    assert detail["customer_name"] == "Emma Stone" and len(detail["messages"]) == 3
    assert client.get("/api/conversations/nope").status_code == 404


def test_render_fills_placeholders_from_the_conversation(as_user):
    client, token = as_user("ana")
    headers = {"X-CSRFToken": token}
    data = client.post("/api/render", json={"kind": "saved", "id": "refund-policy",
                                            "conversation_id": "C1"}, headers=headers).get_json()
    assert data["text"].startswith("Hi Emma,") and data["text"].endswith("Ana Agent")
    assert data["missing"] == [] and data["used_fallback"] == []
    data = client.post("/api/render", json={"kind": "saved", "id": "refund-processed"},
                       headers=headers).get_json()
    open_ = {p["name"]: p["fallback"] for p in data["placeholders"] if p["value"] is None}
    assert open_ == {"customer.first_name": "there", "refund.amount": "the full amount",
                     "order.id": None, "ticket.id": None}
    assert data["missing"] == ["order.id", "ticket.id"] and "{{order.id}}" in data["text"]
    data = client.post("/api/render", json={
        "kind": "saved", "id": "refund-processed", "values": {"order.id": "A-1", "ticket.id": ""}},
        headers=headers).get_json()
    assert "order #A-1" in data["text"] and data["missing"] == ["ticket.id"]


def test_render_thai_and_persian_and_errors(as_user):
    client, token = as_user("lee")  # C3 was answered: out of the agents' queue, a lead reads it
    headers = {"X-CSRFToken": token}
    data = client.post("/api/render", json={"kind": "saved", "id": "fa-password-reset",
                                            "conversation_id": "C3"}, headers=headers).get_json()
    assert "سارا" in data["text"]
    client, token = as_user("ana")
    headers = {"X-CSRFToken": token}
    bad = client.post("/api/render", json={"kind": "saved", "id": "nope"}, headers=headers)
    assert bad.status_code == 404
    bad = client.post("/api/render", json={"kind": "x", "id": "refund-policy"}, headers=headers)
    assert bad.status_code == 400
    bad = client.post("/api/render", json={"id": "refund-policy", "values": {"a": 1}},
                      headers=headers)
    assert bad.get_json() == {"error": "field values: must be an object of text values"}


def test_drafting_session_records_time_edit_ratio_and_feedback(as_user, db):
    client, token = as_user("ana")
    headers = {"X-CSRFToken": token}
    started = client.post("/api/drafts", json={"query": "refund?", "conversation_id": "C1"},
                          headers=headers)
    assert started.status_code == 201
    draft_id = started.get_json()["id"]
    inserted = "Hi Emma, refunds take 5-10 days."
    done = client.post(f"/api/drafts/{draft_id}/finish", json={
        "outcome": "copied", "text": "Hi Emma, refunds take 5-10 business days.",
        "suggestion_kind": "saved", "suggestion_id": "refund-policy", "inserted_text": inserted,
    }, headers=headers).get_json()
    assert done["outcome"] == "copied" and done["seconds"] >= 0
    assert 0 < done["edit_ratio"] < 0.3 and done["agent"] == "Ana Agent"
    (usage,) = feedback.usage(db, "refund-policy")
    assert usage["edited"] == 1
    again = client.post(f"/api/drafts/{draft_id}/finish", json={"outcome": "sent", "text": "x"},
                        headers=headers).get_json()
    assert again["outcome"] == "copied" and again["finished_at"] == done["finished_at"]
    client, token = as_user("bo")
    other = client.post(f"/api/drafts/{draft_id}/finish", json={"outcome": "copied", "text": "x"},
                        headers={"X-CSRFToken": token})
    assert other.status_code == 404


def test_finish_validation(as_user):
    client, token = as_user("ana")
    headers = {"X-CSRFToken": token}
    draft_id = client.post("/api/drafts", json={}, headers=headers).get_json()["id"]
    response = client.post(f"/api/drafts/{draft_id}/finish",
                           json={"outcome": "sent_for_review", "text": "x"}, headers=headers)
    assert response.get_json() == {"error": "field outcome: must be copied or sent"}
    response = client.post(f"/api/drafts/{draft_id}/finish", json={
        "outcome": "copied", "text": "x", "suggestion_id": "refund-policy"}, headers=headers)
    assert response.status_code == 400
    assert client.post("/api/drafts", json={"conversation_id": "nope"},
                       headers=headers).status_code == 404


def test_review_request_goes_to_the_reviewer_and_only_they_see_it(as_user):
    client, token = as_user("ana")
    headers = {"X-CSRFToken": token}
    started = client.post("/api/drafts", json={"query": "refund?"}, headers=headers)
    draft_id = started.get_json()["id"]
    response = client.post(f"/api/drafts/{draft_id}/review-request",
                           json={"text": "Refunds take a week.", "reviewer": "Rui Reviewer"},
                           headers=headers)
    assert response.status_code == 201
    body = response.get_json()
    assert body["draft"]["outcome"] == "sent_for_review"
    review_draft = body["review_draft_id"]
    result = client.get(f"/api/review-requests/{review_draft}").get_json()
    assert (result["state"], result["reviewer"], result["question"]) == (
        "requested", "Rui Reviewer", "refund?")
    client, _ = as_user("bo")
    assert client.get(f"/api/review-requests/{review_draft}").status_code == 403
    client, _ = as_user("rui")
    assert client.get(f"/api/review-requests/{review_draft}").status_code == 200
    queue = client.get("/api/reviews/queue?reviewer=Rui Reviewer").get_json()
    assert [d["id"] for d in queue["drafts"]] == [review_draft]


def test_propose_saved_reply_creates_a_draft_for_the_leads(as_user, db):
    client, token = as_user("ana")
    response = client.post("/api/saved-replies/proposals", json={
        "title": "ขอคืนเงิน", "body": "สวัสดีค่ะ {{customer.first_name|คุณลูกค้า}}",
        "language": "th", "tags": ["refunds"], "question": "ขอคืนเงินได้ไหม"},
        headers={"X-CSRFToken": token})
    assert response.status_code == 201
    reply = response.get_json()
    assert reply["status"] == "draft" and reply["author"] == "Ana Agent"
    assert reply["id"].startswith("reply-") and reply["questions"] == ["ขอคืนเงินได้ไหม"]
    assert library.get_reply(db, reply["id"])["language"] == "th"
    cut = client.post("/api/saved-replies/proposals", json={"title": "x", "body": "{{oops"},
                      headers={"X-CSRFToken": token})
    assert cut.status_code == 201 and cut.get_json()["body"] == "{{oops"  # braces kept as text


def test_drafting_report_compares_with_and_without_suggestions(db):
    for agent, seconds, used in (("A", 60, True), ("A", 100, True), ("A", 300, False),
                                 ("B", 200, False)):
        row = drafts.start(db, agent, team="support")
        opened = datetime.now(UTC) - timedelta(seconds=seconds)
        db["drafts"].update(row["id"], {"opened_at": opened.isoformat()})
        drafts.finish(db, row["id"], "copied", "text",
                      *(("saved", "refund-policy", "text") if used else ()))
    now = datetime.now(UTC)
    report = drafts.drafting_report(db, now - timedelta(days=1), now + timedelta(days=1))
    overall = report["overall"]
    assert overall["with_suggestion"] == {"drafts": 2, "median_s": 80.0}
    assert overall["without_suggestion"] == {"drafts": 2, "median_s": 250.0}
    assert overall["saved_s"] == 170.0 and overall["mean_edit_ratio"] == 0.0
    assert report["by_agent"]["A"]["saved_s"] == 220.0
    assert report["by_team"]["support"]["drafts"] == 4


def test_edit_ratio():
    assert drafts.edit_ratio("same", "same") == 0.0
    assert drafts.edit_ratio("", "anything") == 1.0
    assert 0.9 < drafts.edit_ratio("abc", "xyz123") <= 1.0


def test_a_reviewer_reads_only_their_own_queue_and_a_lead_any(as_user):
    client, _ = as_user("rui")
    assert client.get("/api/reviews/queue?reviewer=Rui Reviewer").status_code == 200
    other = client.get("/api/reviews/queue?reviewer=Lee Lead")
    assert other.status_code == 403
    assert other.get_json() == {"error": "only leads may read another reviewer's queue"}
    client, _ = as_user("lee")
    assert client.get("/api/reviews/queue?reviewer=Rui Reviewer").status_code == 200


def test_render_gives_each_placeholder_a_readable_label(as_user):
    client, token = as_user("ana")
    data = client.post("/api/render", json={"kind": "saved", "id": "refund-processed"},
                       headers={"X-CSRFToken": token}).get_json()
    labels = {p["name"]: p["label"] for p in data["placeholders"]}
    assert labels == {"customer.first_name": "Customer first name",
                      "refund.amount": "Refund amount", "order.id": "Order number",
                      "ticket.id": "Ticket number", "agent.name": "Your name"}


def test_placeholder_labels_spell_out_unknown_names():
    from suggest.placeholders import label

    assert label("customer.email") == "Customer e-mail"
    assert label("number") == "Account or card number"
    assert label("company.status_url") == "Company status link"
    assert label("order.gift_card_id") == "Order gift card ID"
    assert label("x") == "X"


def add_thread(db, tmp_path, conversation_id: str, messages: list[tuple[str, str, str]]):
    """Import a conversation of (role, author, body) messages, a minute apart."""
    import json

    from suggest.conversations import import_conversations

    path = tmp_path / f"{conversation_id}.jsonl"
    with open(path, "w", encoding="utf-8") as f:
        for n, (role, author, body) in enumerate(messages):
            f.write(json.dumps({
                "conversation_id": conversation_id, "message_id": f"m{n}", "role": role,
                "author": author, "channel": "email", "subject": "Delivery", "body": body,
                "created_at": f"2026-09-05T10:{n:02d}:00Z"}) + "\n")
    import_conversations(db, path)


def test_a_picked_conversation_gives_every_unanswered_message_and_its_details(
        as_user, db, tmp_path):
    add_thread(db, tmp_path, "C9", [
        ("customer", "Jane Doe", "Where is order #A-10293?"),
        ("agent", "Ana Agent", "Hi Jane, it ships tomorrow."),
        ("customer", "Jane Doe", "It still has not arrived."),
        ("customer", "Jane Doe", "Actually my order is ORD-55120, write to jane.d@example.org"),
    ])
    client, token = as_user("ana")
    data = client.get("/api/conversations/C9").get_json()
    assert data["question"] == ("It still has not arrived.\n\n"
                                "Actually my order is ORD-55120, write to jane.d@example.org")
    assert data["values"] == {"ticket.id": "C9", "customer.name": "Jane Doe",
                              "customer.first_name": "Jane",
                              "customer.email": "jane.d@example.org", "order.id": "ORD-55120"}
    # no agent reply yet: all the customer's messages; no order mentioned: no order.id
    add_thread(db, tmp_path, "C8", [("customer", "Kim Lee", "Hello?"),
                                    ("customer", "Kim Lee", "Can I get a refund?")])
    data = client.get("/api/conversations/C8").get_json()
    assert data["question"] == "Hello?\n\nCan I get a refund?"
    assert "order.id" not in data["values"] and "customer.email" not in data["values"]
    # all answered (C3, read by a lead): the customer's last message
    lead, _ = as_user("lee")
    assert lead.get("/api/conversations/C3").get_json()["question"].startswith("رمز عبورم")

    # rendering fills them, says they came from the conversation, and a given value wins
    headers = {"X-CSRFToken": token}
    data = client.post("/api/render", json={"kind": "saved", "id": "refund-processed",
                                            "conversation_id": "C9"}, headers=headers).get_json()
    by_name = {p["name"]: p for p in data["placeholders"]}
    assert by_name["order.id"]["value"] == "ORD-55120"
    assert by_name["order.id"]["source"] == "conversation"
    assert by_name["customer.first_name"] == dict(by_name["customer.first_name"],
                                                  value="Jane", source="conversation")
    assert "order #ORD-55120" in data["text"] and "Hi Jane" in data["text"]
    data = client.post("/api/render", json={
        "kind": "saved", "id": "refund-processed", "conversation_id": "C9",
        "values": {"order.id": "A-10293"}}, headers=headers).get_json()
    assert "order #A-10293" in data["text"]
    assert {p["name"]: p["source"] for p in data["placeholders"]}["order.id"] == "given"


def test_a_review_request_carries_the_current_question_and_thread(as_user, db):
    client, token = as_user("ana")
    headers = {"X-CSRFToken": token}
    draft_id = client.post("/api/drafts", json={"query": "refu"},
                           headers=headers).get_json()["id"]
    response = client.post(f"/api/drafts/{draft_id}/review-request", json={
        "text": "Refunds take 5-10 days.", "query": "How long does the refund take?",
        "conversation_id": "C1"}, headers=headers)
    assert response.status_code == 201
    result = client.get(f"/api/review-requests/{response.get_json()['review_draft_id']}")
    assert result.get_json()["question"] == "How long does the refund take?"
    assert result.get_json()["conversation_id"] == "C1"
    # a blank question keeps the session's; a thread the agent may not read is refused
    draft_id = client.post("/api/drafts", json={"query": "first words"},
                           headers=headers).get_json()["id"]
    refused = client.post(f"/api/drafts/{draft_id}/review-request", json={
        "text": "x", "query": "", "conversation_id": "C3"}, headers=headers)
    assert refused.status_code == 404
    response = client.post(f"/api/drafts/{draft_id}/review-request", json={
        "text": "x", "query": " "}, headers=headers)
    result = client.get(f"/api/review-requests/{response.get_json()['review_draft_id']}")
    assert result.get_json()["question"] == "first words"
    assert result.get_json()["conversation_id"] is None
