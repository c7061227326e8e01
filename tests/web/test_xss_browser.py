"""Output escaping in real headless Chromium: saved replies (English, Thai, Persian, in titles,
bodies, placeholder defaults, questions, history), an attachment name, imported customer
messages and names, review comments and disputes, a draft sent for review and a user's
display name all carry HTML/JS payloads. Every page that shows them is visited and must
show the payloads as text: no script runs, no dialog opens, no payload element exists.

The server's Content-Security-Policy would block inline scripts anyway, so this test strips
that header: escaping alone must keep the payloads inert (test_authz_matrix checks the
header is on every response)."""

from __future__ import annotations

import json
import shutil

import pytest
from browser import chromium, login, serve, unavailable
from webtest_helpers import PASSWORD

from replykit import users
from replykit.config import load_config
from replykit.home import Home
from rubrics import disputes, drafts, reviews, store
from suggest import attachments, feedback, library
from suggest.conversations import import_conversations
from suggest.engine import SuggestEngine
from web import create_app

REASON = unavailable()
pytestmark = pytest.mark.skipif(REASON is not None, reason=REASON or "")

SCRIPT = "<script>window.__xss=1</script>"
IMG = '<img src=x onerror="window.__xss=1">'
SVG = '"><svg onload="window.__xss=1">'
ALERT = "<img src=x onerror=alert(1)>"
LINK = '<a href="javascript:window.__xss=1">click</a>'
MAL = f"Mal {IMG}"  # a user's display name
# nothing a payload could create: scripts without src, event handlers, javascript: links
INJECTED = ("script:not([src]), [onerror], [onload], a[href^='javascript:'], "
            "img[src='x'], svg[onload]")


def without_csp(app):
    """The app as WSGI, minus its Content-Security-Policy header."""
    def wsgi(environ, start_response):
        def start(status, headers, exc_info=None):
            kept = [(k, v) for k, v in headers if k.lower() != "content-security-policy"]
            return start_response(status, kept, exc_info)
        return app(environ, start)
    return wsgi


def seed_payloads(home: Home, tmp) -> dict:
    db = home.db
    users.add_user(db, "mal", PASSWORD, "agent", name=MAL)
    library.add_reply(db, {
        "id": "xss-refund", "title": f"Refund {SCRIPT}", "status": "approved",
        "body": f"Hi {{{{customer.first_name|{IMG}}}}}, refunds {SVG} {LINK} {ALERT}",
        "tags": ["billing"], "questions": [f"can I get my refund back {IMG}"]}, author=MAL)
    library.edit_reply(db, "xss-refund", {"body": f"Hello {{{{customer.first_name|{IMG}}}}}, "
                                                  f"refunds {SVG} {LINK} {SCRIPT}"}, MAL, SVG)
    library.add_reply(db, {"id": "xss-th", "title": f"คืนเงิน {SCRIPT}", "language": "th",
                           "status": "approved", "body": f"สวัสดีค่ะ {IMG} ขอบคุณค่ะ"})
    library.add_reply(db, {"id": "xss-fa", "title": f"بازپرداخت {SVG}", "language": "fa",
                           "status": "approved", "body": f"سلام {SCRIPT} با تشکر"})
    attachments.add(db, home.config.attachments_dir, "xss-refund", f"{SVG}.pdf", b"%PDF-1.4")
    messages = [
        ("X1", "m1", "customer", f"Eve {IMG}", f"ขอคืนเงิน {SCRIPT} refund {SVG} {LINK}"),
        ("X1", "m2", "agent", MAL, f"سلام، {SCRIPT} refunds take 5 days {ALERT}"),
        ("X2", "m1", "customer", f"سارا {SVG}", f"بازپرداخت پول من {IMG} refund please"),
    ]
    path = tmp / "payload-messages.jsonl"
    path.write_text("".join(json.dumps({
        "conversation_id": c, "message_id": m, "role": role, "author": author,
        "channel": "email", "created_at": f"2026-09-10T0{i}:00:00Z", "body": body,
        "subject": f"Refund {SCRIPT}"}, ensure_ascii=False) + "\n"
        for i, (c, m, role, author, body) in enumerate(messages)), encoding="utf-8")
    import_conversations(db, path)
    store.ensure_default_rubric(db)
    review = reviews.start_review(db, reviews.resolve_target(db, "X1", "m2"), "Rui Reviewer")
    ratings = {"accurate": 4, "complete": 4, "clear": 4, "empathy": 4, "personalised": 4,
               "honest": 4, "next_steps": 1, "tone": 4}
    reviews.rate_review(db, review, "Rui Reviewer", ratings, {"clear": f"ชัดเจน {IMG}"},
                        f"گفتگوی خوب {SCRIPT}")
    reviews.submit_review(db, review, "Rui Reviewer")
    disputes.open_dispute(db, review, MAL, f"Unfair {SVG}")
    draft = drafts.request_draft(db, MAL, f"Draft {SCRIPT} {IMG}", f"question {SVG}",
                                 reviewer="Rui Reviewer")
    open_review = reviews.start_review(db, reviews.resolve_target(db, draft_id=draft),
                                       "Rui Reviewer", overall_comment=f"so far {IMG}")
    drafts.return_draft(db, draft, "Rui Reviewer", f"Returned {SCRIPT}")
    feedback.record(db, "xss-refund", "inserted", query=f"refund {SCRIPT}", user=MAL)
    SuggestEngine(home).sync()
    return {"review": review, "draft": draft, "open_review": open_review}


