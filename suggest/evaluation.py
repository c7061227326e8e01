"""Measuring suggestion quality: `replykit eval`.

A throw-away home is filled through the normal import path and index build, then every query
goes through the normal suggester. Metrics (docs/evaluation.md):
- top1 / top3: share of in-scope queries (expected non-empty) with a correct suggestion at
  rank 1 / within the first 3; mrr10: mean of 1/rank of the first correct one in the top 10;
- coverage: share of all queries answered confidently; precision_at_threshold: share of those
  whose first suggestion is correct (a confident answer to an out-of-scope query is wrong).
A suggestion is correct when its saved-reply id, or the saved reply its past reply came from,
is in the query's `expected` list. With per-query weights (skewed traffic, `skewed_weights`)
each share is a weighted one."""

from __future__ import annotations

import random
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import storage.library
from replykit.config import load_config
from replykit.errors import InputError
from replykit.home import Home
from replykit.textio import read_jsonl
from suggest.conversations import import_records
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


def score_results(
    results: list[tuple[set[str], list[dict], bool]], weights: list[float] | None = None
) -> dict:
    """Metrics from (expected ids, ranked suggestions, confident) per query. `weights` (one per
    result, default all 1) make each metric the weighted mean over its queries: the expectation
    under a traffic in which query i is asked with probability ∝ weights[i] (`skewed_weights`)."""
    weights = [1.0] * len(results) if weights is None else weights
    scored = list(zip(results, weights, strict=True))
    in_scope = [(first_hit_rank(s, e), w) for (e, s, _), w in scored if e]
    total = sum(w for _, w in in_scope)
    everything = sum(w for _, w in scored)
    confident = [((e, s), w) for (e, s, c), w in scored if c]
    shown = sum(w for _, w in confident)
    correct = sum(w for (e, s), w in confident if e and s and is_hit(s[0], e))

    def share(part: float, whole: float) -> float | None:
        return round(part / whole, 4) if whole else None

    return {
        "top1": share(sum(w for r, w in in_scope if r == 1), total),
        "top3": share(sum(w for r, w in in_scope if r and r <= 3), total),
        "mrr10": share(sum(w / r for r, w in in_scope if r and r <= 10), total),
        "coverage": share(shown, everything),
        "precision_at_threshold": share(correct, shown),
        "queries": len(results),
        "in_scope": len(in_scope),
    }


SWEEP = tuple(round(0.25 + 0.05 * i, 2) for i in range(12))


def threshold_sweep(
    results: list[tuple[set[str], list[dict], bool]], weights: list[float] | None = None
) -> dict:
    """{threshold: [coverage, precision]} had the confidence threshold been each of SWEEP:
    the trade-off a team chooses its threshold from (weighted as in `score_results`)."""
    weights = [1.0] * len(results) if weights is None else weights
    scored = list(zip(results, weights, strict=True))
    everything = sum(w for _, w in scored)
    sweep = {}
    for threshold in SWEEP:
        confident = [((e, sug), w) for (e, sug, _), w in scored
                     if sug and sug[0]["score"] >= threshold]
        shown = sum(w for _, w in confident)
        correct = sum(w for (e, sug), w in confident if e and is_hit(sug[0], e))
        sweep[str(threshold)] = [
            round(shown / everything, 4) if everything else None,
            round(correct / shown, 4) if shown else None,
        ]
    return sweep


# Traffic skews of `skewed_weights`: real support traffic is not balanced, a handful of saved
# replies answer most questions. "zipf": the entry of rank r gets a share ∝ 1/r^1.1 (the top
# entry 0.24 of 77 entries' traffic, 0.29 of 31); "top75": one entry gets 75 %, the others
# share the rest evenly.
SKEWS = ("zipf", "top75")
ZIPF_S = 1.1
TOP_SHARE = 0.75
HISTORY_USES = 1000


def _skew_weights(count: int, skew: str) -> list[float]:
    if skew == "zipf":
        return [1 / rank**ZIPF_S for rank in range(1, count + 1)]
    if skew == "top75":
        return [TOP_SHARE] + [(1 - TOP_SHARE) / (count - 1)] * (count - 1) if count > 1 else [1.0]
    raise ValueError(f"unknown skew {skew!r}; one of {', '.join(SKEWS)}")


