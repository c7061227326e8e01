"""Freshdesk canned responses: the JSON list `GET /api/v2/canned_response_folders/{id}/responses`
returns ([{"id", "title", "folder_id", "content", "content_html", "attachments", ...}]), or a
list of folders as `GET /api/v2/canned_response_folders` returns them ({"id", "name", ...}),
each with that folder's list under "responses": the folder's name becomes the reply's folder.

The text is `content_html` as text (else `content`). Attachments are links to Freshdesk's
storage, not files: each is noted and left out."""

from __future__ import annotations

from suggest.importers.common import guess_language, html_to_text, objects, text, vendor_id

LIST_KEY = "responses"


def to_record(item: dict, where: str, page: dict) -> tuple[dict, list[tuple[str, str]]]:
    """A replykit record and (field, note) notes from one canned response."""
    body = html_to_text(text(item.get("content_html"))) or text(item.get("content")).strip()
    title = text(item.get("title"))
    notes = [("attachments", f"left out {text(a.get('name')) or 'a file'!r}: the export holds "
                             "only a link to it; attach the file with replykit replies attach")
             for a in objects(item.get("attachments"))]
    record = {
        "id": vendor_id("freshdesk", item.get("id"), where),
        "title": title,
        "body": body,
        "folder": text(page.get("name")),
        "language": guess_language(title + " " + body),
    }
    return record, notes
