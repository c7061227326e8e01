"""Review assignments: sample N sent replies per agent from a period into reviewers' queues,
reproducibly (a seed), skipping replies already reviewed or assigned, and never giving a
reviewer their own reply. Team limits (the web): only replies of conversations the lead's
teams see, each given only to a reviewer whose teams see it."""

from __future__ import annotations

import random
import secrets
from datetime import datetime

import sqlite_utils

from replykit.errors import InputError
from rubrics.calendar import parse_instant
from rubrics.reviews import now_iso
from storage import conversations as conversation_store
from storage import reviews as review_store
from storage.db import write_transaction


def _candidates(db: sqlite_utils.Database, start: datetime, end: datetime) -> dict[str, list]:
    taken = {
        (row["conversation_id"], row["message_id"])
        for row in review_store.reviewed_or_assigned_replies(db)
    }
    by_agent: dict[str, list] = {}
    for row in conversation_store.agent_messages(db, with_author=True):
        key = (row["conversation_id"], row["message_id"])
        if key in taken or not start <= parse_instant(row["created_at"]) < end:
            continue
        by_agent.setdefault(row["author"], []).append(
            (parse_instant(row["created_at"]), *key)
        )
    return {agent: sorted(items) for agent, items in by_agent.items()}


def visible_to(team: str, scope: list[str] | None) -> bool:
    """Whether a conversation of `team` ('' = no team: everyone's) is visible with `scope`
    (a user's teams; None = every team)."""
    return scope is None or not team or team in scope


def assign(
    db: sqlite_utils.Database, start: datetime, end: datetime, period: str, per_agent: int,
    reviewers: list[str], seed: str | None = None, teams: list[str] | None = None,
    scopes: dict[str, list[str] | None] | None = None, team: str = "",
) -> dict:
    """Sample up to `per_agent` unreviewed, unassigned replies of each agent sent in
    [start, end) and queue each for the least-loaded reviewer who is not its author (ties:
    the order of `reviewers`). The same seed on the same data gives the same assignments.
    With `teams` (the lead's scope), only replies of conversations visible to it are
    sampled, and with `team` only those of that team; with `scopes` ({reviewer: their
    scope}), a reply goes only to a reviewer who sees its conversation. Returns {"seed",
    "assigned": [...], "skipped": [{"agent", "reason"}]}."""
    if per_agent < 1:
        raise InputError("must be at least 1", "--per-agent")
    reviewers = [r.strip() for r in reviewers if r.strip()]
    if not reviewers:
        raise InputError("name at least one reviewer", "--reviewers")
    seed = seed or str(secrets.randbelow(10**9))
    assigned, skipped = [], []
    with write_transaction(db):
        load = {r: 0 for r in reviewers}
        for name, count in review_store.open_assignment_counts(db).items():
            if name in load:
                load[name] = count
        candidates = _candidates(db, start, end)
        team_of = {cid: team for cid, team, _queued in conversation_store.conversation_teams_queued(
            db, sorted({item[1] for items in candidates.values() for item in items}))}
        for agent, items in sorted(candidates.items()):
            items = [item for item in items if visible_to(team_of[item[1]], teams)
                     and (not team or team_of[item[1]] == team)]
            eligible = [r for r in reviewers if r != agent]
            if not eligible:
                skipped.append({"agent": agent, "reason": "no reviewer other than the agent"})
                continue
            if not items:
                continue
            rng = random.Random(f"{seed}:{agent}")
            picked = sorted(rng.sample(items, min(per_agent, len(items))))
            for _sent, conversation_id, message_id in picked:
                able = [r for r in eligible if scopes is None
                        or visible_to(team_of[conversation_id], scopes.get(r))]
                if not able:
                    skipped.append({"agent": agent, "reason": "no chosen reviewer sees "
                                    f"conversation {conversation_id}"})
                    continue
                reviewer = min(able, key=lambda r: (load[r], able.index(r)))
                load[reviewer] += 1
                row = {
                    "conversation_id": conversation_id, "message_id": message_id,
                    "author": agent, "reviewer": reviewer, "period": period, "seed": seed,
                    "state": "open", "created_at": now_iso(),
                }
                row["id"] = review_store.insert_assignment(db, row)
                assigned.append(row)
    return {"seed": seed, "assigned": assigned, "skipped": skipped}


def queue(db: sqlite_utils.Database, reviewer: str) -> dict:
    """A reviewer's open work: assigned replies and drafts awaiting review (addressed to
    them, or to nobody, and not their own)."""
    assignments = review_store.open_assignments(db, reviewer)
    drafts = review_store.drafts_awaiting(db, reviewer)
    return {"reviewer": reviewer, "assignments": assignments, "drafts": drafts}
