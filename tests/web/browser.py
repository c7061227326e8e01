"""Real headless Chromium (Debian's `chromium`) driven by Playwright against the app served by
waitress on a free local port. Used by the browser tests and the screenshots command."""

from __future__ import annotations

import contextlib
import os
import shutil
import threading

CHROMIUM = os.environ.get("REPLYKIT_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def unavailable() -> str | None:
    """Why browser tests cannot run here, or None."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is not installed (pip install -r requirements.txt)"
    if not os.path.exists(CHROMIUM):
        return ("Debian's chromium is not installed: run `make chromium` "
                "(apt-get install chromium fonts-noto-core fonts-thai-tlwg)")
    return None


@contextlib.contextmanager
def serve(app):
    """Serve `app` with waitress on 127.0.0.1 and a free port; yields the base URL."""
    import waitress

    server = waitress.create_server(app, host="127.0.0.1", port=0, threads=4)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.effective_port}"
    finally:
        server.close()
        thread.join(timeout=5)


@contextlib.contextmanager
def chromium():
    """A headless Chromium browser."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            yield browser
        finally:
            browser.close()


def login(browser, base: str, username: str, password: str,
          viewport: dict | None = None, bypass_csp: bool = False):
    """A new page (own cookies; 1400x900 unless `viewport`) signed in as `username`."""
    context = browser.new_context(viewport=viewport or {"width": 1400, "height": 900},
                                  bypass_csp=bypass_csp)
    page = context.new_page()
    page.goto(f"{base}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_load_state("networkidle")
    return page
