"""`replykit eval`: metric arithmetic on hand-computed examples, bad query files, and a real
run through import, index and suggester in a throw-away home."""

from __future__ import annotations

import json
import math
from collections import Counter

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from cli.main import cli
from replykit.errors import InputError
from suggest.evaluation import (
    Query,
    evaluate,
    first_hit_rank,
    is_hit,
    question_counts,
    read_queries,
    record_history,
    score_results,
    skewed_weights,
)


def s(reply_id, saved_reply_id=None):
    return {"id": reply_id, "saved_reply_id": saved_reply_id}


def test_metrics_match_a_hand_computed_example():
    results = [
        ({"a"}, [s("a"), s("b")], True),  # rank 1, confident, correct
        ({"b"}, [s("a"), s("b"), s("c")], True),  # rank 2, confident, wrong at the top
        ({"c"}, [s("x"), s("y"), s("z"), s("w"), s("c")], False),  # rank 5, not confident
        (set(), [s("a")], True),  # out of scope answered confidently: wrong
    ]
    metrics = score_results(results)
    assert metrics == {
        "top1": round(1 / 3, 4),
        "top3": round(2 / 3, 4),
        "mrr10": round((1 + 1 / 2 + 1 / 5) / 3, 4),
        "coverage": 0.75,
        "precision_at_threshold": round(1 / 3, 4),
        "queries": 4,
        "in_scope": 3,
    }


def test_a_past_reply_counts_through_its_saved_reply():
    assert first_hit_rank([s("C1:m2", "refund"), s("refund")], {"refund"}) == 1
    assert first_hit_rank([s("C1:m2", None)], {"refund"}) is None


def test_mrr_ignores_hits_below_rank_ten():
    late = [s(f"x{i}") for i in range(10)] + [s("a")]
    assert score_results([({"a"}, late, False)])["mrr10"] == 0.0


def test_no_confident_answer_gives_no_precision():
    metrics = score_results([({"a"}, [s("a")], False)])
    assert metrics["coverage"] == 0.0 and metrics["precision_at_threshold"] is None


@pytest.mark.parametrize(
    "line, message",
    [
        ('{"query": "hi", "expected": ["a"]}\nnot json\n', "line 2: invalid JSON"),
        ('{"query": "", "expected": []}\n', "line 1, field query: must be non-empty text"),
        ('{"query": "hi", "expected": "a"}\n', "line 1, field expected: must be a list of ids"),
        ("\n\n", "no queries in the file"),
    ],
)
def test_bad_query_files_name_the_line(tmp_path, line, message):
    path = tmp_path / "q.jsonl"
    path.write_text(line, encoding="utf-8")
    with pytest.raises(InputError) as error:
        read_queries(path)
    assert message in str(error.value)


LIBRARY = [
    {"id": "refund", "title": "Refund policy", "body": "You can get a refund within 30 days.",
     "questions": ["can I get my money back", "how do refunds work"]},
    {"id": "password", "title": "Reset your password", "body": "Use the forgot password link.",
     "questions": ["I forgot my password", "can't log in, password lost"]},
    {"id": "shipping", "title": "Shipping times", "body": "Orders ship in 2-3 business days.",
     "questions": ["when will my order arrive", "how long does delivery take"]},
]
QUERIES = [
    {"query": "I would like my money back please", "expected": ["refund"]},
    {"query": "my password doesn't work anymore", "expected": ["password"]},
    {"query": "how many days until my parcel comes", "expected": ["shipping"]},
    {"query": "tell me a joke about penguins", "expected": []},
    {"query": "where is my package", "expected": ["parcel-tracking"]},
]