@pytest.fixture(scope="module")
def site(tmp_path_factory, web_home_template):
    tmp = tmp_path_factory.mktemp("xss")
    root = tmp / "home"
    shutil.copytree(web_home_template, root)
    config = load_config(root, multilingual_model="")
    home = Home(config)
    ids = seed_payloads(home, tmp)
    home.close()
    with serve(without_csp(create_app(config))) as base, chromium() as browser:
        yield base, browser, ids


def watch(page) -> list[str]:
    """Dialogs opened on the page (each dismissed)."""
    dialogs = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    return dialogs


def assert_inert(page, path: str, visible: tuple[str, ...]) -> None:
    page.wait_for_load_state("networkidle")
    assert page.evaluate("window.__xss") is None, path
    assert page.locator(INJECTED).count() == 0, path
    text = page.inner_text("body")
    for payload in visible:
        assert payload in text, f"{path}: {payload!r} not shown as text"


def visit(page, base: str, pages: dict) -> None:
    for path, visible in pages.items():
        page.goto(base + path)
        assert_inert(page, path, visible)


def test_payloads_stay_text_for_the_lead(site):
    base, browser, ids = site
    page = login(browser, base, "root", PASSWORD)
    dialogs = watch(page)
    visit(page, base, {
        "/library/": (f"Refund {SCRIPT}", f"คืนเงิน {SCRIPT}", f"بازپرداخت {SVG}", MAL),
        "/library/?q=refund": (f"Refund {SCRIPT}",),
        "/library/replies/xss-refund": (SVG, LINK, f"can I get my refund back {IMG}"),
        "/library/replies/xss-th": (f"สวัสดีค่ะ {IMG}",),
        "/library/replies/xss-fa": (f"سلام {SCRIPT}",),
        "/library/replies/xss-refund/history": (SCRIPT, ALERT, SVG),
        "/library/replies/xss-refund/edit": (SVG, LINK),  # the live preview
        "/library/curation?threshold=0.01": (f"Refund {SCRIPT}",),  # in a pair
        "/reviews/": (),
        f"/reviews/{ids['review']}": (f"گفتگوی خوب {SCRIPT}", f"ชัดเจน {IMG}", MAL,
                                      f"Unfair {SVG}", f"سلام، {SCRIPT}"),
        f"/reviews/drafts/{ids['draft']}": (f"Draft {SCRIPT} {IMG}", f"Returned {SCRIPT}"),
        "/reviews/disputes": (f"Unfair {SVG}",),
        "/reviews/calibration?from=2026-01-01": (),
        "/reports/?from=2026-08-01&to=2026-09-30": (),
        "/reports/tables/quality?from=2026-08-01&to=2026-09-30": (MAL,),
        "/reports/tables/usage": (f"Refund {SCRIPT}",),
        "/reports/tables/responses?from=2026-08-01&to=2026-09-30": (MAL,),
        "/reports/conversations/X1": (f"Eve {IMG}", f"ขอคืนเงิน {SCRIPT}", LINK, MAL),
    })
    # the dashboard's SVG charts label agents and saved replies with the payloads
    page.goto(f"{base}/reports/?from=2026-08-01&to=2026-09-30")
    labels = page.locator("figure svg text").all_text_contents()
    assert any(label.startswith("Mal <img") for label in labels)
    assert_inert(page, "/reports/", ())
    assert dialogs == []


