"""The workspace's read-only library (GET /api/saved-replies) and attachment downloads
(GET /api/saved-replies/<id>/attachments/<name>), tried as the agent and as an attacker:
another team's agent, a signed-out user, guessed names and ids, path tricks, a doctored
database. Team limits as in web.access: Ana is in support and billing, Bo in support only;
refund-policy is billing's, api-rate-limits and the draft sso-setup technical's."""

from __future__ import annotations

from urllib.parse import quote, unquote

import pytest
from hypothesis import given
from hypothesis import strategies as st

from replykit.errors import InputError
from suggest import attachments

PDF = b"%PDF-1.4 the refund form"
THAI_NAME = "แบบฟอร์มคืนเงิน.pdf"
PERSIAN_NAME = "فرم بازپرداخت ۱۲۳.txt"


def ids(data: dict) -> list[str]:
    return [r["id"] for r in data["replies"]]


def test_the_library_holds_only_approved_replies_of_my_teams(as_user):
    ana, _ = as_user("ana")
    data = ana.get("/api/saved-replies").get_json()
    assert "refund-policy" in ids(data)  # billing's: Ana is in billing
    assert "api-rate-limits" not in ids(data)  # technical's
    assert "sso-setup" not in ids(data)  # a draft (and technical's)
    assert data["total"] == len(data["replies"]) == 13
    assert set(data["replies"][0]) == {"id", "title", "body", "tags", "folder", "language",
                                       "attachments"}
    bo, _ = as_user("bo")
    assert "refund-policy" not in ids(bo.get("/api/saved-replies").get_json())
    # a lead sees the approved replies of all three teams; a draft stays out of the workspace
    lee, _ = as_user("lee")
    lead = ids(lee.get("/api/saved-replies").get_json())
    assert "api-rate-limits" in lead and "sso-setup" not in lead


def test_search_by_text_tag_and_folder(as_user):
    ana, _ = as_user("ana")
    get = lambda **q: ana.get("/api/saved-replies", query_string=q).get_json()  # noqa: E731
    assert ids(get(q="REFUND POLICY"))[:1] == ["refund-policy"]  # any case, title or text
    assert ids(get(q="รหัสผ่าน")) == ["th-password-reset"]  # Thai, no spaces
    assert ids(get(q="رمز عبور")) == ["fa-password-reset"]  # Persian
    # as search reads text: digits of any script, Arabic-keyboard letters, the half-space
    assert set(ids(get(q="30 days"))) == {"refund-policy"}
    assert set(ids(get(q="۳۰"))) == set(ids(get(q="30"))) >= {"refund-policy", "fa-refund-policy",
                                                            "th-refund-policy"}
    assert ids(get(q="سياست بازپرداخت")) == ["fa-refund-policy"]  # Arabic yeh (U+064A)
    assert "fa-refund-policy" in ids(get(q="تمدید اشتراک ها"))  # written with a ZWNJ
    assert set(ids(get(tag="shipping"))) == {"shipping-delay", "order-tracking",
                                             "th-shipping-delay", "fa-shipping-delay"}
    # a folder holds the folders below it; tags and folders list everything browsable
    billing = get(folder="Billing")
    assert {r["folder"] for r in billing["replies"]} == {"Billing/Refunds", "Billing/Invoices",
                                                         "Billing/Subscriptions"}
    assert "Billing" in billing["folders"] and "Billing/Refunds" in billing["folders"]
    assert "Technical/API" not in billing["folders"]  # only api-rate-limits is there
    assert "rate-limits" not in billing["tags"] and "refunds" in billing["tags"]
    every = get(q="refund", tag="refunds", folder="Billing/Refunds")
    assert ids(every) == ["refund-processed", "refund-policy"]  # by folder, then title
    one = get(q="refund", tag="refunds", folder="Billing/Refunds", limit="1")
    assert ids(one) == ["refund-processed"] and one["total"] == 2
    assert get(q="no such words anywhere") == {**get(q="no such words anywhere"),
                                               "replies": [], "total": 0}


@pytest.mark.parametrize("query, problem", [
    ({"limit": "0"}, "parameter limit"), ({"limit": "201"}, "parameter limit"),
    ({"limit": "ten"}, "parameter limit"), ({"q": "x" * 501}, "parameter q"),
])
def test_bad_parameters_are_named(as_user, query, problem):
    ana, _ = as_user("ana")
    response = ana.get("/api/saved-replies", query_string=query)
    assert response.status_code == 400 and problem in response.get_json()["error"]


@pytest.fixture
def attached(db, web_config):
    """A PDF with a Thai name and a text file with a Persian name on billing's refund-policy;
    a PDF on technical's draft sso-setup."""
    directory = web_config.attachments_dir
    attachments.add(db, directory, "refund-policy", THAI_NAME, PDF)
    attachments.add(db, directory, "refund-policy", PERSIAN_NAME, "سلام ۱۲۳".encode())
    attachments.add(db, directory, "sso-setup", "sso.pdf", PDF)
    return directory


