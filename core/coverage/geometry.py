"""The IoU formula every coverage path shares, and one image size's anchor grids as flat columns.

A level's anchors of one shape sit on a lattice: anchor `(j, i, k)` of a `LevelGrid` is
`(cx + dx1, cy + dy1, cx + dx2, cy + dy2)` with `cx = offset_x + i * stride_x` (likewise `cy`),
then optionally clipped to the image. `ColumnTable` lists every (level, shape) "column" of an image
size's grids as rows of two small arrays, the form the compiled kernel reads.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.anchor_grid import LevelGrid
from core.coverage.layout import (
    C_CLIP,
    F_ISY,
    I_BASE,
    I_LEVEL,
    I_SHAPE,
    RELATIVE_SLACK,
)


def anchor_iou(ax1, ay1, ax2, ay2, bx1, by1, bx2, by2) -> np.ndarray:
    """IoU of anchors and boxes (broadcasting), float64, in the one operation order used everywhere.

    `inter / ((area_anchor + area_box) - inter)` with `inter = max(min(ax2, bx2) - max(ax1, bx1),
    0) * max(min(ay2, by2) - max(ay1, by1), 0)`.
    """
    iw = np.maximum(np.minimum(ax2, bx2) - np.maximum(ax1, bx1), 0.0)
    ih = np.maximum(np.minimum(ay2, by2) - np.maximum(ay1, by1), 0.0)
    inter = iw * ih
    area_anchor = (ax2 - ax1) * (ay2 - ay1)
    area_box = (bx2 - bx1) * (by2 - by1)
    return inter / ((area_anchor + area_box) - inter)


def _smallest_extent(offset, stride, count, d1, d2, clip, limit) -> float:
    """Smallest anchor extent along one axis over the lattice. Clipped extent is concave in the
    centre, so its minimum is at the first or the last cell."""
    if not clip:
        return d2 - d1
    ends = offset + np.array([0, count - 1]) * stride
    return float(np.min(np.clip(ends + d2, 0.0, limit) - np.clip(ends + d1, 0.0, limit)))


@dataclass(frozen=True)
class ColumnTable:
    """Every (level, shape) column of one image size's grids, as two arrays the kernel reads.

    `floats` (P, 14): stride_x, stride_y, offset_x, offset_y, dx1, dy1, dx2, dy2, anchor width
    and height, smallest (clipped) anchor width and height over the lattice, 1 / stride_x,
    1 / stride_y. `ints` (P, 7): level index, shape index, nx, ny, clip, shapes on the level,
    first anchor index of the level.

    Levels without cells or shapes contribute no column. Anchor `(j, i)` of column `p` has index
    `base + (j * nx + i) * shapes + shape` in the image's anchor list (levels in grid order, each
    in `LevelGrid.expand()` order). `ceiling` holds every level's lattice (rows of `C_*`) for
    the ceiling.
    """

    floats: np.ndarray
    ints: np.ndarray
    ceiling: np.ndarray
    width: float
    height: float
    level_count: int
    anchor_total: int

    def __len__(self) -> int:
        return len(self.ints)

    @classmethod
    def from_grids(cls, grids: list[LevelGrid], height: int, width: int) -> ColumnTable:
        floats, ints = [], []
        base = 0
        for index, grid in enumerate(grids):
            if grid.clip and (grid.image_width != width or grid.image_height != height):
                raise ValueError(f"level {grid.level} clips to {grid.image_height}x"
                                 f"{grid.image_width}, not the image size {height}x{width}")
            shapes = np.asarray(grid.shapes, np.float64).reshape(-1, 4)
            if grid.nx > 0 and grid.ny > 0:
                for k, (dx1, dy1, dx2, dy2) in enumerate(shapes):
                    ew = _smallest_extent(grid.offset_x, grid.stride_x, grid.nx, dx1, dx2,
                                          grid.clip, width)
                    eh = _smallest_extent(grid.offset_y, grid.stride_y, grid.ny, dy1, dy2,
                                          grid.clip, height)
                    floats.append((grid.stride_x, grid.stride_y, grid.offset_x, grid.offset_y,
                                   dx1, dy1, dx2, dy2, dx2 - dx1, dy2 - dy1,
                                   max(ew, 0.0) * (1 - RELATIVE_SLACK),
                                   max(eh, 0.0) * (1 - RELATIVE_SLACK), 1.0 / grid.stride_x,
                                   1.0 / grid.stride_y))
                    ints.append((index, k, grid.nx, grid.ny, int(bool(grid.clip)), len(shapes),
                                 base))
            base += grid.anchor_count
        floats = np.asarray(floats, np.float64).reshape(-1, F_ISY + 1)
        ints = np.asarray(ints, np.int64).reshape(-1, I_BASE + 1)
        return cls(floats, ints, ceiling_levels(grids), float(width), float(height),
                   len(grids), base)


    @property
    def level(self) -> np.ndarray:
        return self.ints[:, I_LEVEL]

    @property
    def shape(self) -> np.ndarray:
        return self.ints[:, I_SHAPE]


def ceiling_levels(grids: list[LevelGrid]) -> np.ndarray:
    """Each level with cells as one row of `C_*` lattice parameters, for the ceiling."""
    rows = [(1.0, g.offset_x, g.stride_x, g.nx, g.offset_y, g.stride_y, g.ny,
             float(bool(g.clip))) for g in grids if g.nx > 0 and g.ny > 0]
    return np.asarray(rows, np.float64).reshape(-1, C_CLIP + 1)
