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

import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import storage.library
from replykit.config import load_config
from replykit.errors import InputError
from replykit.home import Home
from replykit.textio import read_jsonl
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


def evaluate(
    library: Path,
    queries_path: Path,
    modes: tuple[str, ...] = MODES,
    k: int = 10,
    model: str | None = None,
    multilingual_model: str | None = None,
    confidence_threshold: float | None = None,
) -> dict:
    """Import `library` into a temp home, index it, run every query per mode.
    Returns {"rows": [metrics per mode], "unknown_ids": {id: [query lines]}, "build_seconds"}."""
    queries = read_queries(queries_path)
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
            import_replies(home.db, Path(library), config.attachments_dir, author="eval")
            engine = SuggestEngine(home)
            engine.rebuild()
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
                results = []
                for q in queries:
                    answer = suggest(engine, q.text, k=k, mode=mode)
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
    return {"rows": rows, "unknown_ids": unknown, "build_seconds": round(build_seconds, 2)}
