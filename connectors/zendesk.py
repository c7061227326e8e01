"""Zendesk Support as a sync source, through its REST API (`/api/v2/`, an agent's e-mail and
API token as basic auth `EMAIL/token:TOKEN`, or an OAuth access token as a bearer token).

Pull: the cursor-based incremental ticket export, `GET incremental/tickets/cursor.json`
(`start_time` the first time, then `cursor`), with users, groups and metric sets side-loaded;
each export page is one batch whose cursor is the page's `after_cursor`, stored with it, and
the pull stops at `end_of_stream` (the next sync goes on from there). For each ticket its
comments are read (`GET tickets/{id}/comments`, cursor pagination).

Mapping: public comments are messages (private notes are left out); a comment by the
requester or another end-user is the customer's, one by an agent or admin the agent's. The
ticket's channel (`via.channel`), subject, status, priority and group (as the team), the
requester's id and e-mail, `solved_at` (as resolved_at) and the satisfaction rating (good -> 5,
bad -> 1; offered, unoffered -> none) go on every record. Deleted tickets are left out.

zenpy (the Python client) is not used: its export generator hides each page's cursor, which
the runner must store with the page's records to resume after a crash, and it reaches only
https://SUBDOMAIN.zendesk.com unless process-wide environment variables say otherwise."""

from __future__ import annotations

from collections.abc import Iterator

from connectors.base import Batch, ConnectorError, helpdesk_number, secret, setting
from connectors.http import Client
from suggest.importers.common import objects, text

EXPORT = "api/v2/incremental/tickets/cursor.json"
SIDELOADS = "users,groups,metric_sets"
PAGE_SIZE = 100  # tickets per export page and comments per page
SCORES = {"good": 5, "bad": 1}  # satisfaction rating -> CSAT
CUSTOMER_ROLES = ("end-user",)
STATUSES = ("new", "open", "pending", "hold", "solved", "closed")
STATUS_ALIASES = {"resolved": "solved", "snoozed": "pending"}
PRIORITIES = ("low", "normal", "high", "urgent")
TYPES = ("problem", "incident", "question", "task")
# saved-reply action -> the ticket field it sets
FIELDS = {"set_status": "status", "set_priority": "priority", "set_type": "type",
          "set_subject": "subject", "set_assignee": "assignee_id", "set_group": "group_id",
          "set_team": "group_id", "set_tags": "tags", "add_tags": "additional_tags",
          "remove_tags": "remove_tags"}


def from_config(name: str, settings: dict) -> ZendeskSource:
    """`[sync.NAME]` with `type = "zendesk"`, `url` (https://SUBDOMAIN.zendesk.com), and
    either `email` + `token_env` (an API token) or `oauth_token_env` (an OAuth access token);
    optional `start_time` (unix seconds of the first export, default 0: everything) and
    `id_prefix` (put before ticket ids, '' by default)."""
    url = setting(settings, name, "url")
    if settings.get("oauth_token_env"):
        client = Client(name, url, headers={
            "Authorization": f"Bearer {secret(settings, name, 'oauth_token')}"})
    else:
        email = setting(settings, name, "email")
        client = Client(name, url, auth=(f"{email}/token", secret(settings, name, "token")))
    start = str(settings.get("start_time", 0))
    if not start.isdigit():
        raise ConnectorError(f"config.toml [sync.{name}] start_time: {start!r} is not unix "
                             "seconds")
    return ZendeskSource(name, client, int(start), str(settings.get("id_prefix", "")))


