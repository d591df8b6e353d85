"""Indexes the viewer needs for one loaded dataset, computed once, off the UI thread.

Sorting boxes by image and log-binning a million box shapes take a few hundred milliseconds;
the loading worker prepares them so the window never stalls when a dataset arrives.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.analysis import ModelInput
from core.boxes import BoxTable
from core.input_mapping import map_boxes_to_input
from core.shape_regions import ShapeBins

MIN_SIDE = 0.1  # px; shapes are log-binned, so a box mapped to nothing is shown at this size


@dataclass(frozen=True)
class DatasetViews:
    """Box rows grouped by image, and the box shapes binned in model-input pixels."""

    box_order: np.ndarray  # table rows sorted by image (stable)
    image_starts: np.ndarray  # (images + 1,): image i's rows are box_order[starts[i]:starts[i+1]]
    shape_bins: ShapeBins
    model_input: ModelInput  # the model input the shapes were mapped to


def rows_by_image(table: BoxTable) -> tuple[np.ndarray, np.ndarray]:
    """(box_order, image_starts) grouping the table's rows by image."""
    order = np.argsort(table.image, kind="stable")
    starts = np.searchsorted(table.image[order], np.arange(table.image_count + 1))
    return order, starts


def model_shape_bins(table: BoxTable, model_input: ModelInput) -> ShapeBins:
    """The boxes' widths and heights in model-input pixels, log-binned once."""
    x1, y1, x2, y2, _, _ = map_boxes_to_input(
        table.x1, table.y1, table.x2, table.y2, table.image, table.image_heights,
        table.image_widths, model_input.size, model_input.resize)
    # a valid box can only collapse below MIN_SIDE when the resize shrinks it a lot
    return ShapeBins(np.maximum(x2 - x1, MIN_SIDE), np.maximum(y2 - y1, MIN_SIDE))


def prepare_views(table: BoxTable, model_input: ModelInput) -> DatasetViews:
    order, starts = rows_by_image(table)
    return DatasetViews(order, starts, model_shape_bins(table, model_input), model_input)
