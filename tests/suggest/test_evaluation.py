"""`replykit eval`: metric arithmetic on hand-computed examples, bad query files, and a real
run through import, index and suggester in a throw-away home."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from cli.main import cli
from replykit.errors import InputError
from suggest.evaluation import evaluate, first_hit_rank, read_queries, score_results


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
    from suggest.evaluation import Query

    return [Query(i * per_entry + j, f"question {j} about {i}", [f"e{i}"])
            for i in range(entries) for j in range(per_entry)] + [Query(0, "weather?", [])]


@pytest.mark.parametrize("skew", ["zipf", "top75"])
def test_a_skewed_sample_is_seeded_in_scope_and_skewed(skew):
    from collections import Counter

    from suggest.evaluation import skewed_sample

    queries = balanced_queries()
    sample, history = skewed_sample(queries, skew, size=2000, history=2000)
    again, history_again = skewed_sample(queries, skew, size=2000, history=2000)
    assert [q.text for q in sample] == [q.text for q in again] and history == history_again
    assert all(q.expected for q in sample) and sum(history.values()) == 2000
    drawn = Counter(q.expected[0] for q in sample)
    top_entry, top_count = drawn.most_common(1)[0]
    share = top_count / len(sample)
    if skew == "top75":
        assert 0.72 < share < 0.78
    else:  # Zipf s=1.1 over 20 entries: the top one gets 1 / H(20, 1.1) ≈ 0.30
        assert 0.26 < share < 0.34
    # the history is a separate draw from the same traffic: same top entry, other counts
    assert history.most_common(1)[0][0] == top_entry and history != drawn


def test_recorded_history_is_the_usage_of_each_reply(home, tmp_path):
    from collections import Counter

    from suggest import feedback
    from suggest.evaluation import record_history
    from suggest.library_io import import_replies

    library = write_jsonl(tmp_path / "lib.jsonl", LIBRARY)
    import_replies(home.db, library, home.config.attachments_dir)
    record_history(home.db, Counter({"refund": 7, "password": 2}))
    used = {row["reply_id"]: row["used"] for row in feedback.usage(home.db)}
    assert used["refund"] == 7 and used["password"] == 2
