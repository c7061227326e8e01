"""Admin pages: users (add, roles, teams, password reset, deactivate/activate), API tokens
(create shown once, list, revoke) and the audit log (who, what, when; paged, filtered), on the
real app through the test client with CSRF on; exports and `privacy forget` are logged too.
Who may open the pages at all is in test_authz_matrix.py; one flow runs in real Chromium."""

from __future__ import annotations

import getpass
import json
import re
import shutil

import pytest
from click.testing import CliRunner
from webtest_helpers import PASSWORD, login

from cli.main import cli
from replykit import audit, users
from replykit.config import load_config
from replykit.home import Home
from storage import audit as audit_store
from suggest.conversations import import_conversations
from web import create_app
from web.security import secret_key


def entries(db, **filters) -> list[dict]:
    """Every audit entry, newest first, details decoded (the fixtures' users were added from
    the command line: five 'user.add' entries come first)."""
    rows = audit_store.entries(db, limit=10_000, **filters)
    return [row | {"details": json.loads(row["details"])} for row in rows]


def uid(db, username: str) -> int:
    return users.get_user(db, username)["id"]


def signs_in(app, username: str, password: str = PASSWORD) -> bool:
    return login(app.test_client(), username, password).status_code == 302


@pytest.fixture
def admin(as_user):
    """(client signed in as root, the admin; its CSRF token)."""
    return as_user("root")


def test_admin_adds_a_user_who_can_then_sign_in(app, db, admin):
    client, token = admin
    response = client.post("/admin/users/new", data={
        "csrf_token": token, "username": "nok", "name": "นก สายลม", "roles": ["agent", "reviewer"],
        "teams": "support, ฝ่ายขาย", "password": "long-enough-1"})
    assert response.status_code == 302
    nok = users.get_user(db, "nok")
    assert response.headers["Location"] == f"/admin/users/{nok['id']}"
    assert nok["roles"] == ["agent", "reviewer"] and nok["teams"] == ["support", "ฝ่ายขาย"]
    assert signs_in(app, "nok", "long-enough-1")
    entry = entries(db, action="user.add")[0]
    assert entry["actor_user_id"] == uid(db, "root") and entry["actor"] == "root"
    assert entry["target"] == f"user:{nok['id']}"
    assert entry["details"] == {"username": "nok", "roles": ["agent", "reviewer"],
                                "teams": ["support", "ฝ่ายขาย"]}
    assert "long-enough-1" not in json.dumps(entries(db))


def test_a_refused_new_user_keeps_the_form_and_adds_nobody(db, admin):
    client, token = admin
    response = client.post("/admin/users/new", data={
        "csrf_token": token, "username": "kim", "name": "Kim", "roles": ["lead"],
        "password": "short"})
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "at least 8 characters" in html and 'value="kim"' in html
    assert client.post("/admin/users/new", data={
        "csrf_token": token, "username": "bo", "roles": ["agent"],
        "password": "long-enough-1"}).status_code == 409
    assert "kim" not in [u["username"] for u in users.list_users(db)]
    assert entries(db, actor_user_id=uid(db, "root")) == []


def test_a_generated_password_is_shown_once_and_works(app, db, admin):
    client, token = admin
    response = client.post("/admin/users/new", data={
        "csrf_token": token, "username": "sara", "name": "سارا احمدی", "roles": ["agent"],
        "generate": "1"})
    assert response.status_code == 201
    password = re.search(r'id="shown-password">.*?<code>([^<]+)</code>',
                         response.get_data(as_text=True), re.S).group(1)
    assert len(password) >= 16 and signs_in(app, "sara", password)
    page = client.get(f"/admin/users/{uid(db, 'sara')}").get_data(as_text=True)
    assert password not in page and "shown-password" not in page
    assert password not in json.dumps(entries(db))
    # a reset with a generated password: shown once; the old one stops working
    response = client.post(f"/admin/users/{uid(db, 'sara')}/password",
                           data={"csrf_token": token, "generate": "1"})
    again = re.search(r'id="shown-password">.*?<code>([^<]+)</code>',
                      response.get_data(as_text=True), re.S).group(1)
    assert again != password
    assert not signs_in(app, "sara", password) and signs_in(app, "sara", again)


