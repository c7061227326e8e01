"""Krippendorff's alpha against the published worked example and % agreement by hand."""

from __future__ import annotations

import pytest

from rubrics.agreement import krippendorff_alpha, percent_agreement

# Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability", section on multiple
# observers with missing values: 4 observers (rows), 12 units (columns), None = not coded.
# Published: nominal alpha = 0.743, ordinal alpha = 0.815.
DATA = [
    [1, 2, 3, 3, 2, 1, 4, 1, 2, None, None, None],
    [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, None, 3],
    [None, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, None],
    [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, None],
]
UNITS = {u: {f"obs{c}": DATA[c][u] for c in range(4)} for u in range(12)}


def test_published_example():
    assert krippendorff_alpha(UNITS, "nominal") == pytest.approx(0.743, abs=5e-4)
    assert krippendorff_alpha(UNITS, "ordinal") == pytest.approx(0.815, abs=5e-4)


def test_percent_agreement_by_hand():
    # agreeing pairs / pairs per unit (unit 12 has one value and is not pairable):
    # u1 (1,1,1) 3/3; u2 (2,2,3,2) 3/6; u3, u4, u5 6/6 each; u6 (1,2,3,4) 0/6; u7 6/6;
    # u8 (1,1,2,1) 3/6; u9 6/6; u10 (5,5,5) 3/3; u11 (1,1) 1/1 -> 43 of 55 pairs = 78.18 %
    assert percent_agreement(UNITS) == pytest.approx(100 * 43 / 55)


def test_undefined_cases():
    assert krippendorff_alpha({1: {"a": 3, "b": 3}, 2: {"a": 2, "b": 2}}) == 1.0
    assert krippendorff_alpha({1: {"a": 3, "b": 3}}) is None  # no variation
    assert krippendorff_alpha({1: {"a": 3, "b": None}}) is None  # nothing pairable
    assert percent_agreement({1: {"a": 3}}) is None
