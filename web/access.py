"""Row-level exceptions to role checks: what a user may read because it is their own."""

from __future__ import annotations

from flask import request

from web.app import get_home


def own_reviews_query(user: dict, **_kwargs) -> bool:
    """An agent may list reviews when the list is limited to their own replies."""
    return request.args.get("author") == user["name"]


def own_review(user: dict, review_id: int, **_kwargs) -> bool:
    """An agent may read a review of their own reply."""
    row = get_home().db.execute("SELECT author FROM reviews WHERE id = ?", [review_id]).fetchone()
    return row is not None and row[0] == user["name"]

