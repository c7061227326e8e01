"""Screenshots of the main pages for docs/screenshots/: `make screenshots`
(python tests/web/screenshots.py [OUTPUT_DIR]).

Builds a throw-away home with the demo library, a few English, Thai and Persian
conversations and one user per role, serves it, and photographs the pages in headless
Chromium, including the workspace with Thai and with Persian (right-to-left) content, and the
translated pages with the interface in English, Thai and Persian; and, for
docs/integrations.md, a REAL django-helpdesk (tests/helpdesk_peer.py) taken through the
end-to-end steps of tests/connectors/test_end_to_end.py: a ticket, `replykit sync`, the /embed
panel framed beside the ticket on a page of another origin, Send, the follow-up in the
helpdesk's own staff page."""

from __future__ import annotations

import dataclasses
import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).parent))

from browser import chromium, login, serve, unavailable  # noqa: E402
from click.testing import CliRunner  # noqa: E402
from conftest import PEOPLE, write_messages  # noqa: E402
from test_embed_browser import pages_app  # noqa: E402
from webtest_helpers import PASSWORD  # noqa: E402

from cli.main import cli  # noqa: E402
from replykit import users  # noqa: E402
from replykit.config import load_config  # noqa: E402
from replykit.home import Home  # noqa: E402
from rubrics import drafts, reviews  # noqa: E402
from suggest import demo, library_io  # noqa: E402
from suggest.conversations import import_conversations  # noqa: E402
from suggest.engine import SuggestEngine  # noqa: E402
from web import create_app  # noqa: E402

# tests/ after our packages are imported (its web/ folder is not the `web` package)
sys.path.append(str(Path(__file__).parents[1]))
from helpdesk_peer import start_peer  # noqa: E402

OUTPUT = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def build_home(root: Path):
    """The demo library + sample conversations + users + a review, indexes built."""
    config = load_config(root)
    home = Home(config)
    library = Path(demo.__file__).with_name("demo_data") / "saved_replies.jsonl"
    library_io.import_replies(home.db, library, config.attachments_dir, "demo")
    import_conversations(home.db, write_messages(root / "messages.jsonl"))
    SuggestEngine(home).rebuild()
    for username, name, roles, team in PEOPLE:
        users.add_user(home.db, username, PASSWORD, roles, name=name, team=team)
    target = reviews.resolve_target(home.db, "C1", "m2")
    reviews.add_review(home.db, target, "Rui Reviewer", {
        "accurate": 4, "complete": 3, "clear": 3, "empathy": 4, "personalised": 2,
        "honest": 4, "next_steps": 1, "tone": 4})
    drafts.request_draft(home.db, "Bo Agent", "สวัสดีค่ะ คุณสมชาย กดลืมรหัสผ่านที่หน้าเข้าสู่ระบบได้เลยค่ะ",
                         "ลืมรหัสผ่าน เข้าสู่ระบบไม่ได้ค่ะ", "Rui Reviewer")
    home.close()
    return config


def suggest_page(page, base: str, query: str, name: str, out: Path) -> None:
    page.goto(f"{base}/workspace")
    page.fill("#editor", "")  # the workspace restores the tab's unsent draft: start afresh
    page.fill("#query", query)
    page.wait_for_selector(".suggestion, .no-confident")
    if page.locator("#show-weak").count():  # below the confidence threshold
        page.click("#show-weak")
    page.keyboard.press("Alt+Enter")
    page.wait_for_timeout(700)
    if page.locator("#prompts:not([hidden])").count():
        page.click("#prompts button[type=submit]")
    page.wait_for_timeout(700)
    page.screenshot(path=str(out / name), full_page=True)


# the workspace's question in each interface language (ui-<language>-workspace.png)
QUESTIONS = {"en": "Hi, can I get a refund? I was charged twice",
             "th": "ลืมรหัสผ่าน เข้าสู่ระบบไม่ได้ค่ะ",
             "fa": "رمز عبورم را فراموش کرده‌ام، چطور آن را بازنشانی کنم؟"}


