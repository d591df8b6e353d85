"""FCOS's positives from static geometry, exactly as torchvision computes them in
`torchvision/models/detection/fcos.py` `FCOS.compute_loss` (docs/families.md#fcos).

A point is positive for a box when it lies strictly inside it, within the centre-sampling radius
of its centre, and its largest side distance is inside the level's size range; a point that
qualifies for several boxes goes to the one with the smallest area, as compared in float32
(`1e8 - area`, so areas within a few px² tie and the lower box index wins). Every comparison runs
in float32 on the boxes as float32, like the real code.

`assign_image` evaluates the dense [points x boxes] stages of one image; `assign_images` gives the
same per-box result for many images of one size at once, evaluating only the points near each box.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from core.assigners.common import (
    DEGENERATE,
    MATCHED,
    NO_POINT_INSIDE,
    OUTSIDE_CENTRE_SAMPLING,
    OUTSIDE_SIZE_RANGES,
    TAKEN,
    BoxAssignment,
    best_levels,
)
from core.frameworks import feature_size_ceil, stride_floor_division

F32 = np.float32

# compute_loss: `pairwise_match.to(float32) * (1e8 - gt_areas)`, then `-1` where the best score is
# below 1e-5 (no box qualifies).
AREA_OFFSET = F32(1e8)
UNMATCHED_SCORE = F32(1e-5)
BACKGROUND = -1  # matched index of a point that belongs to no box


@dataclass(frozen=True)
class FcosParams:
    """`levels`: pyramid levels, level l has nominal stride 2**l (torchvision's resnet50 FPN with
    LastLevelP6P7: P3..P7); `anchor_sizes`: one square anchor per level, side in pixels, as given
    to torchvision's `AnchorGenerator` (`fcos_resnet50_fpn`: 8..128); its half-side is rounded
    like `generate_anchors` rounds it. `center_sampling_radius` is in anchor sizes (Chebyshev
    distance from the box centre); `size_divisor`: the batch is padded to a multiple of it
    (`GeneralizedRCNNTransform`)."""

    levels: tuple[int, ...] = (3, 4, 5, 6, 7)
    anchor_sizes: tuple[float, ...] = (8, 16, 32, 64, 128)
    center_sampling_radius: float = 1.5
    size_divisor: int = 32

    def __post_init__(self) -> None:
        if len(self.levels) != len(self.anchor_sizes):
            raise ValueError(f"{len(self.anchor_sizes)} anchor sizes for {len(self.levels)} levels")


def padded_hw(image_hw: tuple[int, int], size_divisor: int) -> tuple[int, int]:
    """The batch tensor's (H, W): each side rounded up to a multiple of `size_divisor`."""
    return tuple(-(-int(n) // size_divisor) * size_divisor for n in image_hw)


def level_grids(image_hw: tuple[int, int],
                params: FcosParams) -> list[tuple[tuple[int, int], tuple[int, int]]]:
    """Per level ((grid_h, grid_w), (stride_h, stride_w)) as torchvision derives them.

    Feature sizes: every stride-2 step of resnet50 + FPN + LastLevelP6P7 (7x7/s2/p3 stem conv,
    3x3/s2/p1 max-pool and stage convs, 3x3/s2/p1 P6 and P7 convs) maps n to
    `(n - 1) // 2 + 1 = ceil(n / 2)`, so level l has `ceil(padded / 2**l)` cells. The anchor
    generator then uses `stride = padded // grid` per axis (`anchor_utils.py`
    `AnchorGenerator.forward`), which is not 2**l once a grid rounds up: 384x800 -> P6 stride
    (64, 61), P7 (128, 114).
    """
    padded = padded_hw(image_hw, params.size_divisor)
    out = []
    for level in params.levels:
        grid = tuple(feature_size_ceil(n, 2**level) for n in padded)
        stride = tuple(int(stride_floor_division(n, g, 2**level))
                       for n, g in zip(padded, grid, strict=True))
        out.append((grid, stride))
    return out


def anchor_sizes(params: FcosParams) -> np.ndarray:
    """[L] float32 side of each level's anchor: `generate_anchors` rounds the half-sides
    (`round(+-size / 2)`, half to even), so the side is `2 * round(size / 2)`."""
    return (F32(2) * np.round(np.asarray(params.anchor_sizes, F32) / F32(2))).astype(F32)


def size_ranges(params: FcosParams) -> list[tuple[float, float]]:
    """Per level the open interval (low, high) that a point's largest side distance
    `max(l, t, r, b)` must fall in: (4 x size, 8 x size), low 0 on the first level, high inf on
    the last (compute_loss `lower_bound` / `upper_bound`; both comparisons strict)."""
    sizes = anchor_sizes(params)
    low = F32(4) * sizes
    high = F32(8) * sizes
    low[0] = 0
    high[-1] = np.inf
    return [(float(lo), float(hi)) for lo, hi in zip(low, high, strict=True)]


def anchor_points(image_hw: tuple[int, int],
                  params: FcosParams) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """All anchor points of one image, levels concatenated, row-major within a level (index
    `gy * grid_w + gx`): points [P, 2] float32 (x, y) pixels = (gx * stride_w, gy * stride_h) — no
    half-cell offset; level [P] int64 (index into `params.levels`); anchor_size [P] float32."""
    points, level, size = [], [], []
    sizes = anchor_sizes(params)
    for index, ((gh, gw), (sh, sw)) in enumerate(level_grids(image_hw, params)):
        ys, xs = np.meshgrid(np.arange(gh) * sh, np.arange(gw) * sw, indexing="ij")
        points.append(np.stack([xs.ravel(), ys.ravel()], axis=1).astype(F32))  # [gh * gw, 2]
        level.append(np.full(gh * gw, index, np.int64))
        size.append(np.full(gh * gw, sizes[index], F32))
    return np.concatenate(points), np.concatenate(level), np.concatenate(size)


@dataclass(frozen=True)
class _Stages:
    """The [P, n] masks of compute_loss, each including the previous ones, and the result."""

    inside: np.ndarray  # point strictly inside the box
    sampled: np.ndarray  # ... and within the centre-sampling radius
    in_range: np.ndarray  # ... and its max side distance in the level's size range: qualifies
    matched: np.ndarray  # [P] int64 box index or BACKGROUND
    level: np.ndarray  # [P] level index of each point


def _stages(boxes: np.ndarray, image_hw: tuple[int, int], params: FcosParams) -> _Stages:
    gt = np.asarray(boxes, F32).reshape(-1, 4)  # [n, 4] what the real code receives
    points, level, size = anchor_points(image_hw, params)
    x, y = points[:, 0:1], points[:, 1:2]  # [P, 1]
    x1, y1, x2, y2 = (gt[None, :, k] for k in range(4))  # [1, n]
    # Centre sampling: Chebyshev distance to the box centre < radius x anchor size.
    cx, cy = (x1 + x2) / F32(2), (y1 + y2) / F32(2)
    radius = F32(params.center_sampling_radius) * size[:, None]  # [P, 1]
    near_centre = np.maximum(np.abs(x - cx), np.abs(y - cy)) < radius  # [P, n]
    # Side distances l, t, r, b: inside when the smallest is > 0; size from the largest.
    sides = (x - x1, y - y1, x2 - x, y2 - y)
    inside = np.minimum.reduce(sides) > 0
    largest = np.maximum.reduce(sides)  # [P, n]
    low = F32(4) * size
    high = F32(8) * size
    low[level == 0] = 0
    high[level == len(params.levels) - 1] = np.inf
    fits = (largest > low[:, None]) & (largest < high[:, None])
    sampled = inside & near_centre
    in_range = sampled & fits
    # Smallest area wins, compared as float32 1e8 - area; argmax keeps the lowest index on a tie.
    area = (gt[:, 2] - gt[:, 0]) * (gt[:, 3] - gt[:, 1])  # [n] float32
    if gt.shape[0]:
        score = in_range.astype(F32) * (AREA_OFFSET - area)[None, :]  # [P, n]
        matched = score.argmax(axis=1).astype(np.int64)
        matched[score.max(axis=1) < UNMATCHED_SCORE] = BACKGROUND
    else:
        matched = np.full(len(points), BACKGROUND, np.int64)
    return _Stages(inside, sampled, in_range, matched, level)


def matched_indices(boxes: np.ndarray, image_hw: tuple[int, int],
                    params: FcosParams) -> np.ndarray:
    """[P] int64 per anchor point (order of `anchor_points`): the box it is matched to, or -1;
    compute_loss's `matched_idxs` for this image. `boxes` [n, 4] xyxy pixels of the model input."""
    return _stages(boxes, image_hw, params).matched


def assign_image(boxes: np.ndarray, image_hw: tuple[int, int],
                 params: FcosParams) -> BoxAssignment:
    """Per box: its positives (points matched to it), best level and miss reason. The miss
    reason names the first compute_loss test that no point passes: inside the box, centre
    sampling, size range; TAKEN when points qualified but all went to other boxes (smaller,
    or within float32 of its area with a lower index)."""
    stages = _stages(boxes, image_hw, params)
    n = stages.inside.shape[1]
    per_level = np.zeros((n, len(params.levels)), np.int64)  # [n, L] positives per level
    hit = stages.matched != BACKGROUND
    np.add.at(per_level, (stages.matched[hit], stages.level[hit]), 1)
    positives = per_level.sum(axis=1)
    gt = np.asarray(boxes, F32).reshape(-1, 4)
    degenerate = (gt[:, 2] <= gt[:, 0]) | (gt[:, 3] <= gt[:, 1])
    reason = np.select(
        [degenerate, ~stages.inside.any(axis=0), ~stages.sampled.any(axis=0),
         ~stages.in_range.any(axis=0), positives == 0],
        [DEGENERATE, NO_POINT_INSIDE, OUTSIDE_CENTRE_SAMPLING, OUTSIDE_SIZE_RANGES, TAKEN],
        MATCHED).astype(np.int8)
    return BoxAssignment(positives=positives, best_level=best_levels(per_level),
                           miss_reason=reason)


def positive_points(boxes: np.ndarray, image_hw: tuple[int, int], params: FcosParams,
                    box: int) -> tuple[np.ndarray, np.ndarray]:
    """The points matched to box `box`, for overlays: level [k] int64 (index into
    `params.levels`) and xy [k, 2] float32 pixels."""
    matched = matched_indices(boxes, image_hw, params)
    points, level, _ = anchor_points(image_hw, params)
    mine = matched == box
    return level[mine], points[mine]


# --------------------------------------------------------------------------- many images at once


@dataclass(frozen=True)
class _LevelAxes:
    """One level's grid as two axes (a point's tests are separable in x and y): `xs` [grid_w]
    and `ys` [grid_h] float32 pixel coordinates of the columns and rows (as `anchor_points`),
    the level's float32 centre-sampling `radius` and open size range (`low`, `high`), and
    `offset`, the index of its first point in `anchor_points`."""

    xs: np.ndarray
    ys: np.ndarray
    radius: np.float32
    low: np.float32
    high: np.float32
    offset: int


@functools.lru_cache(maxsize=64)
def _level_axes(image_hw: tuple[int, int], params: FcosParams) -> tuple[_LevelAxes, ...]:
    """`level_grids` / `anchor_points` / `_stages`' per-level values of one image size."""
    sizes = anchor_sizes(params)
    out, offset = [], 0
    for index, ((gh, gw), (sh, sw)) in enumerate(level_grids(image_hw, params)):
        size = sizes[index]
        xs, ys = (np.arange(gw) * sw).astype(F32), (np.arange(gh) * sh).astype(F32)
        xs.flags.writeable = ys.flags.writeable = False
        low = F32(0) if index == 0 else F32(4) * size
        high = F32(np.inf) if index == len(params.levels) - 1 else F32(8) * size
        out.append(_LevelAxes(xs, ys, F32(params.center_sampling_radius) * size, low, high,
                              offset))
        offset += gh * gw
    return tuple(out)


@dataclass(frozen=True)
class _AxisWindow:
    """Per box, the run of grid columns (or rows) of one level that pass the axis's half of the
    inside and centre-sampling tests, and their side distances: `inside` [n] some column lies
    strictly inside; `start` [n] first passing column, `count` [n] how many (0: none), `largest`
    [n, W] float32 max(x - x1, x2 - x) of the columns start .. start + W - 1."""

    inside: np.ndarray
    start: np.ndarray
    count: np.ndarray
    largest: np.ndarray


def _axis_window(coords: np.ndarray, lo: np.ndarray, hi: np.ndarray, centre: np.ndarray,
                 radius: np.float32) -> _AxisWindow:
    """`coords` [g] float32 columns; `lo`, `hi`, `centre` [n] float32 box edges and centre.

    The tests are those of `_stages` restricted to one axis: `x - x1 > 0`, `x2 - x > 0`,
    `|x - cx| < radius`, all float32. Each difference is monotone in x (rounding is), so the
    passing columns form one run; a point passes both axes exactly when it passes `_stages`'
    `sampled` test, and its largest side distance is the larger of the two axes' values."""
    to_lo = coords[None, :] - lo[:, None]  # [n, g] x - x1
    to_hi = hi[:, None] - coords[None, :]  # [n, g] x2 - x
    inside = (to_lo > 0) & (to_hi > 0)
    sampled = inside & (np.abs(coords[None, :] - centre[:, None]) < radius)
    count = sampled.sum(axis=1)
    start = sampled.argmax(axis=1)
    width = max(int(count.max(initial=0)), 1)
    columns = np.minimum(start[:, None] + np.arange(width), len(coords) - 1)  # [n, W]
    largest = np.take_along_axis(np.maximum(to_lo, to_hi), columns, axis=1)
    return _AxisWindow(inside.any(axis=1), start, count, largest)


def assign_images(boxes: np.ndarray, image: np.ndarray, image_hw: tuple[int, int],
                  params: FcosParams) -> BoxAssignment:
    """`assign_image` for many images of the same size at once, per box the same result.

    boxes: [N, 4] xyxy pixels of the model input, rows sorted by `image` [N] (any int labels)
    and within an image in the order `assign_image` would receive them (the lower row wins an
    area tie). Per level only the few points that pass the inside and centre-sampling tests
    are evaluated (a run of columns times a run of rows per box, `_axis_window`), with the
    float32 arithmetic of `_stages`; a point that qualifies for several boxes of its image goes
    to the box `_stages` picks (highest `1e8 - area`, then the lowest row)."""
    gt = np.asarray(boxes, F32).reshape(-1, 4)  # [N, 4]
    image = np.asarray(image, np.int64).reshape(-1)
    n = len(gt)
    levels = _level_axes(tuple(int(v) for v in image_hw), params)
    x1, y1, x2, y2 = (gt[:, k] for k in range(4))
    cx, cy = (x1 + x2) / F32(2), (y1 + y2) / F32(2)
    any_inside = np.zeros(n, bool)
    any_sampled = np.zeros(n, bool)
    any_in_range = np.zeros(n, bool)
    rows, points, point_level = [], [], []  # one entry per (box, point) that qualifies
    for index, axes in enumerate(levels):
        along_x = _axis_window(axes.xs, x1, x2, cx, axes.radius)
        along_y = _axis_window(axes.ys, y1, y2, cy, axes.radius)
        any_inside |= along_x.inside & along_y.inside
        any_sampled |= (along_x.count > 0) & (along_y.count > 0)
        wy, wx = along_y.largest.shape[1], along_x.largest.shape[1]
        sampled = ((np.arange(wy) < along_y.count[:, None])[:, :, None]
                   & (np.arange(wx) < along_x.count[:, None])[:, None, :])  # [N, Wy, Wx]
        largest = np.maximum(along_y.largest[:, :, None], along_x.largest[:, None, :])
        in_range = sampled & (largest > axes.low) & (largest < axes.high)
        box, iy, ix = np.nonzero(in_range)
        any_in_range[box] = True
        gy, gx = along_y.start[box] + iy, along_x.start[box] + ix
        rows.append(box)
        points.append(axes.offset + gy * len(axes.xs) + gx)
        point_level.append(np.full(len(box), index, np.int64))
    rows, points, point_level = (np.concatenate(a) for a in (rows, points, point_level))
    # A point goes to the qualifying box with the highest float32 score 1e8 - area (the lowest
    # row on a tie); with no score >= 1e-5 it stays background, as in `_stages`.
    area = (x2 - x1) * (y2 - y1)  # [N] float32
    score = AREA_OFFSET - area[rows]
    keep = ~(score < UNMATCHED_SCORE)
    rows, points, point_level, score = rows[keep], points[keep], point_level[keep], score[keep]
    point_count = levels[-1].offset + len(levels[-1].xs) * len(levels[-1].ys)
    claim = image[rows] * point_count + points  # [k] one key per (image, point)
    order = np.lexsort((rows, -score, claim))
    first = np.ones(len(order), bool)
    first[1:] = claim[order[1:]] != claim[order[:-1]]
    won = order[first]
    n_levels = len(levels)
    per_level = np.bincount(rows[won] * n_levels + point_level[won],
                            minlength=n * n_levels).reshape(n, n_levels)  # [N, L]
    positives = per_level.sum(axis=1).astype(np.int64)
    degenerate = (x2 <= x1) | (y2 <= y1)
    reason = np.select(
        [degenerate, ~any_inside, ~any_sampled, ~any_in_range, positives == 0],
        [DEGENERATE, NO_POINT_INSIDE, OUTSIDE_CENTRE_SAMPLING, OUTSIDE_SIZE_RANGES, TAKEN],
        MATCHED).astype(np.int8)
    return BoxAssignment(positives=positives, best_level=best_levels(per_level),
                         miss_reason=reason)
