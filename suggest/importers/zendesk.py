"""Zendesk macros, as `GET /api/v2/macros` returns them: {"macros": [{"id", "title", "active",
"actions": [{"field", "value"}], ...}], "next_page", "count"} (or a list of such pages).

The reply text is the `comment_value` action (its value may be [channel, text]), else
`comment_value_html`; the other actions become the reply's actions. A title "Billing::Refunds"
is Zendesk's category path: folder Billing, title Refunds. Inactive macros come in archived."""

from __future__ import annotations

from suggest.importers.common import guess_language, html_to_text, objects, text, vendor_id

LIST_KEY = "macros"
# Zendesk action field -> replykit action type (others keep their field as "zendesk.<field>")
ACTIONS = {
    "status": "set_status",
    "priority": "set_priority",
    "type": "set_type",
    "assignee_id": "set_assignee",
    "group_id": "set_group",
    "subject": "set_subject",
    "comment_mode_is_public": "set_public",
    "set_tags": "set_tags",
    "current_tags": "add_tags",
    "remove_tags": "remove_tags",
}
TAG_ACTIONS = {"set_tags", "current_tags", "remove_tags"}


def to_record(item: dict, where: str, page: dict) -> tuple[dict, list[tuple[str, str]]]:
    """A replykit record and (field, note) notes from one macro."""
    parts = [part.strip() for part in text(item.get("title")).split("::")]
    body, html, actions = "", "", []
    for action in objects(item.get("actions")):
        field, value = action.get("field"), action.get("value")
        if field == "comment_value":
            body = text(value[-1] if isinstance(value, list) and value else value)
        elif field == "comment_value_html":
            html = text(value)
        elif field in TAG_ACTIONS:
            tags = value.split() if isinstance(value, str) else value
            actions.append({"type": ACTIONS[field], "value": tags})
        else:
            actions.append({"type": ACTIONS.get(field, f"zendesk.{field}"), "value": value})
    body = body or html_to_text(html)
    record = {
        "id": vendor_id("zendesk", item.get("id"), where),
        "title": parts[-1],
        "body": body,
        "folder": "/".join(parts[:-1]),
        "status": "archived" if item.get("active") is False else "approved",
        "language": guess_language(parts[-1] + " " + body),
        "actions": actions,
    }
    return record, []
