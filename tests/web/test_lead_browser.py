"""The lead's screens in real headless Chromium: a near-duplicate is compared side by side and
merged only once the lead says which reply stays; a gap's "Write a saved reply" opens the form
with its questions, while thread follow-ups wait folded away; report charts keep their text
at 12 px or more and inside the chart, on a desktop and on a phone. Skipped, with the reason,
where Chromium or Playwright is missing."""

from __future__ import annotations

import json

import pytest
from browser import chromium, login, serve, unavailable
from webtest_helpers import PASSWORD

from replykit.home import Home
from rubrics import reviews
from suggest import library
from suggest.conversations import import_conversations
from suggest.engine import SuggestEngine
from web import create_app

REASON = unavailable()
if REASON is None:
    from playwright.sync_api import expect
pytestmark = pytest.mark.skipif(REASON is not None, reason=REASON or "")

GAP = "Can I pay for my order in Icelandic krona?"
FOLLOW_UP = "I tried that but it's still not working."


def _conversations(path, count: int = 3) -> None:
    """`count` conversations asking GAP, each answered, then a FOLLOW_UP, answered again; the
    first answer sent from refund-policy and reviewed."""
    with open(path, "w", encoding="utf-8") as f:
        for n in range(count):
            day = f"2026-09-{10 + n:02d}"
            for mid, role, at, body, saved in (
                    ("m1", "customer", "09:00", GAP, ""),
                    ("m2", "agent", "09:20", "We take euros and dollars only.", "refund-policy"),
                    ("m3", "customer", "10:00", FOLLOW_UP, ""),
                    ("m4", "agent", "10:30", "Let me check with billing.", "")):
                f.write(json.dumps({
                    "conversation_id": f"G{n}", "message_id": mid, "role": role,
                    "author": "Kim" if role == "customer" else "Ana Agent", "channel": "email",
                    "created_at": f"{day}T{at}:00Z", "body": body, "saved_reply_id": saved,
                    "csat": "2"}) + "\n")


@pytest.fixture(scope="module")
def site(module_web_config):
    config = module_web_config
    root = config.home
    home = Home(config)
    original = library.get_reply(home.db, "password-reset")
    library.add_reply(home.db, {"id": "password-reset-2", "title": "Password reset (copy)",
                                "body": original["body"], "status": "approved",
                                "questions": ["I can't log in, forgot my password"]})
    _conversations(root.parent / "gaps.jsonl")
    import_conversations(home.db, root.parent / "gaps.jsonl")
    for n in range(3):
        reviews.add_review(home.db, reviews.resolve_target(home.db, f"G{n}", "m2"),
                           "Rui Reviewer", {"accurate": 2, "complete": 1, "clear": 2,
                                            "empathy": 2, "personalised": 1, "honest": 3,
                                            "next_steps": 0, "tone": 2})
    SuggestEngine(home).sync()
    home.close()
    app = create_app(config)
    with serve(app) as base, chromium() as browser:
        yield base, browser, config


def test_merge_compares_side_by_side_and_asks_which_stays(site):
    base, browser, config = site
    page = login(browser, base, "lee", PASSWORD)
    page.goto(f"{base}/library/curation")
    assert page.locator("form[action='/library/merge']").count() == 0  # no one-click merge
    page.click("a:has-text('Compare and merge')")
    page.wait_for_url("**/library/merge?*")
    sides = page.locator(".merge-side")
    expect(sides).to_have_count(2)
    text = sides.all_inner_texts()
    assert any("Password reset (copy)" in t for t in text)
    assert all("Example questions" in t and "Review score" in t and "CSAT" in t for t in text)
    page.click("button:has-text('Merge')")  # nothing chosen: the browser asks first
    assert "/library/merge?" in page.url
    page.check("input[name=keep][value='password-reset']")
    page.click("button:has-text('Merge')")
    page.wait_for_url("**/library/replies/password-reset")
    assert "Merged password-reset-2 into password-reset" in page.inner_text("main")
    home = Home(config)
    assert library.get_reply(home.db, "password-reset-2")["status"] == "archived"
    home.close()


def test_a_gap_opens_the_new_reply_form_with_its_questions(site):
    base, browser, _ = site
    page = login(browser, base, "lee", PASSWORD)
    page.goto(f"{base}/library/curation")
    follow_ups = page.locator("details.follow-ups")
    expect(follow_ups).to_have_count(1)
    expect(follow_ups.get_by_text(FOLLOW_UP)).to_be_hidden()  # folded away
    gap = page.locator(".gap", has_text=GAP).first
    gap.get_by_role("link", name="Write a saved reply for these").click()
    page.wait_for_url("**/library/new?*")
    assert page.input_value("textarea[name=questions]") == GAP


@pytest.mark.parametrize("width", [1400, 390])
@pytest.mark.parametrize("period", ["from=2026-09-01&to=2026-09-30",  # 5 weeks
                                    "from=2026-08-01&to=2026-09-30"])  # 10: labels slant
def test_chart_text_is_at_least_12px_and_inside_the_chart(site, width, period):
    base, browser, _ = site
    page = login(browser, base, "lee", PASSWORD, viewport={"width": width, "height": 900})
    page.goto(f"{base}/reports/?{period}")
    found = page.evaluate("""() => [...document.querySelectorAll('figure.chart svg')].flatMap(
        svg => {
          const box = svg.getBoundingClientRect(), scale = box.width / svg.viewBox.baseVal.width;
          return [...svg.querySelectorAll('text')].map(t => {
            const r = t.getBoundingClientRect();
            return {text: t.textContent, px: parseFloat(t.getAttribute('font-size')) * scale,
                    at: [r.left - box.left, r.top - box.top, r.width, r.height, box.width],
                    inside: r.left >= box.left - 1 && r.right <= box.right + 1
                            && r.top >= box.top - 1 && r.bottom <= box.bottom + 1};
          });
        })""")
    assert found and all(item["px"] >= 12 for item in found), found
    outside = [item for item in found if not item["inside"]]
    assert outside == [], outside
    page_width = page.evaluate("document.documentElement.scrollWidth")
    assert page_width <= width  # a narrow screen scrolls the chart, not the page
    texts = " ".join(item["text"] for item in found)
    assert "Refund policy" in texts and "3 reviewed" in texts  # the poorly reviewed reply
