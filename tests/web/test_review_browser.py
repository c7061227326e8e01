"""The reviewer's screens in real headless Chromium (issue 12, "Reviewer"): the reply and the
live score stay on screen while scoring (desktop, phone, right-to-left), "Submit and next"
walks the queue, validation errors name categories by label, and a calibration session runs
from the lead's form to the reviewers' blind scoring and the results. Skipped, with the
reason, where Chromium or Playwright is missing."""

from __future__ import annotations

import shutil

import pytest
from browser import chromium, login, serve, unavailable
from webtest_helpers import PASSWORD

from replykit.config import load_config
from replykit.home import Home
from rubrics import disputes, drafts, reviews
from web import create_app

REASON = unavailable()
pytestmark = pytest.mark.skipif(REASON is not None, reason=REASON or "")

RATINGS = (("accurate", "4"), ("complete", "3"), ("clear", "4"), ("empathy", "na"),
           ("personalised", "3"), ("honest", "4"), ("next_steps", "1"), ("tone", "4"))
LONG = "\n".join(f"Line {n}: refunds reach the card within 5-10 business days." for n in range(12))


@pytest.fixture(scope="module")
def browser():
    with chromium() as found:
        yield found


@pytest.fixture
def site(tmp_path, web_home_template, browser):
    root = tmp_path / "home"
    shutil.copytree(web_home_template, root)
    config = load_config(root, multilingual_model="")
    home = Home(config)
    for _ in range(2):
        drafts.request_draft(home.db, "Ana Agent", LONG, "How long does a refund take?",
                             "Rui Reviewer")
    home.close()
    with serve(create_app(config)) as base:
        yield base


def rate_all(page, skip=()):
    for key, value in RATINGS:
        if key not in skip:
            page.check(f'input[name="rating-{key}"][value="{value}"]')


def on_screen(page, selector: str) -> bool:
    """Whether the element's start (its first 20 px) is within the viewport."""
    box = page.locator(selector).bounding_box()
    size = page.viewport_size
    return (box is not None and box["y"] >= 0
            and box["y"] + min(box["height"], 20) <= size["height"] and box["x"] >= 0
            and box["x"] + box["width"] <= size["width"] + 0.5)


def open_reply_review(browser, base, viewport):
    """Rui starts reviewing Ana's reply in conversation C1 (it has a thread)."""
    page = login(browser, base, "rui", PASSWORD, viewport)
    page.goto(f"{base}/reviews/")
    csrf = page.get_attribute("meta[name=csrf-token]", "content")
    page.evaluate("""([csrf]) => {
      const f = document.createElement('form'); f.method = 'post'; f.action = '/reviews/start';
      for (const [k, v] of [['csrf_token', csrf], ['conversation', 'C1'], ['message', 'm2']]) {
        const i = document.createElement('input'); i.type = 'hidden'; i.name = k; i.value = v;
        f.append(i); }
      document.body.append(f); f.submit(); }""", [csrf])
    page.wait_for_selector("#score-form")
    return page


@pytest.mark.parametrize("direction", ["ltr", "rtl"])
def test_reply_and_score_stay_in_view_while_scoring_on_a_desktop(site, browser, direction):
    page = open_reply_review(browser, site, {"width": 1400, "height": 900})
    page.evaluate(f"document.documentElement.dir = '{direction}'")
    assert "Hi, can I get a refund?" in page.inner_text("#reply-pane")  # the thread
    page.locator("#cat-tone").scroll_into_view_if_needed()
    page.check('input[name="rating-tone"][value="4"]')
    assert page.evaluate("scrollY") > 200  # the form is longer than the screen
    assert on_screen(page, "#reply-pane .reviewed-reply") and on_screen(page, "#live-score")
    assert on_screen(page, "#submit-next")
    pane, form = (page.locator(s).bounding_box() for s in ("#reply-pane", "#score-form"))
    assert (pane["x"] < form["x"]) == (direction == "ltr")  # the reply on the reading side
    page.context.close()


@pytest.mark.parametrize("width", [360, 390])
@pytest.mark.parametrize("direction", ["ltr", "rtl"])
def test_on_a_phone_it_stacks_and_the_score_stays_visible(site, browser, width, direction):
    page = open_reply_review(browser, site, {"width": width, "height": 740})
    page.evaluate(f"document.documentElement.dir = '{direction}'")
    pane, form = (page.locator(s).bounding_box() for s in ("#reply-pane", "#score-form"))
    assert pane["y"] + pane["height"] <= form["y"] + 1  # stacked: reply first
    assert on_screen(page, "#live-score")  # from the start
    for key, value in RATINGS:
        page.locator(f"#cat-{key}").scroll_into_view_if_needed()
        page.check(f'input[name="rating-{key}"][value="{value}"]')
        assert on_screen(page, "#live-score"), key
    assert page.inner_text("#live-score") == "88.89"
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    page.context.close()


