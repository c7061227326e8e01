"""bench.public_eval: baseline rows weighted like replykit's rows, and its options refused with
one clear line."""

from __future__ import annotations

import sys
from collections import Counter

import pytest

from bench import public_eval
from suggest.evaluation import Query


def test_a_baseline_row_is_weighted_and_counts_its_questions():
    common = public_eval.common_ranker(Counter({"a": 5, "b": 2, "c": 1}))
    queries = [Query(1, "q1", ["a"]), Query(2, "q2", ["b"]), Query(3, "q3", ["d"]),
               Query(4, "off topic", [])]
    row = public_eval.baseline_row("common", common, queries, [0.5, 0.25, 0.25, 0.0], {})
    # 'a' is always first, 'b' second: top-1 is q1's weight, top-3 q1's and q2's
    assert row == {"mode": "common", "top1": 0.5, "top3": 0.75, "distinct": 3,
                   "effective": round(1 / (0.25 + 0.0625 + 0.0625), 1)}


@pytest.mark.parametrize("argv, message", [
    (["--every", "0"], "argument --every: must be a whole number of at least 1, not '0'"),
    (["--skews", "zipf,pareto"], "--skews: unknown pareto; use balanced, zipf, top75"),
])
def test_bad_options_are_refused_before_any_work(monkeypatch, capsys, argv, message):
    monkeypatch.setattr(sys, "argv", ["public_eval", *argv])
    with pytest.raises(SystemExit) as exit_:
        public_eval.main()
    assert exit_.value.code == 2 and message in capsys.readouterr().err
