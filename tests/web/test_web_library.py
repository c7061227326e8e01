"""Library pages (leads): list/filter/sort, create/edit, history/diff/restore, approve,
archive, bulk tag, import/export, curation and merge."""

from __future__ import annotations

import io
import json

import pytest

from replykit.home import Home
from suggest import curation, feedback, library
from suggest.engine import SuggestEngine

LEAD_PAGES = ["/library/", "/library/new", "/library/replies/refund-policy",
              "/library/replies/refund-policy/edit", "/library/replies/refund-policy/history",
              "/library/export", "/library/curation"]


@pytest.mark.parametrize("path", LEAD_PAGES)
def test_library_pages_are_for_leads(as_user, client, path):
    assert client.get(path).status_code == 302
    agent, _ = as_user("ana")
    assert agent.get(path).status_code == 403
    lead, _ = as_user("lee")
    assert lead.get(path).status_code == 200


@pytest.mark.parametrize("path", ["/library/replies/refund-policy/approve",
                                  "/library/replies/refund-policy/archive",
                                  "/library/bulk-tag", "/library/import", "/library/merge",
                                  "/library/replies/refund-policy/restore/1"])
def test_library_actions_need_lead_and_csrf(as_user, path):
    agent, token = as_user("ana")
    assert agent.post(path, data={"csrf_token": token}).status_code == 403
    lead, _ = as_user("lee")
    assert lead.post(path).status_code == 400  # no CSRF token


def test_list_filters_and_sorts(as_user, db):
    for _ in range(3):
        feedback.record(db, "password-reset", "shown")
    feedback.record(db, "password-reset", "inserted")
    lead, _ = as_user("lee")
    html = lead.get("/library/?language=th").get_data(as_text=True)
    assert "th-refund-policy" in html and "fa-refund-policy" not in html
    html = lead.get("/library/?status=draft").get_data(as_text=True)
    assert "sso-setup" in html and "refund-policy" not in html
    html = lead.get("/library/?q=invoice").get_data(as_text=True)
    assert "invoice-copy" in html and "password-reset" not in html
    html = lead.get("/library/?sort=usage").get_data(as_text=True)
    assert html.index("password-reset") < html.index("invoice-copy")
    html = lead.get("/library/?sort=acceptance&tag=password").get_data(as_text=True)
    assert "33%" in html
    assert "refund-policy" in lead.get("/library/?author=fixture").get_data(as_text=True)
    assert "refund-policy" not in lead.get("/library/?author=x").get_data(as_text=True)


def test_create_edit_history_restore(as_user, db):
    lead, token = as_user("lee")
    form = {"csrf_token": token, "id": "late-delivery", "title": "การจัดส่งล่าช้า",
            "body": "สวัสดีค่ะ {{customer.first_name|คุณลูกค้า}}", "language": "th",
            "status": "draft", "tags": "shipping, th", "questions": "ของยังไม่มา\nส่งช้า"}
    response = lead.post("/library/new", data=form)
    assert response.status_code == 302
    reply = library.get_reply(db, "late-delivery")
    assert reply["tags"] == ["shipping", "th"] and reply["questions"] == ["ของยังไม่มา", "ส่งช้า"]
    assert reply["author"] == "Lee Lead"
    # an unclosed {{ is text, as an imported title or body cut in a placeholder
    cut = lead.post("/library/new", data=dict(form, id="other", body="Your {{Purchase"))
    assert cut.status_code == 302 and library.get_reply(db, "other")["body"] == "Your {{Purchase"
    edited = dict(form, body="สวัสดีค่ะ {{customer.first_name|คุณลูกค้า}} ขออภัยค่ะ", note="apology")
    assert lead.post("/library/replies/late-delivery/edit", data=edited).status_code == 302
    assert library.get_reply(db, "late-delivery")["version"] == 2
    html = lead.get("/library/replies/late-delivery/history").get_data(as_text=True)
    assert "apology" in html and '<span class="add">+ สวัสดีค่ะ' in html
    assert lead.post("/library/replies/late-delivery/restore/1",
                     data={"csrf_token": token}).status_code == 302
    restored = library.get_reply(db, "late-delivery")
    assert restored["version"] == 3 and restored["body"] == form["body"]


