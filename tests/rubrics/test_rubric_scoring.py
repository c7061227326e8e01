"""Rubric loading/validation and scoring against hand-computed values and properties."""

from __future__ import annotations

import copy

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from replykit.errors import InputError
from rubrics.rubric import default_rubric_path, load_rubric, parse_rubric
from rubrics.scoring import parse_ratings, score

DEFAULT = load_rubric(default_rubric_path())
RAW = yaml.safe_load(default_rubric_path().read_text())


def test_default_rubric_covers_the_issue_categories():
    assert DEFAULT.name == "support-reply"
    assert DEFAULT.keys == ["accurate", "complete", "clear", "empathy", "personalised",
                            "honest", "next_steps", "tone"]
    assert [c.key for c in DEFAULT.categories if c.critical] == ["accurate"]
    assert sum(c.weight for c in DEFAULT.categories) == 100


def test_issue_example_hand_computed():
    # accurate 4 on 1-4 -> 100 (w25); clear 3 -> (3-1)/(4-1) = 66.67 (w15); empathy N/A.
    # score = (100*25 + 66.67*15) / (25+15) = (2500 + 1000) / 40 = 87.5
    result = score(DEFAULT, parse_ratings("accurate=4,clear=3,empathy=na"))
    assert result["score"] == 87.5
    assert result["auto_failed"] is False
    assert result["categories"] == {
        "accurate": 100.0, "complete": None, "clear": 66.67, "empathy": None,
        "personalised": None, "honest": None, "next_steps": None, "tone": None,
    }


def test_full_review_hand_computed():
    # thirds: accurate 3 -> 200/3 x25 = 5000/3; complete 2 -> 100/3 x20 = 2000/3;
    # clear 4 -> 100 x15 = 4500/3; personalised 3 -> 200/3 x10 = 2000/3; honest 4 -> 3000/3;
    # next_steps yes -> 100 x5 = 1500/3; tone 2 -> 100/3 x5 = 500/3; empathy N/A.
    # sum = 18500/3, weights = 90 -> 18500/270 = 68.5185... -> 68.52
    ratings = parse_ratings(
        "accurate=3,complete=2,clear=4,empathy=na,personalised=3,honest=4,next_steps=yes,tone=2"
    )
    assert score(DEFAULT, ratings)["score"] == 68.52


def test_critical_below_half_auto_fails():
    # accurate 2 -> 33.33 < 50: score forced to 0 although everything else is perfect
    ratings = {k: 4 for k in DEFAULT.keys}
    ratings.update(accurate=2, next_steps=1)
    result = score(DEFAULT, ratings)
    assert result == {**result, "score": 0.0, "auto_failed": True}
    assert result["categories"]["accurate"] == 33.33
    ratings["accurate"] = 3  # 66.67 >= 50: no auto-fail
    assert score(DEFAULT, ratings)["auto_failed"] is False


@pytest.mark.parametrize(
    "ratings, message",
    [
        ("bogus=3", "unknown rubric category 'bogus'"),
        ("accurate=5", "rating '5' for category 'accurate' is outside its scale 1-4"),
        ("accurate=0", "outside its scale 1-4"),
        ("next_steps=2", "rating '2' for category 'next_steps' is outside its scale 0-1"),
        ("accurate=na", "category 'accurate' does not allow N/A"),
        ("accurate", "expected KEY=RATING, got 'accurate'"),
        ("clear=3,clear=4", "category 'clear' rated twice"),
    ],
)
def test_bad_ratings(ratings, message):
    with pytest.raises(InputError, match=message.replace("(", r"\(")):
        score(DEFAULT, parse_ratings(ratings))


