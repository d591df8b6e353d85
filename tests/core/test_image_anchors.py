"""The anchors the viewer draws, computed without a window: positives of a box and the anchors of
the cell under a point, in the image's own pixels, under every model input."""

from __future__ import annotations

import numpy as np
import pytest

from core.analysis import ModelInput
from core.anchor_config import default_config
from core.anchor_generation import level_grids
from core.coverage import anchor_iou
from core.image_anchors import ImageAnchors
from core.input_mapping import map_boxes_to_image
from core.sources import load_table

INPUTS = (ModelInput(), ModelInput((256, 384), "stretch"), ModelInput((640, 640), "letterbox"))


@pytest.mark.parametrize("model_input", INPUTS, ids=lambda m: m.describe())
def test_positives_of_a_box_are_every_anchor_at_or_above_the_threshold(model_input):
    table = load_table("demo?images=8&seed=5")
    config = default_config("keras-cv").replace(aspect_ratios=(0.125, 1.0, 8.0))
    anchors = ImageAnchors(table, model_input)
    for row in range(0, len(table), 7):
        index = int(table.image[row])
        height, width = anchors.model_size(index)
        every = np.concatenate([g.expand() for g in level_grids(config, height, width,
                                                                matchable_only=True)])
        box = anchors.to_model(table.xyxy(np.array([row])), index)[0]
        iou = anchor_iou(*every.T, *box)
        expected = map_boxes_to_image(every[iou >= config.positive_iou], *table_size(table, index),
                                      model_input.size, model_input.resize)
        found = anchors.positives_of_box(row, config)
        assert sorted(map(tuple, found.round(9))) == sorted(map(tuple, expected.round(9)))


def table_size(table, index):
    return int(table.image_heights[index]), int(table.image_widths[index])


@pytest.mark.parametrize("model_input", INPUTS, ids=lambda m: m.describe())
def test_cell_anchors_are_the_nearest_cells_anchors(model_input):
    table = load_table("demo?images=3&seed=2")
    config = default_config("keras-cv")
    anchors = ImageAnchors(table, model_input)
    grids = anchors.grids(config, 0)
    for level, grid in enumerate(grids):
        x, y = 200.3, 77.9  # image pixels
        found = anchors.cell_anchors(0, config, level, x, y)
        mx, my = anchors.to_model(np.array([[x, y, x, y]]), 0)[0][:2]
        in_model = anchors.to_model(found, 0)
        i = np.argmin(np.abs(grid.centers_x() - mx))  # the nearest lattice point
        j = np.argmin(np.abs(grid.centers_y() - my))
        assert len(found) == len(grid.shapes)
        expected = grid.expand().reshape(grid.ny, grid.nx, -1, 4)[j, i]
        assert np.allclose(in_model, expected, atol=1e-6)
    assert len(anchors.cell_anchors(0, config, len(grids), 1.0, 1.0)) == 0


def test_grids_are_kept_per_config_and_size():
    table = load_table("demo?images=3&seed=2")
    anchors = ImageAnchors(table)
    config = default_config("keras-cv")
    assert anchors.grids(config, 0) is anchors.grids(config, 1)  # same size, same config
    other = config.replace(aspect_ratios=(1.0,))
    assert anchors.grids(other, 0) is not anchors.grids(config, 0)