def write_jsonl(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def test_evaluate_runs_every_mode_through_the_normal_path(tmp_path):
    library = write_jsonl(tmp_path / "lib.jsonl", LIBRARY)
    queries = write_jsonl(tmp_path / "q.jsonl", QUERIES)
    result = evaluate(library, queries, multilingual_model="")
    assert [row["mode"] for row in result["rows"]] == ["dense", "lexical", "hybrid"]
    assert result["unknown_ids"] == {"parcel-tracking": [5]}
    hybrid = result["rows"][2]
    assert hybrid["queries"] == 5 and hybrid["in_scope"] == 4
    # three answerable in-scope queries out of four (the fourth expects an unknown id)
    assert hybrid["top1"] == 0.75 and hybrid["top3"] == 0.75


def test_eval_cli_prints_json_rows_and_warns_about_unknown_ids(tmp_path):
    library = write_jsonl(tmp_path / "lib.jsonl", LIBRARY)
    queries = write_jsonl(tmp_path / "q.jsonl", QUERIES)
    result = CliRunner().invoke(
        cli,
        ["eval", "--library", str(library), "--queries", str(queries), "--mode", "hybrid",
         "--multilingual-model", "", "--json"],
    )
    assert result.exit_code == 0, result.output
    assert "Warning: expected id 'parcel-tracking' is not in the library (query lines 5)" in (
        result.stderr
    )
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(rows) == 1
    assert set(rows[0]) >= {
        "mode", "top1", "top3", "mrr10", "coverage", "precision_at_threshold", "queries",
        "seconds", "qps",
    }


def test_eval_cli_warns_of_a_library_line_the_import_skipped(tmp_path):
    """The import skips an odd row with a warning (suggest.library_io); eval says so, since
    the figures then leave that entry out."""
    library = tmp_path / "lib.jsonl"
    library.write_text('{"id": "a", "title": "A", "body": "a"}\n{"id": "b", "title": ""}\n')
    queries = write_jsonl(tmp_path / "q.jsonl", QUERIES[:1])
    result = CliRunner().invoke(
        cli, ["eval", "--library", str(library), "--queries", str(queries)])
    assert result.exit_code == 0, result.output
    assert f"Warning: {library} line 2" in result.stderr
    assert "title" in result.stderr.splitlines()[0]


def test_threshold_sweep_counts_coverage_and_precision_per_threshold():
    from suggest.evaluation import threshold_sweep

    def scored(reply_id, score):
        return {"id": reply_id, "saved_reply_id": None, "score": score}

    results = [
        ({"a"}, [scored("a", 0.9)], True),
        ({"b"}, [scored("a", 0.5)], False),
        (set(), [scored("a", 0.3)], False),
    ]
    sweep = threshold_sweep(results)
    assert sweep["0.25"] == [1.0, round(1 / 3, 4)]
    assert sweep["0.5"] == [round(2 / 3, 4), 0.5]
    assert sweep["0.8"] == [round(1 / 3, 4), 1.0]


def balanced_queries(entries=20, per_entry=5):
    return [Query(i * per_entry + j, f"question {j} about {i}", [f"e{i}"])
            for i in range(entries) for j in range(per_entry)] + [Query(0, "weather?", [])]


def old_score_results(results):
    """score_results as it was before weights (commit 8518945): the balanced reference."""
    in_scope = [r for r in results if r[0]]
    ranks = [first_hit_rank(s, e) for e, s, _ in in_scope]
    n = len(in_scope)
    confident = [(e, s) for e, s, c in results if c]
    correct = sum(1 for e, s in confident if e and s and is_hit(s[0], e))
    return {
        "top1": round(sum(1 for r in ranks if r == 1) / n, 4) if n else None,
        "top3": round(sum(1 for r in ranks if r and r <= 3) / n, 4) if n else None,
        "mrr10": round(sum(1 / r for r in ranks if r and r <= 10) / n, 4) if n else None,
        "coverage": round(len(confident) / len(results), 4) if results else None,
        "precision_at_threshold": round(correct / len(confident), 4) if confident else None,
        "queries": len(results),
        "in_scope": n,
    }


ids = st.sampled_from("abcdef")
one_result = st.tuples(st.sets(ids, max_size=2), st.lists(ids.map(s), max_size=12),
                       st.booleans())


@settings(max_examples=100, deadline=None)
@given(st.lists(one_result, max_size=30))
def test_unweighted_scores_are_the_old_balanced_figures(results):
    assert score_results(results) == old_score_results(results)
    assert score_results(results, [1.0] * len(results)) == old_score_results(results)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(one_result, st.integers(1, 4)), min_size=1, max_size=20))
