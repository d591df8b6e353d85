"""The anchor budget: one optimum per (R, S), warm-started from its neighbours, on all boxes."""

import pytest

from core.analysis import analyze
from core.anchor_budget import sweep
from core.anchor_config import default_config
from core.sources import load_table

SPEC = "demo?images=60&seed=4"


@pytest.fixture(scope="module")
def table():
    return load_table(SPEC)


@pytest.fixture(scope="module")
def points(table):
    return sweep(table, default_config("keras-cv"), (1, 2, 3), (1, 2), effort="quick")


def test_one_point_per_count_with_its_exact_report(table, points):
    assert [(p.ratios, p.scales) for p in points] == [(1, 1), (2, 1), (3, 1), (1, 2), (2, 2),
                                                      (3, 2)]
    for point in points:
        assert len(point.config.aspect_ratios) == point.ratios
        assert len(point.config.scales) == point.scales
        assert point.anchors_per_location == point.ratios * point.scales
        exact = analyze(table, point.config).report
        assert point.recall == exact.recall
        assert point.mean_positives_per_box == exact.mean_positives_per_box
        assert point.ceiling_recall == exact.ceiling_recall


def test_more_anchors_never_lose_recall_along_a_warm_started_row(points):
    by_count = {(p.ratios, p.scales): p.recall for p in points}
    for (ratios, scales), recall in by_count.items():
        for smaller in ((ratios - 1, scales), (ratios, scales - 1)):
            if smaller in by_count:
                assert recall >= by_count[smaller], (ratios, scales)
    assert all(p.recall <= p.ceiling_recall + 0.02 for p in points)  # forced matches aside


def test_rows_carry_the_json_fields(points):
    row = points[-1].to_dict()
    assert {"ratios", "scales", "anchors_per_location", "recall", "mean_positives_per_box",
            "ceiling_recall", "config"} <= set(row)
    assert row["anchors_per_location"] == 6 and row["config"]["framework"] == "keras-cv"


def test_cancel_ends_the_sweep_with_the_points_so_far(table):
    polls = []

    def cancelled():
        polls.append(1)
        return len(polls) > 400  # within the second point

    points = sweep(table, default_config("keras-cv"), (1, 2, 3), (1,), effort="quick",
                   cancelled=cancelled)
    assert 1 <= len(points) < 3
