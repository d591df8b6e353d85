"""Viewer indexes prepared off the UI thread: rows grouped by image, shapes binned per input."""

import numpy as np

from core.analysis import CoverageSession, ModelInput, analyze
from core.anchor_config import default_config
from core.dataset_views import IOU_BINS, prepare_views, unmatched_shapes
from core.sources import load_table


def test_rows_by_image_and_bins():
    table = load_table("demo?images=25&seed=4")
    views = prepare_views(table, ModelInput())
    for image in range(table.image_count):
        rows = views.box_order[views.image_starts[image]:views.image_starts[image + 1]]
        assert sorted(rows) == list(np.flatnonzero(table.image == image))
    np.testing.assert_allclose(views.shape_bins.widths, table.widths)
    counts, _ = np.histogram(table.widths / table.heights, views.shape_bins.ratio.edges)
    assert views.shape_bins.ratio.counts().tolist() == counts.tolist()


def test_bins_follow_the_model_input():
    table = load_table("demo?images=5")
    views = prepare_views(table, ModelInput((256, 1024), "stretch"))
    np.testing.assert_allclose(views.shape_bins.widths, table.widths * 2)
    np.testing.assert_allclose(views.shape_bins.heights, np.maximum(table.heights / 2, 0.1))


def test_unmatched_shapes_of_an_exact_result_count_the_unmatched_boxes():
    table = load_table("demo?images=40&seed=2")
    views = prepare_views(table, ModelInput())
    result = analyze(table, default_config("keras-cv"))
    shapes = unmatched_shapes(views.shape_bins, result)
    unmatched = ~result.coverage.matched
    ratios = table.widths / table.heights
    expected, _ = np.histogram(ratios[unmatched], views.shape_bins.ratio.edges)
    assert shapes.exact and shapes.scale == 1.0 and shapes.unmatched == unmatched.sum()
    assert shapes.ratio_counts.tolist() == expected.tolist()
    iou, _ = np.histogram(np.minimum(result.coverage.best_iou[unmatched], 1 - 1e-12),
                          np.linspace(0, 1, IOU_BINS + 1))
    assert shapes.iou_unmatched.tolist() == iou.tolist()
    assert shapes.iou_all.sum() == len(table)
    assert len(shapes.cells_w) == len(shapes.cells_h) > 0
    other = load_table("demo?images=41&seed=2")  # a result of other boxes is not counted
    assert unmatched_shapes(prepare_views(other, ModelInput()).shape_bins, result) is None


def test_unmatched_shapes_of_an_estimate_scale_the_sample():
    table = load_table("demo?images=300&seed=2")
    session = CoverageSession(table)
    session.sample_boxes = 600
    result = session.estimate(default_config("keras-cv"), image_index=0)
    bins = prepare_views(table, ModelInput()).shape_bins
    shapes = unmatched_shapes(bins, result)
    rows = result.estimate.sample_rows
    sample = result.coverage_of(rows)
    scale = len(table) / len(rows)
    assert not shapes.exact and shapes.scale == scale
    assert shapes.unmatched == scale * (~sample.matched).sum()
    expected, _ = np.histogram((table.widths / table.heights)[rows[~sample.matched]],
                               bins.ratio.edges)
    np.testing.assert_allclose(shapes.ratio_counts, scale * expected)
    assert abs(shapes.unmatched - result.report.uncovered_boxes) <= 1
