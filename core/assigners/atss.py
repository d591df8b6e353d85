"""ATSS's positives from static geometry, exactly as mmdet 3.x computes them: the priors of
`mmdet/models/task_modules/prior_generators/anchor_generator.py` `AnchorGenerator` and the
adaptive IoU threshold of `mmdet/models/task_modules/assigners/atss_assigner.py`
`ATSSAssigner.assign` (docs/families.md#atss).

Per level the `topk` priors whose centres are nearest to a box's centre are its candidates; the
candidates whose IoU reaches mean + std of the candidates' IoUs and whose centre lies inside the
box are positive; a prior positive for several boxes goes to the one with the highest IoU. All
arithmetic is float32 as in the real code, including the order in which torch's CPU sum adds the
candidates' IoUs for the mean, so the thresholds agree bit for bit.

Where the `topk`-th and next distances are equal, which prior `torch.topk` keeps is not defined
(it differs between devices and versions). Here the lower prior index wins (a stable sort); the
real result there can differ from ours. Callers that know the real candidate sets can pass them.

`match` / `assign_image` evaluate one image densely ([priors x boxes]); `assign_images` gives the
same per-box result for many images of one size at once, looking only at a few priors per level
around each box's centre.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np

from core.assigners.common import (
    BELOW_THRESHOLD,
    DEGENERATE,
    MATCHED,
    NO_POINT_INSIDE,
    TAKEN,
    BoxAssignment,
    best_levels,
)
from core.frameworks import feature_size_ceil

F32 = np.float32

NOT_POSITIVE = F32(-100000000)  # assign(): `INF = 100000000`; non-positive pairs get -INF
IOU_EPS = F32(1e-6)  # bbox_overlaps: `union = torch.max(union, eps)`
CENTRE_MARGIN = F32(0.01)  # assign(): prior centre inside the box when min(l, t, r, b) > 0.01
BACKGROUND = 0  # assigned_gt_inds of a prior that belongs to no box (box i is i + 1)
VECTOR_LANES = 8  # float32 lanes of torch's CPU sum kernel that produced the recorded means


@dataclass(frozen=True)
class AtssParams:
    """atss_r50_fpn's prior generator and assigner: `strides` in pixels, one square prior per
    location of side `octave_base_scale x stride` (one scale, ratio 1, centre offset 0);
    `topk` candidates per level; the input is padded to a multiple of `size_divisor`
    (`DetDataPreprocessor(pad_size_divisor=32)`)."""

    strides: tuple[int, ...] = (8, 16, 32, 64, 128)
    octave_base_scale: float = 8.0
    topk: int = 9
    size_divisor: int = 32


def featmap_sizes(image_hw: tuple[int, int], params: AtssParams) -> list[tuple[int, int]]:
    """Per level the feature map's (h, w): every stride-2 conv of ResNet-50 + FPN (extra convs
    3x3/s2/p1 on the output) maps n to `ceil(n / 2)`, so a level of stride s has
    `ceil(padded / s)` cells; the input is padded to `size_divisor` first."""
    padded = [-(-int(n) // params.size_divisor) * params.size_divisor for n in image_hw]
    return [(feature_size_ceil(padded[0], s), feature_size_ceil(padded[1], s))
            for s in params.strides]


def priors(image_hw: tuple[int, int], params: AtssParams) -> tuple[np.ndarray, list[int]]:
    """All priors [A, 4] float32 xyxy pixels, levels concatenated, row-major within a level
    (index `gy * w + gx`), as `AnchorGenerator.grid_priors`: `[gx * s, gy * s] +- side / 2` — the
    centre is the grid point itself (no half-cell offset); and the per-level counts."""
    anchors, counts = [], []
    for (h, w), stride in zip(featmap_sizes(image_hw, params), params.strides, strict=True):
        half = F32(0.5) * (F32(stride) * F32(params.octave_base_scale))  # base_anchors
        ys, xs = np.meshgrid(np.arange(h, dtype=F32) * F32(stride),
                             np.arange(w, dtype=F32) * F32(stride), indexing="ij")
        xs, ys = xs.ravel(), ys.ravel()
        anchors.append(np.stack([xs - half, ys - half, xs + half, ys + half], axis=1))  # [h*w, 4]
        counts.append(h * w)
    return np.concatenate(anchors).astype(F32), counts


def bbox_overlaps(priors: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """IoU as mmdet's `bbox_overlaps` (mode 'iou', no +1 on sides, the union clamped to at least
    1e-6), float32. Pairwise for priors [A, 4] and boxes [n, 4] -> [A, n]; any other shapes
    broadcast elementwise ([..., 4] with [..., 4]) with the same arithmetic."""
    priors, boxes = np.asarray(priors, F32), np.asarray(boxes, F32)
    if priors.ndim == 2 and boxes.ndim == 2:
        priors, boxes = priors[:, None, :], boxes[None, :, :]
    area1 = (priors[..., 2] - priors[..., 0]) * (priors[..., 3] - priors[..., 1])
    area2 = (boxes[..., 2] - boxes[..., 0]) * (boxes[..., 3] - boxes[..., 1])
    lt = np.maximum(priors[..., :2], boxes[..., :2])
    rb = np.minimum(priors[..., 2:], boxes[..., 2:])
    wh = np.maximum(rb - lt, F32(0))
    overlap = wh[..., 0] * wh[..., 1]
    union = np.maximum(area1 + area2 - overlap, IOU_EPS)
    return overlap / union


def _centre_distances(anchors: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """[A, n] float32 Euclidean distance between prior and box centres (`bbox_center_distance`)."""
    box_c = (boxes[:, :2] + boxes[:, 2:]) / F32(2)  # [n, 2]
    prior_c = (anchors[:, :2] + anchors[:, 2:]) / F32(2)  # [A, 2]
    dx = prior_c[:, None, 0] - box_c[None, :, 0]
    dy = prior_c[:, None, 1] - box_c[None, :, 1]
    return np.sqrt(dx * dx + dy * dy)


def _level_offsets(level_counts: list[int]) -> np.ndarray:
    return np.concatenate([[0], np.cumsum(level_counts)]).astype(np.int64)


def _nearest_candidates(distances: np.ndarray, level_counts: list[int], topk: int) -> np.ndarray:
    """[C, n] global prior indices: per level the min(topk, count) nearest priors, nearest first.
    On equal distances the lower index comes first (torch.topk leaves this undefined)."""
    offsets = _level_offsets(level_counts)
    parts = []
    for start, stop in zip(offsets[:-1], offsets[1:], strict=True):
        k = min(topk, int(stop - start))
        order = np.argsort(distances[start:stop], axis=0, kind="stable")[:k]  # [k, n]
        parts.append(order + start)
    return np.concatenate(parts)


def _topk_order(candidates: np.ndarray, distances: np.ndarray,
                level_counts: list[int]) -> np.ndarray:
    """Given candidate sets [C, n] in any order, sort each column as torch.topk returns them:
    by level, then distance, then index (the order matters for the float32 mean)."""
    level = np.searchsorted(_level_offsets(level_counts), candidates, side="right") - 1
    out = np.empty_like(candidates)
    for g in range(candidates.shape[1]):
        col = candidates[:, g]
        out[:, g] = col[np.lexsort((col, distances[col, g], level[:, g]))]
    return out


def _cascade_sum(rows: np.ndarray) -> np.ndarray:
    """Sum over axis 0 in the order of torch's `multi_row_sum` (SumKernel.cpp): running sums over
    chunks of 16 rows, chunk sums accumulated level by level, all in float32."""
    size = rows.shape[0]
    power = max(4, max(size - 1, 1).bit_length() // 4)  # utils::CeilLog2(size) / num_levels
    step, mask = 1 << power, (1 << power) - 1
    acc = np.zeros((4, *rows.shape[1:]), F32)
    i = 0
    while i + step <= size:
        for _ in range(step):
            acc[0] += rows[i]
            i += 1
        for j in range(1, 4):
            acc[j] += acc[j - 1]
            acc[j - 1] = 0
            if i & (mask << (j * power)):
                break
    for row in rows[i:]:
        acc[0] += row
    for j in range(1, 4):
        acc[0] += acc[j]
    return acc[0]


def _row_sum(rows: np.ndarray) -> np.ndarray:
    """torch's `row_sum`: rows read as groups of 4 (4 interleaved cascade sums), the leftover
    rows added to the first, then the 4 partial sums added in order."""
    groups = rows.shape[0] // 4
    if groups:
        partial = _cascade_sum(rows[: 4 * groups].reshape(groups, 4, *rows.shape[1:]))
    else:
        partial = np.zeros((4, *rows.shape[1:]), F32)
    total = partial[0].copy()
    for row in rows[4 * groups:]:
        total += row
    for k in range(1, 4):
        total += partial[k]
    return total


# How torch's CPU sum adds one column of a [C, n] float32 tensor, by the column's position.
INNER_SUM = 0  # n == 1: vectorized_inner_sum (8-lane vectors over the column)
CASCADE_SUM = 1  # the columns in whole blocks (of 4 x 8 columns, or of 4 below 8 columns)
ROW_SUM = 2  # the remaining columns: row_sum


def torch_sum_kinds(n: int) -> np.ndarray:
    """[n] int8: how torch's CPU `values.sum(0)` adds each column of a [C, n] float32 tensor
    (INNER_SUM, CASCADE_SUM or ROW_SUM), see `torch_column_sum`."""
    if n == 1:
        return np.full(1, INNER_SUM, np.int8)
    if n >= VECTOR_LANES:  # vectorized_outer_sum: blocks of 4 vectors, then single columns
        blocked = n // (4 * VECTOR_LANES) * (4 * VECTOR_LANES)
    else:  # scalar_outer_sum: blocks of 4 columns
        blocked = n // 4 * 4
    kinds = np.full(n, ROW_SUM, np.int8)
    kinds[:blocked] = CASCADE_SUM
    return kinds


def _inner_sum(values: np.ndarray) -> np.ndarray:
    """[C, m] -> [m]: each column summed as torch's `vectorized_inner_sum` sums a lone column:
    8 lanes (as `_row_sum` over rows of 8), then the leftover values and the lanes in order."""
    size = values.shape[0]
    if size < VECTOR_LANES:
        return _row_sum(values)
    full = size // VECTOR_LANES * VECTOR_LANES
    lanes = _row_sum(values[:full].reshape(-1, VECTOR_LANES, *values.shape[1:]))  # [8, m]
    total = np.zeros(values.shape[1:], F32)
    for value in (*values[full:], *lanes):
        total += value
    return total


_SUMS = {INNER_SUM: _inner_sum, CASCADE_SUM: _cascade_sum, ROW_SUM: _row_sum}


def column_sums_by_kind(values: np.ndarray, kinds: np.ndarray) -> np.ndarray:
    """[C, m] float32 -> [m]: column j summed the way `kinds[j]` says (`torch_sum_kinds`). Every
    way adds each column on its own, so columns of several tensors can be summed together."""
    values = np.asarray(values, F32)
    out = np.empty(values.shape[1], F32)
    for kind, column_sum in _SUMS.items():
        columns = np.flatnonzero(kinds == kind)
        if len(columns):
            out[columns] = column_sum(values[:, columns])
    return out


def torch_column_sum(values: np.ndarray) -> np.ndarray:
    """[C, n] float32 -> [n]: `values.sum(0)` of a contiguous float32 tensor as torch's CPU
    `cascade_sum` adds it (aten/src/ATen/native/cpu/SumKernel.cpp), bit for bit; `.mean(0)` is this
    divided by C. The column's position decides the order: blocks of 4 x 8 columns take
    `multi_row_sum`, the rest `row_sum`; one column is an inner (vectorised) reduction. Checked
    against torch 2.14.1 on CPU (8-lane float vectors); a GPU sums in another order."""
    values = np.ascontiguousarray(values, F32)
    return column_sums_by_kind(values, torch_sum_kinds(values.shape[1]))


@dataclass(frozen=True)
class AtssMatch:
    """One image's ATSS assignment with its intermediate values, boxes in the given order.

    `assigned_gt_inds` [A] int64: 0 background, i + 1 for box i (mmdet's convention);
    `candidates` [C, n] int64 prior indices per box (per level nearest first; C = sum over
    levels of min(topk, priors)); `candidate_iou` [C, n] float32; `iou_mean`, `iou_std`,
    `iou_thr` [n] float32 (unbiased std; thr = mean + std); `candidate_inside` [C, n] the prior
    centre is > 0.01 px inside the box; `candidate_positive` [C, n] inside and IoU >= thr."""

    assigned_gt_inds: np.ndarray
    candidates: np.ndarray
    candidate_iou: np.ndarray
    iou_mean: np.ndarray
    iou_std: np.ndarray
    iou_thr: np.ndarray
    candidate_inside: np.ndarray
    candidate_positive: np.ndarray
    level_counts: list[int]


def match(boxes: np.ndarray, image_hw: tuple[int, int], params: AtssParams,
          candidates: np.ndarray | None = None) -> AtssMatch:
    """ATSSAssigner.assign for one image; `boxes` [n, 4] xyxy pixels of the model input (used as
    float32). `candidates` [C, n] replaces the nearest-prior selection (any order within a column;
    they are put in topk order): for checking against candidate sets that the real torch.topk
    chose where distances tie."""
    gt = np.asarray(boxes, F32).reshape(-1, 4)  # [n, 4]
    anchors, counts = priors(image_hw, params)
    n = gt.shape[0]
    distances = _centre_distances(anchors, gt)  # [A, n]
    if candidates is None:
        candidates = _nearest_candidates(distances, counts, params.topk)
    else:
        candidates = _topk_order(np.asarray(candidates, np.int64).reshape(-1, n), distances,
                                 counts)
    columns = np.arange(n)[None, :]
    cand_iou = bbox_overlaps(anchors[candidates], gt[None, :, :])  # [C, n]
    mean = torch_column_sum(cand_iou) / F32(cand_iou.shape[0])  # CPU mean = sum(0).div_(C)
    # torch's CPU std accumulates in float64 and rounds once; unbiased (n - 1); nan for a single
    # candidate, as in torch (then nothing is positive).
    with np.errstate(invalid="ignore", divide="ignore"):
        std = cand_iou.astype(np.float64).std(axis=0, ddof=1).astype(F32)
    thr = mean + std
    centres = (anchors[:, :2] + anchors[:, 2:]) / F32(2)  # [A, 2]
    cx, cy = centres[candidates, 0], centres[candidates, 1]  # [C, n]
    inside = np.minimum.reduce([cx - gt[None, :, 0], cy - gt[None, :, 1],
                                gt[None, :, 2] - cx, gt[None, :, 3] - cy]) > CENTRE_MARGIN
    positive = (cand_iou >= thr[None, :]) & inside
    # Highest IoU wins across boxes; argmax keeps the lowest box index on equal IoU.
    best = np.full((len(anchors), n), NOT_POSITIVE, F32)  # [A, n]
    best[candidates[positive], np.broadcast_to(columns, positive.shape)[positive]] = \
        cand_iou[positive]
    assigned = np.zeros(len(anchors), np.int64)
    if n:
        top = best.max(axis=1)
        assigned = np.where(top != NOT_POSITIVE, best.argmax(axis=1) + 1, BACKGROUND)
    return AtssMatch(assigned_gt_inds=assigned.astype(np.int64), candidates=candidates,
                     candidate_iou=cand_iou, iou_mean=mean, iou_std=std, iou_thr=thr,
                     candidate_inside=inside, candidate_positive=positive, level_counts=counts)


def assigned_gt_inds(boxes: np.ndarray, image_hw: tuple[int, int], params: AtssParams,
                     candidates: np.ndarray | None = None) -> np.ndarray:
    """[A] int64 per prior (order of `priors`): 0 background, i + 1 for box i, as mmdet's
    AssignResult.gt_inds."""
    return match(boxes, image_hw, params, candidates).assigned_gt_inds


def assign_image(boxes: np.ndarray, image_hw: tuple[int, int], params: AtssParams,
                 candidates: np.ndarray | None = None) -> BoxAssignment:
    """Per box: positives (priors assigned to it), best level and miss reason: DEGENERATE,
    NO_POINT_INSIDE (no candidate centre inside the box), BELOW_THRESHOLD (candidates inside,
    none reaching mean + std), TAKEN (its positives all went to boxes with a higher IoU, or an
    equal IoU and a lower index)."""
    result = match(boxes, image_hw, params, candidates)
    gt = np.asarray(boxes, F32).reshape(-1, 4)
    n = gt.shape[0]
    level = np.repeat(np.arange(len(result.level_counts)), result.level_counts)  # [A]
    per_level = np.zeros((n, len(result.level_counts)), np.int64)  # [n, L]
    hit = result.assigned_gt_inds != BACKGROUND
    np.add.at(per_level, (result.assigned_gt_inds[hit] - 1, level[hit]), 1)
    positives = per_level.sum(axis=1)
    degenerate = (gt[:, 2] <= gt[:, 0]) | (gt[:, 3] <= gt[:, 1])
    reason = np.select(
        [degenerate, ~result.candidate_inside.any(axis=0),
         ~result.candidate_positive.any(axis=0), positives == 0],
        [DEGENERATE, NO_POINT_INSIDE, BELOW_THRESHOLD, TAKEN], MATCHED).astype(np.int8)
    return BoxAssignment(positives=positives, best_level=best_levels(per_level),
                           miss_reason=reason)


def positive_anchors(boxes: np.ndarray, image_hw: tuple[int, int], params: AtssParams,
                     box: int) -> np.ndarray:
    """[k, 4] float32 xyxy pixels: the priors assigned to box `box`, for overlays."""
    anchors, _ = priors(image_hw, params)
    return anchors[assigned_gt_inds(boxes, image_hw, params) == box + 1]


# --------------------------------------------------------------------------- many images at once


@dataclass(frozen=True)
class _PriorLevel:
    """One level of `priors` as two axes (a prior's centre is (col_x[gx], row_y[gy])):
    `col_x` [w], `row_y` [h] float32 pixel centres computed as `_centre_distances` does,
    `offset` its first prior index and `k` = min(topk, h * w) candidates."""

    col_x: np.ndarray
    row_y: np.ndarray
    offset: int
    k: int


@dataclass(frozen=True)
class _PriorGeometry:
    """`priors` of one image size, read-only: anchors [A, 4] and centres [A, 2] float32,
    per-level axes and the level of each candidate row ([C] int64)."""

    anchors: np.ndarray
    centres: np.ndarray
    levels: tuple[_PriorLevel, ...]
    candidate_level: np.ndarray


@functools.lru_cache(maxsize=64)
def _prior_geometry(image_hw: tuple[int, int], params: AtssParams) -> _PriorGeometry:
    anchors, counts = priors(image_hw, params)
    centres = (anchors[:, :2] + anchors[:, 2:]) / F32(2)  # [A, 2] as _centre_distances
    levels, offset = [], 0
    for (h, w), count in zip(featmap_sizes(image_hw, params), counts, strict=True):
        grid = centres[offset:offset + count].reshape(h, w, 2)
        col_x, row_y = grid[0, :, 0].copy(), grid[:, 0, 1].copy()
        if not (np.array_equal(grid[..., 0], np.broadcast_to(col_x, (h, w)))
                and np.array_equal(grid[..., 1], np.broadcast_to(row_y[:, None], (h, w)))):
            raise AssertionError("prior centres are not a separable grid")
        levels.append(_PriorLevel(col_x, row_y, offset, min(params.topk, count)))
        offset += count
    candidate_level = np.repeat(np.arange(len(levels)), [lv.k for lv in levels])
    for array in (anchors, centres, candidate_level, *(a for lv in levels
                                                        for a in (lv.col_x, lv.row_y))):
        array.flags.writeable = False
    return _PriorGeometry(anchors, centres, tuple(levels), candidate_level)


def _window_half_width(k: int) -> int:
    """Half-width h (in cells) of the square of grid points searched for a box's k nearest on a
    level. The (2m + 1)^2 block around the point nearest the box centre holds k points
    (m = ceil((sqrt(k) - 1) / 2)), all within (m + 1/2) sqrt(2) cells of the centre; every point
    outside a half-width h is more than h + 1/2 cells away, so h + 1/2 > (m + 1/2) sqrt(2) makes
    the window hold the k nearest whenever the centre lies inside the grid (elsewhere the check
    in `_window_nearest` decides)."""
    m = math.ceil((math.sqrt(k) - 1) / 2)
    return math.floor((m + 0.5) * math.sqrt(2) - 0.5) + 1


def _window_nearest(dx2: np.ndarray, dy2: np.ndarray,
                    level: _PriorLevel) -> tuple[np.ndarray, np.ndarray]:
    """The k nearest priors of each box among the grid points of a window around its nearest
    column and row: ([n, k] prior indices within the level, nearest first, the lower index first
    on equal distances; [n] bool `sure`, the window provably holds the level's k nearest).

    dx2 [n, w], dy2 [n, h] float32 squared centre offsets per column and row, so that a prior's
    distance is `sqrt(dy2 + dx2)` exactly as `_centre_distances` computes it. `sure` when the
    k-th distance is below `sqrt(min dx2 or dy2 outside the window)`: every prior outside is at
    least that far (float32 sums and sqrt are monotone), so the stable order within the window
    is the stable order over the level."""
    n, (h, w), k = len(dx2), (dy2.shape[1], dx2.shape[1]), level.k
    half = _window_half_width(k)
    win_w, win_h = min(2 * half + 1, w), min(2 * half + 1, h)
    if win_w * win_h < k:
        win_w, win_h = w, h
    x0 = np.clip(dx2.argmin(axis=1) - half, 0, w - win_w)  # [n] first window column
    y0 = np.clip(dy2.argmin(axis=1) - half, 0, h - win_h)
    cols = x0[:, None] + np.arange(win_w)  # [n, win_w], ascending: row-major = index order
    rows = y0[:, None] + np.arange(win_h)
    distance = np.sqrt(np.take_along_axis(dy2, rows, axis=1)[:, :, None]
                       + np.take_along_axis(dx2, cols, axis=1)[:, None, :]
                       ).reshape(n, win_h * win_w)
    nearest = np.argsort(distance, axis=1, kind="stable")[:, :k]  # [n, k] window positions
    kth = np.take_along_axis(distance, nearest[:, -1:], axis=1)[:, 0]
    out_x = (np.arange(w) < x0[:, None]) | (np.arange(w) >= x0[:, None] + win_w)  # [n, w]
    out_y = (np.arange(h) < y0[:, None]) | (np.arange(h) >= y0[:, None] + win_h)
    closest_outside = np.sqrt(np.minimum(np.where(out_x, dx2, F32(np.inf)).min(axis=1),
                                         np.where(out_y, dy2, F32(np.inf)).min(axis=1)))
    index = (y0[:, None] + nearest // win_w) * w + x0[:, None] + nearest % win_w  # [n, k]
    return index, kth < closest_outside


def _nearest_in_level(dx2: np.ndarray, dy2: np.ndarray, level: _PriorLevel) -> np.ndarray:
    """[n, k] global prior indices: per box the k nearest priors of the level, nearest first,
    the lower index first on equal distances — what `_nearest_candidates` picks. The window
    search (`_window_nearest`) where it is sure, else the stable sort over the whole level."""
    index, sure = _window_nearest(dx2, dy2, level)
    unsure = np.flatnonzero(~sure)
    if len(unsure):
        whole = np.sqrt(dy2[unsure][:, :, None] + dx2[unsure][:, None, :]).reshape(len(unsure), -1)
        index[unsure] = np.argsort(whole, axis=1, kind="stable")[:, :level.k]
    return index + level.offset


def assign_images(boxes: np.ndarray, image: np.ndarray, image_hw: tuple[int, int],
                  params: AtssParams) -> BoxAssignment:
    """`assign_image` for many images of the same size at once, per box the same result.

    boxes: [N, 4] xyxy pixels of the model input, rows sorted by `image` [N] (any int labels)
    and within an image in the order `assign_image` would receive them (it decides IoU ties and
    torch's summation order). Candidates come from `_nearest_in_level`; IoUs, the torch-ordered
    mean (each box summed the way its column in its image would be), the float64 std (computed
    per image on the image's own [C, n] block, as `match` does) and the tests are `match`'s
    float32 arithmetic; a prior positive for several boxes of its image goes to the highest IoU,
    then the lowest row."""
    gt = np.asarray(boxes, F32).reshape(-1, 4)  # [N, 4]
    image = np.asarray(image, np.int64).reshape(-1)
    n = len(gt)
    geometry = _prior_geometry(tuple(int(v) for v in image_hw), params)
    box_c = (gt[:, :2] + gt[:, 2:]) / F32(2)  # [N, 2] as _centre_distances
    nearest = []
    for level in geometry.levels:
        dx = level.col_x[None, :] - box_c[:, 0:1]  # [N, w]
        dy = level.row_y[None, :] - box_c[:, 1:2]  # [N, h]
        nearest.append(_nearest_in_level(dx * dx, dy * dy, level))
    candidates = np.concatenate(nearest, axis=1).T  # [C, N], per level nearest first
    cand_iou = bbox_overlaps(geometry.anchors[candidates], gt[None, :, :])  # [C, N]
    # Images as runs of rows; each box's column position in its image decides torch's sum order.
    starts = np.flatnonzero(np.r_[True, image[1:] != image[:-1]])[:n]  # [R] first row
    stops = np.append(starts[1:], n)[:len(starts)]
    kinds = np.concatenate([np.zeros(0, np.int8), *(torch_sum_kinds(int(b - a))
                                                    for a, b in zip(starts, stops, strict=True))])
    mean = column_sums_by_kind(cand_iou, kinds) / F32(cand_iou.shape[0])
    std = np.empty(n, F32)
    with np.errstate(invalid="ignore", divide="ignore"):
        for a, b in zip(starts.tolist(), stops.tolist(), strict=True):
            block = np.ascontiguousarray(cand_iou[:, a:b], np.float64)  # [C, n] as in match
            std[a:b] = block.std(axis=0, ddof=1).astype(F32)
    thr = mean + std
    cx, cy = geometry.centres[candidates, 0], geometry.centres[candidates, 1]  # [C, N]
    inside = np.minimum.reduce([cx - gt[None, :, 0], cy - gt[None, :, 1],
                                gt[None, :, 2] - cx, gt[None, :, 3] - cy]) > CENTRE_MARGIN
    positive = (cand_iou >= thr[None, :]) & inside
    # Resolve priors claimed by several boxes of an image: highest IoU, then the lowest row.
    row_of = np.broadcast_to(np.arange(n), positive.shape)[positive]
    prior, iou = candidates[positive], cand_iou[positive]
    level_of = np.broadcast_to(geometry.candidate_level[:, None], positive.shape)[positive]
    claim = image[row_of] * len(geometry.anchors) + prior  # one key per (image, prior)
    order = np.lexsort((row_of, -iou, claim))
    first = np.ones(len(order), bool)
    first[1:] = claim[order[1:]] != claim[order[:-1]]
    won = order[first]
    n_levels = len(geometry.levels)
    per_level = np.bincount(row_of[won] * n_levels + level_of[won],
                            minlength=n * n_levels).reshape(n, n_levels)  # [N, L]
    positives = per_level.sum(axis=1).astype(np.int64)
    degenerate = (gt[:, 2] <= gt[:, 0]) | (gt[:, 3] <= gt[:, 1])
    reason = np.select(
        [degenerate, ~inside.any(axis=0), ~positive.any(axis=0), positives == 0],
        [DEGENERATE, NO_POINT_INSIDE, BELOW_THRESHOLD, TAKEN], MATCHED).astype(np.int8)
    return BoxAssignment(positives=positives, best_level=best_levels(per_level),
                         miss_reason=reason)