@pytest.mark.parametrize(
    "mutate, where, message",
    [
        (lambda d: d.update(name="Bad Name"), "x.yaml: field name", "lower-case"),
        (lambda d: d.update(pass_threshold=120), "x.yaml: field pass_threshold", "0-100"),
        (lambda d: d.update(version=0), "x.yaml: field version", "positive integer"),
        (lambda d: d.update(extra=1), "x.yaml", "unknown field(s) extra"),
        (lambda d: d["categories"][1].update(weight=101),
         "x.yaml: categories[1] (complete), field weight", "integer 0-100, got 101"),
        (lambda d: d["categories"][1].update(weight=2.5),
         "x.yaml: categories[1] (complete), field weight", "integer 0-100"),
        (lambda d: d["categories"][2].update(scale="stars"),
         "x.yaml: categories[2] (clear), field scale", "must be 'binary'"),
        (lambda d: d["categories"][2]["scale"]["points"].pop(2),
         "x.yaml: categories[2] (clear), field scale.points", "consecutive integers"),
        (lambda d: d["categories"][0].update(critical="yes"),
         "x.yaml: categories[0] (accurate), field critical", "true or false"),
        (lambda d: d["categories"][3].pop("label"),
         "x.yaml: categories[3] (empathy), field label", "non-empty string"),
        (lambda d: d["categories"][4].update(key="Personal"),
         "x.yaml: categories[4], field key", "lower-case"),
        (lambda d: d["categories"][4].update(key="accurate"),
         "x.yaml: categories[4]", "duplicate category key 'accurate'"),
        (lambda d: d["categories"][5].update(colour="red"),
         "x.yaml: categories[5] (honest)", "unknown field(s) colour"),
        (lambda d: d.update(categories=[]), "x.yaml: field categories", "non-empty list"),
    ],
)
def test_validation_errors_name_file_category_field(mutate, where, message):
    data = copy.deepcopy(RAW)
    mutate(data)
    with pytest.raises(InputError) as info:
        parse_rubric(data, "x.yaml")
    assert info.value.where == where
    assert message in info.value.message


def test_load_rubric_reports_yaml_errors(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("name: [unclosed\n")
    with pytest.raises(InputError, match="not valid YAML") as info:
        load_rubric(path)
    assert info.value.where == str(path)


def test_definition_round_trips():
    assert parse_rubric(DEFAULT.to_dict()) == DEFAULT


# --- properties --------------------------------------------------------------------------

@st.composite
def rubric_and_ratings(draw):
    n = draw(st.integers(1, 6))
    categories = []
    for i in range(n):
        if draw(st.booleans()):
            scale = "binary"
            lo, hi = 0, 1
        else:
            lo = draw(st.integers(-3, 3))
            hi = lo + draw(st.integers(1, 6))
            scale = {"type": "ordinal", "points": {p: f"p{p}" for p in range(lo, hi + 1)}}
        categories.append({
            "key": f"c{i}", "label": f"C{i}", "description": "d",
            "weight": draw(st.integers(0, 100)), "scale": scale,
            "na_allowed": draw(st.booleans()), "critical": draw(st.booleans()),
            "_range": (lo, hi),
        })
    if sum(c["weight"] for c in categories) == 0:
        categories[0]["weight"] = 1
    ratings = {}
    for c in categories:
        lo, hi = c.pop("_range")
        if c["na_allowed"] and draw(st.booleans()):
            ratings[c["key"]] = None
        else:
            ratings[c["key"]] = draw(st.integers(lo, hi))
    rubric = parse_rubric({"name": "r", "version": 1, "pass_threshold": 50,
                           "categories": categories})
    return rubric, ratings


@settings(max_examples=200, deadline=None)
@given(rubric_and_ratings())
def test_score_always_within_0_100(case):
    rubric, ratings = case
    result = score(rubric, ratings)
    assert result["score"] is None or 0 <= result["score"] <= 100
    for value in result["categories"].values():
        assert value is None or 0 <= value <= 100
    if result["auto_failed"]:
        assert result["score"] == 0


@settings(max_examples=200, deadline=None)
@given(rubric_and_ratings())
def test_na_never_changes_the_attainable_maximum(case):
    rubric, ratings = case
    # rate every non-N/A category at its scale maximum: the score must be 100 (if anything
    # weighted was rated), however many categories are N/A
    best = {k: (None if v is None else rubric.category(k).scale.max) for k, v in ratings.items()}
    weighted = sum(rubric.category(k).weight for k, v in best.items() if v is not None)
    assert score(rubric, best)["score"] == (100.0 if weighted else None)


@settings(max_examples=200, deadline=None)
@given(rubric_and_ratings())
def test_na_category_leaves_both_sums(case):
    rubric, ratings = case
    # turning an N/A category into "not rated" (absent) changes nothing
    present = {k: v for k, v in ratings.items() if v is not None}
    assert score(rubric, ratings) == score(rubric, present)
