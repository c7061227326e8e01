"""django-helpdesk (https://github.com/django-helpdesk/django-helpdesk) through its REST API
(`/api/tickets/`, `/api/followups/`; Django REST framework, an admin user's basic auth or a
DRF token).

Tickets become conversations (`id_prefix` + ticket id), their public follow-ups messages: the
ticket's opening follow-up is the customer's first message (from the submitter's e-mail, the
ticket's description), a follow-up without a user is the customer's (an e-mail the mail poller
stored) or of a user listed in `customer_users` (the API does not say who is staff: customers
who comment while signed in to the helpdesk), one with another user an agent's (named by
`[sync.NAME.agents]`, else "agent ID"). Private follow-ups (internal notes) and follow-ups
with no text are not messages; when they change the status, the ticket's latest message is
sent again with it. Each record carries the ticket's current title, status, priority and
queue (the team: `[sync.NAME.queues]` names queue ids, else "queue ID").

Incremental: follow-ups are listed oldest first (the API orders them by date); the cursor is
the page and (date, id) of the last one stored. A run starts at that page, steps back while
the page starts after it (follow-ups deleted meanwhile moved the list), and keeps those after
it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from connectors.base import Batch, ConnectorError, helpdesk_number, secret, setting, whole_number
from connectors.http import Client

PAGE_SIZE = 100
STATUSES = {1: "open", 2: "reopened", 3: "resolved", 4: "closed", 5: "duplicate"}
STATUS_NUMBERS = {"open": 1, "new": 1, "pending": 1, "reopened": 2, "resolved": 3,
                  "solved": 3, "closed": 4, "duplicate": 5}
RESOLVED = (3, 4)
PRIORITIES = {1: "critical", 2: "high", 3: "normal", 4: "low", 5: "very low"}
PRIORITY_NUMBERS = {"critical": 1, "urgent": 1, "high": 2, "normal": 3, "medium": 3,
                    "low": 4, "very low": 5}


def from_config(name: str, settings: dict) -> DjangoHelpdesk:
    """The source `[sync.NAME]` with type = "django-helpdesk": url; token_env (a DRF token)
    or username_env and password_env (basic auth of an admin user); optional channel
    ("email"), id_prefix (""), page_size (100 follow-ups a batch), time_zone (of a helpdesk
    running with USE_TZ = False, whose times carry no offset; "UTC"), customer_users (ids of
    users whose follow-ups are the customer's), [sync.NAME.agents] and [sync.NAME.queues]
    (id = "name")."""
    url = setting(settings, name, "url")
    if settings.get("token_env"):
        client = Client(name, url,
                        headers={"Authorization": f"Token {secret(settings, name, 'token')}"})
    else:
        client = Client(name, url, auth=(secret(settings, name, "username"),
                                         secret(settings, name, "password")))
    return DjangoHelpdesk(
        name, client, channel=str(settings.get("channel", "email")),
        id_prefix=str(settings.get("id_prefix", "")),
        agents=_names(settings, name, "agents"), queues=_names(settings, name, "queues"),
        customer_users=_ids(settings, name, "customer_users"),
        page_size=whole_number(settings, name, "page_size", PAGE_SIZE) or PAGE_SIZE,
        zone=_zone(settings, name))


def _names(settings: dict, name: str, key: str) -> dict[str, str]:
    """[sync.NAME.agents] or [sync.NAME.queues]: id -> name."""
    table = settings.get(key, {})
    if not isinstance(table, dict):
        raise ConnectorError(f"config.toml [sync.{name}] {key}: must be a table of id = \"name\"")
    return {str(k): str(v) for k, v in table.items()}


def _ids(settings: dict, name: str, key: str) -> frozenset[int]:
    """A list of user ids such as customer_users = [7, 12]."""
    value = settings.get(key, [])
    if not isinstance(value, list) or not all(
            isinstance(v, int) and not isinstance(v, bool) for v in value):
        raise ConnectorError(f"config.toml [sync.{name}] {key}: must be a list of user ids "
                             "such as [7, 12]")
    return frozenset(value)


def _zone(settings: dict, name: str) -> tzinfo:
    text = str(settings.get("time_zone", "UTC"))
    try:
        return ZoneInfo(text)
    except (ValueError, ZoneInfoNotFoundError):
        raise ConnectorError(f"config.toml [sync.{name}] time_zone: {text!r} is not a time "
                             "zone name such as Asia/Bangkok") from None


class DjangoHelpdesk:
    """A django-helpdesk instance as a `connectors.base.Source`."""

    def __init__(self, name: str, client: Client, channel: str = "email", id_prefix: str = "",
                 agents: dict | None = None, queues: dict | None = None,
                 page_size: int = PAGE_SIZE, zone: tzinfo = UTC,
                 customer_users: frozenset[int] = frozenset()):
        self.name = name
        self.customer_users = customer_users
        self.zone = zone
        self.client = client
        self.channel = channel
        self.id_prefix = id_prefix
        self.agents = agents or {}
        self.queues = queues or {}
        self.page_size = page_size

    def pull(self, cursor: str | None) -> Iterator[Batch]:
        """Batches of one page of follow-ups each, from the cursor on (module docstring)."""
        state = self._state(cursor)
        page = state["page"] if state else 1
        last = (datetime.fromisoformat(state["date"]), state["id"]) if state else None
        tickets: dict[int, dict] = {}
        stepping_back = state is not None
        while True:
            data = self._page(page)
            followups = data["results"]
            for followup in followups:
                self._key(followup)  # a malformed follow-up stops the run before anything
            if stepping_back and page > 1 and (not followups or self._key(followups[0]) > last):
                page -= 1  # the list moved (deletions) or the page is gone: look earlier
                continue
            stepping_back = False
            new = [f for f in followups if last is None or self._key(f) > last]
            if new:
                records = [r for f in new if (r := self._record(f, tickets)) is not None]
                last = self._key(new[-1])
                yield Batch(records, json.dumps(
                    {"page": page, "date": last[0].isoformat(), "id": last[1]}))
            if not data.get("next"):
                return
            page += 1

    def _state(self, cursor: str | None) -> dict | None:
        if not cursor:
            return None
        try:
            state = json.loads(cursor)
            datetime.fromisoformat(state["date"])
            if int(state["page"]) < 1 or not isinstance(state["id"], int):
                raise ValueError
        except (ValueError, KeyError, TypeError):
            raise ConnectorError(f"{self.name}: the stored cursor {cursor[:80]!r} is not a "
                                 "django-helpdesk cursor (was the source's type changed?)") \
                from None
        return state

    def _page(self, page: int) -> dict:
        try:
            data = self.client.get_json("api/followups/",
                                        {"page": page, "page_size": self.page_size})
        except ConnectorError as error:
            if page > 1 and "HTTP 404" in str(error):  # DRF: a page past the end
                return {"results": [], "next": None}
            raise
        if not isinstance(data, dict) or not isinstance(data.get("results"), list) or not all(
                isinstance(f, dict) for f in data["results"]):
            raise ConnectorError(f"{self.name}: api/followups/ did not answer a page of "
                                 "follow-ups (is the url a django-helpdesk?)")
        return data

    def _key(self, followup) -> tuple[datetime, int]:
        """(aware date, id): the follow-ups' order; ConnectorError for a malformed one."""
        try:
            moment = datetime.fromisoformat(str(followup["date"]).replace("Z", "+00:00"))
            if not isinstance(followup["id"], int) or not isinstance(followup["ticket"], int):
                raise TypeError
        except (KeyError, TypeError, ValueError):
            shown = followup.get("id") if isinstance(followup, dict) else followup
            raise ConnectorError(f"{self.name}: follow-up {str(shown)[:40]!r} has no valid "
                                 "id, ticket and date") from None
        if moment.tzinfo is None:  # a helpdesk with USE_TZ = False: its local time
            moment = moment.replace(tzinfo=self.zone)
        return moment, followup["id"]

    def _ticket(self, ticket_id: int, tickets: dict) -> dict:
        if ticket_id not in tickets:
            ticket = self.client.get_json(f"api/tickets/{int(ticket_id)}/")
            followups = ticket.get("followup_set") or []
            if not isinstance(ticket, dict) or not isinstance(followups, list):
                raise ConnectorError(f"{self.name}: api/tickets/{int(ticket_id)}/ did not "
                                     "answer a ticket")
            ticket["opening_id"] = min(followups, key=self._key)["id"] if followups else None
            tickets[ticket_id] = ticket
        return tickets[ticket_id]

    def _record(self, followup: dict, tickets: dict) -> dict | None:
        """The import record of one follow-up, or None when it is no message. A status
        change alone (no text, or in an internal note) gives the ticket's latest message
        again: the importer keeps its content and takes the ticket's new status."""
        ticket = self._ticket(followup["ticket"], tickets)
        record = self._message(followup, ticket)
        if record is None and followup.get("new_status") is not None:
            key = self._key(followup)
            earlier = [f for f in ticket["followup_set"]
                       if self._key(f) < key and self._message(f, ticket) is not None]
            if earlier:
                record = self._message(max(earlier, key=self._key), ticket)
        if record is not None and followup.get("new_status") in RESOLVED:
            record["resolved_at"] = self._key(followup)[0].isoformat()
        return record

    def _message(self, followup: dict, ticket: dict) -> dict | None:
        """The message a public follow-up with text is (module docstring), or None."""
        if not followup.get("public"):
            return None
        opening = followup["id"] == ticket["opening_id"]
        body = (ticket.get("description") if opening else followup.get("comment")) or ""
        if not body.strip():
            return None
        user = followup.get("user")
        customer = opening or user is None or user in self.customer_users
        return {
            "conversation_id": f"{self.id_prefix}{ticket['id']}",
            "message_id": str(followup["id"]),
            "role": "customer" if customer else "agent",
            "author": (ticket.get("submitter_email") or "") if customer
            else self.agents.get(str(user), f"agent {user}"),
            "channel": self.channel,
            "created_at": self._key(followup)[0].isoformat(),
            "body": body,
            "subject": ticket.get("title") or "",
            "status": STATUSES.get(ticket.get("status"), ""),
            "priority": PRIORITIES.get(ticket.get("priority"), ""),
            "customer_email": ticket.get("submitter_email") or "",
            "team": self.queues.get(str(ticket.get("queue")), f"queue {ticket.get('queue')}"),
        }

    def post_reply(self, conversation_id: str, text: str, private: bool) -> str:
        """A follow-up on the ticket (public=False: an internal note); its id."""
        answer = self.client.request("POST", "api/followups/", json={
            "ticket": helpdesk_number(self.name, conversation_id, self.id_prefix), "comment": text,
            "public": not private}).json()
        return str(answer["id"])

    def apply_actions(self, conversation_id: str, actions: list[dict]) -> list[str]:
        """set_status (a follow-up with the new status, as the helpdesk's UI does),
        set_priority, set_assignee (a user id) and set_subject (the ticket's title); any
        other action is reported as not supported by django-helpdesk's API."""
        ticket_id = helpdesk_number(self.name, conversation_id, self.id_prefix)
        done = []
        for action in actions:
            kind, value = action.get("type"), action.get("value")
            text = str(value).strip().lower()
            if kind == "set_status" and text in STATUS_NUMBERS:
                self.client.request("POST", "api/followups/", json={
                    "ticket": ticket_id, "comment": "", "public": False,
                    "new_status": STATUS_NUMBERS[text]})
                done.append(f"set_status {value}: applied")
            elif kind == "set_priority" and text in PRIORITY_NUMBERS:
                self._patch(ticket_id, {"priority": PRIORITY_NUMBERS[text]})
                done.append(f"set_priority {value}: applied")
            elif kind == "set_assignee" and text.isdigit():
                self._patch(ticket_id, {"assigned_to": int(text)})
                done.append(f"set_assignee {value}: applied")
            elif kind == "set_subject" and str(value or "").strip():
                self._patch(ticket_id, {"title": str(value).strip()[:200]})
                done.append("set_subject: applied")
            else:
                done.append(f"{kind} {value}: not supported by django-helpdesk's API")
        return done

    def _patch(self, ticket_id: int, fields: dict) -> None:
        self.client.request("PATCH", f"api/tickets/{ticket_id}/", json=fields)
