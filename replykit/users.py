"""Users of the web UI: usernames, display names, hashed passwords (werkzeug scrypt) and
roles; server-side sessions; per-user API tokens (sha256-hashed, shown once, revocable);
login attempts for rate limiting.

A user's `id` is who they are: drafting sessions and drafts sent for review are owned by
user id. The display `name` is a label (two users may share one); it is also how imported
conversations and reviews name agents. A user belongs to any number of teams (`user_teams`;
`users.team` keeps the first one for old readers)."""

from __future__ import annotations

import hashlib
import ipaddress
import json
import math
import re
import secrets
import time
from datetime import UTC, datetime, timedelta

import sqlite_utils
from werkzeug.security import check_password_hash, generate_password_hash

from replykit import audit
from replykit.errors import Conflict, InputError, NotFound
from storage import users as store
from storage.db import write_transaction

ROLES = ("agent", "reviewer", "lead", "admin")
MIN_PASSWORD = 8
TOKEN_PREFIX = "rk_"
LANGUAGES = ("en", "th", "fa")  # the web interface's languages (web/translations)
CALENDARS = ("gregorian", "buddhist", "persian")  # how the web interface writes dates
_USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,39}$")
# A hash that matches no password: checked when the user is unknown, so a login takes as long
# for a missing user as for a wrong password.
_DUMMY_HASH = generate_password_hash(secrets.token_hex(16))


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def parse_roles(roles) -> list[str]:
    """Roles from a list or 'agent,reviewer'; InputError for an unknown one."""
    if isinstance(roles, str):
        roles = roles.split(",")
    clean = []
    for role in roles:
        role = role.strip().lower()
        if role not in ROLES:
            raise InputError(f"unknown role {role!r} (roles: {', '.join(ROLES)})", "roles")
        if role not in clean:
            clean.append(role)
    if not clean:
        raise InputError(f"give at least one role ({', '.join(ROLES)})", "roles")
    return clean


def _check_password(password: str) -> None:
    if not isinstance(password, str) or len(password) < MIN_PASSWORD:
        raise InputError(f"must be at least {MIN_PASSWORD} characters", "password")


def parse_teams(teams) -> list[str]:
    """Teams from a list or 'support,billing' (a list item may hold a comma list too);
    InputError for a team name over 200 characters or with control characters."""
    if isinstance(teams, str):
        teams = [teams]
    clean = []
    for item in teams or ():
        for team in str(item).split(","):
            team = team.strip()
            if len(team) > 200 or any(ord(c) < 32 or ord(c) == 127 for c in team):
                raise InputError("must be at most 200 characters, no control characters",
                                 "team")
            if team and team not in clean:
                clean.append(team)
    return clean


def _public(row: dict, db: sqlite_utils.Database) -> dict:
    user = {k: row[k] for k in ("id", "username", "name", "team", "created_at")}
    user["teams"] = store.user_teams(db, row["id"])
    user["roles"] = json.loads(row["roles"])
    user["active"] = bool(row["active"])
    user["locale"] = row.get("locale")
    user["calendar"] = row.get("calendar") or "gregorian"
    return user


def _row(db: sqlite_utils.Database, username: str) -> dict:
    row = store.user_by_username(db, username)
    if row is None:
        raise NotFound(f"no user {username!r}")
    return row


