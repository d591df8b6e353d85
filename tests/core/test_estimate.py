"""The live-tuning estimate: the seeded image sample, the ratio intervals, the estimated report
against the exact one, and per-box coverage of an estimated result (docs/live-tuning.md)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.analysis import CoverageSession
from core.anchor_config import default_config
from core.coverage import CoverageReport, summarize
from core.coverage.engine import PER_BOX_FIELDS
from core.estimate import (
    SAMPLE_BOXES,
    SAMPLE_SEED,
    Z_95,
    estimate_report,
    ratio_interval,
    sample_images,
)
from core.sources import load_table

MEAN_METRICS = ("recall", "best_possible_recall", "ceiling_recall", "mean_best_iou",
                "mean_positives_per_box")
REPORT_KEYS = ("recall", "best_possible_recall", "ceiling_recall", "mean_best_iou",
               "uncovered_boxes", "per_level", "per_class")


def image_column(counts: np.ndarray, seed: int = 0) -> np.ndarray:
    """A box table's image column holding counts[i] boxes of image i, in shuffled order."""
    image = np.repeat(np.arange(len(counts)), counts)
    return np.random.default_rng(seed).permutation(image)


def draw_order(image_count: int, seed: int) -> np.ndarray:
    """The order images are drawn in (the documented seeded permutation)."""
    return np.random.default_rng(seed).permutation(image_count)


# --------------------------------------------------------------------------- sample_images


@settings(max_examples=150, deadline=None)
@given(counts=st.lists(st.integers(0, 9), min_size=1, max_size=80),
       extra_empty=st.integers(0, 5), target=st.integers(1, 300),
       seed=st.integers(0, 2**32 - 1))
def test_sample_is_the_minimal_prefix_of_the_draw(counts, extra_empty, target, seed):
    counts = np.asarray(counts + [0] * extra_empty)  # trailing images without any box
    image_count = len(counts)
    picked = sample_images(image_column(counts, seed), image_count, target, seed)
    assert picked.dtype.kind == "i"
    assert list(picked) == sorted(set(picked.tolist()))  # sorted and unique
    assert len(picked) == 0 or (picked.min() >= 0 and picked.max() < image_count)
    boxes = int(counts[picked].sum())
    if counts.sum() < target:
        assert picked.tolist() == list(range(image_count))
        return
    order = draw_order(image_count, seed)
    # whole images, a prefix of the draw order ...
    assert set(picked.tolist()) == set(order[:len(picked)].tolist())
    # ... holding the target, and minimal: without its last drawn image it falls short
    assert boxes >= target
    assert boxes - counts[order[len(picked) - 1]] < target


def test_sample_holds_the_target_on_a_box_table():
    table = load_table("demo?images=3000&seed=1")
    picked = sample_images(table.image, table.image_count)
    counts = np.bincount(table.image, minlength=table.image_count)
    assert SAMPLE_BOXES <= counts[picked].sum() < SAMPLE_BOXES + counts.max()
    assert len(picked) < table.image_count
    order = draw_order(table.image_count, SAMPLE_SEED)
    assert picked.tolist() == sorted(order[:len(picked)].tolist())
    assert counts[picked].sum() - counts[order[len(picked) - 1]] < SAMPLE_BOXES


def test_small_dataset_is_sampled_whole():
    counts = np.array([3, 0, 5, 1, 0, 0, 2])
    image = image_column(counts)
    assert sample_images(image, 7, target_boxes=12).tolist() == list(range(7))
    assert sample_images(image, 7, target_boxes=1000, seed=5).tolist() == list(range(7))
    # images after the last one holding a box belong to the dataset too
    assert sample_images(image, 10, target_boxes=12).tolist() == list(range(10))
    assert sample_images(np.zeros(0, np.int64), 4, target_boxes=1).tolist() == [0, 1, 2, 3]


