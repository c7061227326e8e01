"""Smoke test of bench/sync_bench.py (`make bench`): a real home, a local JSONL-over-HTTP
endpoint and the real sync runner, with a tiny library; the figures are checked for sense."""

from __future__ import annotations

from bench import sync_bench


def test_sync_bench_stores_every_message_once_and_reports_the_ratio():
    result = sync_bench.run(conversations=12, limit=7)
    assert result["messages"] > 12
    assert result["batches"] == -(-result["messages"] // 7)  # every answer of `limit` records
    assert result["floor_messages_per_s"] > 0 and result["sync_messages_per_s"] > 0
    assert result["sync_over_floor"] > 0 and result["sync_again_seconds"] > 0