def test_edit_page_has_live_preview_and_escapes(as_user, db):
    library.add_reply(db, {"id": "xss", "title": "<script>alert(1)</script>",
                           "body": "<img src=x onerror=alert(1)>"}, author="x")
    lead, _ = as_user("lee")
    html = lead.get("/library/replies/xss/edit").get_data(as_text=True)
    assert 'id="preview"' in html and "js/library.js" in html
    assert "<script>alert(1)" not in html and "&lt;script&gt;alert(1)" in html
    assert "<img src=x" not in html


def test_approve_archive_and_bulk_tag(as_user, db):
    lead, token = as_user("lee")
    assert lead.post("/library/replies/sso-setup/approve",
                     data={"csrf_token": token}).status_code == 302
    assert library.get_reply(db, "sso-setup")["status"] == "approved"
    assert lead.post("/library/replies/sso-setup/archive",
                     data={"csrf_token": token}).status_code == 302
    assert library.get_reply(db, "sso-setup")["status"] == "archived"
    data = {"csrf_token": token, "ids": ["invoice-copy", "refund-policy"], "tag": "vip",
            "action": "add"}
    assert lead.post("/library/bulk-tag", data=data).status_code == 302
    assert "vip" in library.get_reply(db, "invoice-copy")["tags"]
    assert lead.post("/library/bulk-tag", data=dict(data, action="remove")).status_code == 302
    assert "vip" not in library.get_reply(db, "refund-policy")["tags"]
    assert lead.post("/library/bulk-tag", data={"csrf_token": token}).status_code == 400


def test_export_and_import(as_user, db):
    lead, token = as_user("lee")
    response = lead.get("/library/export?format=jsonl")
    assert response.status_code == 200 and "attachment" in response.headers["Content-Disposition"]
    records = [json.loads(line) for line in response.get_data(as_text=True).splitlines()]
    assert len(records) == 15
    assert lead.get("/library/export?format=csv").get_data(as_text=True).startswith("id,title")
    assert lead.get("/library/export?format=xml").status_code == 400
    records[0]["title"] = "Changed title"
    upload = "\n".join(json.dumps(r, ensure_ascii=False) for r in records).encode()
    response = lead.post("/library/import", data={
        "csrf_token": token, "file": (io.BytesIO(upload), "replies.jsonl")},
        content_type="multipart/form-data", follow_redirects=True)
    assert "Imported: 0 added, 1 updated, 14 unchanged" in response.get_data(as_text=True)
    response = lead.post("/library/import", data={
        "csrf_token": token, "file": (io.BytesIO(b"x"), "replies.exe")},
        content_type="multipart/form-data")
    assert response.status_code == 400
    response = lead.post("/library/import", data={
        "csrf_token": token, "file": (io.BytesIO(b'{"id": "x"}\n'), "odd.jsonl")},
        content_type="multipart/form-data", follow_redirects=True)
    text = response.get_data(as_text=True)  # an odd row: skipped, with its warning
    assert "Imported: 0 added, 0 updated, 0 unchanged, 1 skipped, 1 warning" in text
    assert ("Warning: odd.jsonl line 1, reply x, field title: is required and must be "
            "non-empty text: row skipped") in text
    response = lead.post("/library/import", data={
        "csrf_token": token, "file": (io.BytesIO(b'{"id": "x",\n'), "bad.jsonl")},
        content_type="multipart/form-data", follow_redirects=True)
    text = response.get_data(as_text=True)  # a broken file: nothing
    assert "Import failed, nothing changed: bad.jsonl line 1: invalid JSON" in text
    big = lead.post("/library/import", data=b"x" * 3_000_000,
                    content_type="multipart/form-data; boundary=x")
    assert big.status_code == 413


