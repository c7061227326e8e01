"""`make eval`: suggestion quality on the public dev sets in ../shared/data, every mode, next to
a BM25 baseline (bm25s). Data is read from ../shared/data (already in the library/query
formats of docs/evaluation.md); nothing is downloaded.

    python -m bench.public_eval [--data ../shared/data] [--sets banking77,...] [--json]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import time
from pathlib import Path

from replykit.textio import read_jsonl
from suggest.evaluation import evaluate, read_queries

DEFAULT_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
SETS = ("banking77", "clinc150", "stackfaq", "massive-en", "truevoice-train", "massive-fa")


def bm25_baseline(library: Path, queries: Path) -> dict:
    """bm25s over each entry's texts (title + body, each example question); an entry scores
    its best text. top1/top3 over in-scope queries."""
    import bm25s

    texts, owners = [], []
    for _, entry in read_jsonl(library):
        for text in [f"{entry['title']} {entry['body']}", *entry.get("questions", [])]:
            texts.append(text)
            owners.append(entry["id"])
    retriever = bm25s.BM25()
    retriever.index(bm25s.tokenize(texts, show_progress=False), show_progress=False)
    hits1 = hits3 = n = 0
    for query in read_queries(queries):
        if not query.expected:
            continue
        n += 1
        docs, scores = retriever.retrieve(
            bm25s.tokenize([query.text], show_progress=False),
            k=min(50, len(texts)),
            show_progress=False,
        )
        ranked: list[str] = []
        for doc, score in zip(docs[0], scores[0], strict=True):
            if score > 0 and owners[doc] not in ranked:
                ranked.append(owners[doc])
        hits1 += bool(ranked[:1] and ranked[0] in query.expected)
        hits3 += bool(set(ranked[:3]) & set(query.expected))
    return {"mode": "bm25s", "top1": round(hits1 / n, 4), "top3": round(hits3 / n, 4)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--sets", default=",".join(SETS))
    parser.add_argument("--multilingual-model", default=None)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False
    ).stdout.strip()
    print(f"replykit public eval, commit {commit}, {time.strftime('%Y-%m-%d')}")
    header = (
        f"{'set':<16}{'mode':<9}{'top1':>7}{'top3':>7}{'mrr10':>7}{'cover':>7}{'prec':>7}{'qps':>7}"
    )
    print(header)
    for name in args.sets.split(","):
        folder = args.data / name
        library, queries = folder / "library.jsonl", folder / "queries.jsonl"
        result = evaluate(library, queries, multilingual_model=args.multilingual_model)
        rows = [*result["rows"], bm25_baseline(library, queries)]
        for row in rows:
            if args.json:
                print(json.dumps({"set": name, **row}))
                continue
            cells = [
                row.get(key)
                for key in ("top1", "top3", "mrr10", "coverage", "precision_at_threshold", "qps")
            ]
            print(
                f"{name:<16}{row['mode']:<9}"
                + "".join(f"{'-' if c is None else c:>7}" for c in cells)
            )


if __name__ == "__main__":
    main()
