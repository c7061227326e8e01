"""Benchmarks of replykit (`make bench`); see docs/benchmarks.md."""