def test_curation_duplicates_compare_then_merge(as_user, web_config):
    home = Home(web_config)
    original = library.get_reply(home.db, "password-reset")
    library.add_reply(home.db, {
        "id": "password-reset-2", "title": original["title"] + " (copy)",
        "body": original["body"], "questions": ["I can't log in, forgot my password"]})
    engine = SuggestEngine(home)
    engine.sync()
    found = curation.duplicates(engine)
    assert {"password-reset", "password-reset-2"} in [set(c) for c in found["clusters"]]
    pair = found["pairs"][0]
    assert {pair["a"], pair["b"]} == {"password-reset", "password-reset-2"}
    feedback.record(home.db, "password-reset-2", "inserted")
    lead, token = as_user("lee")
    html = lead.get("/library/curation").get_data(as_text=True)
    # no one-click merge: the pair links to the side-by-side page
    assert 'action="/library/merge"' not in html and "Stale replies" in html
    compare = f"/library/merge?a={pair['a']}&amp;b={pair['b']}"
    assert compare in html
    page = lead.get(compare.replace("&amp;", "&")).get_data(as_text=True)
    for text in (original["title"], original["title"] + " (copy)",
                 "I can&#39;t log in, forgot my password", "Keep this one", "Review score"):
        assert text in page, text
    assert page.count('type="radio" name="keep"') == 2 and "required" in page
    assert lead.get("/library/merge?a=password-reset&b=password-reset").status_code == 400
    assert lead.post("/library/merge", data={
        "csrf_token": token, "a": "password-reset", "b": "password-reset-2"}).status_code == 400
    response = lead.post("/library/merge", data={
        "csrf_token": token, "a": "password-reset-2", "b": "password-reset",
        "keep": "password-reset"})
    assert response.status_code == 302
    merged = library.get_reply(home.db, "password-reset")
    assert "I can't log in, forgot my password" in merged["questions"]
    assert library.get_reply(home.db, "password-reset-2")["status"] == "archived"
    assert library.history(home.db, "password-reset-2")[-1]["note"] == (
        "merged into password-reset")
    assert feedback.usage(home.db, "password-reset")[0]["used"] == 1
    stale = {r["id"]: r for r in curation.stale(home.db, days=0, min_age=0)}
    assert stale["refund-policy"]["reasons"][0].startswith("never used; added 0 days ago")
    home.close()


def test_merge_page_shows_only_replies_of_the_leads_teams(as_user):
    lead, _ = as_user("lee")
    assert lead.get("/library/merge?a=refund-policy&b=no-such-reply").status_code == 404


def test_a_gap_prefills_the_new_reply_form(as_user):
    lead, _ = as_user("lee")
    page = lead.get("/library/new?questions=Do+you+ship+to+Iceland%3F&questions=ส่งไปไอซ์แลนด์ไหม"
                    "&questions=+").get_data(as_text=True)
    assert "Do you ship to Iceland?\nส่งไปไอซ์แลนด์ไหม</textarea>" in page
    page = lead.get("/library/new?questions=</textarea><script>alert(1)</script>").get_data(
        as_text=True)
    assert "<script>alert(1)" not in page and "&lt;/textarea&gt;&lt;script&gt;" in page


def test_gaps_find_questions_without_a_good_reply(web_config):
    home = Home(web_config)
    gaps = curation.gaps(SuggestEngine(home), weak=0.99, same=0.0, min_size=1)
    assert gaps and gaps[0]["size"] >= 1 and gaps[0]["examples"]
    home.close()


@pytest.mark.parametrize("query", ["days=-5", "age=-1", "days=99999999999", "threshold=0",
                                   "threshold=1.5"])
def test_curation_refuses_out_of_range_settings(as_user, query):
    lead, _ = as_user("lee")
    response = lead.get(f"/library/curation?{query}")  # 99999999999 days overflowed: a 500
    assert response.status_code == 400
