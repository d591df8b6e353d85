"""Indexes the viewer needs for one loaded dataset, computed once, off the UI thread.

Sorting boxes by image and log-binning a million box shapes take a few hundred milliseconds;
the loading worker prepares them so the window never stalls when a dataset arrives.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.analysis import CoverageResult, ModelInput
from core.boxes import BoxTable
from core.input_mapping import map_boxes_to_input
from core.shape_regions import ShapeBins, iou_histogram

MIN_SIDE = 0.1  # px; shapes are log-binned, so a box mapped to nothing is shown at this size
IOU_BINS = 50  # bins of the best-IoU histogram over [0, 1]


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


@dataclass(frozen=True)
class UnmatchedShapes:
    """What the shape histograms draw of one coverage result, counted off the UI thread.

    Counts are per bin of `bins` (ratio, side) and of `IOU_BINS` equal IoU bins; for an
    estimate they are the sample's counts scaled by `scale` = boxes / sampled boxes (so they are
    floats). `cells_w`, `cells_h`: centres of the fine (w, h) cells holding an unmatched box.
    """

    bins: ShapeBins
    exact: bool
    scale: float
    unmatched: float  # unmatched boxes (scaled)
    ratio_counts: np.ndarray
    side_counts: np.ndarray
    iou_edges: np.ndarray
    iou_all: np.ndarray
    iou_unmatched: np.ndarray
    cells_w: np.ndarray
    cells_h: np.ndarray


def unmatched_shapes(bins: ShapeBins, result: CoverageResult | None) -> UnmatchedShapes | None:
    """The histograms' counts of `result` (exact: all boxes; estimate: its sample, scaled), or
    None when `result` does not belong to the boxes `bins` were made of."""
    if result is None:
        return None
    if result.exact:
        if len(result.coverage) != len(bins):
            return None
        rows, coverage, scale = np.arange(len(bins)), result.coverage, 1.0
    else:
        rows = result.estimate.sample_rows
        coverage = result.coverage_of(rows)
        if coverage is None or result.estimate.total_boxes != len(bins):
            return None
        scale = len(bins) / max(len(rows), 1)
    unmatched = np.flatnonzero(~coverage.matched)
    unmatched_rows = rows[unmatched]
    edges, iou_all = iou_histogram(coverage.best_iou, IOU_BINS)
    _, iou_unmatched = iou_histogram(coverage.best_iou, IOU_BINS, unmatched)
    cells_w, cells_h = bins.occupied_cells(unmatched_rows)
    return UnmatchedShapes(bins, result.exact, scale, scale * len(unmatched_rows),
                           scale * bins.ratio.counts(unmatched_rows),
                           scale * bins.side.counts(unmatched_rows), edges, scale * iou_all,
                           scale * iou_unmatched, cells_w, cells_h)