def test_a_typed_password_reset_ends_sessions_and_tokens(app, db, admin, as_user):
    client, token = admin
    bo_client, _ = as_user("bo")
    bo_token = users.create_token(db, "bo")["token"]
    response = client.post(f"/admin/users/{uid(db, 'bo')}/password",
                           data={"csrf_token": token, "password": "brand-new-pass"})
    assert response.status_code == 302
    assert bo_client.get("/reviews/mine").status_code == 302  # signed out
    assert app.test_client().get("/api/rubrics", headers={
        "Authorization": f"Bearer {bo_token}"}).status_code == 401
    assert not signs_in(app, "bo") and signs_in(app, "bo", "brand-new-pass")
    [entry] = entries(db, action="user.password")
    assert entry["details"] == {"username": "bo", "sessions_ended": 1, "tokens_revoked": 1}
    short = client.post(f"/admin/users/{uid(db, 'bo')}/password",
                        data={"csrf_token": token, "password": "short"})
    assert short.status_code == 400 and "at least 8" in short.get_data(as_text=True)


def test_role_change_applies_at_once_and_is_logged(db, admin, as_user):
    client, token = admin
    bo_client, _ = as_user("bo")
    assert bo_client.get("/reports/").status_code == 403
    response = client.post(f"/admin/users/{uid(db, 'bo')}/roles",
                           data={"csrf_token": token, "roles": ["agent", "reviewer"]})
    assert response.status_code == 302
    assert users.get_user(db, "bo")["roles"] == ["agent", "reviewer"]
    assert bo_client.get("/reviews/mine").status_code == 302  # the old session ended
    bo_client, _ = as_user("bo")
    assert bo_client.get("/reports/").status_code == 200
    [entry] = entries(db, action="user.roles")
    assert entry["details"]["from"] == ["agent"]
    assert entry["details"]["to"] == ["agent", "reviewer"]
    assert entry["details"]["sessions_ended"] == 1
    unknown = client.post(f"/admin/users/{uid(db, 'bo')}/roles",
                          data={"csrf_token": token, "roles": ["boss"]})
    assert unknown.status_code == 400 and "unknown role" in unknown.get_data(as_text=True)


def test_teams_change_is_logged(db, admin):
    client, token = admin
    response = client.post(f"/admin/users/{uid(db, 'ana')}/teams",
                           data={"csrf_token": token, "teams": "billing, تیم پشتیبانی"})
    assert response.status_code == 302
    assert users.get_user(db, "ana")["teams"] == ["billing", "تیم پشتیبانی"]
    [entry] = entries(db, action="user.teams")
    assert entry["details"] == {"username": "ana", "from": ["support", "billing"],
                                "to": ["billing", "تیم پشتیبانی"]}
    client.post(f"/admin/users/{uid(db, 'ana')}/teams", data={"csrf_token": token, "teams": ""})
    assert users.get_user(db, "ana")["teams"] == []
    log = client.get("/admin/audit?action=user.teams").get_data(as_text=True)
    assert "to: <bdi>none</bdi>" in log and "from: <bdi>billing, تیم پشتیبانی</bdi>" in log


def test_deactivate_and_activate(app, db, admin, as_user):
    client, token = admin
    bo_client, _ = as_user("bo")
    bo_id = uid(db, "bo")
    assert client.post(f"/admin/users/{bo_id}/deactivate",
                       data={"csrf_token": token}).status_code == 302
    assert bo_client.get("/reviews/mine").status_code == 302
    assert not signs_in(app, "bo")
    users_page = client.get("/admin/").get_data(as_text=True)
    assert re.search(r'data-username="bo">.*?<td>no</td>', users_page, re.S)
    assert client.post(f"/admin/users/{bo_id}/activate",
                       data={"csrf_token": token}).status_code == 302
    assert signs_in(app, "bo")
    assert [e["action"] for e in entries(db, actor_user_id=uid(db, "root"))] == [
        "user.activate", "user.deactivate"]


def test_an_admin_cannot_demote_or_deactivate_themselves(app, db, admin, as_user):
    client, token = admin
    root = uid(db, "root")
    users.add_user(db, "second", PASSWORD, "admin")  # another admin exists: still refused
    demote = client.post(f"/admin/users/{root}/roles",
                         data={"csrf_token": token, "roles": ["lead"]})
    assert demote.status_code == 409
    assert "your own admin role" in demote.get_data(as_text=True)
    off = client.post(f"/admin/users/{root}/deactivate", data={"csrf_token": token})
    assert off.status_code == 409 and "deactivate yourself" in off.get_data(as_text=True)
    assert users.get_user(db, "root")["roles"] == ["admin"]
    assert users.get_user(db, "root")["active"]
    # adding a role to oneself keeps admin; this session goes on with the new roles, the
    # admin's other sessions end
    other, _ = as_user("root")
    assert client.post(f"/admin/users/{root}/roles", data={
        "csrf_token": token, "roles": ["admin", "lead"]}).status_code == 302
    assert users.get_user(db, "root")["roles"] == ["admin", "lead"]
    page = client.get(f"/admin/users/{root}")
    assert page.status_code == 200 and "Roles changed" in page.get_data(as_text=True)
    assert "admin, lead" in client.get("/reviews/mine").get_data(as_text=True)
    assert other.get("/reviews/mine").status_code == 302
    assert entries(db, action="user.deactivate") == []


