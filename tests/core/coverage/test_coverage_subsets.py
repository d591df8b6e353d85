"""`BoxCoverage.take` and `BoxCoverage.concat`: subsets and joins of per-box coverage."""

from __future__ import annotations

import dataclasses

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from core.analysis import CoverageSession, grids_for, match_rule
from core.anchor_config import default_config
from core.coverage import BoxCoverage, MatchRule
from core.coverage.engine import PER_BOX_FIELDS
from core.sources import load_table


def random_coverage(rng: np.random.Generator, n: int, levels: int,
                    rule: MatchRule | None = None) -> BoxCoverage:
    """A coverage with distinct random values in every field, so misplaced rows show."""
    return BoxCoverage(
        best_iou=rng.random(n),
        best_level=rng.integers(-1, 5, n),
        best_shape=rng.integers(-1, 9, n),
        best_row=rng.integers(-1, 100, n),
        best_col=rng.integers(-1, 100, n),
        best_anchor=np.where(rng.random((n, 1)) < 0.1, np.nan, rng.random((n, 4)) * 500),
        positives=rng.integers(0, 20, n),
        matched=rng.random(n) < 0.5,
        low_quality_only=rng.random(n) < 0.2,
        ceiling_iou=rng.random(n),
        ceiling_covered=rng.random(n) < 0.7,
        level_positive_anchors=rng.integers(0, 1000, levels),
        rule=rule or MatchRule(),
    )


def test_per_box_fields_are_every_per_box_field():
    names = {f.name for f in dataclasses.fields(BoxCoverage)}
    assert set(PER_BOX_FIELDS) == names - {"level_positive_anchors", "rule"}
    assert len(set(PER_BOX_FIELDS)) == len(PER_BOX_FIELDS)


@settings(max_examples=60, deadline=None)
@given(n=st.integers(0, 30), levels=st.integers(0, 6), picks=st.integers(0, 40),
       seed=st.integers(0, 2**32 - 1))
def test_take_indexes_every_per_box_field(n, levels, picks, seed):
    rng = np.random.default_rng(seed)
    rule = MatchRule("low_quality", 0.6, 0.3)
    coverage = random_coverage(rng, n, levels, rule)
    before = {name: getattr(coverage, name).copy() for name in PER_BOX_FIELDS}
    positions = rng.integers(0, n, picks if n else 0)  # repeats and any order
    taken = coverage.take(positions)
    assert len(taken) == len(positions)
    for name in PER_BOX_FIELDS:
        want = before[name][positions]
        got = getattr(taken, name)
        assert got.dtype == want.dtype and got.shape == want.shape, name
        np.testing.assert_array_equal(got, want, err_msg=name)
        np.testing.assert_array_equal(getattr(coverage, name), before[name], err_msg=name)
    np.testing.assert_array_equal(taken.level_positive_anchors, coverage.level_positive_anchors)
    assert taken.rule == rule
    # a boolean mask selects the same rows as their positions
    if n:
        mask = rng.random(n) < 0.5
        masked, indexed = coverage.take(mask), coverage.take(np.flatnonzero(mask))
        for name in PER_BOX_FIELDS:
            np.testing.assert_array_equal(getattr(masked, name), getattr(indexed, name))


@settings(max_examples=60, deadline=None)
@given(n=st.integers(0, 25), m=st.integers(0, 25), levels_a=st.integers(0, 6),
       levels_b=st.integers(0, 6), seed=st.integers(0, 2**32 - 1))
def test_concat_joins_boxes_and_adds_level_counts(n, m, levels_a, levels_b, seed):
    rng = np.random.default_rng(seed)
    first = random_coverage(rng, n, levels_a, MatchRule("mmdet", 0.7, 0.3))
    second = random_coverage(rng, m, levels_b, MatchRule("argmax", 0.5, 0.4))
    joined = first.concat(second)
    assert len(joined) == n + m
    for name in PER_BOX_FIELDS:
        a, b = getattr(first, name), getattr(second, name)
        got = getattr(joined, name)
        assert got.shape == (n + m, *a.shape[1:]), name
        np.testing.assert_array_equal(got[:n], a, err_msg=name)
        np.testing.assert_array_equal(got[n:], b, err_msg=name)
    counts = joined.level_positive_anchors
    assert len(counts) == max(levels_a, levels_b)
    for level in range(len(counts)):
        want = sum(int(c[level]) for c in (first.level_positive_anchors,
                                           second.level_positive_anchors) if level < len(c))
        assert counts[level] == want
    assert joined.rule == first.rule
    # neither input is changed
    assert len(first) == n and len(second) == m
    assert len(first.level_positive_anchors) == levels_a


def test_concat_by_hand():
    rule = MatchRule("force_best", 0.55, 0.45)
    empty = BoxCoverage.empty(2, 3, rule)
    empty.level_positive_anchors[:] = [1, 2, 3]
    other = BoxCoverage.empty(1, 5, MatchRule())
    other.best_iou[:] = 0.75
    other.matched[:] = True
    other.level_positive_anchors[:] = [10, 20, 30, 40, 50]
    joined = empty.concat(other)
    assert joined.best_iou.tolist() == [0.0, 0.0, 0.75]
    assert joined.matched.tolist() == [False, False, True]
    assert joined.best_anchor.shape == (3, 4)
    assert joined.level_positive_anchors.tolist() == [11, 22, 33, 40, 50]
    assert other.concat(empty).level_positive_anchors.tolist() == [11, 22, 33, 40, 50]
    assert joined.rule == rule
    assert other.concat(empty).rule == MatchRule()
    assert empty.level_positive_anchors.tolist() == [1, 2, 3]  # not added in place


def test_split_coverage_joins_back_to_the_whole():
    """Coverage of two halves of the images, joined, is the coverage of the whole table."""
    table = load_table("demo?images=80&seed=7")
    config = default_config("keras-cv")
    session = CoverageSession(table)
    whole = session.compute(config).coverage
    grids, rule = grids_for(config), match_rule(config)
    parts = [np.flatnonzero(table.image % 3 == 0), np.flatnonzero(table.image % 3 != 0)]
    halves = [session._subset_engine(rows).compute(grids, rule) for rows in parts]
    joined = halves[0].concat(halves[1])
    order = np.concatenate(parts)
    expected = whole.take(order)
    for name in PER_BOX_FIELDS:
        np.testing.assert_array_equal(getattr(joined, name), getattr(expected, name),
                                      err_msg=name)
    np.testing.assert_array_equal(joined.level_positive_anchors, whole.level_positive_anchors)
    assert whole.level_positive_anchors.sum() > 0
    # back in table order
    back = joined.take(np.argsort(order))
    for name in PER_BOX_FIELDS:
        np.testing.assert_array_equal(getattr(back, name), getattr(whole, name), err_msg=name)
