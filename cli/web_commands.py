"""CLI of the web area: `users` (add, list, set-role, set-teams, reset-password, deactivate,
activate, demo) and `tokens` (create, list, revoke)."""

from __future__ import annotations

import secrets

import click

from cli.common import echo_json, json_option, pass_home
from replykit import users
from storage.library import has_replies_by

DEMO_MARKER = "demo"
# Demo logins exist only in homes made by `replykit demo` (see `users demo`); their names are
# agents of the generated conversations, so their reviews and reports have data.
DEMO_USERS = (
    ("maya", "Maya Chen", "agent", "demo-agent", "support,billing"),
    ("sofia", "Sofia Rossi", "reviewer,agent", "demo-reviewer", "billing"),
    ("lee", "Lee Park", "lead", "demo-lead", "support,billing,technical"),
    ("admin", "Admin", "admin", "demo-admin", ""),
)


def _password(value: str | None, generate: bool) -> tuple[str, bool]:
    """The given password, a generated one, or one asked for (hidden, confirmed)."""
    if value:
        return value, False
    if generate:
        return secrets.token_urlsafe(12), True
    return click.prompt("Password", hide_input=True, confirmation_prompt=True), False


def _user_line(user: dict) -> str:
    team = f"  teams {', '.join(user['teams'])}" if user["teams"] else ""
    state = "" if user["active"] else "  (inactive)"
    return f"{user['username']}  {user['name']}  [{', '.join(user['roles'])}]{team}{state}"


@click.group("users")
def users_group():
    """Web UI users and their roles (agent, reviewer, lead, admin)."""


@users_group.command("add")
@click.argument("username")
@click.option("--role", "roles", required=True,
              help="Comma-separated roles: agent, reviewer, lead, admin.")
@click.option("--name", default="", help="Display name, as it appears in conversations "
              "and reviews (default: the username).")
@click.option("--team", "teams", multiple=True,
              help="A team the user belongs to; repeat it or give a comma list (default none: "
              "they see only what is not restricted to a team).")
@click.option("--password", envvar="REPLYKIT_NEW_PASSWORD",
              help="The password (default: asked for; env REPLYKIT_NEW_PASSWORD).")
@click.option("--generate-password", is_flag=True, help="Generate a password and print it once.")
@json_option
@pass_home
def users_add(home, username, roles, name, teams, password, generate_password, as_json):
    """Add a user. The first admin is created this way: `replykit users add alice --role admin`."""
    password, generated = _password(password, generate_password)
    user = users.add_user(home.db, username, password, roles, name=name, team=list(teams))
    if as_json:
        echo_json(dict(user, password=password) if generated else user)
        return
    click.echo(f"Added {_user_line(user)}")
    if generated:
        click.echo(f"Password (shown once): {password}")


@users_group.command("list")
@json_option
@pass_home
def users_list(home, as_json):
    """List users and their roles."""
    found = users.list_users(home.db)
    if as_json:
        echo_json(found)
        return
    for user in found:
        click.echo(_user_line(user))
    click.echo(f"{len(found)} user{'' if len(found) == 1 else 's'}")


@users_group.command("set-role")
@click.argument("username")
@click.argument("roles")
@pass_home
def users_set_role(home, username, roles):
    """Replace USERNAME's roles with ROLES (comma-separated); their sessions end."""
    click.echo(f"Now {_user_line(users.set_roles(home.db, username, roles))}")


@users_group.command("set-teams")
@click.argument("username")
@click.argument("teams", nargs=-1)
@pass_home
def users_set_teams(home, username, teams):
    """Replace USERNAME's teams with TEAMS (names or comma lists; none: no team)."""
    click.echo(f"Now {_user_line(users.set_teams(home.db, username, list(teams)))}")


@users_group.command("reset-password")
@click.argument("username")
@click.option("--password", envvar="REPLYKIT_NEW_PASSWORD", help="The new password.")
@click.option("--generate-password", is_flag=True, help="Generate one and print it once.")
@pass_home
def users_reset_password(home, username, password, generate_password):
    """Set a new password for USERNAME; their sessions end."""
    password, generated = _password(password, generate_password)
    users.reset_password(home.db, username, password)
    click.echo(f"Password of {username} changed; their sessions ended.")
    if generated:
        click.echo(f"Password (shown once): {password}")


@users_group.command("deactivate")
@click.argument("username")
@pass_home
def users_deactivate(home, username):
    """Deactivate USERNAME: sessions end, tokens are revoked, logins are refused.

    For someone who left: logins and new tokens stay refused until `users activate`."""
    user = users.deactivate_user(home.db, username)
    click.echo(f"Deactivated {user['username']}: {user['sessions_ended']} sessions ended, "
               f"{user['tokens_revoked']} tokens revoked; logins and new tokens refused.")


@users_group.command("activate")
@click.argument("username")
@pass_home
def users_activate(home, username):
    """Let a deactivated USERNAME sign in again (their old tokens stay revoked)."""
    user = users.activate_user(home.db, username)
    click.echo(f"Activated {user['username']} (their old tokens stay revoked).")


@users_group.command("demo")
@pass_home
def users_demo(home):
    """Create the demo logins in a demo home (made by `replykit demo`) and print them."""
    if not has_replies_by(home.db, "demo"):
        raise click.ClickException("not a demo home: create real users with 'replykit users add'")
    existing = {u["username"] for u in users.list_users(home.db)}
    click.echo("Demo logins (demo homes only; passwords as created):")
    for username, name, roles, password, team in DEMO_USERS:
        if username not in existing:
            users.add_user(home.db, username, password, roles, name=name, team=team)
        click.echo(f"  {username:<6} / {password:<14} {roles}")


@click.group("tokens")
def tokens_group():
    """API tokens for scripts (sent as 'Authorization: Bearer TOKEN')."""


@tokens_group.command("create")
@click.argument("username")
@click.option("--name", default="", help="What the token is for.")
@click.option("--expires", help="When it stops working: 30d or 12h from now, a date "
              "(2027-01-31, UTC) or 'never' (default: the token_lifetime_days setting; "
              "0 there means never).")
@json_option
@pass_home
def tokens_create(home, username, name, expires, as_json):
    """Create an API token for USERNAME and print it once (only its hash is kept)."""
    lifetime = home.config.token_lifetime_days
    if expires is None and lifetime > 0:
        expires = f"{lifetime}d"
    token = users.create_token(home.db, username, name, users.parse_expiry(expires or "never"))
    if as_json:
        echo_json(token)
        return
    until = f", expires {token['expires_at']}" if token["expires_at"] else ""
    click.echo(f"Token {token['id']} for {username}{until} (shown once, keep it secret):")
    click.echo(token["token"])


@tokens_group.command("list")
@click.option("--user", "username")
@json_option
@pass_home
def tokens_list(home, username, as_json):
    """List API tokens (never the tokens themselves)."""
    found = users.list_tokens(home.db, username)
    if as_json:
        echo_json(found)
        return
    for t in found:
        state = f"revoked {t['revoked_at']}" if t["revoked_at"] else "active"
        if not t["revoked_at"] and t["expires_at"]:
            state = f"expires {t['expires_at']}"
        click.echo(f"{t['id']}  {t['user']}  {t['name'] or '-'}  created {t['created_at']}  "
                   f"last used {t['last_used_at'] or '-'}  {state}")


@tokens_group.command("revoke")
@click.argument("token_id", type=int)
@pass_home
def tokens_revoke(home, token_id):
    """Revoke API token TOKEN_ID: it stops working at once."""
    users.revoke_token(home.db, token_id)
    click.echo(f"Revoked token {token_id}")