def test_resetting_ones_own_password_keeps_this_session(app, db, admin, as_user):
    client, token = admin
    other, _ = as_user("root")
    response = client.post(f"/admin/users/{uid(db, 'root')}/password",
                           data={"csrf_token": token, "password": "my-new-password"})
    assert response.status_code == 302
    assert client.get("/admin/").status_code == 200
    assert other.get("/admin/").status_code == 302  # the other session ended
    assert signs_in(app, "root", "my-new-password") and not signs_in(app, "root")


def test_the_last_active_admin_stays_for_every_caller(db):
    from replykit.errors import Conflict

    with pytest.raises(Conflict, match="last active admin"):
        users.set_roles(db, "root", "lead")
    with pytest.raises(Conflict, match="last active admin"):
        users.deactivate_user(db, "root")
    users.add_user(db, "second", PASSWORD, "admin")
    users.deactivate_user(db, "second")  # a deactivated admin does not count
    with pytest.raises(Conflict):
        users.deactivate_user(db, "root")
    users.activate_user(db, "second")
    users.set_roles(db, "root", "lead")  # now someone else can manage users
    assert users.get_user(db, "root")["roles"] == ["lead"]
    # the CLI path is logged as the command line
    assert entries(db, action="user.roles")[0]["actor"].startswith(audit.COMMAND_LINE)
    assert entries(db, action="user.roles")[0]["actor_user_id"] is None


def test_tokens_are_created_once_listed_and_revoked(app, db, admin):
    client, token = admin
    ana = uid(db, "ana")
    response = client.post(f"/admin/users/{ana}/tokens",
                           data={"csrf_token": token, "name": "ตัวช่วย script", "expires": "30d"})
    assert response.status_code == 201
    secret = re.search(r'id="shown-token">.*?<code>(rk_[^<]+)</code>',
                       response.get_data(as_text=True), re.S).group(1)
    bearer = {"Authorization": f"Bearer {secret}"}
    assert app.test_client().get("/api/rubrics", headers=bearer).status_code == 200
    page = client.get(f"/admin/users/{ana}").get_data(as_text=True)
    assert secret not in page and "ตัวช่วย script" in page
    [listed] = users.list_tokens(db, "ana")
    assert listed["expires_at"] and listed["revoked_at"] is None
    assert client.post(f"/admin/tokens/{listed['id']}/revoke",
                       data={"csrf_token": token}).status_code == 302
    assert app.test_client().get("/api/rubrics", headers=bearer).status_code == 401
    assert "revoked" in client.get(f"/admin/users/{ana}").get_data(as_text=True)
    again = client.post(f"/admin/tokens/{listed['id']}/revoke", data={"csrf_token": token})
    assert again.status_code == 409
    assert client.post("/admin/tokens/999999/revoke",
                       data={"csrf_token": token}).status_code == 404
    created, revoked = entries(db, action="token.create")[0], entries(db, action="token.revoke")
    assert created["details"]["token_id"] == listed["id"] and len(revoked) == 1
    assert secret not in json.dumps(entries(db))
    bad = client.post(f"/admin/users/{ana}/tokens",
                      data={"csrf_token": token, "expires": "yesterday"})
    assert bad.status_code == 400 and len(users.list_tokens(db, "ana")) == 1


def test_every_admin_form_needs_the_csrf_token(db, admin):
    client, _ = admin
    bo = uid(db, "bo")
    before = entries(db)
    for path, data in ((f"/admin/users/{bo}/roles", {"roles": ["lead"]}),
                       (f"/admin/users/{bo}/teams", {"teams": "x"}),
                       (f"/admin/users/{bo}/password", {"password": "long-enough-1"}),
                       (f"/admin/users/{bo}/deactivate", {}),
                       (f"/admin/users/{bo}/tokens", {"name": "t"}),
                       ("/admin/users/new", {"username": "eve", "roles": ["admin"],
                                             "password": "long-enough-1"})):
        response = client.post(path, data=data)
        assert response.status_code == 400, path
        assert "CSRF" in response.get_data(as_text=True), path
    assert users.get_user(db, "bo")["roles"] == ["agent"]
    assert users.get_user(db, "bo")["active"] and users.list_tokens(db, "bo") == []
    assert entries(db) == before