def test_sample_is_deterministic_per_seed():
    counts = np.random.default_rng(3).integers(0, 12, 2000)
    image = image_column(counts)
    first = sample_images(image, len(counts), 3000, seed=11)
    again = sample_images(image.copy(), len(counts), 3000, seed=11)
    other = sample_images(image, len(counts), 3000, seed=12)
    np.testing.assert_array_equal(first, again)
    assert first.tolist() != other.tolist()
    assert len(set(first.tolist()) ^ set(other.tolist())) > len(first) // 2
    # the default seed is the documented one
    np.testing.assert_array_equal(sample_images(image, len(counts), 3000),
                                  sample_images(image, len(counts), 3000, seed=SAMPLE_SEED))


def test_empty_images_are_drawn_members():
    rng = np.random.default_rng(8)
    counts = np.where(rng.random(1000) < 0.4, 0, rng.integers(1, 8, 1000))
    picked = sample_images(image_column(counts), 1000, 800, seed=4)
    empty_drawn = picked[counts[picked] == 0]
    order = draw_order(1000, 4)[:len(picked)]
    # every empty image drawn before the target was reached is in the sample, none other
    assert sorted(empty_drawn.tolist()) == sorted(order[counts[order] == 0].tolist())
    assert 0.25 * len(picked) < len(empty_drawn) < 0.55 * len(picked)


# --------------------------------------------------------------------------- ratio_interval


def test_interval_is_zero_for_the_whole_population():
    y, x = np.array([1.0, 2.0, 0.0, 4.0]), np.array([2.0, 3.0, 1.0, 4.0])
    assert ratio_interval(y, x, population=4) == 0.0


def test_interval_is_infinite_without_two_images():
    assert ratio_interval(np.array([1.0]), np.array([3.0]), population=50) == math.inf
    assert ratio_interval(np.zeros(0), np.zeros(0), population=50) == math.inf
    assert ratio_interval(np.zeros(3), np.zeros(3), population=50) == math.inf  # no boxes


def test_interval_by_hand():
    y, x = np.array([1.0, 2.0, 0.0]), np.array([2.0, 3.0, 1.0])
    # ratio 3/6 = 0.5; residuals y - 0.5x = 0, 0.5, -0.5 -> s^2 = 0.5 / 2 = 0.25; mean x = 2
    # var = (1 - 3/10) * 0.25 / (3 * 2^2) = 0.0145833...
    expected = 1.959964 * math.sqrt(0.7 * 0.25 / 12)
    assert ratio_interval(y, x, population=10) == pytest.approx(expected, rel=1e-12)
    assert expected == pytest.approx(0.23668, abs=1e-5)
    # a larger population: a wider interval (the finite population correction tends to 1)
    assert ratio_interval(y, x, population=10**9) == pytest.approx(
        Z_95 * math.sqrt(0.25 / 12), rel=1e-6)


def test_interval_covers_the_true_ratio_at_its_nominal_rate():
    rng = np.random.default_rng(2024)
    population = 2000
    boxes = rng.geometric(0.12, population) - 1  # 0 .. ~60 boxes, a long tail
    rate = rng.beta(2.0, 3.0, population)  # outcomes correlated within an image
    hits = rng.binomial(boxes, rate)  # per-box 0/1 outcomes, summed per image
    truth = hits.sum() / boxes.sum()
    covered, widths = 0, []
    draws = 400
    for _ in range(draws):
        members = rng.choice(population, 200, replace=False)
        y, x = hits[members].astype(np.float64), boxes[members].astype(np.float64)
        half = ratio_interval(y, x, population)
        widths.append(half)
        covered += abs(y.sum() / x.sum() - truth) <= half
    assert 0.90 * draws <= covered <= 0.99 * draws
    # the width matches the spread of the estimator (not trivially wide)
    assert 0.02 < float(np.median(widths)) < 0.1


# --------------------------------------------------------------------------- estimate_report


def assert_report_equal(got: CoverageReport, want: CoverageReport):
    for key in REPORT_KEYS:
        assert getattr(got, key) == getattr(want, key), key


