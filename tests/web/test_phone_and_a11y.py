"""Phone layout and accessibility in real headless Chromium (issue 12, "Phone" and
"Accessibility"): every main page, for each role, fits a 360 px and a 390 px wide screen with
no horizontal scrolling and Sign out on screen; on the workspace the reply editor is reachable
right after the suggestions; a "Skip to main content" link is the first thing Tab reaches;
and axe-core (vendored in tests/web/vendor/, see its README) finds no serious or critical
violation on the main pages of each role, with English and with Persian (right-to-left)
content. Skipped, with the reason, where Chromium or Playwright is missing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from browser import chromium, login, serve, unavailable
from security_seed import seed
from webtest_helpers import PASSWORD

from replykit.home import Home
from web import create_app

REASON = unavailable()
pytestmark = pytest.mark.skipif(REASON is not None, reason=REASON or "")

AXE = Path(__file__).with_name("vendor") / "axe.min.js"

# Violations left to another part of issue 12, by rule id -> (the nodes excused, why). Only
# those nodes are excused: the rule still holds everywhere else.
KNOWN: dict[str, tuple[str, str]] = {
    # The suggestion cards are the listbox options built by web/static/js/workspace.js (the
    # listbox work of issue 12, another helper's): each option's aria-label names the reply
    # but not all the visible text of the card (score, reason, tags).
    "label-content-name-mismatch": ("#suggestion-", "workspace.js listbox options"),
}

PHONES = ({"width": 360, "height": 740}, {"width": 390, "height": 844})


@pytest.fixture(scope="module")
def site(module_web_config):
    config = module_web_config
    home = Home(config)
    ids = seed(home.db)
    ids["bo"] = home.db.execute("SELECT id FROM users WHERE username = 'bo'").fetchone()[0]
    home.close()
    app = create_app(config)
    with serve(app) as base, chromium() as browser:
        yield base, browser, ids


def pages_of(ids: dict) -> dict[str, tuple[str | None, list[str]]]:
    """role -> (username, the main pages it uses)."""
    return {
        "anonymous": (None, ["/login"]),
        "agent": ("ana", ["/workspace", "/reviews/mine", f"/reviews/{ids['review']}",
                          f"/reviews/drafts/{ids['review_draft']}"]),
        "reviewer": ("rui", ["/reviews/", "/reports/", "/reviews/calibration",
                             "/reports/tables/responses", "/reports/conversations/C3",
                             "/reviews/sessions",
                             f"/reviews/sessions/{ids['calibration_session']}"]),
        "lead": ("lee", ["/library/", "/library/replies/refund-policy",
                         "/library/replies/fa-refund-policy",
                         "/library/replies/fa-refund-policy/edit", "/library/new",
                         "/library/replies/fa-refund-policy/history",
                         "/library/curation", "/reviews/", "/reviews/disputes",
                         "/reviews/rubrics", "/reports/", "/reports/tables/quality",
                         "/reviews/sessions", "/reviews/assign"]),
        "admin": ("root", ["/admin/", f"/admin/users/{ids['bo']}", "/admin/users/new",
                           "/admin/audit"]),
    }


def open_as(browser, base: str, username: str | None, viewport: dict, bypass_csp=False):
    """A new page (own cookies and viewport), signed in as `username` unless None."""
    if username:
        return login(browser, base, username, PASSWORD, viewport, bypass_csp)
    return browser.new_context(viewport=viewport, bypass_csp=bypass_csp).new_page()


def overflow(page) -> dict:
    """The page's width against the viewport's, and the widest elements past its edge."""
    return page.evaluate("""() => {
      const w = window.innerWidth, doc = document.documentElement.scrollWidth;
      const wide = [...document.querySelectorAll('body *')].filter(e => {
        const r = e.getBoundingClientRect(); return r.width && (r.right > w + 0.5 || r.left < -0.5);
      }).slice(0, 5).map(e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '')
        + (e.className && typeof e.className === 'string' ? '.' + e.className : ''));
      return {inner: w, scroll: doc, wide};
    }""")


def in_viewport(page, selector: str) -> bool:
    box = page.locator(selector).bounding_box()
    size = page.viewport_size
    return (box is not None and box["x"] >= 0 and box["y"] >= 0
            and box["x"] + box["width"] <= size["width"] and box["height"] > 0)


def open_library(page, title: str) -> None:
    """Open the workspace's library panel and the preview of the reply `title` (refund-policy
    has a Thai-named attachment, see security_seed)."""
    page.click("#library summary")
    page.locator(".library-item", has_text=title).click()
    page.wait_for_selector("#library-preview")
    page.wait_for_load_state("networkidle")


def start_score_page(page, base: str) -> str:
    """Rui opens the scoring form of the draft Ana sent him; its path."""
    page.goto(f"{base}/reviews/")
    page.click("form:has(input[name=draft]) button")
    page.wait_for_selector("#score-form")
    return page.url[len(base):]


@pytest.mark.parametrize("role", ["anonymous", "agent", "reviewer", "lead", "admin"])
def test_pages_fit_a_phone_and_sign_out_is_on_screen(site, role):
    """Each page is loaded once and laid out four times: both phone widths, each direction
    (the mirrored Persian layout by `dir=rtl`)."""
    base, browser, ids = site
    username, paths = pages_of(ids)[role]
    page = open_as(browser, base, username, PHONES[0])
    if role == "reviewer":
        paths = paths + [start_score_page(page, base)]
    problems = []
    for path in paths:
        page.set_viewport_size(PHONES[0])
        page.goto(base + path)
        page.wait_for_load_state("networkidle")
        if path == "/workspace":  # with the library panel open on a reply with a file
            open_library(page, "Refund policy (30 days)")
        for direction in ("ltr", "rtl"):
            page.evaluate(f"document.documentElement.dir = '{direction}'")
            for viewport in PHONES:
                page.set_viewport_size(viewport)
                page.evaluate("scrollTo(0, 0)")  # back up to the header
                where = f"{path} ({direction}, {viewport['width']}px)"
                found = overflow(page)
                if found["scroll"] > found["inner"]:
                    problems.append(f"{where}: {found}")
                if username and not in_viewport(page, "header .signout button"):
                    problems.append(f"{where}: Sign out off screen "
                                    f"{page.locator('header .signout button').bounding_box()}")
    page.context.close()
    assert not problems, "\n".join(problems)


def test_workspace_editor_follows_the_suggestions_on_a_phone(site):
    base, browser, ids = site
    page = open_as(browser, base, "ana", {"width": 390, "height": 844})
    page.fill("#query", "Can I get a refund? I bought it last week")
    page.wait_for_selector(".suggestion")
    page.wait_for_load_state("networkidle")
    boxes = page.evaluate("""() => Object.fromEntries(
      ['#suggestions', '.suggestions-panel', '.editor-panel', '#editor'].map(s => {
        const r = document.querySelector(s).getBoundingClientRect();
        return [s, {top: r.top + scrollY, bottom: r.bottom + scrollY}]; }))""")
    print(json.dumps(boxes))
    # the list scrolls inside itself (at most about half the screen), the editor comes next
    assert boxes["#suggestions"]["bottom"] - boxes["#suggestions"]["top"] <= 0.6 * 844, boxes
    assert 0 <= boxes[".editor-panel"]["top"] - boxes[".suggestions-panel"]["bottom"] <= 40, boxes
    assert boxes["#editor"]["top"] - boxes["#suggestions"]["top"] <= 844, boxes
    # with the chosen suggestion on screen, "Go to the reply editor" is too, and leads there
    page.locator(".suggestion.selected").scroll_into_view_if_needed()
    jump = page.get_by_role("link", name="Go to the reply editor")
    assert in_viewport(page, ".to-editor")
    jump.click()
    assert in_viewport(page, "#editor")
    assert page.evaluate("document.activeElement.id") == "editor"  # ready to type
    page.context.close()


def test_jump_link_is_only_for_narrow_screens(site):
    base, browser, ids = site
    page = open_as(browser, base, "ana", {"width": 1400, "height": 900})
    assert not page.locator(".to-editor").is_visible()
    page.context.close()


FIRST_TABBABLE = """() => {
  const all = [...document.querySelectorAll(
    'a[href], button, input, select, textarea, [tabindex]')];
  const e = all.find(e => e.tabIndex >= 0 && !e.disabled && e.type !== 'hidden');
  return {text: e.textContent.trim(), href: e.getAttribute('href')};
}"""


def test_skip_link_is_the_first_focusable_element(site):
    base, browser, ids = site
    for username, paths in pages_of(ids).values():
        page = open_as(browser, base, username, {"width": 390, "height": 844})
        for path in paths:
            page.goto(base + path)
            assert page.evaluate(FIRST_TABBABLE) == {"text": "Skip to main content",
                                                     "href": "#main"}, path
        page.context.close()


@pytest.mark.parametrize("username, path", [("ana", "/workspace"), ("lee", "/library/"),
                                            ("root", "/admin/")])
def test_skip_link_moves_focus_into_main(site, username, path):
    base, browser, ids = site
    page = open_as(browser, base, username, {"width": 390, "height": 844})
    page.goto(base + path)
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent.trim()") == "Skip to main content"
    assert in_viewport(page, ".skip-link")  # hidden until focused, then on screen
    page.keyboard.press("Enter")
    assert page.evaluate("location.hash") == "#main"
    page.keyboard.press("Tab")
    # the next Tab lands inside <main>, past the menu and Sign out
    assert page.evaluate("!!document.activeElement.closest('main')"), path
    page.context.close()


def test_skip_link_is_off_screen_until_focused(site):
    base, browser, ids = site
    page = open_as(browser, base, "ana", {"width": 390, "height": 844})
    box = page.locator(".skip-link").bounding_box()
    assert box["y"] + box["height"] <= 0, box
    page.context.close()


def axe_violations(page) -> list[dict]:
    """axe-core's serious and critical violations on the page, less the KNOWN nodes."""
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("""async () => {
      const r = await axe.run(document, {resultTypes: ['violations']});
      return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
        nodes: v.nodes.map(n => ({target: n.target.join(' '), why: n.failureSummary}))}));
    }""")
    found = []
    for violation in result:
        if violation["impact"] not in ("serious", "critical"):
            continue
        excused = KNOWN.get(violation["id"], (None, ""))[0]
        nodes = [n for n in violation["nodes"]
                 if not (excused and n["target"].startswith(excused))]
        if nodes:
            found.append({**violation, "nodes": nodes[:3]})
    return found


