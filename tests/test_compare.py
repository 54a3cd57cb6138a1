"""The comparison every differential test relies on (tests/compare.py)."""

from __future__ import annotations

import pyarrow as pa
import pytest

from compare import assert_same


def _same(a: list, b: list) -> None:
    assert_same(pa.table({"x": a}), pa.table({"x": b}), ordered=False)


def test_equal_rows_pair_up_even_when_neighbours_are_within_the_tolerance():
    # 1000.005 is within 1e-6 (relative) of 1000.004 and 1000.006: a greedy walk that
    # paired near-equal rows first reported these equal multisets as different
    # (found by `make fuzz`: a weight plus $p = 1000)
    _same([1000.004, 1000.002, 1000.005, 1000.003, 1000.001],
          [1000.003, 1000.001, 1000.004, 1000.002, 1000.005])


def test_last_bits_of_a_float_still_compare_equal():
    _same([0.1 + 0.2, float("nan"), None], [None, 0.3, float("nan")])


def test_nested_values_compare_by_value():
    assert_same(pa.table({"x": [[1, 2], [3]], "m": [{"a": 1.0}, {"a": 2.0}]}),
                pa.table({"x": [[3], [1, 2]], "m": [{"a": 2.0}, {"a": 1.0}]}), ordered=False)


@pytest.mark.parametrize("a, b", [
    ([1.0, 2.0], [1.0, 3.0]),
    ([1, 1, 2], [1, 2, 2]),
    ([None], [0]),
])
def test_a_real_difference_is_reported(a, b):
    with pytest.raises(AssertionError, match="rows differ"):
        _same(a, b)