def url(reply_id: str, filename: str) -> str:
    return f"/api/saved-replies/{quote(reply_id)}/attachments/{quote(filename)}"


def test_attachments_are_listed_with_the_reply_and_downloaded_safely(as_user, attached):
    ana, token = as_user("ana")
    reply = next(r for r in ana.get("/api/saved-replies?q=refund").get_json()["replies"]
                 if r["id"] == "refund-policy")
    assert [(a["filename"], a["size"], a["content_type"]) for a in reply["attachments"]] == [
        (PERSIAN_NAME, len("سلام ۱۲۳".encode()), "text/plain"),
        (THAI_NAME, len(PDF), "application/pdf")]
    thai = reply["attachments"][1]
    assert thai["url"] == url("refund-policy", THAI_NAME)
    response = ana.get(thai["url"])
    assert response.status_code == 200 and response.data == PDF
    assert response.headers["Content-Type"] == "application/pdf"
    assert response.headers["Content-Disposition"] == (
        "attachment; filename=\"attachment.pdf\"; filename*=UTF-8''" + quote(THAI_NAME))
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in response.headers["Content-Security-Policy"]
    assert response.headers["Cache-Control"] == "no-store"
    text = ana.get(reply["attachments"][0]["url"])
    assert text.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert text.data.decode() == "سلام ۱۲۳"
    # a suggestion of the reply lists them too
    suggested = ana.post("/api/suggest", json={"query": "can I get a refund?"},
                         headers={"X-CSRFToken": token}).get_json()["suggestions"]
    card = next(s for s in suggested if s["id"] == "refund-policy")
    assert [a["url"] for a in card["attachments"]] == [a["url"] for a in reply["attachments"]]
    assert all(s["attachments"] == [] for s in suggested
               if s["kind"] == "saved" and s["id"] != "refund-policy")


def test_attackers_never_get_the_file(as_user, app, client, attached, db):
    target = url("refund-policy", THAI_NAME)
    bo, _ = as_user("bo")  # another team's agent
    assert bo.get(target).status_code == 404
    assert PDF not in bo.get(target).data
    rui, _ = as_user("rui")  # a reviewer of no team
    assert rui.get(target).status_code == 404
    signed_out = client.get(target)
    assert signed_out.status_code == 401 and PDF not in signed_out.data
    ana, _ = as_user("ana")
    lee, _ = as_user("lee")
    assert lee.get(url("sso-setup", "sso.pdf")).status_code == 200  # a lead: drafts too
    sha = attachments.list_for(db, "refund-policy")[1]["sha256"]
    guesses = [
        url("sso-setup", "sso.pdf"),  # a draft of another team
        url("refund-policy", "guessed.pdf"), url("nope", THAI_NAME),
        url("refund-policy", sha),  # the stored name of the blob
        "/api/saved-replies/refund-policy/attachments/..%2F..%2Fsecret_key",
        "/api/saved-replies/refund-policy/attachments/../../secret_key",
        f"/api/saved-replies/refund-policy/attachments/%2e%2e%2fattachments%2f{sha}",
        f"/api/saved-replies/..%2Fattachments/attachments/{sha}",
        "/api/saved-replies/refund-policy/attachments/%2Fetc%2Fpasswd",
        "/api/saved-replies/refund-policy/attachments/" + quote(THAI_NAME + "\r\nX-A: b"),
        "/api/saved-replies/refund-policy/attachments/" + quote(THAI_NAME.upper() + " "),
    ]
    secret = app.secret_key.encode()
    for path in guesses:
        response = ana.get(path)
        assert response.status_code == 404, path
        assert PDF not in response.data and secret not in response.data, path


def test_a_doctored_type_or_a_lost_file_is_never_served_as_it_claims(as_user, attached, db):
    """A database restored from elsewhere may say text/html; a blob may be deleted by hand."""
    db.execute("UPDATE attachments SET content_type = 'text/html' WHERE filename = ?",
               [THAI_NAME])
    ana, _ = as_user("ana")
    response = ana.get(url("refund-policy", THAI_NAME))
    assert response.headers["Content-Type"] == "application/octet-stream"
    assert response.headers["Content-Disposition"].startswith("attachment;")
    (attached / attachments.list_for(db, "refund-policy")[0]["sha256"]).unlink()
    lost = ana.get(url("refund-policy", PERSIAN_NAME))
    assert lost.status_code == 404 and "is missing from" in lost.get_json()["error"]


NAMES = st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=60)


@given(NAMES)
def test_content_disposition_cannot_be_broken_out_of(name):
    try:
        name = attachments.safe_filename(name)
    except InputError:
        return
    header = attachments.content_disposition(name)
    assert header.isascii() and "\r" not in header and "\n" not in header
    kind, fallback, encoded = header.split("; ")
    assert kind == "attachment"
    assert fallback.startswith('filename="') and fallback.endswith('"')
    assert '"' not in fallback[10:-1] and ";" not in fallback and "\\" not in fallback
    assert encoded.startswith("filename*=UTF-8''")
    assert unquote(encoded[len("filename*=UTF-8''"):], errors="strict") == name
