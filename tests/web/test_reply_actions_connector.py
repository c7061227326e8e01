"""A saved reply's actions applied through the connector (`POST /api/conversations/<id>/actions`,
web/reply_actions.py) to a REAL django-helpdesk (tests/helpdesk_peer.py): what its API allows
is applied and what it does not is said, the audit log keeps it, and nobody applies a reply
or touches a conversation they may not see."""

from __future__ import annotations

import json

from helpdesk_peer import helpdesk_peer  # noqa: F401 (the session fixture)
from webtest_helpers import signed_in

from connectors.base import make_source
from connectors.sync import run_sync
from storage import audit as audit_store
from suggest import library
from web import create_app

ACTIONS = [{"type": "set_status", "value": "resolved"},
           {"type": "set_priority", "value": "high"},
           {"type": "add_tags", "value": ["refund"]}]


def test_actions_reach_the_helpdesk_and_the_audit_log(
        web_config, db, helpdesk_peer, monkeypatch):  # noqa: F811
    peer = helpdesk_peer
    monkeypatch.setenv("PEER_USER", peer.username)
    monkeypatch.setenv("PEER_PASSWORD", peer.password)
    web_config.sections["sync"] = {"helpdesk": {
        "type": "django-helpdesk", "url": peer.base_url, "username_env": "PEER_USER",
        "password_env": "PEER_PASSWORD", "queues": {str(peer.queue_id): "billing"}}}
    app = create_app({"TESTING": True, "REPLYKIT_CONFIG": web_config})
    ticket = str(peer.create_ticket("Refund", "I was charged twice", "emma@example.com"))
    run_sync(db, make_source(web_config.sections, "helpdesk"))  # it remembers the source
    library.add_reply(db, {"id": "refund-done", "title": "Refund done", "body": "Done, {{"
                           "customer.first_name|there}}.", "actions": ACTIONS})
    library.add_reply(db, {"id": "vip-refund", "title": "VIP", "body": "Done.",
                           "teams": ["vip"], "actions": ACTIONS})
    ana = app.test_client()
    token = signed_in(ana, "ana")

    def apply(client, reply_id, conversation=ticket, source=None):
        return client.post(f"/api/conversations/{conversation}/actions",
                           json={"reply_id": reply_id, "source": source},
                           headers={"X-CSRFToken": token})

    assert ana.get(f"/api/conversations/{ticket}").get_json()["source"] == "helpdesk"
    answer = apply(ana, "refund-done")  # through the source it was synced from
    assert answer.status_code == 200, answer.get_json()
    assert answer.get_json()["results"] == [
        "set_status resolved: applied", "set_priority high: applied",
        "add_tags ['refund']: not supported by django-helpdesk's API"]
    state = peer.api("GET", f"api/tickets/{ticket}/")
    assert (state["status"], state["priority"]) == (3, 2)
    [entry] = audit_store.entries(db, action="reply.actions")
    assert (entry["actor"], entry["target"]) == ("ana", ticket)
    assert json.loads(entry["details"])["reply_id"] == "refund-done"

    # a reply of another team, a conversation that does not exist, a source not configured
    assert apply(ana, "vip-refund").status_code == 404
    assert apply(ana, "refund-done", conversation="nope").status_code == 404
    assert "no source 'zendesk'" in apply(ana, "refund-done", source="zendesk").get_json()[
        "error"]
    # a conversation imported from a file names no source: say which
    assert "did not come from a helpdesk" in apply(ana, "refund-done", "C1").get_json()["error"]
    # a reply without actions asks nothing of the helpdesk
    assert apply(ana, "password-reset", source="anything").get_json()["results"] == []
    rui = app.test_client()
    token = signed_in(rui, "rui")
    assert apply(rui, "refund-done").status_code == 403
    assert len(audit_store.entries(db, action="reply.actions")) == 1
