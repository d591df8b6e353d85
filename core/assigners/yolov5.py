"""YOLOv5's positives from static geometry, exactly as yolov5 7.0 computes them: the ratio test and
neighbour cells of `utils/loss.py` `ComputeLoss.build_targets`, and the best-possible-recall
metric of `utils/autoanchor.py` `check_anchors` (docs/families.md#yolov5).

Images are letterboxed to a multiple of the largest stride first (as YOLOv5's loader does), so a
level's grid is `(H // stride, W // stride)`. Every step after normalisation runs in float32, as
the real code does; the boundary rules (a centre fraction of exactly 0.5, a centre on a grid line)
depend on it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.assigners.common import (
    DEGENERATE,
    MATCHED,
    RATIO_OUTSIDE,
    BoxAssignment,
    best_levels,
)

F32 = np.float32

# models/yolov5s.yaml anchors at 640, per level (w, h) in pixels (strides 8, 16, 32).
YOLOV5S_ANCHORS: tuple[tuple[tuple[float, float], ...], ...] = (
    ((10.0, 13.0), (16.0, 30.0), (33.0, 23.0)),
    ((30.0, 61.0), (62.0, 45.0), (59.0, 119.0)),
    ((116.0, 90.0), (156.0, 198.0), (373.0, 326.0)),
)

# Columns of the rows `build_target_entries` returns.
ENTRY_COLUMNS = ("box", "level", "anchor", "grid_x", "grid_y")
BOX, LEVEL, ANCHOR, GRID_X, GRID_Y = range(5)

# build_targets' `g`: a neighbour cell is added when the centre is less than this far (in cells)
# from the shared edge.
NEIGHBOUR_BIAS = F32(0.5)
# build_targets' `off` (`[[0, 0], [1, 0], [0, 1], [-1, 0], [0, -1]] * g`), subtracted from the
# grid centre, in output order: centre, j (left), k (up), l (right), m (down).
_CELL_OFFSETS = np.array([[0, 0], [1, 0], [0, 1], [-1, 0], [0, -1]], F32) * NEIGHBOUR_BIAS  # [5, 2]


@dataclass(frozen=True)
class Yolov5Params:
    """`strides` in pixels, one per level; `anchors` per level, (w, h) pairs in pixels of the
    model input, the same count on every level (after `check_anchor_order`, see `from_yaml`);
    `anchor_t` = hyp `anchor_t`: a (level, anchor) takes a box when both its w and h ratios
    (max(r, 1/r)) are strictly below it."""

    strides: tuple[int, ...] = (8, 16, 32)
    anchors: tuple[tuple[tuple[float, float], ...], ...] = YOLOV5S_ANCHORS
    anchor_t: float = 4.0

    def __post_init__(self) -> None:
        if len(self.anchors) != len(self.strides):
            raise ValueError(f"{len(self.anchors)} anchor levels for {len(self.strides)} strides")
        if len({len(level) for level in self.anchors}) > 1:
            raise ValueError("YOLOv5 needs the same number of anchors on every level")
        if not self.anchor_t > 1.0:
            raise ValueError(f"anchor_t must be above 1 (at 1 or below no box passes the "
                             f"ratio test), got {self.anchor_t:g}")

    @classmethod
    def from_yaml(cls, anchors: list[list[float]], strides: tuple[int, ...] = (8, 16, 32),
                  anchor_t: float = 4.0) -> Yolov5Params:
        """Anchors as a model yaml writes them (per level a flat `[w, h, w, h, ...]` in pixels),
        with `utils/autoanchor.py` `check_anchor_order` applied: levels are reversed when the mean
        anchor area runs against the stride order."""
        pairs = np.asarray(anchors, F32).reshape(len(anchors), -1, 2)  # [L, A, 2] pixels
        area = pairs.prod(-1).mean(-1)  # [L]
        d_area, d_stride = area[-1] - area[0], strides[-1] - strides[0]
        if d_area and np.sign(d_area) != np.sign(d_stride):
            pairs = pairs[::-1]
        return cls(strides=tuple(strides), anchor_t=anchor_t,
                   anchors=tuple(tuple((float(w), float(h)) for w, h in lvl) for lvl in pairs))


def normalised_targets(boxes: np.ndarray, image_hw: tuple[int, int]) -> np.ndarray:
    """xyxy pixel boxes [n, 4] -> the [n, 4] float32 (cx, cy, w, h) relative to the image that
    build_targets receives: computed in float64 (`cx = (x1 + x2) / 2 / W`, `w = (x2 - x1) / W`),
    then cast to float32 like YOLOv5's label files and loader."""
    height, width = image_hw
    b = np.asarray(boxes, np.float64).reshape(-1, 4)
    xywh = np.empty_like(b)
    xywh[:, 0] = (b[:, 0] + b[:, 2]) / 2 / width
    xywh[:, 1] = (b[:, 1] + b[:, 3]) / 2 / height
    xywh[:, 2] = (b[:, 2] - b[:, 0]) / width
    xywh[:, 3] = (b[:, 3] - b[:, 1]) / height
    return xywh.astype(F32)