def interface_pages(browser, base: str, out: Path) -> None:
    """The main pages (sign-in, workspace with a question of that language, library,
    curation, reports, review queue, rubric editor, admin users) with the interface in
    English, Thai and Persian, the language coming from the browser's Accept-Language:
    ui-<language>-<page>.png."""
    for language in ("en", "th", "fa"):
        for username, paths in ((None, (("/login", "login"),)),
                                ("ana", (("/workspace", "workspace"),)),
                                ("lee", (("/library/", "library"),
                                         ("/library/curation", "library-curation"),
                                         ("/reports/?from=2026-08-01&to=2026-09-30",
                                          "reports"),
                                         ("/reviews/", "reviews"),
                                         ("/reviews/rubrics", "rubric-editor"))),
                                ("root", (("/admin/", "admin-users"),))):
            context = browser.new_context(viewport={"width": 1280, "height": 800},
                                          locale=language)
            page = context.new_page()
            if username:
                page.goto(f"{base}/login")
                page.fill("input[name=username]", username)
                page.fill("input[name=password]", PASSWORD)
                page.click("button[type=submit]")
                page.wait_for_load_state("networkidle")
            for path, name in paths:
                if path == "/workspace":
                    suggest_page(page, base, QUESTIONS[language], f"ui-{language}-{name}.png",
                                 out)
                    continue
                page.goto(base + path)
                page.wait_for_load_state("networkidle")
                page.screenshot(path=str(out / f"ui-{language}-{name}.png"), full_page=True)
            context.close()


def embed_panel(browser, base: str, config, out: Path) -> None:
    """The /embed panel at a helpdesk sidebar's width, as a ticket sidebar app opens it (the
    conversation and a token in its address), with the top suggestion in use: embed-en.png
    (English conversation C1) and embed-fa.png (Persian conversation C3, Persian interface)."""
    home = Home(config)
    token = users.create_token(home.db, "root")["token"]  # C3 is answered: out of the queue
    home.close()
    for language, conversation in (("en", "C1"), ("fa", "C3")):
        context = browser.new_context(viewport={"width": 360, "height": 760}, locale=language)
        page = context.new_page()
        page.goto(f"{base}/embed?conversation={conversation}#token={token}")
        page.locator("li.embed-suggestion button.use").first.click()
        page.wait_for_selector("#embed-reply:not([hidden])")
        page.screenshot(path=str(out / f"embed-{language}.png"), full_page=True)
        context.close()


