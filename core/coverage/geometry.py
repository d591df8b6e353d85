"""Exact IoU between ground-truth boxes and grid anchors, without materialising the anchors.

A level's anchors of one shape sit on a lattice: anchor `(j, i, k)` of a `LevelGrid` is
`(cx + dx1, cy + dy1, cx + dx2, cy + dy2)` with `cx = offset_x + i * stride_x`, optionally clipped
to the image. For a box inside the image, the x-overlap `T(i)` with the box does not depend on
clipping and is a symmetric trapezoid in `cx`, so its maximum over the lattice is at the lattice
point nearest the aligned centre. Writing the anchor's clipped width as `T + e` (`e` = the part
outside the box), IoU = `Tx*Ty / (Tx*ey + ex*Ty + ex*ey + B)` grows with `T` and shrinks with `e`
in each dimension. That gives, per (box, level, shape) "pair":

- a lower bound: the IoU of the anchor at the lattice point nearest the aligned centre;
- an upper bound: the same formula with each `T` at its maximum and each `e` at a lower bound
  valid for every cell (`aw - Tmax` for unclipped cells, `x1` for left-clipped ones,
  `W - x2` for right-clipped ones);
- for a threshold `tau`, a window of cells per dimension outside which no anchor reaches `tau`.

Exact values are always computed by `anchor_iou` with one fixed operation order in float64, the
same order the brute-force reference uses, so equal IoUs compare equal bit for bit.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.anchor_grid import LevelGrid

# The screening pass may round; pairs within this margin of a threshold are checked exactly.
SCREEN_RELATIVE_MARGIN = 1e-3
SCREEN_ABSOLUTE_MARGIN = 1e-6


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


@dataclass(frozen=True)
class PairTable:
    """Every (level, shape) of one image size's grids as flat arrays, one entry per "pair column".

    Levels without cells or shapes contribute nothing. `anchor_base[p] + (j * nx[p] + i) *
    shape_count[p] + shape[p]` is the index of anchor `(j, i)` of column `p` in the image's anchor
    list (levels in grid order, each in `LevelGrid.expand()` order).
    """

    level: np.ndarray  # int64, index into the grid list
    shape: np.ndarray  # int64, shape index within the level
    stride_x: np.ndarray
    stride_y: np.ndarray
    offset_x: np.ndarray
    offset_y: np.ndarray
    nx: np.ndarray  # int64
    ny: np.ndarray
    dx1: np.ndarray
    dy1: np.ndarray
    dx2: np.ndarray
    dy2: np.ndarray
    clip: np.ndarray  # bool
    shape_count: np.ndarray  # int64, shapes on the column's level
    anchor_base: np.ndarray  # int64
    width: float
    height: float
    level_count: int
    anchor_total: int

    def __len__(self) -> int:
        return len(self.level)

    @classmethod
    def from_grids(cls, grids: list[LevelGrid], height: int, width: int) -> PairTable:
        rows = []
        base = 0
        for index, grid in enumerate(grids):
            if grid.clip and (grid.image_width != width or grid.image_height != height):
                raise ValueError(f"level {grid.level} clips to {grid.image_height}x"
                                 f"{grid.image_width}, not the image size {height}x{width}")
            shapes = np.asarray(grid.shapes, np.float64).reshape(-1, 4)
            if grid.nx > 0 and grid.ny > 0 and len(shapes):
                for k, (dx1, dy1, dx2, dy2) in enumerate(shapes):
                    rows.append((index, k, grid.stride_x, grid.stride_y, grid.offset_x,
                                 grid.offset_y, grid.nx, grid.ny, dx1, dy1, dx2, dy2,
                                 bool(grid.clip), len(shapes), base))
            base += grid.anchor_count
        columns = list(zip(*rows, strict=True)) if rows else [()] * 15
        ints = {0, 1, 6, 7, 13, 14}
        arrays = [np.asarray(col, np.int64 if n in ints else (bool if n == 12 else np.float64))
                  for n, col in enumerate(columns)]
        return cls(*arrays, width=float(width), height=float(height),
                   level_count=len(grids), anchor_total=base)

    def column_key(self, p: int) -> tuple:
        """Everything that determines column `p`'s anchors (for caching per-column results)."""
        return (self.width, self.height, float(self.stride_x[p]), float(self.stride_y[p]),
                float(self.offset_x[p]), float(self.offset_y[p]), int(self.nx[p]),
                int(self.ny[p]), float(self.dx1[p]), float(self.dy1[p]), float(self.dx2[p]),
                float(self.dy2[p]), bool(self.clip[p]))


