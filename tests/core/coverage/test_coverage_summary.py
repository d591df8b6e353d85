"""The shared reading of a coverage report: where the misses come from."""

import pytest

from core.coverage.summary import CoverageReport, interpretation, miss_breakdown


def report(recall, best_possible, ceiling, low_quality_only=0):
    return CoverageReport(
        recall=recall, best_possible_recall=best_possible, ceiling_recall=ceiling,
        mean_best_iou=0.0, median_best_iou=0.0, uncovered_boxes=0, mean_positives_per_box=0.0,
        low_quality_only=low_quality_only, per_level={}, per_class={})


def test_miss_breakdown_splits_the_misses():
    shapes, beyond, matching = miss_breakdown(report(0.5, 0.6, 0.9))
    assert (shapes, beyond, matching) == pytest.approx((0.3, 0.1, 0.1))


def test_breakdown_never_negative():
    # forced (low-quality) matches can push recall above best possible and ceiling
    assert min(miss_breakdown(report(0.99, 0.2, 0.1))) == 0.0


def test_interpretation_mentions_each_cause():
    text = interpretation(report(0.5, 0.6, 0.9, low_quality_only=7))
    assert "30.0 % missed because of shapes" in text
    assert "10.0 % beyond any shape" in text
    assert "10.0 % lost in matching" in text
    assert "7 boxes matched only by the low-quality step" in text
    assert "lost in matching" not in interpretation(report(0.6, 0.6, 0.9))
