"""Resident memory of serving one home, measured in a fresh process (so nothing the benchmark
itself allocated is counted): `python -m bench.rss_probe HOME [QUERIES_JSON]` prints JSON.

`base` = VmRSS once the model is loaded and the database answered a lexical query (no vector
index yet); `loaded` = after the vector index was loaded and dense/hybrid queries ran."""

from __future__ import annotations

import json
import os
import sys


def rss_bytes() -> int:
    """This process's VmRSS."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def main(argv: list[str]) -> int:
    os.environ.setdefault("REPLYKIT_MULTILINGUAL_MODEL", "")
    from replykit.config import load_config
    from replykit.home import Home
    from suggest.engine import SuggestEngine
    from suggest.suggester import suggest

    home = Home(load_config(argv[0], multilingual_model=os.environ["REPLYKIT_MULTILINGUAL_MODEL"]))
    queries = json.loads(argv[1]) if len(argv) > 1 else ["I was charged twice for my order"]
    engine = SuggestEngine(home)
    embedder = engine.embedders()[0]
    embedder.embed_queries(["warm up"])
    for q in queries[:20]:
        suggest(engine, q, k=5, mode="lexical")
    base = rss_bytes()
    index = engine.vector_index(embedder)
    for q in queries:
        suggest(engine, q, k=5, mode="hybrid")
        suggest(engine, q, k=5, mode="dense")
    loaded = rss_bytes()
    print(json.dumps({"base": base, "loaded": loaded, "vectors": len(index), "kind": index.kind}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