def _check_image_hw(image_hw: tuple[int, int], strides: tuple[int, ...]) -> None:
    if any(side % max(strides) for side in image_hw):
        raise ValueError(f"image {image_hw} is not letterboxed to a multiple of {max(strides)}")


def _ratio_passes(wh_grid: np.ndarray, anchors_grid: np.ndarray, anchor_t: float) -> np.ndarray:
    """build_targets lines 205-206: [A, n] bool, float32; w and h separately, strict."""
    with np.errstate(divide="ignore"):
        r = wh_grid[None, :, :] / anchors_grid[:, None, :]  # [A, n, 2]
        worst = np.maximum(r, F32(1) / r).max(axis=2)  # [A, n]; a zero side gives inf
    return worst < F32(anchor_t)


def build_target_entries(boxes: np.ndarray, image_hw: tuple[int, int],
                         params: Yolov5Params) -> np.ndarray:
    """The rows of `ComputeLoss.build_targets`' `indices` for the boxes of one image.

    boxes: [n, 4] float64 xyxy pixels of the letterboxed model input; image_hw: (H, W), multiples
    of the largest stride. Returns [k, 5] int64 rows (box, level, anchor, grid_x, grid_y)
    (`ENTRY_COLUMNS`) in the real order: level by level; within a level offset-major (centre, j,
    k, l, m), then anchor, then box. Duplicates are kept: a centre exactly on a grid line emits
    its own cell twice (once as centre, once as the right/down neighbour), and the real code
    trains on both.
    """
    _check_image_hw(image_hw, params.strides)
    height, width = image_hw
    targets = normalised_targets(boxes, image_hw)  # [n, 4] float32, relative
    rows = []
    for level, (stride, level_anchors) in enumerate(zip(params.strides, params.anchors,
                                                        strict=True)):
        ny, nx = height // stride, width // stride
        gain = np.array([nx, ny, nx, ny], F32)
        grid = targets * gain  # [n, 4] float32, grid units
        anchors_grid = np.asarray(level_anchors, F32) / F32(stride)  # [A, 2] Detect.anchors
        anchor, box = np.nonzero(_ratio_passes(grid[:, 2:], anchors_grid, params.anchor_t))
        gxy = grid[box, :2]  # [m, 2]: kept (anchor, box) pairs, anchor-major like t[j]
        gxi = gain[:2] - gxy
        towards_low = (np.mod(gxy, F32(1)) < NEIGHBOUR_BIAS) & (gxy > 1)  # j, k
        towards_high = (np.mod(gxi, F32(1)) < NEIGHBOUR_BIAS) & (gxi > 1)  # l, m
        fires = np.concatenate([np.ones((1, len(box)), bool), towards_low.T, towards_high.T])
        offset, pair = np.nonzero(fires)  # [k]: offset-major, then pair, like t.repeat(5)[j]
        cell = (gxy[pair] - _CELL_OFFSETS[offset]).astype(np.int64)  # .long(): truncation
        np.clip(cell[:, 0], 0, nx - 1, out=cell[:, 0])
        np.clip(cell[:, 1], 0, ny - 1, out=cell[:, 1])
        rows.append(np.column_stack([box[pair], np.full(len(pair), level), anchor[pair], cell]))
    if not rows:
        return np.zeros((0, 5), np.int64)
    return np.concatenate(rows).astype(np.int64)


def assign_image(boxes: np.ndarray, image_hw: tuple[int, int],
                 params: Yolov5Params) -> BoxAssignment:
    """Per box: positives = its build_targets rows (duplicates counted, as the loss counts them),
    the level with most rows, and DEGENERATE (zero w or h) / RATIO_OUTSIDE (no level and anchor
    passes the ratio test) / MATCHED. A box that passes the ratio test always gets its centre
    cell, so these are the only reasons."""
    entries = build_target_entries(boxes, image_hw, params)
    targets = normalised_targets(boxes, image_hw)
    n, n_levels = len(targets), len(params.strides)
    per_level = np.bincount(entries[:, BOX] * n_levels + entries[:, LEVEL],
                            minlength=n * n_levels).reshape(n, n_levels)  # [n, L]
    positives = per_level.sum(axis=1).astype(np.int64)
    miss = np.where(positives > 0, MATCHED, RATIO_OUTSIDE).astype(np.int8)
    miss[(targets[:, 2:] == 0).any(axis=1)] = DEGENERATE
    return BoxAssignment(positives=positives, best_level=best_levels(per_level),
                           miss_reason=miss)


