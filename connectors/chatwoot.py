"""Chatwoot as a sync source, through its application API (v1, `api_access_token` header of
an agent or administrator; every path under `/api/v1/accounts/{account_id}/`).

Pull: `GET conversations?status=all&assignee_type=all&page=N` lists conversations newest
activity first; paging stops at an empty page or at the first page whose conversations are
all older than the cursor (the `last_activity_at`, unix seconds, of the last conversation
stored). The changed ones are then read oldest first, each with all its messages
(`GET conversations/{id}/messages?after=ID`, 100 at a time, ascending), and each conversation
is one batch whose cursor is its `last_activity_at`: a sync killed half-way resumes there.
A CSAT answer does not change a conversation's activity time, so with `csat_report = true`
(an administrator's token) each pull also reads the CSAT report (`GET csat_survey_responses`
since the cursor, less a day) and reads again the conversations rated since.

Mapping: incoming messages (`message_type` 0) are the customer's, outgoing ones (1) the
agent's; private notes, activity messages (2) and templates (3) are left out, except the CSAT
survey (a template with `content_type` input_csat), whose submitted rating (1-5) becomes the
conversation's `csat`. The conversation's inbox channel, status, priority, team and e-mail
subject, and the contact's id and e-mail, go on every record (the last value wins)."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime

from connectors.base import Batch, ConnectorError, helpdesk_number, secret, setting
from connectors.http import Client
from suggest.importers.common import objects, text

MESSAGES_PAGE = 100  # what `messages?after=` returns at most
CSAT_OVERLAP = 86_400  # seconds of CSAT answers read again: one given while a sync ran
INCOMING, OUTGOING, TEMPLATE = 0, 1, 3
# inbox channel_type -> the import format's channel
CHANNELS = {
    "Channel::Email": "email",
    "Channel::WebWidget": "chat",
    "Channel::Api": "api",
    "Channel::Sms": "sms",
    "Channel::TwilioSms": "sms",
    "Channel::Voice": "phone",
    "Channel::Whatsapp": "social",
    "Channel::FacebookPage": "social",
    "Channel::Instagram": "social",
    "Channel::TwitterProfile": "social",
    "Channel::Telegram": "social",
    "Channel::Line": "social",
}
STATUSES = ("open", "resolved", "pending", "snoozed")
# statuses of other helpdesks (saved replies imported from them) -> Chatwoot's
STATUS_ALIASES = {"new": "open", "solved": "resolved", "closed": "resolved", "hold": "pending"}
PRIORITIES = ("none", "low", "medium", "high", "urgent")


def from_config(name: str, settings: dict) -> ChatwootSource:
    """`[sync.NAME]` with `type = "chatwoot"`, `url` (the Chatwoot address), `account_id` and
    `token_env` (the environment variable holding an agent's API access token); optional
    `id_prefix` (put before Chatwoot's conversation ids, '' by default) and `csat_report`
    (true: also read the CSAT report, which needs an administrator's token)."""
    account = setting(settings, name, "account_id")
    if not account.isdigit():
        raise ConnectorError(f"config.toml [sync.{name}] account_id: {account!r} is not a "
                             "number (Chatwoot's account id, in the dashboard's address)")
    token = secret(settings, name, "token")
    client = Client(name, setting(settings, name, "url"), headers={"api_access_token": token})
    return ChatwootSource(name, client, int(account), str(settings.get("id_prefix", "")),
                          settings.get("csat_report") is True)


class ChatwootSource:
    """One Chatwoot account. replykit's conversation ids are `id_prefix` + the display id."""

    def __init__(self, name: str, client: Client, account_id: int, id_prefix: str = "",
                 csat_report: bool = False):
        self.name = name
        self.client = client
        self.id_prefix = id_prefix
        self.csat_report = csat_report
        self.base = f"api/v1/accounts/{account_id}/"

    # ---- pull

    def pull(self, cursor: str | None) -> Iterator[Batch]:
        """A batch per conversation with activity at or after `cursor`, oldest first."""
        since = _cursor_time(cursor, self.name)
        changed = self._changed(since)
        if self.csat_report and since:  # (a first pull lists every conversation anyway)
            listed = {c["id"] for c in changed}
            for number in sorted(self._rated(max(0, since - CSAT_OVERLAP)) - listed):
                conversation = self.client.get_object(f"{self.base}conversations/{number}")
                if _number(conversation.get("id")) == number:
                    changed.append(conversation)
        for conversation in sorted(changed, key=_activity_key):
            records = self._records(conversation)
            # a conversation rated long after its last activity must not move the cursor back
            yield Batch(records, str(max(since, _activity(conversation))))

    def _rated(self, since: int) -> set[int]:
        """Display ids of the conversations with a CSAT answer given at or after `since`."""
        numbers, seen, page = set(), set(), 1
        until = int(time.time()) + CSAT_OVERLAP  # the report wants both ends
        while True:
            answers = [a for a in objects(self.client.get_json(
                self.base + "csat_survey_responses",
                {"since": since, "until": until, "page": page}))
                if _number(a.get("id")) is not None and a["id"] not in seen]
            if not answers:
                return numbers
            seen.update(a.get("id") for a in answers)
            numbers.update(n for a in answers if (n := _number(a.get("conversation_id"))))
            page += 1

    def _changed(self, since: int) -> list[dict]:
        """The conversations whose last activity is at or after `since` (unix seconds)."""
        changed, seen, page = [], set(), 1
        while True:
            data = self.client.get_object(self.base + "conversations", {
                "status": "all", "assignee_type": "all", "page": page}).get("data")
            listed = objects(data.get("payload") if isinstance(data, dict) else None)
            fresh = [c for c in listed if _activity(c) >= since]
            new = [c for c in fresh if _number(c.get("id")) and c["id"] not in seen]
            changed += new
            seen.update(c["id"] for c in new)
            if not new or len(fresh) < len(listed):  # newest first: the rest are older
                return changed  # (no new id: the end, or a server that ignores `page`)
            page += 1

    def _messages(self, number: int) -> Iterator[dict]:
        """All messages of conversation `number`, oldest first."""
        after = 0
        while True:
            page = self.client.get_object(f"{self.base}conversations/{number}/messages",
                             {"after": after}).get("payload")
            new = [m for m in objects(page) if (_number(m.get("id")) or 0) > after]
            yield from new
            if len(new) < MESSAGES_PAGE:
                return
            after = max(_number(m["id"]) for m in new)

    def _records(self, conversation: dict) -> list[dict]:
        """Import records of one conversation: its customer and agent messages."""
        number = _number(conversation["id"])
        meta = _object(conversation.get("meta"))
        contact = _object(meta.get("sender"))
        channel_type = text(meta.get("channel"))
        fields = {
            "subject": text(_object(conversation.get("additional_attributes")).get(
                "mail_subject")),
            "status": text(conversation.get("status")),
            "priority": text(conversation.get("priority")),
            "team": text(_object(meta.get("team")).get("name")),
            "customer_id": str(contact["id"]) if _number(contact.get("id")) else "",
            "customer_email": text(contact.get("email")),
        }
        kept, csat = [], None
        for message in self._messages(number):
            kind = message.get("message_type")
            if kind == TEMPLATE and message.get("content_type") == "input_csat":
                csat = _rating(message) or csat
            elif kind in (INCOMING, OUTGOING) and message.get("private") is not True:
                kept.append(message)
        if csat:
            fields["csat"] = csat
        fields = {key: value for key, value in fields.items() if value}
        return [{
            "conversation_id": f"{self.id_prefix}{number}",
            "message_id": str(message["id"]),
            "role": "customer" if message["message_type"] == INCOMING else "agent",
            "author": _author(message, contact),
            "channel": CHANNELS.get(channel_type, channel_type.removeprefix("Channel::").lower()),
            "created_at": _time(message.get("created_at")),
            "body": text(message.get("content")),
            **fields,
        } for message in kept]

    # ---- write back

    def post_reply(self, conversation_id: str, text: str, private: bool) -> str:
        """Post `text` as an outgoing message (private: a private note); its message id."""
        number = helpdesk_number(self.name, conversation_id, self.id_prefix)
        answer = self.client.request(
            "POST", f"{self.base}conversations/{number}/messages",
            json={"content": text, "message_type": "outgoing", "private": bool(private)})
        message_id = _object(_json(answer)).get("id")
        if not _number(message_id):
            raise ConnectorError(f"{self.name}: the new message of conversation {number} came "
                                 "back without an id")
        return str(message_id)

    def apply_actions(self, conversation_id: str, actions: list[dict]) -> list[str]:
        """Labels (`set_tags`, `add_tags`, `remove_tags`), `set_status` (open, resolved,
        pending, snoozed; solved/closed mean resolved), `snooze`, `set_priority`,
        `set_assignee` and `set_team` (Chatwoot's numeric ids); one line per action."""
        number = helpdesk_number(self.name, conversation_id, self.id_prefix)
        path = f"{self.base}conversations/{number}/"
        lines = []
        for action in actions:
            kind, value = str(action.get("type", "")), action.get("value")
            request = self._action_request(path, kind, value)
            if isinstance(request, str):
                lines.append(f"{kind}: {request}")
                continue
            self.client.request("POST", request[0], json=request[1])
            sent = value if kind.endswith("_tags") else next(iter(request[1].values()))
            lines.append(f"{kind}: applied ({_shown(sent)})")
        return lines

    def _action_request(self, path: str, kind: str, value) -> tuple[str, dict] | str:
        """(path, JSON body) of the request doing one action, or why it cannot be done."""
        if kind in ("set_tags", "add_tags", "remove_tags"):
            tags = _tags(value)
            if tags is None:
                return "not applied: the value is not a list of labels"
            if kind != "set_tags":
                current = _tags(self.client.get_object(path + "labels").get("payload")) or []
                tags = ([t for t in current if t not in tags] if kind == "remove_tags"
                        else current + [t for t in tags if t not in current])
            return path + "labels", {"labels": tags}
        if kind in ("set_status", "snooze"):
            status = "snoozed" if kind == "snooze" else STATUS_ALIASES.get(str(value), value)
            if status not in STATUSES:
                return f"not applied: Chatwoot's statuses are {', '.join(STATUSES)}"
            return path + "toggle_status", {"status": status}
        if kind == "set_priority":
            if value not in PRIORITIES:
                return f"not applied: Chatwoot's priorities are {', '.join(PRIORITIES)}"
            return path + "toggle_priority", {"priority": value}
        if kind in ("set_assignee", "set_team"):
            number = _number(value) or (int(value) if str(value).isdigit() else None)
            if number is None:
                return "not applied: needs Chatwoot's numeric id of the agent or team"
            key = "assignee_id" if kind == "set_assignee" else "team_id"
            return path + "assignments", {key: number}
        return "not supported by Chatwoot's API"




def _cursor_time(cursor: str | None, name: str) -> int:
    if cursor is None:
        return 0
    if not re.fullmatch(r"\d{1,12}", cursor):
        raise ConnectorError(f"{name}: stored cursor {cursor!r} is not a Chatwoot activity "
                             "time (unix seconds)")
    return int(cursor)


def _activity(conversation: dict) -> int:
    """Unix seconds of a conversation's last activity (`last_activity_at`, else `timestamp`)."""
    return _number(conversation.get("last_activity_at")) or _number(
        conversation.get("timestamp")) or 0


def _activity_key(conversation: dict) -> tuple[int, int]:
    return _activity(conversation), _number(conversation["id"])


def _number(value) -> int | None:
    """A whole number from JSON (never a bool), else None."""
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _object(value) -> dict:
    return value if isinstance(value, dict) else {}


def _time(value) -> str:
    """ISO 8601 UTC from Chatwoot's unix seconds (an ISO text passes as it is; anything else
    is '' and the importer leaves that message out with a warning)."""
    if isinstance(value, str):
        return value
    if not isinstance(value, int | float) or isinstance(value, bool):
        return ""
    try:
        return datetime.fromtimestamp(value, UTC).isoformat()
    except (OverflowError, OSError, ValueError):
        return ""


def _author(message: dict, contact: dict) -> str:
    sender = _object(message.get("sender"))
    name = text(sender.get("available_name")) or text(sender.get("name"))
    if not name and message.get("message_type") == INCOMING:
        name = text(contact.get("name"))
    return name


def _rating(message: dict) -> int | None:
    """The submitted 1-5 rating of a CSAT survey message, or None (not answered, or odd)."""
    answer = _object(_object(_object(message.get("content_attributes")).get(
        "submitted_values")).get("csat_survey_response"))
    rating = _number(answer.get("rating"))
    return rating if rating is not None and 1 <= rating <= 5 else None


def _tags(value) -> list[str] | None:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(t, str) for t in value):
        return None
    return [t.strip() for t in value if t.strip()]


def _shown(value) -> str:
    return ", ".join(value) if isinstance(value, list) else str(value)


def _json(response):
    try:
        return response.json()
    except ValueError:
        return None
