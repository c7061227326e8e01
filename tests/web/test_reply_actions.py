"""A saved reply's actions (issue 15: set tags, status, assignee... imported from a helpdesk)
are listed on its library page, escaped, and only when it has some."""

from __future__ import annotations

from suggest import library


def test_reply_page_lists_actions_escaped(as_user, db):
    library.add_reply(db, {"id": "refund-done", "title": "Refund done", "body": "Done.",
                           "actions": [{"type": "add_tags", "value": ["refund", "billing"]},
                                       {"type": "set_status", "value": "<b>solved</b>"},
                                       {"type": "set_assignee", "value": {"id": 2}}]})
    lead, _ = as_user("lee")
    html = lead.get("/library/replies/refund-done").get_data(as_text=True)
    assert "<h2>Actions</h2>" in html
    assert "<code>add_tags</code> <span dir=\"auto\">refund, billing</span>" in html
    assert "&lt;b&gt;solved&lt;/b&gt;" in html and "<b>solved</b>" not in html
    assert '<code>set_assignee</code> <span dir="auto">{"id": 2}</span>' in html
    library.add_reply(db, {"id": "plain", "title": "Plain", "body": "Hi"})
    assert "<h2>Actions</h2>" not in lead.get("/library/replies/plain").get_data(as_text=True)