def add_user(
    db: sqlite_utils.Database, username: str, password: str, roles, name: str = "",
    team="", actor: dict | None = None,
) -> dict:
    """Create a user; `name` defaults to the username (a label: two users may share it);
    `team` is one team, a comma list or a list of teams. `actor`: who does it, for the audit
    log (as in every change below; None: the command line)."""
    username = (username or "").strip().lower()
    if not _USERNAME.fullmatch(username):
        raise InputError("must be 1-40 lower-case letters, digits, '.', '_' or '-'", "username")
    _check_password(password)
    roles = parse_roles(roles)
    teams = parse_teams(team)
    name = (name or "").strip() or username
    if len(name) > 100:
        raise InputError("is longer than 100 characters", "name")
    stamp = now()
    password_hash = generate_password_hash(password)  # scrypt: slow, so before the write lock
    with write_transaction(db):
        if store.user_by_username(db, username) is not None:
            raise Conflict(f"user {username!r} exists")
        user_id = store.insert_user(db, {
            "username": username, "name": name, "password_hash": password_hash,
            "roles": json.dumps(roles), "team": teams[0] if teams else "", "active": 1,
            "created_at": stamp, "updated_at": stamp,
        })
        store.replace_user_teams(db, user_id, teams)
        audit.record(db, actor, "user.add", f"user:{user_id}",
                     {"username": username, "roles": roles, "teams": teams})
    return get_user(db, username)


def get_user(db: sqlite_utils.Database, username: str) -> dict:
    return _public(_row(db, username), db)


def get_user_by_id(db: sqlite_utils.Database, user_id: int) -> dict | None:
    row = store.active_user_by_id(db, user_id)
    return _public(row, db) if row else None


def list_users(db: sqlite_utils.Database) -> list[dict]:
    return [_public(row, db) for row in store.all_users(db)]


def users_with_role(db: sqlite_utils.Database, role: str) -> list[dict]:
    return [u for u in list_users(db) if role in u["roles"] and u["active"]]


def _end_access(db: sqlite_utils.Database, user_id: int) -> tuple[int, int]:
    """End the user's sessions and revoke their API tokens (inside the caller's write
    transaction); returns (sessions ended, tokens revoked)."""
    return store.delete_user_sessions(db, user_id), store.revoke_user_tokens(db, user_id, now())


def _keep_an_admin(db: sqlite_utils.Database, row: dict, what: str) -> None:
    """Conflict when `row` is the last active admin (inside the caller's write transaction):
    someone must be left to manage users from the web."""
    if not row["active"] or "admin" not in json.loads(row["roles"]):
        return
    others = [u for u in store.all_users(db) if u["id"] != row["id"] and u["active"]
              and "admin" in json.loads(u["roles"])]
    if not others:
        raise Conflict(f"{row['username']!r} is the last active admin: {what}")


def set_roles(
    db: sqlite_utils.Database, username: str, roles, actor: dict | None = None
) -> dict:
    """Replace a user's roles; their sessions end and their API tokens are revoked, so the
    change applies at once and no script keeps a role it was given for. The last active
    admin keeps the admin role (Conflict)."""
    roles = parse_roles(roles)
    with write_transaction(db):
        row = _row(db, username)
        before = json.loads(row["roles"])
        if "admin" not in roles:
            _keep_an_admin(db, row, "give the admin role to someone else first")
        store.update_user(db, row["id"], {"roles": json.dumps(roles), "updated_at": now()})
        sessions, tokens = _end_access(db, row["id"])
        audit.record(db, actor, "user.roles", f"user:{row['id']}", {
            "username": row["username"], "from": before, "to": roles,
            "sessions_ended": sessions, "tokens_revoked": tokens})
    return get_user(db, username)


def set_teams(
    db: sqlite_utils.Database, username: str, teams, actor: dict | None = None
) -> dict:
    """Replace a user's teams (none: they see only what is not restricted to a team)."""
    teams = parse_teams(teams)
    with write_transaction(db):
        row = _row(db, username)
        audit.record(db, actor, "user.teams", f"user:{row['id']}", {
            "username": row["username"], "from": store.user_teams(db, row["id"]), "to": teams})
        store.replace_user_teams(db, row["id"], teams)
        store.update_user(db, row["id"], {"team": teams[0] if teams else "", "updated_at": now()})
    return get_user(db, username)


def set_preferences(db: sqlite_utils.Database, user_id: int, locale: str, calendar: str) -> None:
    """A user's interface language (one of LANGUAGES, or '' for the browser's) and calendar
    (one of CALENDARS)."""
    if locale not in LANGUAGES + ("",):
        raise InputError(f"locale: {locale!r} is not one of {', '.join(LANGUAGES)}")
    if calendar not in CALENDARS:
        raise InputError(f"calendar: {calendar!r} is not one of {', '.join(CALENDARS)}")
    with write_transaction(db):
        store.update_user(db, user_id, {"locale": locale or None, "calendar": calendar})


