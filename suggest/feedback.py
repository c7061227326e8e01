"""Feedback on suggestions (shown, inserted, edited, dismissed), the usage figures of each
saved reply derived from it (usage count, last used, acceptance rate), and the two ranking
signals learnt from them: the usage prior and the feedback balance (`ranking_signals`)."""

from __future__ import annotations

import math
from collections import defaultdict
from datetime import UTC, date, datetime

import sqlite_utils

import storage.conversations
import storage.library
import storage.search
from replykit.errors import InputError, NotFound
from storage.db import write_transaction

EVENTS = ("shown", "inserted", "edited", "dismissed")
KINDS = ("saved", "past")


def record(
    db: sqlite_utils.Database,
    suggestion_id: str,
    event: str,
    kind: str = "saved",
    query: str = "",
    user: str = "",
    edit_ratio: float | None = None,
    conversation_id: str | None = None,
) -> dict:
    """Store one feedback event. `edit_ratio` (0-1) says how much an inserted text was edited;
    `conversation_id` is the conversation the query came from (so forgetting its customer
    erases the query)."""
    if event not in EVENTS:
        raise InputError(f"must be one of {', '.join(EVENTS)}", "field event")
    if kind not in KINDS:
        raise InputError(f"must be one of {', '.join(KINDS)}", "field kind")
    if edit_ratio is not None and not (
        isinstance(edit_ratio, int | float) and not isinstance(edit_ratio, bool)
        and 0 <= edit_ratio <= 1
    ):
        raise InputError("must be a number from 0 to 1", "field edit_ratio")
    with write_transaction(db):
        if kind == "saved":
            exists = storage.library.reply_version(db, suggestion_id) is not None
        else:
            exists = bool(storage.conversations.past_replies_with_team(db, [suggestion_id]))
        if not exists:
            raise NotFound(f"no {kind} reply with id {suggestion_id!r}")
        if conversation_id is not None and storage.conversations.conversation_row(
                db, conversation_id) is None:
            raise NotFound(f"no conversation {conversation_id!r}")
        row = {
            "suggestion_kind": kind,
            "suggestion_id": suggestion_id,
            "event": event,
            "query": (query or "")[:2000],
            "user": user or "",
            "edit_ratio": edit_ratio,
            "conversation_id": conversation_id,
            "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        row["id"] = storage.search.insert_feedback(db, row)
    return row


def usage(db: sqlite_utils.Database, reply_id: str | None = None) -> list[dict]:
    """The usage figures of each saved reply (or of `reply_id`), by id: the one definition
    that the CLI, the library pages, curation and the reports share.

    Each row: reply_id; shown, inserted, edited, dismissed (feedback events); sent (messages
    of imported conversations sent from it); used = inserted + sent; last_used, the latest
    insert or send (None: never used); sends (replies really sent through replykit from it:
    the embed panel's, and imported messages matched to an insertion, suggest.sending).
    Measured on those sends where there are any (`basis` "sends"), else on the insert events
    ("inserts"; None when never shown): acceptance_rate = sends (or inserted) / shown, to 4
    places (None when never shown); mean_edit_ratio (of the sends, or of the `edited` events);
    time_saved_s = characters kept from the saved reply / TYPING_CHARS_PER_S, where a send
    keeps (1 − its edit ratio) × its length and an insert (1 − mean_edit_ratio) × the body's
    length (docs/metrics.md)."""
    rows = storage.search.reply_usage(db, reply_id or None)
    sends = {r["reply_id"]: r for r in storage.conversations.replykit_sends_by_reply(db)}
    edits = {r["reply_id"]: r for r in storage.search.edited_ratio_by_reply(db)}
    for row in rows:
        row["used"] = row["inserted"] + row["sent"]
        times = [row.pop("last_inserted"), row.pop("last_sent")]
        row["last_used"] = max((t for t in times if t), default=None)
        sent = sends.get(row["reply_id"])
        edit = edits.get(row["reply_id"], {"mean_edit_ratio": None, "body_length": 0})
        row["sends"] = sent["sends"] if sent else 0
        accepted = row["sends"] or row["inserted"]
        row["basis"] = "sends" if sent else ("inserts" if row["shown"] else None)
        row["acceptance_rate"] = round(accepted / row["shown"], 4) if row["shown"] else None
        ratio = sent["mean_edit_ratio"] if sent else edit["mean_edit_ratio"]
        row["mean_edit_ratio"] = None if ratio is None else round(ratio, 4)
        kept = (sent["kept_chars"] if sent
                else row["inserted"] * (1 - (ratio or 0)) * edit["body_length"])
        row["time_saved_s"] = round(kept / TYPING_CHARS_PER_S, 1)
    return rows


# An agent types about 40 words (200 characters) a minute: each character kept from a saved
# reply saves 0.3 s of typing. A floor, not the whole saving: finding the answer is left out.
TYPING_CHARS_PER_S = 200 / 60


# Usage prior: a saved reply used often is, before reading the question, a likelier answer.
# prior = PRIOR_WEIGHT × clamp(log(K·(uses + 1) / (total + K)), PRIOR_FLOOR, PRIOR_CEILING)
# with K saved replies: 0 for every reply while nothing was used (or all equally), positive for
# the team's common answers, at least PRIOR_WEIGHT × PRIOR_FLOOR for a reply never used, so a
# new reply that matches the question clearly still wins.
PRIOR_WEIGHT = 0.02
PRIOR_FLOOR = -1.0
PRIOR_CEILING = 4.0

# Feedback balance: per agent u and saved reply, accepted a_u and dismissed d_u events, each
# weighted 0.5^(age in days / FEEDBACK_HALF_LIFE_DAYS); the agent's vote c_u = (a_u − d_u) /
# (a_u + d_u + 1) is in (−1, 1) whatever the number of clicks, and the reply's adjustment is
# FEEDBACK_WEIGHT × Σ_u c_u / (agents + FEEDBACK_PSEUDO_AGENTS): always below FEEDBACK_WEIGHT,
# and one agent alone moves it by less than FEEDBACK_WEIGHT / (1 + FEEDBACK_PSEUDO_AGENTS).
FEEDBACK_WEIGHT = 0.06
FEEDBACK_PSEUDO_AGENTS = 2
FEEDBACK_HALF_LIFE_DAYS = 90.0


def usage_prior(uses: dict[str, int], replies: int) -> dict[str, float]:
    """Ranking bonus of each used saved reply (formula above); replies absent from `uses`
    (never used) get `never_used_prior(uses, replies)`."""
    total = sum(uses.values())
    if not total or replies < 1:
        return {}
    return {reply_id: _prior(n, total, replies) for reply_id, n in uses.items()}


def never_used_prior(uses: dict[str, int], replies: int) -> float:
    """The usage prior of a saved reply with no uses (0 while nothing was used)."""
    total = sum(uses.values())
    return _prior(0, total, replies) if total and replies else 0.0


def _prior(n: int, total: int, replies: int) -> float:
    ratio = math.log(replies * (n + 1) / (total + replies))
    return PRIOR_WEIGHT * min(max(ratio, PRIOR_FLOOR), PRIOR_CEILING)


def usage_share(n: int, total: int, replies: int) -> float:
    """Smoothed share of the team's uses that went to a reply with `n` uses: (n+1)/(total+K)."""
    return (n + 1) / (total + max(replies, 1))


def feedback_balance(events: list[dict], today: date) -> dict[str, float]:
    """{reply id: adjustment} from rows {reply_id, agent, event ('inserted' | 'dismissed'),
    day ('YYYY-MM-DD'), events (count)} (formula above); replies without events are absent."""
    votes: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(lambda: [0, 0]))
    for row in events:
        age = max((today - date.fromisoformat(row["day"])).days, 0)
        weight = row["events"] * 0.5 ** (age / FEEDBACK_HALF_LIFE_DAYS)
        votes[row["reply_id"]][row["agent"]][row["event"] == "dismissed"] += weight
    balance = {}
    for reply_id, agents in votes.items():
        total = sum((a - d) / (a + d + 1) for a, d in agents.values())
        balance[reply_id] = FEEDBACK_WEIGHT * total / (len(agents) + FEEDBACK_PSEUDO_AGENTS)
    return balance


def ranking_signals(db: sqlite_utils.Database, today: date | None = None) -> dict:
    """What the team's use says about each saved reply, for ranking: {"prior": {id: bonus},
    "share": {id: smoothed usage share}, "never_used": (prior, share) of an unused reply,
    "feedback": {id: adjustment}}. Uses are `usage(db)`'s `used` (inserted + sent), read by
    the lean `storage.search.reply_uses` (a server recomputes this after every write)."""
    uses, replies = storage.search.reply_uses(db)
    total = sum(uses.values())
    today = today or datetime.now(UTC).date()
    return {
        "prior": usage_prior(uses, replies),
        "share": {r: usage_share(n, total, replies) for r, n in uses.items()},
        "never_used": (never_used_prior(uses, replies),
                       usage_share(0, total, replies) if total else 0.0),
        "feedback": feedback_balance(storage.search.feedback_by_user_and_day(db), today),
    }
