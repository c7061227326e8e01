"""Accounts, sessions and logins under attack (issue 11): the login throttle (atomic, per
user and address, exponential backoff that an attacker cannot turn into a lock-out), the
`next` redirect after login, token expiry and revocation, deactivated users and the absolute
session lifetime."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st
from webtest_helpers import PASSWORD, csrf_token, login

from cli.main import cli as replykit_cli
from replykit import users
from replykit.errors import Conflict

ATTACKER, OFFICE = "203.0.113.9", "198.51.100.7"


def client_at(app, address: str):
    """A test client whose requests come from `address`."""
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def password_checks(db) -> int:
    """Real password checks so far (each one is logged in login_attempts)."""
    return db.execute("SELECT COUNT(*) FROM login_attempts").fetchone()[0]


def sign_out(client) -> None:
    token = csrf_token(client, "/workspace")
    assert client.post("/logout", data={"csrf_token": token}).status_code == 302


# ---------------------------------------------------------------- login throttle


def test_parallel_wrong_logins_get_at_most_the_free_password_checks(app, db):
    """32 simultaneous wrong logins for one user from one address (each thread its own
    client, so its own database connection) reach the password check at most
    FREE_FAILURES_PER_USER times; the rest are answered 429 with a Retry-After."""
    clients = [client_at(app, ATTACKER) for _ in range(32)]
    tokens = [csrf_token(c) for c in clients]
    start, statuses = threading.Barrier(len(clients)), []

    def attempt(client, token):
        start.wait()
        response = client.post("/login", data={"username": "root", "password": "guess-1234",
                                               "csrf_token": token})
        statuses.append((response.status_code, response.headers.get("Retry-After")))

    pairs = zip(clients, tokens, strict=True)
    threads = [threading.Thread(target=attempt, args=pair) for pair in pairs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    checks = password_checks(db)
    assert 1 <= checks <= users.FREE_FAILURES_PER_USER
    assert sorted(s for s, _ in statuses) == [401] * checks + [429] * (32 - checks)
    assert all(int(after) > 0 for s, after in statuses if s == 429)


def test_an_attacker_elsewhere_does_not_lock_the_real_user_out(app, db):
    attacker = client_at(app, ATTACKER)
    for _ in range(users.FREE_FAILURES_PER_USER + 3):
        assert login(attacker, "root", "guess-1234").status_code in (401, 429)
    refused = login(attacker, "root")  # even the right password waits, from there
    assert refused.status_code == 429 and "Too many failed logins" in refused.get_data(True)
    assert login(client_at(app, OFFICE), "root").status_code == 302


def test_a_known_device_signs_in_beside_an_attacker_at_the_same_address(app):
    """Behind one NAT (or a proxy without `proxies` set) the attacker and the real user share
    an address; the browser where the user signed in before carries a device cookie (signed,
    bound to the username) whose attempts are counted apart."""
    office = client_at(app, OFFICE)
    assert login(office, "root").status_code == 302
    assert office.get_cookie("replykit_device") is not None
    sign_out(office)
    attacker = client_at(app, OFFICE)
    for _ in range(users.FREE_FAILURES_PER_USER + 2):
        login(attacker, "root", "guess-1234")
    assert login(attacker, "root").status_code == 429
    assert login(office, "root").status_code == 302  # the known device is not slowed
    lee_browser = client_at(app, OFFICE)
    assert login(lee_browser, "lee").status_code == 302  # a device cookie for lee...
    sign_out(lee_browser)
    assert login(lee_browser, "root").status_code == 429  # ...does not help with root
    forged = client_at(app, OFFICE)
    forged.set_cookie("replykit_device", "root.forged.value")
    assert login(forged, "root").status_code == 429


def test_one_address_trying_many_usernames_is_slowed(app, db):
    sprayer = client_at(app, ATTACKER)
    for n in range(users.FREE_FAILURES_PER_ADDRESS):
        assert login(sprayer, f"user{n}", "guess-1234").status_code == 401
    checks = password_checks(db)
    blocked = login(sprayer, "lee")  # a new username, even with its right password
    assert blocked.status_code == 429 and int(blocked.headers["Retry-After"]) > 0
    assert password_checks(db) == checks
    assert login(client_at(app, OFFICE), "lee").status_code == 302


def test_the_delay_doubles_per_failure_up_to_the_cap(db):
    for _ in range(users.FREE_FAILURES_PER_USER):
        assert users.try_login(db, "ana", "guess-1234", ATTACKER) == (None, 0)
    waits = []
    for _ in range(12):
        user, wait = users.try_login(db, "ana", PASSWORD, ATTACKER)
        assert user is None and wait > 0
        waits.append(wait)
        # let the wait pass (the clock is the last attempt's time), then fail once more
        db.execute("UPDATE login_throttle SET last_at = last_at - ?", [wait + 1])
        db.conn.commit()
        assert users.try_login(db, "ana", "guess-1234", ATTACKER) == (None, 0)
    base = users.BACKOFF_BASE.total_seconds()
    cap = users.BACKOFF_CAP.total_seconds()
    assert waits[:3] == [base, 2 * base, 4 * base]
    assert waits[-1] == cap
    assert all(b == min(cap, 2 * a) for a, b in zip(waits, waits[1:], strict=False))


def test_a_success_resets_the_users_count_at_that_address(db):
    for _ in range(users.FREE_FAILURES_PER_USER - 1):
        users.try_login(db, "bo", "guess-1234", OFFICE)
    user, wait = users.try_login(db, "bo", PASSWORD, OFFICE)
    assert user["username"] == "bo" and wait == 0
    for _ in range(users.FREE_FAILURES_PER_USER - 1):  # a fresh allowance of typos
        assert users.try_login(db, "bo", "guess-1234", OFFICE) == (None, 0)


def test_case_and_spaces_in_the_username_do_not_dodge_its_count(db):
    """ANA, ' ana', 'Ana\t' are one username to the throttle, as they are to the login."""
    variants = st.builds(lambda flips, pad: pad[0] + "".join(
        c.upper() if f else c for c, f in zip("ana", flips, strict=True)) + pad[1],
        st.tuples(st.booleans(), st.booleans(), st.booleans()),
        st.tuples(st.sampled_from(["", " ", "\t"]), st.sampled_from(["", " ", "\n"])))

    @settings(max_examples=5, deadline=None)
    @given(st.lists(variants, min_size=users.FREE_FAILURES_PER_USER + 1,
                    max_size=users.FREE_FAILURES_PER_USER + 1))
    def check(names):
        db.execute("DELETE FROM login_throttle")
        db.conn.commit()
        for name in names[:-1]:
            assert users.try_login(db, name, "guess-1234", ATTACKER) == (None, 0)
        assert users.try_login(db, names[-1], PASSWORD, ATTACKER)[1] > 0

    check()


def test_a_password_reset_lifts_the_users_delays(app, db):
    for _ in range(users.FREE_FAILURES_PER_USER):
        users.try_login(db, "ana", "guess-1234", OFFICE)
    assert users.try_login(db, "ana", PASSWORD, OFFICE)[1] > 0
    users.reset_password(db, "ana", "a-new-password")
    user, wait = users.try_login(db, "ana", "a-new-password", OFFICE)
    assert wait == 0 and user["username"] == "ana"


def test_ipv6_addresses_count_per_64_bit_network(app, db):
    """An IPv6 client owns a whole /64: stepping through its addresses is one address."""
    for n in range(users.FREE_FAILURES_PER_ADDRESS):
        assert users.try_login(db, f"user{n}", "guess-1234", f"2001:db8:1:2::{n + 1:x}") == (
            None, 0)
    assert users.try_login(db, "lee", PASSWORD, "2001:db8:1:2:ffff::9")[1] > 0
    assert users.try_login(db, "lee", PASSWORD, "2001:db8:1:3::1")[0]["username"] == "lee"


@given(st.integers(0, 200), st.integers(0, 40))
def test_backoff_delay_is_monotonic_and_capped(failures, free):
    delay = users.backoff_delay(failures, free)
    assert delay <= users.BACKOFF_CAP
    assert (delay.total_seconds() == 0) == (failures < free)
    assert users.backoff_delay(failures + 1, free) >= delay


# ---------------------------------------------------------------- redirect after login

HOSTILE = st.lists(st.sampled_from([
    "/", "//", "///", "\\", "/\\", "\\/", "\t", "\n", "\r", " ", "\x00", "\x0b", "\x1f", "\x7f",
    "%09", "%0a", "%0D", "%00", "%20", "%2f", "%2F", "%5c", "%252f", "http:", "https:",
    "javascript:", "data:", "evil.example", "@", ":", "?", "#", ".", "..", "x", "\u2215",
    "\uff0f", "\uff3c", "\u2044", "\u3000", "\u200b", "\u0085", "\u2028", "ลืม", "فا",
]), max_size=8).map("".join) | st.text(max_size=20)


def browser_view(location: str) -> str:
    """A Location the way a browser's URL parser reads it: leading/trailing C0 controls and
    spaces stripped, tabs and newlines removed anywhere, backslashes read as slashes."""
    cleaned = location.strip("".join(map(chr, range(0x21))))
    for char in "\t\n\r":
        cleaned = cleaned.replace(char, "")
    return cleaned.replace("\\", "/")


def assert_same_site(location: str) -> None:
    for seen in (location, browser_view(location)):
        parts = urlsplit(seen)
        assert not parts.scheme and not parts.netloc, (location, seen)
        assert seen.startswith("/") and not seen.startswith("//"), (location, seen)


def test_next_is_always_a_path_on_this_site(as_user):
    client, _ = as_user("ana")

    @settings(max_examples=300, deadline=None)
    @given(HOSTILE)
    def check(target):
        response = client.get("/login", query_string={"next": target})
        assert response.status_code == 302
        assert_same_site(response.headers["Location"])

    check()


def test_the_reported_open_redirect_is_closed(as_user, client):
    signed_in, _ = as_user("ana")
    for raw in ("/%09/evil.example/x", "/%0a/evil.example", "/%5c/evil.example", "%2f%2fevil"):
        response = signed_in.get(f"/login?next={raw}")
        assert response.headers["Location"] == "/", raw
    token = csrf_token(client)
    response = client.post("/login", data={"username": "ana", "password": PASSWORD,
                                           "csrf_token": token, "next": "/\t/evil.example/x"})
    assert response.status_code == 302 and response.headers["Location"] == "/"


def test_a_local_next_with_query_and_thai_text_is_kept(as_user):
    client, _ = as_user("ana")
    for target in ("/library/?q=ลืม&tag=billing", "/library/?q=%E0%B8%A5%E0%B8%B7%E0%B8%A1",
                   "/library/?q=refund%20policy", "/library/?q=a%2F%2Fb#x"):
        response = client.get("/login", query_string={"next": target})
        location = urlsplit(response.headers["Location"])
        assert location.path == "/library/" and location.query, target


# ---------------------------------------------------------------- tokens, users, sessions


def api_status(client, token: str) -> int:
    return client.post("/api/suggest", json={"query": "refund"},
                       headers={"Authorization": f"Bearer {token}"}).status_code


def test_password_reset_and_role_change_revoke_tokens(client, db):
    first = users.create_token(db, "ana", "laptop")["token"]
    users.reset_password(db, "ana", "another-password")
    assert api_status(client, first) == 401
    second = users.create_token(db, "ana", "laptop")["token"]
    assert api_status(client, second) == 200
    users.set_roles(db, "ana", "agent,reviewer")
    assert api_status(client, second) == 401
    assert all(t["revoked_at"] for t in users.list_tokens(db, "ana"))


def test_an_expired_token_stops_working(client, db):
    soon = users.create_token(db, "ana", expires_at=datetime.now(UTC) + timedelta(days=1))
    assert api_status(client, soon["token"]) == 200
    db.execute("UPDATE api_tokens SET expires_at = ? WHERE id = ?",
               [(datetime.now(UTC) - timedelta(seconds=1)).isoformat(), soon["id"]])
    db.conn.commit()
    response = client.post("/api/suggest", json={"query": "refund"},
                           headers={"Authorization": f"Bearer {soon['token']}"})
    assert response.status_code == 401
    assert response.get_json() == {"error": "invalid, expired or revoked API token"}


def cli(home_dir, *args):
    return CliRunner().invoke(replykit_cli, ["--home", str(home_dir), *args])


def test_cli_tokens_expire_and_users_deactivate(tmp_path):
    home = tmp_path / "home"
    assert cli(home, "users", "add", "kim", "--role", "agent", "--password",
               PASSWORD).exit_code == 0
    plain = json.loads(cli(home, "tokens", "create", "kim", "--json").output)
    assert plain["expires_at"] is None  # no token_lifetime_days: no expiry, as before
    dated = json.loads(cli(home, "tokens", "create", "kim", "--expires", "2099-01-31",
                           "--json").output)
    assert dated["expires_at"] == "2099-01-31T00:00:00+00:00"
    assert cli(home, "tokens", "create", "kim", "--expires", "soon").output == (
        "Error: --expires: 'soon' is not a duration (30d, 12h), a date (2027-01-31) "
        "or 'never'\n")
    (home / "config.toml").write_text("token_lifetime_days = 30\n", encoding="utf-8")
    later = json.loads(cli(home, "tokens", "create", "kim", "--json").output)
    left = datetime.fromisoformat(later["expires_at"]) - datetime.now(UTC)
    assert timedelta(days=29) < left <= timedelta(days=30)
    forever = json.loads(cli(home, "tokens", "create", "kim", "--expires", "never",
                             "--json").output)
    assert forever["expires_at"] is None
    assert "expires 2099-01-31" in cli(home, "tokens", "list").output
    result = cli(home, "users", "deactivate", "kim")
    assert result.exit_code == 0 and result.output == (
        "Deactivated kim: 0 sessions ended, 4 tokens revoked; logins and new tokens refused.\n")
    assert "(inactive)" in cli(home, "users", "list").output
    assert "deactivated" in cli(home, "tokens", "create", "kim").output
    assert cli(home, "users", "activate", "kim").output == (
        "Activated kim (their old tokens stay revoked).\n")


def test_parse_expiry():
    now = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
    assert users.parse_expiry("30d", now) == now + timedelta(days=30)
    assert users.parse_expiry("12h", now) == now + timedelta(hours=12)
    assert users.parse_expiry("2027-01-31", now) == datetime(2027, 1, 31, tzinfo=UTC)
    assert users.parse_expiry("never", now) is None
    for bad in ("0d", "yesterday", "2026-11-01", "-3d", "9999-12-31T23:59:59-14:00"):
        try:
            users.parse_expiry(bad, now)
        except users.InputError:
            continue
        raise AssertionError(bad)


def test_deactivate_ends_sessions_and_tokens_and_refuses_logins(app, db):
    browser = app.test_client()
    assert login(browser, "bo").status_code == 302
    token = users.create_token(db, "bo")["token"]
    assert api_status(app.test_client(), token) == 200
    user = users.deactivate_user(db, "bo")
    assert user["active"] is False
    assert browser.get("/workspace").status_code == 302
    assert api_status(app.test_client(), token) == 401
    assert login(app.test_client(), "bo").status_code == 401
    try:
        users.create_token(db, "bo")
    except Conflict as exc:
        assert "deactivated" in str(exc)
    else:
        raise AssertionError("a deactivated user got a token")
    assert users.activate_user(db, "bo")["active"] is True
    assert login(app.test_client(), "bo").status_code == 302
    assert api_status(app.test_client(), token) == 401  # old tokens stay revoked


def test_sessions_end_after_their_absolute_lifetime(app, db):
    client = app.test_client()
    assert login(client, "ana").status_code == 302
    lifetime = app.extensions["replykit.config"].session_lifetime_hours
    # signed in just under the lifetime ago and busy ever since: still in
    db.execute("UPDATE web_sessions SET created_at = ?", [
        (datetime.now(UTC) - timedelta(hours=lifetime, minutes=-5)).isoformat()])
    db.conn.commit()
    assert client.get("/workspace").status_code == 200
    db.execute("UPDATE web_sessions SET created_at = ?", [
        (datetime.now(UTC) - timedelta(hours=lifetime, minutes=1)).isoformat()])
    db.conn.commit()
    assert client.get("/workspace").status_code == 302
    assert db.execute("SELECT COUNT(*) FROM web_sessions").fetchone()[0] == 0


def test_sessions_end_after_the_idle_time(app, db):
    client = app.test_client()
    assert login(client, "ana").status_code == 302
    idle = app.extensions["replykit.config"].session_idle_minutes
    db.execute("UPDATE web_sessions SET last_seen_at = ?", [
        (datetime.now(UTC) - timedelta(minutes=idle + 1)).isoformat()])
    db.conn.commit()
    assert client.get("/workspace").status_code == 302