@pytest.mark.parametrize("viewport", [{"width": 1280, "height": 900}, PHONES[1]],
                         ids=["desktop", "phone"])
@pytest.mark.parametrize("role", ["anonymous", "agent", "reviewer", "lead", "admin"])
def test_axe_finds_no_serious_violations(site, role, viewport):
    base, browser, ids = site
    username, paths = pages_of(ids)[role]
    page = open_as(browser, base, username, viewport, bypass_csp=True)
    if role == "reviewer":
        paths = paths + [start_score_page(page, base)]
    problems = {}
    for path in paths:
        page.goto(base + path)
        page.wait_for_load_state("networkidle")
        if path == "/workspace":
            for query in ("Can I get a refund? I bought it last week",
                          "رمز عبورم را فراموش کرده‌ام"):
                page.fill("#query", query)
                page.wait_for_selector(".suggestion")
                page.wait_for_load_state("networkidle")
                found = axe_violations(page)
                if found:
                    problems[f"{path} ({query[:10]})"] = found
            open_library(page, "Refund policy (30 days)")
            found = axe_violations(page)
            if found:
                problems[f"{path} (library)"] = found
            continue
        found = axe_violations(page)
        if found:
            problems[path] = found
    page.context.close()
    assert not problems, json.dumps(problems, indent=1, ensure_ascii=False)
