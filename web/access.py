"""Row-level exceptions to role checks: what a user may read because it is their own."""

from __future__ import annotations

from flask import request

from web.app import get_home


def own_reviews_query(user: dict, **_kwargs) -> bool:
    """An agent may list the submitted reviews of their own replies (the view then lists
    only submitted ones)."""
    args = request.args
    return args.get("author") == user["name"] and args.get("state") in (None, "submitted")


def own_review(user: dict, review_id: int, **_kwargs) -> bool:
    """An agent may read a submitted review of their own reply (never one in progress)."""
    row = get_home().db.execute("SELECT author, state FROM reviews WHERE id = ?",
                                [review_id]).fetchone()
    return row is not None and tuple(row) == (user["name"], "submitted")

