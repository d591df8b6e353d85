"""The anchors the GUI draws: all positive anchors of one box, all anchors of one grid cell."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.anchor_grid import LevelGrid
from core.coverage.geometry import anchor_iou
from core.coverage.layout import CELL_SLACK, RELATIVE_SLACK


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


def _cell_range(b1, b2, offset, stride, count, d1, d2, need) -> tuple[int, int]:
    """Cells whose centre lets some shape's overlap with [b1, b2] reach `need` (a superset)."""
    lo = np.ceil((np.min(b1 - d2) + need - offset) / stride - CELL_SLACK)
    hi = np.floor((np.max(b2 - d1) - need - offset) / stride + CELL_SLACK)
    return int(max(lo, 0)), int(min(hi, count - 1))


def positive_anchors_of_box(box, grids: list[LevelGrid], positive_iou: float) -> AnchorList:
    """Every anchor with IoU >= positive_iou with `box` (x1, y1, x2, y2 inside the image).

    IoU >= t needs an intersection >= t * box area, hence an x-overlap >= t * area / box height
    (and likewise in y): only the cells in that window are expanded and measured exactly.
    """
    bx1, by1, bx2, by2 = (float(v) for v in np.asarray(box, np.float64).reshape(4))
    need = positive_iou * ((bx2 - bx1) * (by2 - by1)) * (1 - RELATIVE_SLACK)
    parts = []
    for index, grid in enumerate(grids):
        shapes = np.asarray(grid.shapes, np.float64).reshape(-1, 4)
        if grid.nx == 0 or grid.ny == 0 or len(shapes) == 0:
            continue
        ilo, ihi = _cell_range(bx1, bx2, grid.offset_x, grid.stride_x, grid.nx, shapes[:, 0],
                               shapes[:, 2], need / (by2 - by1))
        jlo, jhi = _cell_range(by1, by2, grid.offset_y, grid.stride_y, grid.ny, shapes[:, 1],
                               shapes[:, 3], need / (bx2 - bx1))
        if ilo > ihi or jlo > jhi:
            continue
        # the cells' anchors exactly as LevelGrid.expand() computes them, in its order
        j, i, k = (a.ravel() for a in np.meshgrid(np.arange(jlo, jhi + 1),
                                                   np.arange(ilo, ihi + 1),
                                                   np.arange(len(shapes)), indexing="ij"))
        cx = grid.offset_x + i * grid.stride_x
        cy = grid.offset_y + j * grid.stride_y
        xyxy = np.stack([cx, cy, cx, cy], axis=1) + shapes[k]
        if grid.clip:
            xyxy = np.clip(xyxy, 0.0, np.array([grid.image_width, grid.image_height] * 2,
                                               np.float64))
        iou = anchor_iou(xyxy[:, 0], xyxy[:, 1], xyxy[:, 2], xyxy[:, 3], bx1, by1, bx2, by2)
        keep = iou >= positive_iou
        parts.append((xyxy[keep], iou[keep], np.full(keep.sum(), index), k[keep], j[keep],
                      i[keep]))
    if not parts:
        z = np.zeros(0, np.int64)
        return AnchorList(np.zeros((0, 4)), np.zeros(0), z, z, z, z)
    xyxy, iou, level, shape, row, col = (np.concatenate(p) for p in zip(*parts, strict=True))
    return AnchorList(xyxy.reshape(-1, 4), iou, level.astype(np.int64), shape, row, col)


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