def _axis_terms(b1, b2, stride, offset, count, d1, d2, clip, limit, dtype):
    """Per dimension: best overlap `T` (nearest lattice point), clipped width there, and the lower
    bound of the outside part `e` over all cells. Broadcasts boxes (n, 1) against columns (P,)."""
    d1 = d1.astype(dtype)
    d2 = d2.astype(dtype)
    stride_d = stride.astype(dtype)
    offset_d = offset.astype(dtype)
    full = d2 - d1
    aligned = (b1 + b2) * dtype(0.5) - (d1 + d2) * dtype(0.5)
    cell = np.rint((aligned - offset_d) / stride_d)
    cell = np.minimum(np.maximum(cell, 0), (count - 1).astype(dtype))
    centre = offset_d + cell * stride_d
    a1 = centre + d1
    a2 = centre + d2
    overlap = np.maximum(np.minimum(b2, a2) - np.maximum(b1, a1), 0)
    if not clip.any():
        return overlap, np.broadcast_to(full, overlap.shape), full - overlap
    lim = dtype(limit)
    clipped_width = np.minimum(a2, lim) - np.maximum(a1, 0)
    clipped_width = np.where(clip, clipped_width, full)
    outside = full - overlap
    # left-clipped cells exist (first cell sticks out left) -> their outside part is >= b1
    first_left = offset_d + d1 < 0
    last_right = offset_d + (count - 1).astype(dtype) * stride_d + d2 > lim
    outside = np.where(clip & first_left, np.minimum(outside, b1), outside)
    outside = np.where(clip & last_right, np.minimum(outside, lim - b2), outside)
    return overlap, clipped_width, outside


def pair_bounds(boxes: np.ndarray, table: PairTable, columns: np.ndarray | None = None,
                dtype=None) -> tuple[np.ndarray, np.ndarray]:
    """Screening bounds for boxes (n, 4) xyxy against pair columns: `(lower, upper)`, each (n, P).

    `lower` is the IoU of one actual anchor (rounded in `dtype`); `upper` bounds every anchor of
    the column. Both are approximate to `SCREEN_*_MARGIN`; exact values come from `refine`.
    `dtype` None picks float32 for images up to 2048 px, float64 above.
    """
    cols = np.arange(len(table)) if columns is None else np.asarray(columns)
    if dtype is None:  # float32 keeps pixel rounding far inside the screening margin up to 2048 px
        dtype = np.float32 if max(table.width, table.height) <= 2048 else np.float64
    b = np.asarray(boxes, dtype)
    x1, y1, x2, y2 = (b[:, c : c + 1] for c in range(4))
    clip = table.clip[cols]
    tx, wx, ex = _axis_terms(x1, x2, table.stride_x[cols], table.offset_x[cols], table.nx[cols],
                             table.dx1[cols], table.dx2[cols], clip, table.width, dtype)
    ty, wy, ey = _axis_terms(y1, y2, table.stride_y[cols], table.offset_y[cols], table.ny[cols],
                             table.dy1[cols], table.dy2[cols], clip, table.height, dtype)
    area = (x2 - x1) * (y2 - y1)
    inter = tx * ty
    with np.errstate(divide="ignore", invalid="ignore"):
        lower = inter / (wx * wy + area - inter)
        upper = inter / ((tx + ex) * (ty + ey) + area - inter)
    return np.nan_to_num(lower, nan=0.0), np.nan_to_num(upper, nan=0.0)


def screen_threshold(lower_best: np.ndarray, positive_iou: float) -> np.ndarray:
    """Per box, the IoU from which anchors must be enumerated exactly: never above the best IoU
    (so the best anchor and its ties are found) nor above `positive_iou` (so all positives are)."""
    tau = np.minimum(lower_best.astype(np.float64), positive_iou)
    return tau * (1 - SCREEN_RELATIVE_MARGIN) - SCREEN_ABSOLUTE_MARGIN


