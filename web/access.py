"""Row-level rules on top of role checks: what a user may read because it is their own or
their team's.

Teams: a user belongs to any number of teams (`user["teams"]`); admins see every team. A
saved reply with no `teams` and a conversation with no `team` belong to everyone.

Conversations (with the customer's e-mail and original messages) are read by:
- admins: all;
- leads: those of their teams;
- agents: those of their teams in the queue (the customer wrote last and it is not closed or
  resolved), and any they opened a drafting session on or sent a draft for review from;
- reviewers: those of their teams holding a reply they review (a review they own, an
  assignment to them, or a draft sent for review to them).

Ownership is by user id. Imported conversations, reviews started outside the web app and
assignments name agents and reviewers by display name: such a name means a user only while
no other user has it (`is_named`), so two users sharing a display name see neither's."""

from __future__ import annotations

import json
import re

from flask import g, request
from werkzeug.exceptions import Forbidden

from replykit.errors import NotFound
from rubrics import calibration_sessions
from storage import conversations, library, reviews, search, users
from suggest.library import visible_to
from web.db import get_home
from web.security import has_role


def is_named(db, user: dict, name: str | None) -> bool:
    """Whether `name` (an author or reviewer stored by display name) means `user`: it is their
    display name and no other user has it."""
    return name == user["name"] and len(users.user_ids_named(db, name, 2)) == 1


def my_review_ids(db, user: dict) -> set[int]:
    """Ids of the reviews `user` does: by reviewer id, or by display name (see `is_named`)
    for reviews without one."""
    name = user["name"] if is_named(db, user, user["name"]) else None
    return reviews.review_ids_of_reviewer(db, user["id"], name)


def own_reviews_query(user: dict, **_kwargs) -> bool:
    """An agent may list the submitted reviews of their own replies (the view then lists
    only submitted ones)."""
    args = request.args
    return (args.get("state") in (None, "submitted")
            and is_named(get_home().db, user, args.get("author")))


def own_review(user: dict, review_id: int, **_kwargs) -> bool:
    """An agent may read a submitted review of their own reply (never one in progress)."""
    db = get_home().db
    row = reviews.review(db, review_id)
    return row is not None and row["state"] == "submitted" and is_named(db, user, row["author"])


def team_scope(user: dict, requested: str | None = None) -> list[str] | None:
    """The teams whose data `user` sees: None for every team (an admin), else their teams.
    `requested` narrows it to that one team, which must be one of theirs (any for admins):
    Forbidden otherwise."""
    mine = None if has_role(user, "admin") else list(user["teams"])
    if not requested:
        return mine
    if mine is not None and requested not in mine:
        raise Forbidden(f"team {requested!r} is not one of your teams")
    return [requested]


def report_teams(user: dict, requested: str | None = None) -> list[str] | None:
    """The teams a report covers: the user's teams and conversations with no team (''), or
    only `requested` (one of theirs, see `team_scope`); None (all) for an admin who asks for
    no team."""
    scope = team_scope(user, requested)
    return scope if scope is None or requested else [*scope, ""]


def in_scope(team: str, scope: list[str] | None) -> bool:
    """Whether data of `team` ('' = no team: everyone's) is visible with `scope`."""
    return scope is None or not team or team in scope


def readable_conversations(db, user: dict, ids) -> set[str]:
    """The ids among `ids` of conversations that `user` may read (see the module doc)."""
    ids = sorted(set(ids))
    if not ids:
        return set()
    rows = conversations.conversation_teams_queued(db, ids)
    if has_role(user, "admin"):
        return {row[0] for row in rows}
    own = users.own_conversation_ids(db, user["id"])
    named = user["name"] if is_named(db, user, user["name"]) else None
    reviewing = (reviews.reviewing_conversation_ids(db, user["id"], named)
                 if "reviewer" in user["roles"] else set())
    found = set()
    for cid, team, queued in rows:
        mine = in_scope(team, user["teams"])
        if (("lead" in user["roles"] and mine) or cid in own
                or ("agent" in user["roles"] and mine and queued)
                or (cid in reviewing and mine)):
            found.add(cid)
    return found


def blinded_reviews(db, user: dict) -> set[int]:
    """Ids of the reviews `user` may not read yet: others' reviews of a reply they score in
    a calibration session, until their own review of it is submitted. Worked out once per
    request (a list of reviews asks for each one)."""
    known = g.setdefault("blinded_reviews", {})
    if user["id"] not in known:
        known[user["id"]] = calibration_sessions.blinded_review_ids(
            db, user["id"], my_review_ids(db, user))
    return known[user["id"]]


def review_in_scope(db, user: dict, review: dict) -> bool:
    """Whether a reviewer or lead sees this review (with the reviewed text): it is theirs, or
    it is not blinded (`blinded_reviews`) and its conversation (a draft's, if it has one)
    has no team or one of theirs."""
    if review["id"] in my_review_ids(db, user):
        return True
    if review["id"] in blinded_reviews(db, user):
        return False
    conversation_id = review["conversation_id"] or reviews.review_draft(
        db, review["draft_id"])["conversation_id"]
    return conversation_in_scope(db, user, conversation_id)


def conversation_in_scope(db, user: dict, conversation_id: str | None) -> bool:
    """Whether the conversation (None: no conversation) has no team or one of the user's."""
    return in_scope(conversations.conversation_team(db, conversation_id) or "",
                    team_scope(user))


# A past reply's stored id is "<conversation id>:<message id>"; the web hands out
# "past-<search document id>" instead, so no suggestion names a conversation.
_PUBLIC_PAST = re.compile(r"past-([0-9]{1,18})")


def public_past_ids(db, suggestions: list[dict]) -> None:
    """Replace the ids of past suggestions with their public form, in place."""
    pasts = [s for s in suggestions if s["kind"] == "past"]
    if not pasts:
        return
    public = search.past_document_ids(db, sorted({s["id"] for s in pasts}))
    for suggestion in pasts:
        suggestion["id"] = f"past-{public[suggestion['id']]}"


def usable_suggestion(db, user: dict, kind: str | None, suggestion_id: str) -> str:
    """The stored id of a suggestion `user` may use: a saved reply visible to their teams or
    a past reply of a conversation of theirs (or of no team), given as /api/suggest gives it;
    NotFound (as for a missing one) otherwise. Any other `kind` is returned unchecked for the
    caller's own validation."""
    scope = team_scope(user)
    if kind == "saved":
        teams = library.saved_reply_teams(db, suggestion_id)
        if teams is None or not visible_to(json.loads(teams), scope):
            raise NotFound(f"no saved reply with id {suggestion_id!r}")
        return suggestion_id
    if kind != "past":
        return suggestion_id
    past_id = suggestion_id
    match = _PUBLIC_PAST.fullmatch(suggestion_id)
    if match:
        past_id = search.past_document_ref(db, int(match.group(1)))
    team = conversations.past_reply_team(db, past_id)
    if team is None or not in_scope(team, scope):
        raise NotFound(f"no past reply with id {suggestion_id!r}")
    return past_id


def may_read_conversation(db, user: dict, conversation_id: str) -> bool:
    """Whether `user` may read this conversation (False also when there is none)."""
    return conversation_id in readable_conversations(db, user, [conversation_id])