def reset_password(
    db: sqlite_utils.Database, username: str, password: str, actor: dict | None = None
) -> None:
    """Set a new password, end the user's sessions and revoke their API tokens (whoever
    knew the old password may have made one)."""
    _check_password(password)
    password_hash = generate_password_hash(password)  # scrypt: slow, so before the write lock
    with write_transaction(db):
        row = _row(db, username)
        store.update_user(db, row["id"], {"password_hash": password_hash, "updated_at": now()})
        sessions, tokens = _end_access(db, row["id"])
        audit.record(db, actor, "user.password", f"user:{row['id']}", {
            "username": row["username"], "sessions_ended": sessions, "tokens_revoked": tokens})
        # the user's own earlier typos no longer slow them (attempts from any address)
        store.delete_user_throttle(db, row["username"])


def deactivate_user(
    db: sqlite_utils.Database, username: str, actor: dict | None = None
) -> dict:
    """Deactivate a user who left: their sessions end, their API tokens are revoked, and
    logins and new tokens are refused until `activate_user`. Returns the user with
    `sessions_ended` and `tokens_revoked` counts. The last active admin stays (Conflict)."""
    with write_transaction(db):
        row = _row(db, username)
        _keep_an_admin(db, row, "make another admin first")
        store.update_user(db, row["id"], {"active": 0, "updated_at": now()})
        sessions, tokens = _end_access(db, row["id"])
        audit.record(db, actor, "user.deactivate", f"user:{row['id']}", {
            "username": row["username"], "sessions_ended": sessions, "tokens_revoked": tokens})
    return get_user(db, username) | {"sessions_ended": sessions, "tokens_revoked": tokens}


def activate_user(
    db: sqlite_utils.Database, username: str, actor: dict | None = None
) -> dict:
    """Let a deactivated user sign in again (their old tokens stay revoked)."""
    with write_transaction(db):
        row = _row(db, username)
        store.update_user(db, row["id"], {"active": 1, "updated_at": now()})
        audit.record(db, actor, "user.activate", f"user:{row['id']}",
                     {"username": row["username"]})
    return get_user(db, username)


def authenticate(db: sqlite_utils.Database, username: str, password: str) -> dict | None:
    """The active user with this username and password, or None."""
    row = store.user_by_username(db, (username or "").strip().lower(), active_only=True)
    if row is None:
        check_password_hash(_DUMMY_HASH, password or "")
        return None
    if not check_password_hash(row["password_hash"], password or ""):
        return None
    return _public(row, db)


# ---------------------------------------------------------------- sessions


def start_session(db: sqlite_utils.Database, user_id: int) -> str:
    """A new session id for the user (only its hash is stored)."""
    sid = secrets.token_urlsafe(32)
    stamp = now()
    with write_transaction(db):
        store.insert_session(db, {"id_hash": sha256(sid), "user_id": user_id,
                                  "created_at": stamp, "last_seen_at": stamp})
    return sid


def session_user(
    db: sqlite_utils.Database, sid: str, idle: timedelta, lifetime: timedelta
) -> dict | None:
    """The user of a live session, or None (and the session ends) once it has gone `idle`
    without a request or was started more than `lifetime` ago."""
    session = store.session_by_hash(db, sha256(sid))
    if session is None:
        return None
    clock = datetime.now(UTC)
    seen = datetime.fromisoformat(session["last_seen_at"])
    started = datetime.fromisoformat(session["created_at"])
    if clock - seen > idle or clock - started > lifetime:
        end_session(db, sid)
        return None
    if clock - seen > timedelta(minutes=1):
        with write_transaction(db):
            store.touch_session(db, sha256(sid), now())
    return get_user_by_id(db, session["user_id"])