def skewed_weights(
    queries: list[Query], skew: str, seed: int = 16, history: int = HISTORY_USES
) -> tuple[list[float], Counter]:
    """The weight of each of `queries` under traffic with realistic frequency skew, and the
    team's history drawn from that traffic: (weights, Counter {entry id: uses}).

    Entries (an in-scope query's first expected id) are put in a seeded random order and get
    the shares of `skew` (SKEWS, summing to 1); each query weighs its entry's share divided by
    the number of that entry's queries, an out-of-scope query 0. Scored once each with these
    weights (`score_results`), the queries give the expected metrics under that traffic: no
    sampling noise, every distinct question counted. The history is a seeded draw of `history`
    uses from the same shares, never the scored queries: what a team's past uses would say
    about its traffic."""
    by_entry = Counter(query.expected[0] for query in queries if query.expected)
    rng = random.Random(f"{seed}:{skew}")
    entries = sorted(by_entry)
    rng.shuffle(entries)
    raw = _skew_weights(len(entries), skew) if entries else []
    shares = {entry: weight / sum(raw) for entry, weight in zip(entries, raw, strict=True)}
    weights = [shares[q.expected[0]] / by_entry[q.expected[0]] if q.expected else 0.0
               for q in queries]
    return weights, Counter(rng.choices(entries, raw, k=history) if entries else [])


def question_counts(queries: list[Query], weights: list[float]) -> dict:
    """How many questions weighted figures rest on: {"distinct": distinct in-scope texts of
    positive weight, "effective": Kish's effective number (Σw)² / Σw² over the in-scope
    queries, 1 decimal}. Balanced, effective = in-scope queries; when one question carries
    most of the weight it approaches 1, however many were scored."""
    scored = [(q.text, w) for q, w in zip(queries, weights, strict=True) if q.expected and w]
    squares = sum(w * w for _, w in scored)
    return {"distinct": len({text for text, _ in scored}),
            "effective": round(sum(w for _, w in scored) ** 2 / squares, 1) if squares else 0.0}


def record_history(db, uses: Counter, agents: int = 10) -> None:
    """Store a team's past uses of saved replies as its sent replies: agent messages carrying
    `saved_reply_id` (the saved reply's body; ids the library lacks are left out), spread over
    `agents` agents, through the normal conversation import. They count in `feedback.usage`'s
    `sent` (so in the usage prior and the common-answer relief), not as feedback clicks; with
    no customer message before them they pair with no question, so they add no past reply and
    no search document."""
    now = datetime.now(UTC).isoformat(timespec="seconds")
    bodies = {row["id"]: row["body"] for row in storage.library.reply_rows(db, list(uses))}
    sent = (reply_id for reply_id, count in sorted(uses.items()) if reply_id in bodies
            for _ in range(count))
    import_records(db, (
        (f"eval history use {n}, ", {
            "conversation_id": f"eval-history-{n % agents}", "message_id": str(n),
            "role": "agent", "author": f"agent-{n % agents}", "channel": "email",
            "created_at": now, "body": bodies[reply_id], "saved_reply_id": reply_id,
        })
        for n, reply_id in enumerate(sent)))


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
    weights: list[float] | None = None,
) -> dict:
    """Import `library` into a temp home, index it, run every query per mode.
    `queries` replaces the file's; `history` ({reply id: uses}) is recorded as the team's past
    uses first (`record_history`); `learn` adapts the embedders to the library's example
    questions first (`suggest.learning.learn`), so the queries are its held-out split;
    `weights` (one per query, default all 1: `skewed_weights`) weigh the metrics; each row has
    `question_counts` (`distinct`, `effective`).
    Returns {"rows": [metrics per mode], "unknown_ids": {id: [query lines]}, "build_seconds",
    "learned": the learning report or None, "import_warnings": the library rows the import
    repaired or skipped (suggest.library_io)}."""
    queries = read_queries(queries_path) if queries is None else queries
    weights = [1.0] * len(queries) if weights is None else weights
    counts = question_counts(queries, weights)
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
                    # a set may ask the same text twice; its answer does not change
                    if q.text not in answers:
                        answers[q.text] = suggest(engine, q.text, k=k, mode=mode)
                    answer = answers[q.text]
                    results.append((set(q.expected), answer["suggestions"], answer["confident"]))
                seconds = time.perf_counter() - started
                rows.append(
                    {
                        "mode": mode,
                        **score_results(results, weights),
                        **counts,
                        "seconds": round(seconds, 2),
                        "qps": round(len(queries) / seconds, 1) if seconds else None,
                        "threshold_sweep": threshold_sweep(results, weights),
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
