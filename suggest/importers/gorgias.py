"""Gorgias macros, as `GET /api/macros` returns them: {"data": [{"id", "name", "intent",
"language", "archived_datetime", "actions": [{"name", "title", "type", "arguments"}]}],
"meta": {...}} (or a list of such pages).

The reply text is the `setResponseText` action's `body_text` (else its `body_html`); the
other actions become the reply's actions (`addTags` "a, b" -> add_tags ["a", "b"]). The
macro's intent becomes a tag; an archived macro comes in archived."""

from __future__ import annotations

from suggest.importers.common import guess_language, html_to_text, objects, text, vendor_id

LIST_KEY = "data"
# Gorgias action name -> (replykit action type, the argument holding the value)
ACTIONS = {
    "setStatus": ("set_status", "status"),
    "setAssignee": ("set_assignee", "assignee_user"),
    "setTeamAssignee": ("set_team", "assignee_team"),
    "setSubject": ("set_subject", "subject"),
    "setPriority": ("set_priority", "priority"),
    "snoozeTicket": ("snooze", "snooze_timedelta"),
}


def to_record(item: dict, where: str, page: dict) -> tuple[dict, list[tuple[str, str]]]:
    """A replykit record and (field, note) notes from one macro."""
    body, html, actions = "", "", []
    for action in objects(item.get("actions")):
        name = action.get("name")
        arguments = action.get("arguments") if isinstance(action.get("arguments"), dict) else {}
        if name == "setResponseText":
            body, html = text(arguments.get("body_text")), text(arguments.get("body_html"))
        elif name in ("addTags", "removeTags"):
            tags = [t.strip() for t in text(arguments.get("tags")).split(",") if t.strip()]
            actions.append({"type": "add_tags" if name == "addTags" else "remove_tags",
                            "value": tags})
        elif name in ACTIONS:
            kind, argument = ACTIONS[name]
            actions.append({"type": kind, "value": arguments.get(argument)})
        else:
            actions.append({"type": f"gorgias.{name}", "value": arguments})
    body = body.strip() or html_to_text(html)
    title = text(item.get("name"))
    language = text(item.get("language")).lower() or guess_language(title + " " + body)
    record = {
        "id": vendor_id("gorgias", item.get("id"), where),
        "title": title,
        "body": body,
        "tags": [item["intent"]] if text(item.get("intent")) else [],
        "status": "archived" if item.get("archived_datetime") else "approved",
        "language": language,
        "actions": actions,
    }
    return record, []