def test_payloads_stay_text_in_the_workspace_and_reviews(site):
    base, browser, ids = site
    page = login(browser, base, "mal", PASSWORD)
    dialogs = watch(page)
    assert_inert(page, "/workspace", (MAL,))
    page.wait_for_selector("#conversation-pick option[value=X2]", state="attached")
    assert f"X2 · سارا {SVG} · Refund {SCRIPT}" in page.inner_text("#conversation-pick")
    page.select_option("#conversation-pick", "X2")
    page.wait_for_selector("#thread:not([hidden])")
    assert_inert(page, "/workspace thread", (f"بازپرداخت پول من {IMG}", f"سارا {SVG}"))
    page.select_option("#conversation-pick", "")  # no conversation: the default is offered
    page.fill("#query", "can I get my refund back")
    page.wait_for_selector(".suggestion")
    page.locator(".suggestion", has_text=f"Refund {SCRIPT}").first.click()
    page.keyboard.press("Alt+Enter")
    page.wait_for_selector("#prompts:not([hidden])")
    field = "#prompt-fields input[name='customer.first_name']"
    assert page.get_attribute(field, "placeholder") == f"default: {IMG}"
    page.click("#prompts button[type=submit]")
    page.wait_for_function("document.querySelector('#editor').value.includes('refunds')")
    assert page.input_value("#editor").startswith(f"Hello {IMG}, refunds {SVG} {LINK}")
    assert_inert(page, "/workspace after insert", (f"{SVG}.pdf",))  # its file, to attach
    page.click("#library summary")  # the read-only library panel: list, preview, file link
    page.locator(".library-item", has_text=f"Refund {SCRIPT}").click()
    page.wait_for_selector("#library-preview")
    assert_inert(page, "/workspace library", (f"بازپرداخت {SVG}", f"คืนเงิน {SCRIPT}",
                                             f"refunds {SVG} {LINK} {SCRIPT}"))
    assert page.locator("#library-preview a.file").inner_text() == f"{SVG}.pdf"
    visit(page, base, {
        "/reviews/mine": (f"Draft {SCRIPT}",),
        f"/reviews/{ids['review']}": (f"گفتگوی خوب {SCRIPT}", f"Unfair {SVG}"),
        f"/reviews/drafts/{ids['draft']}": (f"Returned {SCRIPT}", f"question {SVG}"),
    })
    reviewer = login(browser, base, "rui", PASSWORD)
    dialogs += watch(reviewer)
    visit(reviewer, base, {
        "/reviews/": (MAL,),
        f"/reviews/{ids['open_review']}/score": (f"Draft {SCRIPT} {IMG}", MAL),
    })
    assert reviewer.input_value("textarea[name=overall]") == f"so far {IMG}"
    assert dialogs == []