def test_names_in_any_script_are_escaped_and_take_their_direction(db, admin):
    client, token = admin
    users.add_user(db, "sara", PASSWORD, "agent", name="سارا احمدی")
    users.add_user(db, "somchai", PASSWORD, "agent", name="สมชาย ใจดี")
    users.add_user(db, "eve", PASSWORD, "agent", name="<script>alert(1)</script>")
    html = client.get("/admin/").get_data(as_text=True)
    assert '<td dir="auto" class="name">سارا احمدی</td>' in html
    assert '<td dir="auto" class="name">สมชาย ใจดี</td>' in html
    assert "<script>alert(1)" not in html and "&lt;script&gt;alert(1)" in html
    page = client.get(f"/admin/users/{uid(db, 'sara')}").get_data(as_text=True)
    assert '<span class="name" dir="auto">سارا احمدی</span>' in page


def test_the_admin_link_is_only_in_an_admins_menu(admin, as_user):
    client, _ = admin
    assert 'href="/admin/"' in client.get("/reviews/mine").get_data(as_text=True)
    lead, _ = as_user("lee")
    assert 'href="/admin/"' not in lead.get("/reviews/mine").get_data(as_text=True)
    assert lead.get("/admin/audit").status_code == 403


def test_the_audit_log_pages_and_filters(db, admin):
    client, token = admin
    root = {"id": uid(db, "root"), "username": "root"}
    for i in range(55):
        users.set_teams(db, "ana", f"team-{i}", actor=root)
    users.deactivate_user(db, "bo")  # from the command line
    first = client.get("/admin/audit").get_data(as_text=True)
    assert "Audit log (61)" in first and "Page 1 of 2" in first  # with the 5 users added
    assert first.count("<td>user.teams</td>") == 49 and "<td>user.deactivate</td>" in first
    assert 'rel="next" href="/admin/audit?page=2"' in first and 'rel="prev"' not in first
    second = client.get("/admin/audit?page=2").get_data(as_text=True)
    assert second.count("<td>user.teams</td>") == 6 and "team-0" in second
    assert second.count("<td>user.add</td>") == 5
    only_cli = client.get("/admin/audit?actor=cli").get_data(as_text=True)
    assert "Audit log (6)" in only_cli and "<td>user.deactivate</td>" in only_cli
    assert "<td>user.teams</td>" not in only_cli
    mine = client.get(f"/admin/audit?actor={root['id']}&action=user.teams&page=2")
    assert "Audit log (55)" in mine.get_data(as_text=True)
    assert "actor=" in mine.get_data(as_text=True).split('rel="prev"')[1][:120]
    assert "Audit log (0)" in client.get("/admin/audit?action=token.create").get_data(
        as_text=True)
    # out-of-range pages show the last one; a non-number is a 400
    assert "Page 2 of 2" in client.get("/admin/audit?page=999").get_data(as_text=True)
    assert client.get("/admin/audit?page=x").status_code == 400


def test_exports_are_logged(db, as_user):
    lead, _ = as_user("lee")
    assert lead.get("/library/export?format=csv").status_code == 200
    assert lead.get("/reports/tables/responses?format=csv&from=2026-08-01&to=2026-09-30"
                    ).status_code == 200
    assert lead.get("/reports/tables/responses").status_code == 200  # a page: not an export
    library_entry, = entries(db, action="library.export")
    report_entry, = entries(db, action="report.export")
    lee = uid(db, "lee")
    assert library_entry["actor_user_id"] == report_entry["actor_user_id"] == lee
    assert library_entry["details"]["format"] == "csv"
    assert report_entry["target"] == "report:responses"
    assert report_entry["details"]["rows"] >= 1
    assert report_entry["details"]["filters"]["from"] == "2026-08-01"


CONVERSATION = [
    {"conversation_id": "S1", "message_id": "m1", "role": "customer", "author": "Kai Berg",
     "channel": "email", "created_at": "2026-09-05T09:00:00Z", "subject": "Invoice",
     "body": "Where is my invoice?", "customer_email": "kai@example.com"},
    {"conversation_id": "S1", "message_id": "m2", "role": "agent", "author": "Ana Agent",
     "channel": "email", "created_at": "2026-09-05T09:10:00Z", "subject": "Invoice",
     "body": "Hi Kai, invoices are under Billing."},
]


def write_conversation(path):
    path.write_text("".join(json.dumps(m) + "\n" for m in CONVERSATION), encoding="utf-8")
    return path


