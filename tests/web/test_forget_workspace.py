"""`privacy forget` after an agent worked on the customer's conversation in the web workspace:
the feedback queries and the saved reply proposed from it (questions, versions, search
documents) hold the customer's message; afterwards no file of the home holds any of it, and
the team keeps the (now templated) saved reply."""

from __future__ import annotations

import json

from click.testing import CliRunner

from cli.main import cli
from suggest import library
from suggest.conversations import import_conversations

MESSAGE = "My ski boots from the Geilo shop pinch at the heel, order GS-55120. Ingrid Solbakken"
SECRETS = ("Solbakken", "Ingrid", "ingrid.solbakken", "fjordmail", "Geilo", "GS-55120",
           "CUST-4471", "pinch at the heel")


def _import_ingrid(db, tmp_path) -> None:
    path = tmp_path / "ingrid.jsonl"
    path.write_text(json.dumps({
        "conversation_id": "K1", "message_id": "m1", "role": "customer",
        "author": "Ingrid Solbakken", "channel": "email", "created_at": "2026-09-04T09:00:00Z",
        "body": MESSAGE, "subject": "Boots", "team": "support", "customer_id": "CUST-4471",
        "customer_email": "Ingrid.Solbakken+shop@FjordMail.example"}) + "\n", encoding="utf-8")
    import_conversations(db, path)


def _forget(web_config, customer: str) -> dict:
    result = CliRunner().invoke(
        cli, ["--home", str(web_config.home), "privacy", "forget", "--customer", customer,
              "--json"], env={"REPLYKIT_MULTILINGUAL_MODEL": ""})
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_forget_erases_what_the_workspace_stored(as_user, db, web_config, tmp_path):
    _import_ingrid(db, tmp_path)
    client, token = as_user("ana")
    headers = {"X-CSRFToken": token}
    question = client.get("/api/conversations/K1").get_json()["question"]
    assert question == MESSAGE
    found = client.post("/api/suggest", json={"query": question}, headers=headers).get_json()
    first = found["suggestions"][0]
    # the workspace sends the conversation it picked; a script may leave it out
    for extra in ({"conversation_id": "K1"}, {}):
        response = client.post(f"/api/suggestions/{first['id']}/feedback", json={
            "event": "shown", "kind": first["kind"], "query": question, **extra},
            headers=headers)
        assert response.status_code == 201, response.get_json()
    proposed = client.post("/api/saved-replies/proposals", json={
        "title": "Boots pinch: Ingrid Solbakken", "question": question,
        "body": "Hi Ingrid, sorry the boots pinch! Bring them to any shop for a free stretch.",
        "conversation_id": "K1"}, headers=headers)
    assert proposed.status_code == 201, proposed.get_json()
    reply_id = proposed.get_json()["id"]
    # a lead approves it and adds a question; another proposal, from no conversation, names
    # her by e-mail (another case, no +tag)
    library.edit_reply(db, reply_id, {"status": "approved",
                                      "questions": [question, "boots too tight"]}, "Lee Lead")
    unlinked = client.post("/api/saved-replies/proposals", json={
        "title": "Heel pads", "body": "We can send heel pads.",
        "question": "INGRID.SOLBAKKEN@fjordmail.example wants heel pads"}, headers=headers)
    assert unlinked.status_code == 201
    unlinked_id = unlinked.get_json()["id"]

    # a drafting session on the pasted message (no conversation picked), sent for review
    draft_id = client.post("/api/drafts", json={"query": question}, headers=headers
                           ).get_json()["id"]
    sent = client.post(f"/api/drafts/{draft_id}/review-request", json={
        "text": "Hi Ingrid, bring the boots in."}, headers=headers)
    assert sent.status_code == 201, sent.get_json()

    report = _forget(web_config, "ingrid.solbakken@fjordmail.EXAMPLE")

    assert report["conversations"] == 1
    assert (report["feedback_queries"], report["saved_replies"]) == (2, 2)
    assert (report["drafts"], report["review_drafts"]) == (1, 1)
    kept = library.get_reply(db, reply_id)
    assert kept["status"] == "approved" and kept["questions"] == ["boots too tight"]
    assert kept["body"].startswith("Hi {{customer.first_name}}, sorry the boots pinch!")
    assert library.get_reply(db, unlinked_id)["questions"] == [
        "{{customer.email}} wants heel pads"]
    assert db.execute("SELECT COUNT(*) FROM suggestion_feedback WHERE query != ''"
                      ).fetchone()[0] == 0
    db.close()
    for path in (p for p in web_config.home.rglob("*") if p.is_file()):
        data = path.read_bytes().lower()
        for secret in SECRETS:
            assert secret.lower().encode("utf-8") not in data, (secret, path.name)


def test_feedback_and_proposals_link_only_to_conversations_the_agent_may_read(
        as_user, db, tmp_path):
    """A link is what forget follows, and an agent of another team must not learn through it
    whether a conversation exists: 404, nothing stored."""
    _import_ingrid(db, tmp_path)
    db.execute("UPDATE conversations SET team = 'billing' WHERE id = 'K1'")
    db.conn.commit()
    client, token = as_user("bo")  # support only
    headers = {"X-CSRFToken": token}
    before = db["suggestion_feedback"].count, db["saved_replies"].count
    for extra in ({"conversation_id": "K1"}, {"conversation_id": "nope"}):
        response = client.post("/api/suggestions/refund-policy/feedback", json={
            "event": "shown", "query": "boots", **extra}, headers=headers)
        assert response.status_code == 404, response.get_json()
        response = client.post("/api/saved-replies/proposals", json={
            "title": "Boots", "body": "Sorry!", **extra}, headers=headers)
        assert response.status_code == 404, response.get_json()
    assert (db["suggestion_feedback"].count, db["saved_replies"].count) == before
