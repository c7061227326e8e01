"""Measuring suggestion quality: `replykit eval`.

A throw-away home is filled through the normal import path and index build, then every query
goes through the normal suggester. Metrics (docs/evaluation.md):
- top1 / top3: share of in-scope queries (expected non-empty) with a correct suggestion at
  rank 1 / within the first 3; mrr10: mean of 1/rank of the first correct one in the top 10;
- coverage: share of all queries answered confidently; precision_at_threshold: share of those
  whose first suggestion is correct (a confident answer to an out-of-scope query is wrong).
A suggestion is correct when its saved-reply id, or the saved reply its past reply came from,
is in the query's `expected` list."""

from __future__ import annotations

import random
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import storage.library
import storage.search
from replykit.config import load_config
from replykit.errors import InputError
from replykit.home import Home
from replykit.textio import read_jsonl
from storage.db import write_transaction
from suggest.engine import SuggestEngine
from suggest.library_io import import_replies
from suggest.suggester import MODES, suggest


@dataclass
class Query:
    line: int
    text: str
    expected: list[str]


def read_queries(path: Path) -> list[Query]:
    """Query lines {"query": str, "expected": [id, ...]}; InputError names the bad line."""
    queries = []
    for number, record in read_jsonl(Path(path)):
        where = f"{path} line {number}, "
        text = record.get("query")
        if not isinstance(text, str) or not text.strip():
            raise InputError("must be non-empty text", f"{where}field query")
        expected = record.get("expected", [])
        if not isinstance(expected, list) or not all(isinstance(e, str) for e in expected):
            raise InputError("must be a list of ids", f"{where}field expected")
        queries.append(Query(number, text, expected))
    if not queries:
        raise InputError("no queries in the file", str(path))
    return queries


def is_hit(suggestion: dict, expected: set[str]) -> bool:
    """Whether a suggestion answers with one of the expected saved replies."""
    return suggestion["id"] in expected or suggestion.get("saved_reply_id") in expected


def first_hit_rank(suggestions: list[dict], expected: set[str]) -> int | None:
    """1-based rank of the first correct suggestion, or None."""
    for rank, suggestion in enumerate(suggestions, start=1):
        if is_hit(suggestion, expected):
            return rank
    return None


def score_results(results: list[tuple[set[str], list[dict], bool]]) -> dict:
    """Metrics from (expected ids, ranked suggestions, confident) per query."""
    in_scope = [r for r in results if r[0]]
    ranks = [first_hit_rank(s, e) for e, s, _ in in_scope]
    n = len(in_scope)
    confident = [(e, s) for e, s, c in results if c]
    correct = sum(1 for e, s in confident if e and s and is_hit(s[0], e))
    return {
        "top1": round(sum(1 for r in ranks if r == 1) / n, 4) if n else None,
        "top3": round(sum(1 for r in ranks if r and r <= 3) / n, 4) if n else None,
        "mrr10": round(sum(1 / r for r in ranks if r and r <= 10) / n, 4) if n else None,
        "coverage": round(len(confident) / len(results), 4) if results else None,
        "precision_at_threshold": round(correct / len(confident), 4) if confident else None,
        "queries": len(results),
        "in_scope": n,
    }


SWEEP = tuple(round(0.25 + 0.05 * i, 2) for i in range(12))


def threshold_sweep(results: list[tuple[set[str], list[dict], bool]]) -> dict:
    """{threshold: [coverage, precision]} had the confidence threshold been each of SWEEP:
    the trade-off a team chooses its threshold from."""
    sweep = {}
    for threshold in SWEEP:
        confident = [(e, sug) for e, sug, _ in results if sug and sug[0]["score"] >= threshold]
        correct = sum(1 for e, sug in confident if e and is_hit(sug[0], e))
        sweep[str(threshold)] = [
            round(len(confident) / len(results), 4) if results else None,
            round(correct / len(confident), 4) if confident else None,
        ]
    return sweep


# Traffic skews of `skewed_sample`: real support traffic is not balanced, a handful of saved
# replies answer most questions. "zipf": entry of rank r drawn with weight 1/r^1.1 (the top
# entry gets about a fifth of 77 entries' traffic); "top75": one entry gets 75 %, the others
# share the rest evenly.
SKEWS = ("zipf", "top75")
ZIPF_S = 1.1
TOP_SHARE = 0.75


def _skew_weights(count: int, skew: str) -> list[float]:
    if skew == "zipf":
        return [1 / rank**ZIPF_S for rank in range(1, count + 1)]
    if skew == "top75":
        return [TOP_SHARE] + [(1 - TOP_SHARE) / (count - 1)] * (count - 1) if count > 1 else [1.0]
    raise ValueError(f"unknown skew {skew!r}; one of {', '.join(SKEWS)}")