class ZendeskSource:
    """One Zendesk account. replykit's conversation ids are `id_prefix` + the ticket id."""

    def __init__(self, name: str, client: Client, start_time: int = 0, id_prefix: str = ""):
        self.name = name
        self.client = client
        self.id_prefix = id_prefix
        self.start_time = start_time

    # ---- pull

    def pull(self, cursor: str | None) -> Iterator[Batch]:
        """A batch per export page from `cursor` (None: from `start_time`) to the end."""
        where = {"cursor": cursor} if cursor else {"start_time": self.start_time}
        while True:
            page = self.client.get_object(
                EXPORT, {**where, "include": SIDELOADS, "per_page": PAGE_SIZE})
            after = page.get("after_cursor")
            if not isinstance(after, str) or not after:
                raise ConnectorError(f"{self.name}: GET {EXPORT}: the page has no after_cursor")
            users = _by_id(page.get("users"))
            groups = _by_id(page.get("groups"))
            solved = {_number(m.get("ticket_id")): m.get("solved_at")
                      for m in objects(page.get("metric_sets"))}
            records = []
            for ticket in objects(page.get("tickets")):
                if _number(ticket.get("id")) and ticket.get("status") != "deleted":
                    records += self._records(ticket, users, groups, solved)
            yield Batch(records, after)
            if page.get("end_of_stream") is not False or after == where.get("cursor"):
                return  # (the same cursor again would be asked for forever)
            where = {"cursor": after}

    def _comments(self, ticket: int, users: dict[int, dict]) -> Iterator[dict]:
        """The ticket's comments, oldest first; side-loaded authors are added to `users`."""
        path, params = f"api/v2/tickets/{ticket}/comments.json", {
            "include": "users", "page[size]": PAGE_SIZE}
        asked = set()
        while path and path not in asked:  # a next link seen before would loop forever
            asked.add(path)
            page = self.client.get_object(path, params)
            users.update(_by_id(page.get("users")))
            yield from objects(page.get("comments"))
            more = _object(page.get("meta")).get("has_more") is True
            path = text(_object(page.get("links")).get("next")) if more else ""
            params = None  # the next link carries them

    def _records(self, ticket: dict, users: dict, groups: dict, solved: dict) -> list[dict]:
        number = ticket["id"]
        requester = _object(users.get(_number(ticket.get("requester_id"))))
        rating = SCORES.get(text(_object(ticket.get("satisfaction_rating")).get("score")))
        fields = {
            "subject": text(ticket.get("subject")) or text(ticket.get("raw_subject")),
            "status": text(ticket.get("status")),
            "priority": text(ticket.get("priority")),
            "team": text(_object(groups.get(_number(ticket.get("group_id")))).get("name")),
            "customer_id": str(requester["id"]) if _number(requester.get("id")) else "",
            "customer_email": text(requester.get("email")),
            "csat": rating,
        }
        if ticket.get("status") in ("solved", "closed"):
            fields["resolved_at"] = text(solved.get(number))
        fields = {key: value for key, value in fields.items() if value}
        channel = text(_object(ticket.get("via")).get("channel"))
        records = []
        for comment in self._comments(number, users):
            if comment.get("public") is not True or not _number(comment.get("id")):
                continue  # a private (internal) note
            author_id = _number(comment.get("author_id"))
            author = _object(users.get(author_id))
            customer = (author_id == _number(ticket.get("requester_id"))
                        or author.get("role") in CUSTOMER_ROLES)
            records.append({
                "conversation_id": f"{self.id_prefix}{number}",
                "message_id": str(comment["id"]),
                "role": "customer" if customer else "agent",
                "author": text(author.get("name")),
                "channel": text(_object(comment.get("via")).get("channel")) or channel,
                "created_at": text(comment.get("created_at")),
                "body": text(comment.get("plain_body")) or text(comment.get("body")),
                **fields,
            })
        return records

    # ---- write back

    def post_reply(self, conversation_id: str, text: str, private: bool) -> str:
        """Add `text` as a comment (private: an internal note); the new comment's id. Sent
        once (a retry after a server error could add the comment twice)."""
        number = helpdesk_number(self.name, conversation_id, self.id_prefix)
        answer = self.client.request(
            "PUT", f"api/v2/tickets/{number}.json", once=True,
            json={"ticket": {"comment": {"body": text, "public": not private}}})
        events = objects(_object(_object(_json(answer)).get("audit")).get("events"))
        ids = [e["id"] for e in events if e.get("type") == "Comment" and _number(e.get("id"))]
        if not ids:
            raise ConnectorError(f"{self.name}: the comment added to ticket {number} came back "
                                 "without an id")
        return str(ids[0])

    def apply_actions(self, conversation_id: str, actions: list[dict]) -> list[str]:
        """One ticket update: `set_status`, `set_priority`, `set_type`, `set_subject`,
        `set_assignee` and `set_group`/`set_team` (Zendesk's numeric ids), `set_tags`,
        `add_tags` (additional_tags) and `remove_tags`; one line per action."""
        number = helpdesk_number(self.name, conversation_id, self.id_prefix)
        lines, ticket = [], {}
        for action in actions:
            kind, value = str(action.get("type", "")), action.get("value")
            checked = _field_value(kind, value)
            if isinstance(checked, str):
                lines.append(f"{kind}: {checked}")
                continue
            field = FIELDS[kind]
            if field in ("additional_tags", "remove_tags"):
                ticket[field] = ticket.get(field, []) + checked[0]
            else:
                ticket[field] = checked[0]
            lines.append(f"{kind}: applied ({_shown(checked[0])})")
        if ticket:
            self.client.request("PUT", f"api/v2/tickets/{number}.json", json={"ticket": ticket})
        return lines




def _field_value(kind: str, value) -> tuple | str:
    """(the value to send,) for an action Zendesk can do, else why not (a text)."""
    if kind in ("set_tags", "add_tags", "remove_tags"):
        tags = [value] if isinstance(value, str) else value
        if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
            return "not applied: the value is not a list of tags"
        return ([t.strip() for t in tags if t.strip()],)
    if kind == "set_status":
        status = STATUS_ALIASES.get(str(value), value)
        return (status,) if status in STATUSES else (
            f"not applied: Zendesk's statuses are {', '.join(STATUSES)}")
    choices = {"set_priority": PRIORITIES, "set_type": TYPES}.get(kind)
    if choices:
        return (value,) if value in choices else (
            f"not applied: Zendesk's values are {', '.join(choices)}")
    if kind in ("set_assignee", "set_group", "set_team"):
        number = _number(value) if _number(value) is not None else (
            int(value) if isinstance(value, str) and value.isdigit() else None)
        return (number,) if number is not None else (
            "not applied: needs Zendesk's numeric id of the agent or group")
    if kind == "set_subject":
        return (value,) if isinstance(value, str) and value.strip() else (
            "not applied: the subject is empty")
    return "not supported by Zendesk's API"


def _number(value) -> int | None:
    """A whole number from JSON (never a bool), else None."""
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _object(value) -> dict:
    return value if isinstance(value, dict) else {}


def _by_id(value) -> dict[int, dict]:
    return {item["id"]: item for item in objects(value) if _number(item.get("id")) is not None}


def _shown(value) -> str:
    return ", ".join(value) if isinstance(value, list) else str(value)


def _json(response):
    try:
        return response.json()
    except ValueError:
        return None