@dataclass(frozen=True)
class AnchorHits:
    """Anchors found by `refine`: one row per (box, anchor) with IoU >= that box's threshold."""

    box: np.ndarray  # int64 row into the boxes given to refine
    column: np.ndarray  # int64 pair column
    row: np.ndarray  # int64 cell row j
    col: np.ndarray  # int64 cell column i
    iou: np.ndarray  # float64 exact
    order: np.ndarray  # int64 anchor index in the image's anchor list

    def __len__(self) -> int:
        return len(self.box)

    @classmethod
    def empty(cls) -> AnchorHits:
        z = np.zeros(0, np.int64)
        return cls(z, z, z, z, np.zeros(0), z)

    @classmethod
    def concat(cls, parts: list[AnchorHits]) -> AnchorHits:
        parts = [p for p in parts if len(p)]
        if not parts:
            return cls.empty()
        return cls(*(np.concatenate([getattr(p, f) for p in parts])
                     for f in ("box", "column", "row", "col", "iou", "order")))


def anchor_xyxy(table: PairTable, column, row, col) -> tuple[np.ndarray, ...]:
    """Exact xyxy of anchors (column, row j, col i), as `LevelGrid.expand()` computes them."""
    cx = table.offset_x[column] + col * table.stride_x[column]
    cy = table.offset_y[column] + row * table.stride_y[column]
    ax1 = cx + table.dx1[column]
    ay1 = cy + table.dy1[column]
    ax2 = cx + table.dx2[column]
    ay2 = cy + table.dy2[column]
    clip = table.clip[column]
    if np.any(clip):
        w, h = table.width, table.height
        ax1 = np.where(clip, np.clip(ax1, 0.0, w), ax1)
        ay1 = np.where(clip, np.clip(ay1, 0.0, h), ay1)
        ax2 = np.where(clip, np.clip(ax2, 0.0, w), ax2)
        ay2 = np.where(clip, np.clip(ay2, 0.0, h), ay2)
    return ax1, ay1, ax2, ay2


def _exact_axis(b1, b2, stride, offset, count, d1, d2, clip, limit):
    """float64 version of `_axis_terms` for candidate pairs (1-D arrays)."""
    full = d2 - d1
    aligned = (b1 + b2) * 0.5 - (d1 + d2) * 0.5
    cell = np.clip(np.rint((aligned - offset) / stride), 0, count - 1)
    centre = offset + cell * stride
    overlap = np.maximum(np.minimum(b2, centre + d2) - np.maximum(b1, centre + d1), 0.0)
    outside = full - overlap
    first_left = clip & (offset + d1 < 0)
    last_right = clip & (offset + (count - 1) * stride + d2 > limit)
    outside = np.where(first_left, np.minimum(outside, b1), outside)
    outside = np.where(last_right, np.minimum(outside, limit - b2), outside)
    return overlap, np.maximum(outside, 0.0)


def _window(b1, b2, stride, offset, count, d1, d2, need):
    """Cells whose overlap with [b1, b2] can reach `need` (a superset), as [lo, hi] clamped."""
    need = np.maximum(need * (1 - 1e-9) - 1e-9, 0.0)
    eps = 1e-7
    lo = np.ceil((b1 - d2 + need - offset) / stride - eps)
    hi = np.floor((b2 - d1 - need - offset) / stride + eps)
    lo = np.clip(lo, 0, count - 1)
    hi = np.clip(hi, -1, count - 1)
    return lo.astype(np.int64), hi.astype(np.int64)