def test_integer_weights_score_like_repeated_queries(weighted):
    """Weight w is the same as asking that query w times: the expectation a resample of the
    traffic only estimates."""
    repeated = [result for result, times in weighted for _ in range(times)]
    results = [result for result, _ in weighted]
    metrics = score_results(results, [float(times) for _, times in weighted])
    expected = old_score_results(repeated)
    for key in ("top1", "top3", "mrr10", "coverage", "precision_at_threshold"):
        # w/r and 1/r + ... + 1/r may differ in the last bit, then round to 4 places apart
        assert metrics[key] == pytest.approx(expected[key], abs=1.5e-4), key


@pytest.mark.parametrize("skew", ["zipf", "top75"])
def test_skewed_weights_are_seeded_shares_of_the_entries(skew):
    queries = balanced_queries() + [Query(999, "one more about 3", ["e3"])]
    weights, history = skewed_weights(queries, skew, history=2000)
    again, history_again = skewed_weights(queries, skew, history=2000)
    assert weights == again and history == history_again
    assert weights[-2] == 0.0  # the out-of-scope query
    assert math.isclose(sum(weights), 1.0)
    share = Counter()
    for query, weight in zip(queries, weights, strict=True):
        if query.expected:
            share[query.expected[0]] += weight
    # an entry's share is split evenly over its queries, whatever their number
    for query, weight in zip(queries, weights, strict=True):
        if query.expected:
            entry = query.expected[0]
            count = sum(1 for q in queries if q.expected[:1] == [entry])
            assert math.isclose(weight, share[entry] / count)
    top_entry, top_share = share.most_common(1)[0]
    if skew == "top75":
        assert math.isclose(top_share, 0.75)
    else:  # Zipf s=1.1 over 20 entries: the top one gets 1 / H(20, 1.1) ≈ 0.30
        assert 0.28 < top_share < 0.32
    # the history is a separate draw from the same traffic: same top entry
    assert sum(history.values()) == 2000 and history.most_common(1)[0][0] == top_entry


def test_question_counts_say_how_many_questions_the_figures_rest_on():
    queries = balanced_queries(entries=4, per_entry=2) + [Query(9, "question 0 about 0", ["e0"])]
    assert question_counts(queries, [1.0] * len(queries)) == {"distinct": 8, "effective": 9.0}
    # one question carrying nearly all the weight: the figures rest on about one question
    weights = [0.0] * len(queries)
    weights[0], weights[1] = 0.98, 0.02
    assert question_counts(queries, weights) == {"distinct": 2, "effective": 1.0}


def test_recorded_history_counts_as_sent_replies_not_clicks(home, tmp_path):
    """The eval's history is the team's past replies sent from saved replies: it moves
    usage()'s `sent` (the usage prior), adds no feedback balance and no search document."""
    import storage.search
    from suggest import feedback
    from suggest.library_io import import_replies

    library = write_jsonl(tmp_path / "lib.jsonl", LIBRARY)
    import_replies(home.db, library, home.config.attachments_dir)
    documents = storage.search.document_counts_by_kind(home.db)
    record_history(home.db, Counter({"refund": 7, "password": 2, "not-in-library": 3}))
    usage = {row["reply_id"]: row for row in feedback.usage(home.db)}
    assert (usage["refund"]["sent"], usage["password"]["sent"]) == (7, 2)
    assert usage["refund"]["inserted"] == 0 and usage["shipping"]["sent"] == 0
    signals = feedback.ranking_signals(home.db)
    assert signals["feedback"] == {}
    assert signals["prior"]["refund"] > 0 and signals["prior"]["refund"] > signals["prior"][
        "password"]
    assert storage.search.document_counts_by_kind(home.db) == documents
