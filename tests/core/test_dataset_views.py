"""Viewer indexes prepared off the UI thread: rows grouped by image, shapes binned per input."""

import numpy as np

from core.analysis import ModelInput
from core.dataset_views import prepare_views
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