def test_privacy_forget_is_logged_with_counts_and_a_keyed_hash(web_config, db):
    result = CliRunner().invoke(cli, ["--home", str(web_config.home), "privacy", "forget",
                                      "--customer", "kai@example.com", "--dry-run"])
    assert result.exit_code == 0, result.output
    assert entries(db, action="privacy.forget") == []  # a dry run changes nothing
    import_conversations(db, write_conversation(web_config.home.parent / "s1.jsonl"))
    result = CliRunner().invoke(cli, ["--home", str(web_config.home), "privacy", "forget",
                                      "--customer", "Kai@Example.com"])
    assert result.exit_code == 0, result.output
    [entry] = entries(db, action="privacy.forget")
    assert entry["actor"] == f"{audit.COMMAND_LINE} ({getpass.getuser()})"
    assert entry["target"] == "customer"
    assert entry["details"]["conversations"] == 1 and entry["details"]["messages"] == 2
    key = secret_key(web_config)
    assert entry["details"]["customer_hmac"] == audit.customer_digest("kai@example.com", key)
    text = json.dumps(entry, ensure_ascii=False).lower()
    assert "kai" not in text and "example.com" not in text


def test_the_audit_log_survives_a_reopened_home(web_config):
    """Migration 220 is recorded once; an existing home gets the table on opening."""
    home = Home(web_config)
    try:
        assert 220 in {r[0] for r in home.db.execute("SELECT version FROM schema_version")}
        assert "audit_log" in home.db.table_names()
    finally:
        home.close()


# ---------------------------------------------------------------- real Chromium

def test_admin_flow_in_chromium(tmp_path, web_home_template):
    from browser import chromium, serve, unavailable
    from browser import login as browser_login

    reason = unavailable()
    if reason:
        pytest.skip(reason)
    from playwright.sync_api import expect

    root = tmp_path / "home"
    shutil.copytree(web_home_template, root)
    config = load_config(root, multilingual_model="")
    with serve(create_app(config)) as base, chromium() as browser:
        page = browser_login(browser, base, "root", PASSWORD)
        violations = []
        page.on("console", lambda m: violations.append(m.text)
                if "Content Security Policy" in m.text else None)
        page.click("nav >> text=Admin")
        page.click("text=Add user")
        page.fill("input[name=username]", "sara")
        page.fill("input[name=name]", "سارا احمدی")
        page.check("input[name=roles][value=reviewer]")
        page.check("input[name=generate]")
        page.click("#new-user button[type=submit]")
        password = page.locator("#shown-password code").inner_text()
        assert len(password) >= 16
        name = page.locator("h1 .name")
        expect(name).to_have_text("سارا احمدی")
        assert name.evaluate("e => getComputedStyle(e).direction") == "rtl"
        # a token, shown once
        page.fill("#token-form input[name=name]", "nightly export")
        page.click("#token-form button[type=submit]")
        expect(page.locator("#shown-token code")).to_have_text(re.compile(r"^rk_"))
        expect(page.locator("#tokens tbody tr")).to_have_count(1)
        # deactivate asks first; dismissing keeps the user active
        page.once("dialog", lambda dialog: dialog.dismiss())
        page.click("#deactivate-form button")
        expect(page.locator("#deactivate-form")).to_be_visible()
        page.once("dialog", lambda dialog: dialog.accept())
        page.click("#deactivate-form button")
        expect(page.locator("#activate-form")).to_be_visible()
        expect(page.locator("#tokens")).to_contain_text("revoked")
        # the users list: the Persian name cell runs right to left
        page.click("text=All users")
        cell = page.locator("tr[data-username=sara] td.name")
        assert cell.evaluate("e => getComputedStyle(e).direction") == "rtl"
        expect(page.locator("tr[data-username=sara]")).to_contain_text("no")
        # the audit log names the admin, newest first
        page.click("text=Audit log")
        rows = page.locator("#audit tbody tr")
        expect(rows.nth(0)).to_contain_text("user.deactivate")
        expect(rows.nth(1)).to_contain_text("token.create")
        expect(rows.nth(2)).to_contain_text("user.add")
        expect(rows.nth(2)).to_contain_text("root")
        page.select_option("select[name=action]", "token.create")
        page.click("#audit-filters button")
        expect(rows).to_have_count(1)
        # the own page: the admin role cannot be unticked, deactivate is disabled
        page.goto(f"{base}/admin/")
        page.click("tr[data-username=root] a")
        assert page.locator("#roles-form input[value=admin][type=checkbox]").is_disabled()
        assert page.locator("#deactivate-form button").is_disabled()
        assert violations == []
