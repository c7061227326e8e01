"""Helpers of the web tests: sign in through the login form and read CSRF tokens, like a
browser would."""

from __future__ import annotations

import re

PASSWORD = "correct-horse-9"

_CSRF = re.compile(r'name="csrf-token" content="([^"]+)"')


def csrf_token(client, path: str = "/login") -> str:
    """The CSRF token from a page's <meta name="csrf-token">."""
    html = client.get(path).get_data(as_text=True)
    return _CSRF.search(html).group(1)


def login(client, username: str, password: str = PASSWORD, follow: bool = False):
    """Sign in through the form (CSRF token taken from the login page)."""
    token = csrf_token(client)
    return client.post("/login", data={"username": username, "password": password,
                                       "csrf_token": token}, follow_redirects=follow)


def signed_in(client, username: str) -> str:
    """Sign in and return the CSRF token for API calls (X-CSRFToken) and forms."""
    response = login(client, username)
    assert response.status_code == 302, response.get_data(as_text=True)
    return csrf_token(client, "/reviews/mine")