def test_estimate_on_all_rows_is_the_exact_report():
    table = load_table("demo?images=40&seed=5")
    config = default_config("keras-cv")
    exact = CoverageSession(table).compute(config)
    report, estimate = estimate_report(
        exact.coverage, np.arange(len(table)), table.image, table.cls, table.class_names,
        config.levels, config.positive_iou, table.image_count, table.image_count, len(table))
    assert_report_equal(report, exact.report)
    assert report == exact.report
    assert all(v == 0.0 for v in estimate.intervals.values())
    assert set(estimate.intervals) >= {*MEAN_METRICS, "uncovered_boxes"}
    assert (estimate.images, estimate.total_images) == (table.image_count, table.image_count)
    assert (estimate.boxes, estimate.total_boxes) == (len(table), len(table))


def test_session_estimate_of_a_small_dataset_is_exact():
    table = load_table("demo?images=60&seed=9")
    session = CoverageSession(table)
    assert not session.estimates_help
    for ratios in ((0.5, 1.0, 2.0), (1.0,), (0.25, 1.0, 4.0)):
        config = default_config("keras-cv").replace(aspect_ratios=ratios)
        exact, estimated = session.compute(config), session.estimate(config, image_index=3)
        assert exact.exact and not estimated.exact
        assert_report_equal(estimated.report, exact.report)
        assert all(v == 0.0 for v in estimated.estimate.intervals.values())
        np.testing.assert_array_equal(estimated.rows, np.arange(len(table)))
        np.testing.assert_array_equal(estimated.estimate.sample_rows, np.arange(len(table)))


def test_empty_sampled_images_enter_the_intervals():
    """`sampled_images` counts images without boxes: they are zero rows of the estimator."""
    table = load_table("demo?images=30&seed=2")
    config = default_config("keras-cv")
    coverage = CoverageSession(table).compute(config).coverage
    keep = np.flatnonzero(table.image < 20)  # images 0..19 with boxes, 5 more drawn empty
    args = (coverage.take(keep), keep, table.image[keep], table.cls[keep], table.class_names,
            config.levels, config.positive_iou)
    report, estimate = estimate_report(*args, 25, 200, 1000)
    x = np.r_[np.bincount(table.image[keep], minlength=20), np.zeros(5)].astype(float)
    y = np.r_[np.bincount(table.image[keep], weights=coverage.matched[keep], minlength=20),
              np.zeros(5)]
    assert estimate.intervals["recall"] == pytest.approx(ratio_interval(y, x, 200), rel=1e-12)
    assert estimate.intervals["recall"] != pytest.approx(
        ratio_interval(y[:20], x[:20], 200), rel=1e-6)
    assert estimate.intervals["uncovered_boxes"] == pytest.approx(
        estimate.intervals["recall"] * 1000)
    # counts scaled to the 1000 boxes of the dataset, shares not
    factor = 1000 / len(keep)
    assert report.uncovered_boxes == round((~coverage.matched[keep]).sum() * factor)
    assert report.recall == pytest.approx(coverage.matched[keep].mean())
    assert sum(row.boxes for row in report.per_class.values()) == pytest.approx(1000, abs=4)
    assert sum(row.uncovered for row in report.per_class.values()) == pytest.approx(
        report.uncovered_boxes, abs=4)


# --------------------------------------------------------------------------- a large dataset


@pytest.fixture(scope="module")
def large():
    table = load_table("demo?images=6000&seed=2")
    return table, CoverageSession(table)


CONFIGS = ((0.5, 1.0, 2.0), (1.0,), (0.25, 0.5, 1.0, 2.0, 4.0))


