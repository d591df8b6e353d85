"""The anchors the GUI draws: all positive anchors of one box, all anchors of one grid cell."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.anchor_grid import LevelGrid
from core.coverage.geometry import PairTable, anchor_xyxy, refine


@dataclass(frozen=True)
class AnchorList:
    """Anchors with their IoU against one box, in the image's anchor order."""

    xyxy: np.ndarray  # (k, 4) float64 model-input pixels, as LevelGrid.expand() gives them
    iou: np.ndarray  # (k,)
    level: np.ndarray  # index into the grid list
    shape: np.ndarray
    row: np.ndarray
    col: np.ndarray

    def __len__(self) -> int:
        return len(self.iou)


def positive_anchors_of_box(box, grids: list[LevelGrid], positive_iou: float) -> AnchorList:
    """Every anchor with IoU >= positive_iou with `box` (x1, y1, x2, y2 inside the image)."""
    if not grids:
        z = np.zeros(0, np.int64)
        return AnchorList(np.zeros((0, 4)), np.zeros(0), z, z, z, z)
    table = PairTable.from_grids(grids, grids[0].image_height, grids[0].image_width)
    boxes = np.asarray(box, np.float64).reshape(1, 4)
    columns = np.arange(len(table))
    hits = refine(boxes, np.zeros(len(columns), np.int64), columns,
                  np.full(len(columns), float(positive_iou)), table)
    order = np.argsort(hits.order, kind="stable")
    column, row, col = hits.column[order], hits.row[order], hits.col[order]
    xyxy = np.stack(anchor_xyxy(table, column, row, col), axis=1).reshape(-1, 4)
    return AnchorList(xyxy, hits.iou[order], table.level[column], table.shape[column], row, col)


def nearest_cell(grid: LevelGrid, x: float, y: float) -> tuple[int, int]:
    """(row j, col i) of the grid centre nearest to the point (x, y)."""
    i = int(np.clip(np.rint((x - grid.offset_x) / grid.stride_x), 0, max(grid.nx - 1, 0)))
    j = int(np.clip(np.rint((y - grid.offset_y) / grid.stride_y), 0, max(grid.ny - 1, 0)))
    return j, i


def anchors_in_cell(grids: list[LevelGrid], level: int, x: float, y: float) -> np.ndarray:
    """All anchor shapes of level `level` (index into `grids`) at the cell nearest (x, y):
    (A, 4) xyxy, exactly as `LevelGrid.expand()` gives them."""
    grid = grids[level]
    if grid.nx == 0 or grid.ny == 0:
        return np.zeros((0, 4))
    j, i = nearest_cell(grid, x, y)
    cx = grid.offset_x + i * grid.stride_x
    cy = grid.offset_y + j * grid.stride_y
    anchors = np.array([cx, cy, cx, cy]) + np.asarray(grid.shapes, np.float64).reshape(-1, 4)
    if grid.clip:
        anchors = np.clip(anchors, 0.0, np.array([grid.image_width, grid.image_height] * 2,
                                                 np.float64))
    return anchors