def test_submit_and_next_and_errors_by_label(site, browser):
    page = login(browser, site, "rui", PASSWORD)
    page.goto(f"{site}/reviews/")
    page.click("form:has(input[name=draft]) button")
    page.wait_for_selector("#score-form")
    first = page.url
    rate_all(page, skip=("empathy", "tone"))
    page.click("#submit-next")
    page.wait_for_selector("#score-errors")
    errors = page.inner_text("#score-errors")
    assert "Empathy and friendliness: choose a score from 1 to 4 or N/A" in errors
    assert "Tone matches the brand: choose a score from 1 to 4" in errors
    assert "empathy" not in errors and page.url == first
    page.click("#score-errors a[href='#cat-tone']")
    assert on_screen(page, "#cat-tone legend")
    rate_all(page)
    page.click("#submit-next")
    # (a redirect keeps the #cat-tone fragment)
    page.wait_for_url(lambda url: url.split("#")[0] not in (first, f"{site}/reviews/"))
    assert page.url.split("#")[0].endswith("/score")
    assert "submitted: score 88.89" in page.inner_text(".flash")
    rate_all(page)
    page.click("#submit-next")
    page.wait_for_url(lambda url: url.split("#")[0] == f"{site}/reviews/")
    assert "Your review queue is empty." in page.inner_text("main")
    page.context.close()


def test_calibration_session_from_the_lead_form_to_the_results(site, browser):
    lead = login(browser, site, "lee", PASSWORD)
    lead.goto(f"{site}/reviews/sessions")
    lead.fill("input[name=name]", "September check")
    lead.fill("input[name=from]", "2026-08-01")
    lead.fill("input[name=to]", "2026-09-30")
    lead.fill("input[name=size]", "2")
    lead.locator("#new-session label", has_text="Rui Reviewer").locator("input").check()
    lead.locator("#new-session label", has_text="Lee Lead").locator("input").check()
    lead.click("#new-session button[type=submit]")
    lead.wait_for_selector("#my-items")
    assert "2 replies for 2 reviewers" in lead.inner_text(".flash")
    session_url = lead.url

    reviewer = login(browser, site, "rui", PASSWORD)
    reviewer.goto(f"{site}/reviews/")
    assert reviewer.locator("#calibration-queue tbody tr").count() == 2
    reviewer.click("#calibration-queue button")
    reviewer.wait_for_selector("#score-form")
    rate_all(reviewer)
    reviewer.click("#submit-next")  # the session's second reply comes next
    reviewer.wait_for_selector("#score-form")
    rate_all(reviewer, skip=("clear",))
    reviewer.check('input[name="rating-clear"][value="2"]')
    reviewer.click("#submit-review")
    reviewer.wait_for_selector(".flash")
    reviewer.goto(session_url)
    assert reviewer.locator("#agreement").count() == 1  # Rui is done: the results show
    assert "Consensus (median)" in reviewer.inner_text("#consensus")

    lead.reload()  # the lead takes part and has not scored: still blind
    assert lead.locator("#results-hidden").count() == 1
    assert lead.locator("#consensus").count() == 0
    lead.context.close()
    reviewer.context.close()


def test_a_review_sent_back_for_rescoring_is_flagged_and_rescored(site, browser, tmp_path):
    home = Home(load_config(tmp_path / "home", multilingual_model=""))
    target = reviews.resolve_target(home.db, "C3", "m2")
    review_id = reviews.add_review(home.db, target, "Rui Reviewer", {
        "accurate": 2, "complete": 2, "clear": 2, "empathy": "na", "personalised": 2,
        "honest": 2, "next_steps": 0, "tone": 2})
    dispute = disputes.open_dispute(home.db, review_id, "Bo Agent", "The link was right.")
    disputes.resolve_dispute(home.db, dispute, "Lee Lead", "rescore", "Please look again")
    home.close()
    page = login(browser, site, "rui", PASSWORD)
    page.goto(f"{site}/reviews/")
    flagged = page.locator("#in-progress li").first
    assert "Re-score requested" in flagged.inner_text()
    assert "The link was right." in flagged.inner_text()
    assert "Please look again" in flagged.inner_text()
    flagged.locator("a").click()
    assert "Re-score requested" in page.inner_text("#rescore-note")
    rate_all(page)
    page.click("#submit-review")
    page.wait_for_selector(".flash")
    page.goto(f"{site}/reviews/")
    assert "Re-score requested" not in page.inner_text("main")
    page.context.close()


def test_a_lead_assigns_replies_and_the_reviewer_works_through_them(site, browser):
    lead = login(browser, site, "lee", PASSWORD)
    lead.goto(f"{site}/reviews/")
    lead.click("text=Assign replies")
    lead.fill("input[name=from]", "2026-08-01")
    lead.fill("input[name=to]", "2026-09-30")
    lead.fill("input[name=per_agent]", "1")
    lead.locator("#assign-form label", has_text="Rui Reviewer").locator("input").check()
    lead.click("#assign-form button[type=submit]")
    lead.wait_for_selector("#assign-result")
    assert "2 replies assigned" in lead.inner_text("#assign-result")
    lead.context.close()

    reviewer = login(browser, site, "rui", PASSWORD)
    reviewer.goto(f"{site}/reviews/")
    assert "Assigned replies (2)" in reviewer.inner_text("main")
    reviewer.click("form:has(input[name=message]) button")
    reviewer.wait_for_selector("#score-form")
    # the second assigned reply comes next, then a draft of the fixture's
    for following in ("'s reply", "'s draft"):
        rate_all(reviewer)
        reviewer.click("#submit-next")
        reviewer.wait_for_selector(".flash")
        assert following in reviewer.inner_text("h1")
    reviewer.goto(f"{site}/reviews/")
    assert "Assigned replies (0)" in reviewer.inner_text("main")
    reviewer.context.close()
