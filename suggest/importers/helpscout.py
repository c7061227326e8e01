"""Help Scout saved replies (Mailbox API 2.0): a JSON list of saved replies as
`GET /v2/mailboxes/{id}/saved-replies/{savedReplyId}` returns each one: {"id", "name", "text"
(HTML), "chatText"}. The list endpoint `GET /v2/mailboxes/{id}/saved-replies` gives only a
`preview` (and `chatPreview`) of each text; such a record imports its preview, with a note."""

from __future__ import annotations

from suggest.importers.common import guess_language, html_to_text, text, vendor_id

LIST_KEY = None


def to_record(item: dict, where: str, page: dict) -> tuple[dict, list[tuple[str, str]]]:
    """A replykit record and (field, note) notes from one saved reply."""
    notes = []
    body = html_to_text(text(item.get("text"))) or text(item.get("chatText")).strip()
    if not body:
        body = text(item.get("preview")).strip() or text(item.get("chatPreview")).strip()
        if body:
            notes.append(("body", "only the list's preview was in the file: the text may be "
                                  "cut; export each saved reply (GET .../saved-replies/{id})"))
    title = text(item.get("name"))
    record = {
        "id": vendor_id("helpscout", item.get("id"), where),
        "title": title,
        "body": body,
        "language": guess_language(title + " " + body),
    }
    return record, notes