def skewed_sample(
    queries: list[Query], skew: str, seed: int = 16, size: int = 600, history: int = 1000
) -> tuple[list[Query], Counter]:
    """A resample of the in-scope `queries` with realistic frequency skew, and the team's
    history drawn from the same traffic: (queries, Counter {entry id: uses}).

    Entries (a query's first expected id) are put in a seeded random order and drawn with
    the weights of `skew` (SKEWS); each drawn entry gives one of its queries at random (with
    replacement). The history is a separate draw of `history` entries from the same weights,
    never the scored queries: what a team's past uses would say about its traffic."""
    by_entry: dict[str, list[Query]] = {}
    for query in queries:
        if query.expected:
            by_entry.setdefault(query.expected[0], []).append(query)
    rng = random.Random(f"{seed}:{skew}")
    entries = sorted(by_entry)
    rng.shuffle(entries)
    weights = _skew_weights(len(entries), skew)
    drawn = rng.choices(entries, weights, k=size)
    sample = [rng.choice(by_entry[entry]) for entry in drawn]
    return sample, Counter(rng.choices(entries, weights, k=history))


def record_history(db, uses: Counter, agents: int = 10) -> None:
    """Store a team's past uses of saved replies as `inserted` feedback events, spread over
    `agents` agents (eval: the train side of a skewed sample)."""
    now = datetime.now(UTC).isoformat(timespec="seconds")
    with write_transaction(db):
        for n, reply_id in enumerate(r for r, count in sorted(uses.items()) for _ in range(count)):
            storage.search.insert_feedback(db, {
                "suggestion_kind": "saved", "suggestion_id": reply_id, "event": "inserted",
                "query": "", "user": f"agent-{n % agents}", "edit_ratio": None,
                "created_at": now,
            })


def evaluate(
    library: Path,
    queries_path: Path | None,
    modes: tuple[str, ...] = MODES,
    k: int = 10,
    model: str | None = None,
    multilingual_model: str | None = None,
    confidence_threshold: float | None = None,
    queries: list[Query] | None = None,
    history: Counter | None = None,
    learn: bool = False,
) -> dict:
    """Import `library` into a temp home, index it, run every query per mode.
    `queries` replaces the file's; `history` ({reply id: uses}) is recorded as the team's past
    uses first (`record_history`); `learn` adapts the embedders to the library's example
    questions first (`suggest.learning.learn`), so the queries are its held-out split.
    Returns {"rows": [metrics per mode], "unknown_ids": {id: [query lines]}, "build_seconds",
    "learned": the learning report or None, "import_warnings": the library rows the import
    repaired or skipped (suggest.library_io)}."""
    queries = read_queries(queries_path) if queries is None else queries
    with tempfile.TemporaryDirectory(prefix="replykit-eval-") as tmp:
        config = load_config(
            tmp,
            model=model,
            multilingual_model=multilingual_model,
            confidence_threshold=confidence_threshold,
        )
        home = Home(config)
        try:
            started = time.perf_counter()
            imported = import_replies(home.db, Path(library), config.attachments_dir,
                                      author="eval")
            if history:
                record_history(home.db, history)
            engine = SuggestEngine(home)
            engine.rebuild()
            learned = None
            if learn:
                from suggest.learning import learn as learn_from_team

                learned = learn_from_team(engine)
            build_seconds = time.perf_counter() - started
            known = storage.library.reply_ids(home.db)
            unknown: dict[str, list[int]] = {}
            for q in queries:
                for e in q.expected:
                    if e not in known:
                        unknown.setdefault(e, []).append(q.line)
            rows = []
            for mode in modes:
                started = time.perf_counter()
                results, answers = [], {}
                for q in queries:
                    # a skewed sample repeats queries; the answer to a text does not change
                    if q.text not in answers:
                        answers[q.text] = suggest(engine, q.text, k=k, mode=mode)
                    answer = answers[q.text]
                    results.append((set(q.expected), answer["suggestions"], answer["confident"]))
                seconds = time.perf_counter() - started
                rows.append(
                    {
                        "mode": mode,
                        **score_results(results),
                        "seconds": round(seconds, 2),
                        "qps": round(len(queries) / seconds, 1) if seconds else None,
                        "threshold_sweep": threshold_sweep(results),
                    }
                )
        finally:
            home.close()
    return {
        "rows": rows,
        "unknown_ids": unknown,
        "build_seconds": round(build_seconds, 2),
        "learned": learned,
        "import_warnings": imported["warnings"],
    }
