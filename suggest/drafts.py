"""Drafting sessions of the agent workspace: when a question was opened, when the draft was
copied, sent or sent for review, whether a suggestion was used and how much it was edited.
The drafting report compares median drafting time with and without an accepted suggestion:
the time replykit saves, measured."""

from __future__ import annotations

import difflib
import re
import statistics
from datetime import UTC, datetime

import sqlite_utils

from replykit.errors import InputError, NotFound
from storage import conversations as conversation_store
from storage import users as store
from storage.db import write_transaction
from suggest import feedback

OUTCOMES = ("copied", "sent", "sent_for_review")
MAX_TEXT = 20_000
EXACT_CELLS = 1_000_000  # unit pairs difflib compares: a few tenths of a second at worst
# every character belongs to one unit: a word (Thai: a run between vowel marks) or a sign,
# with the spaces after it; a sentence with its end marks and spaces
WORD = re.compile(r"\w+\s*|[^\w\s]\s*|\s+")
SENTENCE = re.compile(r"[^.!?\u061f\u3002\n]*[.!?\u061f\u3002\n]+\s*|[^.!?\u061f\u3002\n]+")


def _now() -> datetime:
    return datetime.now(UTC)


def _common_ends(a: str, b: str) -> tuple[int, int]:
    """Lengths of the common prefix and of the common suffix (not overlapping it)."""
    shortest = min(len(a), len(b))
    prefix = next((i for i in range(shortest) if a[i] != b[i]), shortest)
    suffix = next((i for i in range(shortest - prefix) if a[-1 - i] != b[-1 - i]),
                  shortest - prefix)
    return prefix, suffix


