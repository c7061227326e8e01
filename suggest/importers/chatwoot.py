"""Chatwoot canned responses, as `GET /api/v1/accounts/{account_id}/canned_responses`
returns them: a JSON list of {"id", "account_id", "short_code", "content", ...}. The short
code (what agents type after '/') becomes the title and a tag; the content is plain text."""

from __future__ import annotations

from suggest.importers.common import guess_language, text, vendor_id

LIST_KEY = None


def to_record(item: dict, where: str, page: dict) -> tuple[dict, list[tuple[str, str]]]:
    """A replykit record and (field, note) notes from one canned response."""
    short_code, body = text(item.get("short_code")).strip(), text(item.get("content"))
    record = {
        "id": vendor_id("chatwoot", item.get("id"), where),
        "title": short_code,
        "body": body,
        "tags": [short_code] if short_code else [],
        "language": guess_language(body),
    }
    return record, []
