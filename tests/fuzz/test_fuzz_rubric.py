"""Fuzzing rubric YAML: every file either loads into a rubric that round-trips through its
stored form, or fails with an InputError naming the file; a failed load stores nothing."""

from __future__ import annotations

import yaml
from fuzzing import (
    check_typed_error,
    fuzz_settings,
    json_values,
    mutated,
    noisy,
    texts,
    to_bytes,
)
from hypothesis import example, given
from hypothesis import strategies as st

from rubrics import rubric as rubric_mod
from rubrics import store

labels = st.sampled_from(["Tone", "น้ำเสียง", "لحن مناسب", "Accuracy"]) | texts
points = st.dictionaries(
    st.integers(-3, 6) | st.sampled_from([2**63, "1", " 2 ", 1.5, True]) | texts, labels,
    min_size=2, max_size=5,
)
scale = st.sampled_from(["binary", {"type": "binary"}]) | st.fixed_dictionaries(
    {"type": st.just("ordinal"), "points": points}
).flatmap(lambda s: mutated(s, ["type", "points"]))
CATEGORY = sorted(rubric_mod.CATEGORY_FIELDS)
category = st.fixed_dictionaries({
    "key": st.sampled_from(["tone", "accuracy", "policy_ok", "Bad-Key"]),
    "label": labels, "description": labels, "weight": st.integers(-1, 101) | json_values,
    "scale": scale, "na_allowed": st.booleans(), "critical": st.booleans(),
}).flatmap(lambda c: mutated(c, CATEGORY))
RUBRIC = sorted(rubric_mod.RUBRIC_FIELDS)
definition = st.fixed_dictionaries({
    "name": st.sampled_from(["support-reply", "ทดสอบ", "a.b_c-1"]) | texts,
    "version": st.integers(0, 3) | st.just(2**64),
    "pass_threshold": st.floats(-1, 101) | json_values,
    "description": labels,
    "categories": st.lists(category, max_size=4),
}).flatmap(lambda r: mutated(r, RUBRIC))


@st.composite
def rubric_file(draw) -> bytes:
    """YAML of a near-valid rubric (block or flow style), or YAML-ish noise."""
    kind = draw(st.integers(0, 9))
    if kind == 0:
        return draw(st.binary(max_size=200))
    if kind == 1:
        return to_bytes(draw(st.sampled_from(["[" * 3000, "a: &x [*x]\nb: *x", "? [1]\n: 2",
                                              "!!python/object:os.system x", ""]) | texts))
    text = yaml.safe_dump(draw(definition), allow_unicode=draw(st.booleans()),
                          default_flow_style=draw(st.booleans()))
    return draw(noisy(to_bytes(text)))


@fuzz_settings()
@given(data=rubric_file())
# found by fuzzing: deep nesting (RecursionError), a lone surrogate escape (UnicodeEncodeError
# when stored), ordinal points far apart (a list of every integer between them: out of memory),
# a date that does not exist (ValueError from the YAML loader)
@example(data=b"[" * 3000)
@example(data=b"name: 2026-02-30T00:00:00Z")
@example(data=b'name: r\npass_threshold: 50\ncategories:\n- {key: a, label: "\\ud800", '
              b"description: d, weight: 1, scale: binary}\n")
@example(data=b"name: r\npass_threshold: 50\ncategories:\n- {key: a, label: l, description: d, "
              b"weight: 1, scale: {type: ordinal, points: {0: x, 9223372036854775807: y}}}\n")
def test_rubric_yaml(fuzz_home, watch, tmp_path, data):
    path = tmp_path / "rubric.yaml"
    path.write_bytes(data)
    before = watch.snapshot()
    try:
        rubric = rubric_mod.load_rubric(path)
    except Exception as exc:  # noqa: BLE001 - anything but our typed error fails the test
        check_typed_error(exc, str(path))
        watch.assert_unchanged(before)
        return
    assert rubric_mod.parse_rubric(rubric.to_dict()) == rubric
    stored = store.import_rubric_file(fuzz_home.db, path, by="fuzz")
    kept = store.get_rubric(fuzz_home.db, rubric.name, stored["version"])
    assert kept.to_dict() == dict(rubric.to_dict(), version=stored["version"])
