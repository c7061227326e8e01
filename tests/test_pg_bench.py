"""bench.pg_bench (`make bench ARGS="--database ..."`): derived vectors, held-out queries, and
a tiny real run against the session's PostgreSQL server."""

from __future__ import annotations

import json

import numpy as np

from bench import pg_bench, suggest_bench


def test_queries_are_held_out_from_the_texts_the_vectors_derive_from():
    base, queries = pg_bench.texts(pg_bench.DATA, 2000, 300, seed=7)
    assert len(base) == 2000 and len(queries) == 300
    assert not set(base) & set(queries)


def test_derived_vectors_are_unit_length_and_close_to_their_source():
    rng = np.random.default_rng(0)
    base = rng.standard_normal((50, 384)).astype(np.float32)
    base /= np.linalg.norm(base, axis=1, keepdims=True)
    derived = pg_bench.derive(base, 1000, 0.5, seed=1)
    assert np.allclose(np.linalg.norm(derived, axis=1), 1.0, atol=1e-5)
    nearest = (derived @ base.T).max(axis=1)  # its source: cosine ~ 1 / sqrt(1 + 0.5²)
    assert np.all(nearest > 0.8) and np.median(nearest) < 0.95


def test_make_bench_with_a_database_measures_pgvector_recall_and_the_floor(
        postgres_server, capsys):
    assert suggest_bench.main(["--database", postgres_server, "--sizes", "500",
                               "--queries", "15", "--base", "40", "--ef", "60,200",
                               "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    (row,) = result["rows"]
    assert row["size"] == 500 and row["table_mb"] > 0
    for ef in ("60", "200"):
        assert row["ef"][ef]["returned"] == pg_bench.K
        assert row["ef"][ef]["recall_at_10"] >= 0.9
        assert row["ef"][ef]["pgvector"]["n"] == 5 and row["ef"][ef]["floor"]["n"] == 5