def end_session(db: sqlite_utils.Database, sid: str) -> None:
    with write_transaction(db):
        store.delete_session(db, sha256(sid))


# ---------------------------------------------------------------- API tokens


_DURATION = re.compile(r"([1-9][0-9]{0,5})([dh])")


def parse_expiry(text: str, clock: datetime | None = None) -> datetime | None:
    """When a token given `--expires TEXT` expires: '30d' / '12h' from now, a date
    ('2027-01-31': its start, UTC) or an ISO time, or None for 'never'. InputError for
    anything else or a time not in the future."""
    clock = clock or datetime.now(UTC)
    text = (text or "").strip()
    if text.lower() == "never":
        return None
    duration = _DURATION.fullmatch(text.lower())
    if duration:
        unit = "days" if duration[2] == "d" else "hours"
        return clock + timedelta(**{unit: int(duration[1])})
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise InputError(f"{text!r} is not a duration (30d, 12h), a date (2027-01-31) or "
                         "'never'", "--expires") from None
    try:
        when = when.astimezone(UTC) if when.tzinfo else when.replace(tzinfo=UTC)
    except OverflowError:
        raise InputError(f"{text!r} is out of range", "--expires") from None
    if when <= clock:
        raise InputError(f"{text!r} is not in the future", "--expires")
    return when