def refine(boxes: np.ndarray, box: np.ndarray, column: np.ndarray, tau: np.ndarray,
           table: PairTable, chunk: int = 1 << 18) -> AnchorHits:
    """All anchors of the candidate pairs (`box[c]`, `column[c]`) with exact IoU >= `tau[c]`.

    `boxes` is (n, 4) float64 xyxy inside the image; `box` indexes it.
    """
    box = np.asarray(box, np.int64)
    column = np.asarray(column, np.int64)
    tau = np.asarray(tau, np.float64)
    if len(box) == 0:
        return AnchorHits.empty()
    b = boxes[box]
    x1, y1, x2, y2 = b[:, 0], b[:, 1], b[:, 2], b[:, 3]
    t = table
    sx, sy, ox, oy = t.stride_x[column], t.stride_y[column], t.offset_x[column], t.offset_y[column]
    nx, ny = t.nx[column], t.ny[column]
    dx1, dy1, dx2, dy2 = t.dx1[column], t.dy1[column], t.dx2[column], t.dy2[column]
    clip = t.clip[column]
    tx, ex = _exact_axis(x1, x2, sx, ox, nx, dx1, dx2, clip, t.width)
    ty, ey = _exact_axis(y1, y2, sy, oy, ny, dy1, dy2, clip, t.height)
    area = (x2 - x1) * (y2 - y1)
    with np.errstate(divide="ignore", invalid="ignore"):
        denom_x = ty - tau * ey
        need_x = tau * (ex * (ty + ey) + area) / denom_x
        denom_y = tx - tau * ex
        need_y = tau * (ey * (tx + ex) + area) / denom_y
    ok = (denom_x > 0) & (denom_y > 0)
    need_x = np.where(ok, need_x, np.inf)
    need_y = np.where(ok, need_y, np.inf)
    ilo, ihi = _window(x1, x2, sx, ox, nx, dx1, dx2, need_x)
    jlo, jhi = _window(y1, y2, sy, oy, ny, dy1, dy2, need_y)
    wx = np.where(ok, np.maximum(ihi - ilo + 1, 0), 0)
    wy = np.where(ok, np.maximum(jhi - jlo + 1, 0), 0)
    # pairs are evaluated in buckets of equal padded window size (powers of two), as dense
    # (pairs, bx, by) blocks: no ragged index arithmetic per cell
    bucket_x = np.where(wx > 0, np.ceil(np.log2(np.maximum(wx, 1))), -1).astype(np.int64)
    bucket_y = np.where(wy > 0, np.ceil(np.log2(np.maximum(wy, 1))), -1).astype(np.int64)
    code = np.where((wx > 0) & (wy > 0), bucket_x * 64 + bucket_y, -1)
    order = np.argsort(code, kind="stable")
    code_sorted = code[order]
    cuts = np.flatnonzero(np.diff(code_sorted)) + 1
    parts = []
    for members in np.split(order, cuts):
        c = int(code[members[0]]) if len(members) else -1
        if c < 0:
            continue
        bx, by = 1 << (c // 64), 1 << (c % 64)
        step = max(1, chunk // (bx * by))
        for first in range(0, len(members), step):
            m = members[first:first + step]
            parts.append(_dense_block(t, box[m], column[m], x1[m], y1[m], x2[m], y2[m],
                                      ilo[m], jlo[m], bx, by, tau[m]))
    return AnchorHits.concat(parts)


def _axis_cells(lo, width, count, offset, stride, d1, d2, clip, limit, b1, b2):
    """Cells lo .. lo+width-1 of each pair (shifted to stay on the grid): index, overlap with the
    box and clipped anchor extent, exactly as the brute force computes them."""
    lo = np.minimum(lo, np.maximum(count - width, 0))
    cells = lo[:, None] + np.arange(width)
    centre = offset[:, None] + cells * stride[:, None]
    a1 = centre + d1[:, None]
    a2 = centre + d2[:, None]
    if clip.any():
        c = clip[:, None]
        a1 = np.where(c, np.clip(a1, 0.0, limit), a1)
        a2 = np.where(c, np.clip(a2, 0.0, limit), a2)
    overlap = np.maximum(np.minimum(a2, b2[:, None]) - np.maximum(a1, b1[:, None]), 0.0)
    overlap[cells >= count[:, None]] = 0.0  # padding beyond the grid
    return cells, overlap, a2 - a1


def _dense_block(t: PairTable, box, column, x1, y1, x2, y2, ilo, jlo, bx, by, tau) -> AnchorHits:
    ci, iw, aw = _axis_cells(ilo, bx, t.nx[column], t.offset_x[column], t.stride_x[column],
                             t.dx1[column], t.dx2[column], t.clip[column], t.width, x1, x2)
    cj, ih, ah = _axis_cells(jlo, by, t.ny[column], t.offset_y[column], t.stride_y[column],
                             t.dy1[column], t.dy2[column], t.clip[column], t.height, y1, y2)
    inter = iw[:, None, :] * ih[:, :, None]  # (pairs, rows j, cols i)
    area_anchor = aw[:, None, :] * ah[:, :, None]
    area_box = (x2 - x1) * (y2 - y1)
    iou = inter / ((area_anchor + area_box[:, None, None]) - inter)
    p, a, b = np.nonzero(iou >= tau[:, None, None])
    if len(p) == 0:
        return AnchorHits.empty()
    col, row = ci[p, b], cj[p, a]
    pc = column[p]
    order = t.anchor_base[pc] + (row * t.nx[pc] + col) * t.shape_count[pc] + t.shape[pc]
    return AnchorHits(box[p], pc, row, col, iou[p, a, b], order)
