"""IVF rebuild and load benchmark: an unchanged rebuild, the index file's load (a server's
first suggestion) and IVF recall@10 at several nprobe, at --size vectors, on real texts.

    python -m bench.ivf_bench [--size 100000] [--nprobe 8,16,24,32,48,64] [--queries 200] [--json]

Vectors as in bench.pg_bench: the English public dev sets' saved-reply titles and example
questions (../shared/data) encoded with MiniLM, each of the --size vectors one of them plus
seeded noise (100k real encodes take most of an hour here); the queries are the sets' real
held-out customer questions, encoded as queries. Measured: `VectorIndex.build` training its
k-means vs reusing the previous index's centroids (the same ids: an unchanged rebuild), save,
`VectorIndex.load`, and recall@10 of the IVF top 10 against exact search per nprobe, with
p50/p95 of one search."""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from bench.pg_bench import DATA, derive, texts
from bench.suggest_bench import log, machine, stats_ms


def timed(fn):
    t0 = time.perf_counter()
    value = fn()
    return value, round(time.perf_counter() - t0, 3)


def run(size: int, nprobes: list[int], n_queries: int, base_n: int) -> dict:
    import faiss

    from index.embedders import DEFAULT_MODEL, load_embedder
    from index.vectors import VectorIndex

    embedder = load_embedder(DEFAULT_MODEL)
    base_texts, query_texts = texts(DATA, base_n, n_queries, seed=7)
    log(f"encoding {len(base_texts)} real texts and {len(query_texts)} real questions")
    base = embedder.embed_passages(base_texts)
    queries = np.ascontiguousarray(embedder.embed_queries(query_texts), dtype=np.float32)
    vectors = derive(base, size, 0.5, size)
    ids = np.arange(size, dtype=np.int64) * 2 + 1
    out = {"size": size, "real_texts": len(base_texts), "queries": len(query_texts)}
    first, out["build_train_s"] = timed(
        lambda: VectorIndex.build(embedder.name, embedder.dim, ids, vectors, exact_max=0))
    _, out["build_reuse_s"] = timed(lambda: VectorIndex.build(
        embedder.name, embedder.dim, ids, vectors, exact_max=0, previous=first))
    out["nlist"] = first.index.nlist
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "i.rkvec"
        _, out["save_s"] = timed(lambda: first.save(path))
        out["file_mb"] = round(path.stat().st_size / 2**20, 1)
        loaded, out["load_s"] = timed(lambda: VectorIndex.load(path, embedder.name))
    flat = faiss.IndexFlatIP(embedder.dim)
    flat.add(vectors)
    _, exact = flat.search(queries, 10)
    exact_ids = ids[exact]
    faiss.omp_set_num_threads(1)
    out["nprobe"] = {}
    for nprobe in nprobes:
        loaded.index.nprobe = nprobe
        times, found = [], []
        for q in queries:
            t0 = time.perf_counter()
            found.append([i for i, _ in loaded.search(q, 10)[0]])
            times.append(time.perf_counter() - t0)
        recall = np.mean([len(set(f) & set(e)) / 10 for f, e in zip(found, exact_ids,
                                                                     strict=True)])
        out["nprobe"][nprobe] = {"recall_at_10": round(float(recall), 4), **stats_ms(times)}
        log(f"nprobe {nprobe}: recall@10 {recall:.4f}")
    return out


def verdicts(r: dict) -> list[dict]:
    """Issue 13's unchanged-rebuild target (the index part of it) and recall@10 at the
    product's nprobe, shaped as suggest_bench's."""
    from bench.suggest_bench import TARGET_CACHED_REBUILD_S, TARGET_RECALL
    from replykit.config import Config

    out = [{"target": f"unchanged rebuild of the IVF index at {r['size']:,} (centroids "
                      "reused; the engine's rebuild adds reading the cached vectors)",
            "value": f"{r['build_reuse_s']} s (training k-means: {r['build_train_s']} s)",
            "goal": f"<= {TARGET_CACHED_REBUILD_S:g} s",
            "pass": r["build_reuse_s"] <= TARGET_CACHED_REBUILD_S}]
    nprobe = Config.ivf_nprobe  # main() always measures it
    recall = r["nprobe"][nprobe]["recall_at_10"]
    out.append({"target": f"IVF recall@10 on real texts at {r['size']:,}, nprobe {nprobe} "
                              "(the product's default)", "value": f"{recall}",
                "goal": f">= {TARGET_RECALL}", "pass": recall >= TARGET_RECALL})
    return out


def render(r: dict) -> str:
    """The figures, the recall per nprobe, then the verdicts."""
    from bench.suggest_bench import verdict_lines

    lines = [f"IVF at {r['size']:,} vectors ({r['real_texts']:,} real texts + noise, "
             f"{r['queries']} real questions; nlist {r['nlist']}): build training k-means "
             f"{r['build_train_s']} s, reusing centroids {r['build_reuse_s']} s; save "
             f"{r['save_s']} s ({r['file_mb']} MB), load {r['load_s']} s",
             "  recall@10 vs exact search, one search p50 / p95 ms (one FAISS thread): "
             + "; ".join(
                 f"nprobe {k}: {v['recall_at_10']} ({v['p50_ms']} / {v['p95_ms']})"
                 for k, v in r["nprobe"].items()),
             "targets (issue 13)", *verdict_lines(r["verdicts"])]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.ivf_bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--nprobe", default="8,16,24,32,48,64")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--base", type=int, default=8000, help="real texts encoded (at most)")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    args = parser.parse_args(argv)
    from replykit.config import Config

    nprobes = sorted({int(x) for x in args.nprobe.split(",") if x.strip()} | {Config.ivf_nprobe})
    result = {"machine": machine(), **run(args.size, nprobes, args.queries, args.base)}
    result["verdicts"] = verdicts(result)
    print(json.dumps(result, indent=2) if args.json else render(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