def create_token(
    db: sqlite_utils.Database, username: str, name: str = "",
    expires_at: datetime | None = None, actor: dict | None = None,
) -> dict:
    """A new API token for an active user: {"id", "name", "user", "token", "expires_at"}
    (None: no expiry); the token itself is not stored."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    expires = expires_at.astimezone(UTC).isoformat() if expires_at else None
    with write_transaction(db):
        row = _row(db, username)
        if not row["active"]:
            raise Conflict(f"user {row['username']!r} is deactivated: no new tokens")
        token_id = store.insert_token(db, {
            "user_id": row["id"], "name": name or "", "token_hash": sha256(token),
            "created_at": now(), "expires_at": expires,
        })
        audit.record(db, actor, "token.create", f"user:{row['id']}", {
            "username": row["username"], "token_id": token_id, "name": name or "",
            "expires_at": expires})
    return {"id": token_id, "name": name or "", "user": row["username"], "token": token,
            "expires_at": expires}


def list_tokens(db: sqlite_utils.Database, username: str | None = None) -> list[dict]:
    return store.token_list(db, username)


def revoke_token(
    db: sqlite_utils.Database, token_id: int, actor: dict | None = None
) -> None:
    with write_transaction(db):
        row = store.token_by_id(db, token_id)
        if row is None:
            raise NotFound(f"no API token {token_id}")
        if row["revoked_at"]:
            raise Conflict(f"API token {token_id} is already revoked")
        store.update_token(db, token_id, {"revoked_at": now()})
        audit.record(db, actor, "token.revoke", f"user:{row['user_id']}",
                     {"token_id": token_id, "name": row["name"]})


def token_user(db: sqlite_utils.Database, token: str) -> dict | None:
    """The active user owning this unrevoked, unexpired token, or None."""
    row = store.live_token_by_hash(db, sha256(token or ""))
    if row is None:
        return None
    expires = row["expires_at"]
    if expires and datetime.fromisoformat(expires) <= datetime.now(UTC):
        return None
    stamp = now()
    # record use at most once a minute: a write per API call would serialise busy scripts
    if (row["last_used_at"] or "")[:16] != stamp[:16]:
        with write_transaction(db):
            store.update_token(db, row["id"], {"last_used_at": stamp})
    return get_user_by_id(db, row["user_id"])


# ---------------------------------------------------------------- login throttling
#
# Failures are counted per (username, address) and per address, never per username alone: an
# attacker elsewhere can slow only their own address, so the real user still signs in from
# theirs. Each count earns a delay that doubles per failure up to a cap (no hard lock). The
# attempt is counted *before* its password check, in one write transaction (BEGIN IMMEDIATE)
# that first checks the delays: parallel attempts queue on the lock and see each other's
# counts, so no more than the free ones reach the password check. A success gives its count
# back (and clears the username's failures at that address).

FREE_FAILURES_PER_USER = 5  # per username at one address, before the first delay
FREE_FAILURES_PER_ADDRESS = 20  # per address over all usernames (one office behind a NAT)
BACKOFF_BASE = timedelta(seconds=30)
BACKOFF_CAP = timedelta(minutes=15)
FORGET_AFTER = timedelta(hours=24)  # a count with no failure for this long starts again


def backoff_delay(failures: int, free: int) -> timedelta:
    """The wait after `failures` counted failures: none for the first `free`, then
    BACKOFF_BASE doubling per failure, at most BACKOFF_CAP."""
    if failures < free:
        return timedelta(0)
    doublings = min(failures - free, 32)  # 2**32 base periods is far past any cap
    return min(BACKOFF_CAP, BACKOFF_BASE * 2**doublings)


def _network(address: str) -> str:
    """The address as counted: an IPv6 address's /64 network (one client owns all of it),
    an IPv4 address as is."""
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return address
    if parsed.version == 4:
        return str(parsed)
    if parsed.ipv4_mapped:
        return str(parsed.ipv4_mapped)
    return str(ipaddress.ip_network(f"{parsed}/64", strict=False))


def _throttle_keys(username: str, address: str, device: str | None) -> tuple:
    """(scope, username, address, free failures) of the counts an attempt goes to. A
    browser where this username signed in before counts apart, per device, and not against
    its address: an attacker sharing the address cannot slow it."""
    address = _network(address)
    if device:
        return (("user", username, f"device:{device}", FREE_FAILURES_PER_USER),)
    return (("user", username, address, FREE_FAILURES_PER_USER),
            ("address", "", address, FREE_FAILURES_PER_ADDRESS))


def _reserve_attempt(db: sqlite_utils.Database, keys: tuple) -> int:
    """Seconds to wait before this attempt may check a password (0: go ahead, and the
    attempt is now counted as a failure until it succeeds)."""
    clock = time.time()
    with write_transaction(db):
        store.forget_throttle_before(db, clock - FORGET_AFTER.total_seconds())
        counts, wait = [], 0.0
        for scope, user, addr, free in keys:
            failures, last_at = store.throttle_count(db, scope, user, addr) or (0, clock)
            if clock - last_at > FORGET_AFTER.total_seconds():
                failures = 0
            wait = max(wait, last_at + backoff_delay(failures, free).total_seconds() - clock)
            counts.append((scope, user, addr, failures + 1))
        if wait > 0:
            return math.ceil(wait)
        store.save_throttle_counts(db, [(*key, clock) for key in counts])
    return 0


def _settle_attempt(
    db: sqlite_utils.Database, keys: tuple, username: str, address: str, ok: bool
) -> None:
    """Log a password check (login_attempts); a success clears the username's failures at
    this address (or device) and gives back the address's count for this attempt."""
    with write_transaction(db):
        for scope, user, addr, _free in keys if ok else ():
            if scope == "user":
                store.delete_user_throttle(db, user, addr)
            else:
                store.release_address_failure(db, addr)
        store.insert_login_attempt(db, {"username": username, "ip": address, "ok": int(ok),
                                        "at": now()})


def try_login(
    db: sqlite_utils.Database, username: str, password: str, address: str,
    device: str | None = None,
) -> tuple[dict | None, int]:
    """(user, 0) for the right password; (None, 0) for a wrong one or an unknown user;
    (None, seconds) when this username at this address, or this address, must wait first
    (the password is then not checked). `device`: the id of the caller's device cookie, when
    it was issued to this username (see web.auth)."""
    username = (username or "").strip().lower()[:100]
    keys = _throttle_keys(username, address, device)
    wait = _reserve_attempt(db, keys)
    if wait:
        return None, wait
    user = authenticate(db, username, password)
    _settle_attempt(db, keys, username, address, user is not None)
    return user, 0