# a helpdesk's page of another origin: the ticket on the left, the /embed panel beside it
TICKET_PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>Ticket</title><style>
body { font: 15px/1.5 system-ui, sans-serif; margin: 0; display: flex; background: #f4f5f7; }
main { flex: 1; padding: 24px 32px; }
.message { background: #fff; border: 1px solid #d8dce3; border-radius: 6px; padding: 12px 16px; }
.meta { color: #5b6473; font-size: 13px; }
iframe { border: 0; border-inline-start: 1px solid #d8dce3; background: #fff; height: 100vh; }
</style></head><body>
<main><p class="meta">django-helpdesk · Billing · ticket %(ticket)s</p><h1>%(title)s</h1>
<div class="message"><p class="meta">emma@example.com</p><p>%(question)s</p></div></main>
<iframe name="panel" src="%(panel)s" width="380"></iframe>
</body></html>"""


def integration(browser, root: Path, config, out: Path) -> None:
    """A real django-helpdesk, as in tests/connectors/test_end_to_end.py: a customer's ticket,
    `replykit sync`, the /embed panel framed beside the ticket by a page of another origin
    with a suggestion in use and its blank filled (integration-panel-beside-ticket.png), Send,
    and the helpdesk's staff ticket page with the customer's message and the posted follow-up
    (integration-django-helpdesk-ticket.png)."""
    title = "Where is my parcel?"
    question = "Hi, my order has not arrived after two weeks. Is there a shipping delay?"
    pages: dict = {}
    with start_peer(root / "helpdesk") as peer, serve(pages_app(pages)) as helpdesk:
        os.environ.update(PEER_USER=peer.username, PEER_PASSWORD=peer.password)
        helpdesk = helpdesk.replace("127.0.0.1", "localhost")  # another site, not just a port
        (config.home / "config.toml").write_text(
            f'[sync.helpdesk]\ntype = "django-helpdesk"\nurl = "{peer.base_url}"\n'
            'id_prefix = "dh-"\nusername_env = "PEER_USER"\npassword_env = "PEER_PASSWORD"\n'
            f'\n[sync.helpdesk.queues]\n{peer.queue_id} = "billing"\n', "utf-8")
        ticket = peer.create_ticket(title, question, "emma@example.com")
        result = CliRunner().invoke(cli, ["--home", str(config.home), "sync", "helpdesk"])
        if result.exit_code:
            raise RuntimeError(f"replykit sync failed: {result.output}")
        synced = load_config(config.home)
        synced = dataclasses.replace(synced, sections={**synced.sections, "web": {
            "secure_cookies": False, "embed_origins": [helpdesk]}})
        home = Home(synced)
        token = users.create_token(home.db, "ana")["token"]
        home.close()
        with serve(create_app(synced)) as base:
            pages["/ticket"] = TICKET_PAGE % {
                "ticket": ticket, "title": title, "question": question,
                "panel": f"{base}/embed?source=helpdesk&conversation=dh-{ticket}#token={token}"}
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(helpdesk + "/ticket")
            panel = page.frame_locator("iframe[name=panel]")
            panel.locator("li.embed-suggestion", has_text="Shipping delay apology").locator(
                "button.use").click()
            panel.locator("#embed-unfilled input[name='order.id']").fill("A-1001")
            panel.locator("#embed-unfilled input[name='order.id']").press("Enter")
            panel.locator("#embed-unfilled").wait_for(state="hidden")
            panel.locator("#embed-question summary").click()  # the customer's message shown
            # the whole panel in view, from the customer's question to the Send button
            frame = page.frame(name="panel")
            page.set_viewport_size({"width": 1280, "height": frame.evaluate(
                "document.documentElement.scrollHeight")})
            frame.evaluate("scrollTo(0, 0)")
            page.wait_for_timeout(700)  # the frame's new height painted
            page.screenshot(path=str(out / "integration-panel-beside-ticket.png"))
            page.set_viewport_size({"width": 1280, "height": 900})
            panel.locator("#embed-send").click()
            panel.locator("#embed-action-status", has_text="Sent to the helpdesk.").wait_for(
                timeout=30_000)
            page.goto(f"{peer.base_url}/login/")
            page.fill("input[name=username]", peer.username)
            page.fill("input[name=password]", peer.password)
            page.locator("input[name=password]").press("Enter")
            page.wait_for_load_state("networkidle")
            page.goto(f"{peer.base_url}/tickets/{ticket}/")
            page.wait_for_load_state("networkidle")
            page.screenshot(path=str(out / "integration-django-helpdesk-ticket.png"),
                            full_page=True)
            page.close()


def main(out: Path = OUTPUT) -> int:
    reason = unavailable()
    if reason:
        print(f"Cannot take screenshots: {reason}", file=sys.stderr)
        return 1
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        config = build_home(Path(tmp) / "home")
        with serve(create_app(config)) as base, chromium() as browser:
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.goto(f"{base}/login")
            page.screenshot(path=str(out / "login.png"))
            agent = login(browser, base, "ana", PASSWORD)
            suggest_page(agent, base, "Hi, can I get a refund? I was charged twice",
                         "workspace.png", out)
            suggest_page(agent, base, "ลืมรหัสผ่าน เข้าสู่ระบบไม่ได้ค่ะ", "workspace-thai.png", out)
            suggest_page(agent, base, "رمز عبورم را فراموش کرده‌ام، چطور آن را بازنشانی کنم؟",
                         "workspace-persian.png", out)
            lead = login(browser, base, "lee", PASSWORD)
            for path, name in (("/library/", "library.png"),
                               ("/library/replies/fa-refund-policy/edit",
                                "library-edit-persian.png"),
                               ("/library/replies/refund-policy/history", "library-history.png"),
                               ("/library/curation", "library-curation.png"),
                               ("/library/merge?a=password-reset&b=password-reset-link",
                                "library-merge.png"),
                               ("/reports/?from=2026-08-01&to=2026-09-30", "reports.png")):
                lead.goto(base + path)
                lead.wait_for_load_state("networkidle")
                lead.screenshot(path=str(out / name), full_page=True)
            reviewer = login(browser, base, "rui", PASSWORD)
            reviewer.goto(f"{base}/reviews/")
            reviewer.screenshot(path=str(out / "reviews-queue.png"), full_page=True)
            reviewer.click("form:has(input[name=draft]) button")
            reviewer.wait_for_selector("#score-form")
            reviewer.check('input[name="rating-accurate"][value="4"]')
            reviewer.check('input[name="rating-clear"][value="3"]')
            reviewer.screenshot(path=str(out / "review-form-thai.png"), full_page=True)
            interface_pages(browser, base, out)
            embed_panel(browser, base, config, out)
        with chromium() as browser:
            integration(browser, Path(tmp), config, out)
    for name in sorted(p.name for p in out.glob("*.png")):
        print(out / name)
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]) if len(sys.argv) > 1 else OUTPUT))