def _matched_chars(a: str, b: str) -> int:
    """Characters of `a` that difflib matches in `b`, compared by the finest units whose
    pairs number at most EXACT_CELLS: characters (exact), else words, else sentences, else
    runs of sentences. Coarser units only match when equal as a whole, so long, widely
    edited texts come out a little more edited than difflib would say (docs/bad-input.md)."""
    for split in (list, WORD.findall, SENTENCE.findall):
        units_a, units_b = split(a), split(b)
        if len(units_a) * len(units_b) <= EXACT_CELLS:
            break
    else:
        size = -(-max(len(units_a), len(units_b)) // 1000)
        units_a, units_b = (["".join(units[i:i + size]) for i in range(0, len(units), size)]
                            for units in (units_a, units_b))
    blocks = difflib.SequenceMatcher(None, units_a, units_b, autojunk=False).get_matching_blocks()
    return sum(len(unit) for i, _, size in blocks for unit in units_a[i:i + size])


def edit_ratio(inserted: str, final: str) -> float:
    """How much of an inserted text was changed: 0 = kept as is, 1 = entirely rewritten;
    1 - 2M / T, M the matched characters, T both lengths: difflib's ratio, exactly, for
    short texts. For long ones the common start and end count as matched and the rest is
    compared by `_matched_chars`: a few tenths of a second at worst (EXACT_CELLS), at any
    length, where plain difflib is quadratic (35 s at the 20,000-character cap)."""
    if not inserted:
        return 1.0
    prefix, suffix = (0, 0) if len(inserted) * len(final) <= EXACT_CELLS else _common_ends(
        inserted, final)
    matched = prefix + suffix + _matched_chars(inserted[prefix:len(inserted) - suffix],
                                               final[prefix:len(final) - suffix])
    return round(max(0.0, 1 - 2 * matched / (len(inserted) + len(final))), 4)


def start(db: sqlite_utils.Database, agent: str, team: str = "", query: str = "",
          conversation_id: str | None = None, agent_id: int | None = None) -> dict:
    """Open a drafting session (the agent opened a question); `agent_id`, the web user,
    owns it (`agent` is their display name, a label)."""
    if conversation_id is not None and conversation_store.conversation_team(
            db, conversation_id) is None:
        raise NotFound(f"no conversation {conversation_id!r}")
    with write_transaction(db):
        draft_id = store.insert_drafting_session(db, {
            "agent": agent, "agent_id": agent_id, "team": team or "",
            "conversation_id": conversation_id,
            "query": (query or "")[:MAX_TEXT],
            "opened_at": _now().isoformat(timespec="milliseconds"),
        })
    return get(db, draft_id)


def get(db: sqlite_utils.Database, draft_id: int) -> dict:
    draft = store.drafting_session(db, draft_id)
    if draft is None:
        raise NotFound(f"no draft {draft_id}")
    return draft


def finish(db: sqlite_utils.Database, draft_id: int, outcome: str, text: str,
           suggestion_kind: str | None = None, suggestion_id: str | None = None,
           inserted_text: str | None = None, query: str = "",
           review_draft_id: int | None = None) -> dict:
    """Close a drafting session; the first outcome counts (later copies change nothing).
    When a suggestion was inserted, its 'edited' feedback with the edit ratio is recorded."""
    if outcome not in OUTCOMES:
        raise InputError(f"must be one of {', '.join(OUTCOMES)}", "field outcome")
    for field, value in (("text", text), ("inserted_text", inserted_text or "")):
        if not isinstance(value, str) or len(value) > MAX_TEXT:
            raise InputError(f"must be text of at most {MAX_TEXT} characters", f"field {field}")
    if (suggestion_id is None) != (inserted_text is None):
        raise InputError("give both suggestion_id and inserted_text, or neither", "fields")
    # compared before the write lock is taken: other writers never wait for the diff
    ratio = None if inserted_text is None else edit_ratio(inserted_text, text)
    with write_transaction(db):
        draft = get(db, draft_id)
        if draft["finished_at"]:
            return draft
        finished = _now()
        opened = datetime.fromisoformat(draft["opened_at"])
        update = {
            "finished_at": finished.isoformat(timespec="milliseconds"), "outcome": outcome,
            "seconds": round((finished - opened).total_seconds(), 3), "text": text,
            "review_draft_id": review_draft_id,
        }
        if suggestion_id is not None:
            update.update(suggestion_kind=suggestion_kind or "saved", suggestion_id=suggestion_id,
                          edit_ratio=ratio)
            feedback.record(db, suggestion_id, "edited", update["suggestion_kind"],
                            query or draft["query"], draft["agent"], update["edit_ratio"])
        store.update_drafting_session(db, draft_id, update)
    return get(db, draft_id)


def _median(values: list[float]) -> float | None:
    return round(statistics.median(values), 1) if values else None


def _summary(rows: list[dict]) -> dict:
    used = [r["seconds"] for r in rows if r["suggestion_id"]]
    unused = [r["seconds"] for r in rows if not r["suggestion_id"]]
    with_s, without_s = _median(used), _median(unused)
    return {
        "drafts": len(rows),
        "with_suggestion": {"drafts": len(used), "median_s": with_s},
        "without_suggestion": {"drafts": len(unused), "median_s": without_s},
        "saved_s": None if with_s is None or without_s is None else round(without_s - with_s, 1),
        "mean_edit_ratio": (round(statistics.fmean(r["edit_ratio"] for r in rows
                                                   if r["edit_ratio"] is not None), 3)
                            if any(r["edit_ratio"] is not None for r in rows) else None),
    }


def drafting_report(db: sqlite_utils.Database, start: datetime, end: datetime,
                    agent: str | None = None, teams=None) -> dict:
    """Median drafting time with and without a used suggestion: overall, per agent, per team,
    over drafts finished in [start, end) by agents of `teams` ('' = no team; None: all)."""
    rows = [
        r for r in store.finished_drafting_sessions(db)
        if start <= datetime.fromisoformat(r["finished_at"]) < end
        and agent in (None, r["agent"]) and (teams is None or r["team"] in teams)
    ]
    return {
        "overall": _summary(rows),
        "by_agent": {a: _summary([r for r in rows if r["agent"] == a])
                     for a in sorted({r["agent"] for r in rows})},
        "by_team": {t: _summary([r for r in rows if r["team"] == t])
                    for t in sorted({r["team"] for r in rows})},
        "drafts": rows,
    }