@pytest.mark.parametrize("ratios", CONFIGS)
def test_estimate_is_close_to_the_exact_report(large, ratios):
    table, session = large
    assert session.estimates_help
    config = default_config("keras-cv").replace(aspect_ratios=ratios)
    exact, estimated = session.compute(config), session.estimate(config)
    assert exact.exact and not estimated.exact
    estimate = estimated.estimate
    assert estimate.boxes >= 20_000 and estimate.total_boxes == len(table) > 40_000
    assert estimate.total_images == table.image_count > estimate.images
    # the sample is whole images: every box of a sampled image, no other
    rows = estimate.sample_rows
    sampled = np.unique(table.image[rows])
    assert len(sampled) == estimate.images  # (the demo has no empty images)
    np.testing.assert_array_equal(rows, np.flatnonzero(np.isin(table.image, sampled)))
    assert len(rows) == estimate.boxes
    for metric in MEAN_METRICS:
        half = estimate.intervals[metric]
        assert 0 < half < 0.05 * max(1.0, getattr(exact.report, metric)), metric
        difference = getattr(estimated.report, metric) - getattr(exact.report, metric)
        assert abs(difference) <= 2 * half, metric
    # counts are scaled to the whole dataset
    half = estimate.intervals["uncovered_boxes"]
    assert half == pytest.approx(estimate.intervals["recall"] * len(table))
    assert abs(estimated.report.uncovered_boxes - exact.report.uncovered_boxes) <= 4 * half
    assert sum(r.boxes for r in estimated.report.per_class.values()) == pytest.approx(
        len(table), abs=len(estimated.report.per_class))
    assert sum(r.uncovered for r in estimated.report.per_class.values()) == pytest.approx(
        estimated.report.uncovered_boxes, abs=len(estimated.report.per_class))
    assert sum(r.best_boxes for r in estimated.report.per_level.values()) == pytest.approx(
        sum(r.best_boxes for r in exact.report.per_level.values()), rel=0.05)
    # the shares are those of the sample's exact coverage
    sample = exact.coverage.take(rows)
    assert estimated.report.recall == pytest.approx(sample.matched.mean())
    want = summarize(sample, table.cls[rows], table.class_names, config.levels,
                     config.positive_iou)
    assert estimated.report.per_class.keys() == want.per_class.keys()


def assert_same_boxes(got, want):
    assert got is not None
    for name in PER_BOX_FIELDS:
        np.testing.assert_array_equal(getattr(got, name), getattr(want, name), err_msg=name)


def test_coverage_of_an_estimate(large):
    table, session = large
    config = default_config("keras-cv").replace(aspect_ratios=(0.5, 2.0))
    exact = session.compute(config)
    plain = session.estimate(config)
    sample_rows = plain.estimate.sample_rows
    sampled = set(np.unique(table.image[sample_rows]).tolist())
    outside = [i for i in range(table.image_count) if i not in sampled]
    shown, other = outside[0], outside[-1]
    estimated = session.estimate(config, image_index=shown)
    np.testing.assert_array_equal(estimated.estimate.sample_rows, sample_rows)
    shown_rows = np.flatnonzero(table.image == shown)
    other_rows = np.flatnonzero(table.image == other)
    assert len(shown_rows) and len(other_rows)
    np.testing.assert_array_equal(estimated.rows, np.union1d(sample_rows, shown_rows))
    assert len(estimated.coverage) == len(estimated.rows)

    assert_same_boxes(estimated.coverage_of(sample_rows), exact.coverage.take(sample_rows))
    assert_same_boxes(estimated.coverage_of(shown_rows), exact.coverage.take(shown_rows))
    some = np.r_[sample_rows[::97], shown_rows]
    assert_same_boxes(estimated.coverage_of(some), exact.coverage.take(some))
    assert estimated.coverage_of(other_rows) is None
    assert estimated.coverage_of(np.r_[shown_rows, other_rows]) is None
    assert estimated.coverage_of([len(table) + 5]) is None  # past the last row
    assert plain.coverage_of(shown_rows) is None  # not passed as image_index
    # the image on screen may be in the sample: its rows are not repeated
    inside = int(table.image[sample_rows[0]])
    again = session.estimate(config, image_index=inside)
    np.testing.assert_array_equal(again.rows, sample_rows)
    inside_rows = np.flatnonzero(table.image == inside)
    assert_same_boxes(again.coverage_of(inside_rows), exact.coverage.take(inside_rows))
    # the report does not depend on the image on screen
    assert estimated.report == plain.report == again.report


def test_coverage_of_an_exact_result():
    table = load_table("demo?images=50&seed=6")
    exact = CoverageSession(table).compute(default_config("keras-cv"))
    assert exact.rows is None
    rows = np.random.default_rng(1).choice(len(table), 40, replace=False)
    got = exact.coverage_of(rows)
    for name in PER_BOX_FIELDS:
        np.testing.assert_array_equal(getattr(got, name), getattr(exact.coverage, name)[rows])
    assert len(exact.coverage_of(np.zeros(0, np.int64))) == 0