def assign_images(boxes: np.ndarray, image: np.ndarray, image_hw: tuple[int, int],
                  params: Yolov5Params) -> BoxAssignment:
    """`assign_image` for many images of the same size at once: a box's build_targets rows depend
    on that box and the image size alone, so all rows go through `assign_image` together.
    `image` [N] (which image each row belongs to) is accepted for the common signature."""
    return assign_image(boxes, image_hw, params)


@dataclass(frozen=True)
class PositiveCells:
    """The build_targets rows of one box, for overlays, in pixels of the model input: `level`,
    `anchor` [k] int64; `cell_xyxy` [k, 4] float64, the grid cell; `anchor_xyxy` [k, 4] float64,
    the anchor (w, h) centred at the cell centre. Duplicate rows are kept (k = positives)."""

    level: np.ndarray
    anchor: np.ndarray
    cell_xyxy: np.ndarray
    anchor_xyxy: np.ndarray


def positive_cells(boxes: np.ndarray, image_hw: tuple[int, int], params: Yolov5Params,
                   box: int) -> PositiveCells:
    """Cells and anchors that build_targets assigns to `boxes[box]` (rows are per box, so only
    that box is evaluated)."""
    one = np.asarray(boxes, np.float64).reshape(-1, 4)[box : box + 1]
    entries = build_target_entries(one, image_hw, params)
    level, anchor = entries[:, LEVEL], entries[:, ANCHOR]
    stride = np.asarray(params.strides, np.float64)[level]  # [k]
    x0, y0 = entries[:, GRID_X] * stride, entries[:, GRID_Y] * stride
    cell = np.column_stack([x0, y0, x0 + stride, y0 + stride])
    wh = np.asarray(params.anchors, np.float64)[level, anchor]  # [k, 2] pixels
    centre = cell[:, :2] + stride[:, None] / 2
    return PositiveCells(level=level, anchor=anchor, cell_xyxy=cell,
                         anchor_xyxy=np.column_stack([centre - wh / 2, centre + wh / 2]))


def autoanchor_wh(boxes: np.ndarray, image_hw: tuple[int, int]) -> np.ndarray:
    """[n, 2] float32 pixel (w, h) as `check_anchors` builds `wh` from the label files for images
    of this size at `imgsz` = their long side, with its random 0.9-1.1 scale taken as 1.0:
    `float32(float32(w / W) * W)` (the fixture's `wh_px_f32`)."""
    height, width = image_hw
    labels_wh = normalised_targets(boxes, image_hw)[:, 2:]  # [n, 2] float32, relative
    return (labels_wh.astype(np.float64) * np.array([width, height], np.float64)).astype(F32)


def autoanchor_metric(widths: np.ndarray, heights: np.ndarray,
                      params: Yolov5Params) -> tuple[float, float]:
    """(bpr, aat) of `check_anchors`' inner `metric` over all anchors of every level, in float32:
    a box fits an anchor when min over w, h of min(r, 1/r) > 1 / anchor_t (strict); bpr = share
    of boxes that fit some anchor, aat = mean number of anchors fitted. Zero-size boxes count
    (they fit nothing). Pass `autoanchor_wh` columns to reproduce autoanchor; nan without boxes."""
    wh = np.column_stack([np.asarray(widths, F32).ravel(), np.asarray(heights, F32).ravel()])
    if len(wh) == 0:
        return float("nan"), float("nan")
    k = np.asarray(params.anchors, F32).reshape(-1, 2)  # [K, 2] pixels
    with np.errstate(divide="ignore"):
        r = wh[:, None, :] / k[None, :, :]  # [n, K, 2]
        fit = np.minimum(r, F32(1) / r).min(axis=2)  # [n, K]
    threshold = F32(1 / params.anchor_t)  # `1 / thr` in Python, compared as float32
    n = F32(len(wh))
    bpr = F32(np.count_nonzero(fit.max(axis=1) > threshold)) / n
    aat = F32(np.count_nonzero(fit > threshold)) / n
    return float(bpr), float(aat)
