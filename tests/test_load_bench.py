"""Smoke test of the load test (`make load`): a real demo home, `replykit serve` and clients,
with tiny parameters; the figures are checked for sense, not speed."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def test_load_bench_main_run_and_sweep():
    """One demo home and one invocation for both parts (`make load` runs them together too)."""
    out = subprocess.run(
        [sys.executable, "-m", "bench.load_bench", "--clients", "2", "--seconds", "3",
         "--min-requests", "30", "--warmup", "10", "--conversations", "10",
         "--sweep", "1,2", "--sweep-seconds", "1", "--json"],
        cwd=REPO, capture_output=True, text=True, timeout=900,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    result = json.loads(out.stdout)
    assert result["errors"] == 0 and result["warmup_errors"] == 0
    assert result["first_errors"] == []
    assert result["requests"] >= 30 and result["seconds"] >= 3
    assert result["throughput_rps"] > 0
    lat = result["latency_ms"]
    assert 0 < lat["p50"] <= lat["p95"] <= lat["p99"] <= lat["max"]
    rss = result["rss_mib"]
    assert 100 < rss["start"] <= rss["max"] and rss["end"] <= rss["max"]
    assert math.isfinite(result["rss_slope_mib_per_1k"])
    assert result["rss_samples"] >= 3
    assert result["server_log"]["tracebacks"] == 0
    assert len(result["loadavg_start"]) == 3 and len(result["loadavg_end"]) == 3
    assert result["query_sources"]["demo"] > 0

    sweep = result["sweep"]
    assert [row["clients"] for row in sweep["rows"]] == [1, 2]
    for row in sweep["rows"]:
        for name in ("floor", "batched", "unbatched"):
            cell = row[name]
            assert cell["requests"] > 0 and cell["rps"] > 0
            assert 0 < cell["p50_ms"] <= cell["p95_ms"]
        for name in ("batched", "unbatched"):
            assert row[name]["errors"] == 0
            assert row[name]["rps_over_floor"] == round(row[name]["rps"] / row["floor"]["rps"], 2)

    from bench.load_bench import render_sweep
    from bench.suggest_bench import verdict_lines

    labels = ("batched, shipped default", "unbatched")
    assert [v["target"] for v in sweep["verdicts"]] == [
        t for label in labels for t in (f"requests/s with 1 clients ({label})",
                                        f"requests/s with 2 clients ({label})",
                                        f"p95 at 2 clients / p95 at 1 ({label})")]
    assert [v["goal"] for v in sweep["verdicts"]] == [">= 0.8x", ">= 0.8x", "<= 3x"] * 2
    text = render_sweep(sweep)
    assert all(line in text for line in verdict_lines(sweep["verdicts"]))
