"""Per-box coverage of ground-truth boxes by a detector's anchors, exact and fast (SPEC §5, §9).

Boxes are grouped by image size (each size has its own anchor grids). For each group:
1. screening: per (box, level, shape) pair, a lower and an upper IoU bound from the nearest grid
   cell (`geometry.pair_bounds`), vectorised over all pairs;
2. refinement: the few pairs whose upper bound reaches the box's threshold are enumerated cell by
   cell with the exact IoU (`geometry.refine`): every positive anchor and every anchor tying for
   the best IoU is found;
3. reduction and matching (`matching.match_boxes`).
Images containing a box that overlaps no anchor at all are done with a full IoU matrix.

`CoverageEngine` keeps the screening results per (image size, level lattice, anchor shape), so
changing one ratio recomputes only the shapes that changed (the live retune of the GUI).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np

from core.anchor_grid import LevelGrid
from core.coverage.geometry import (
    AnchorHits,
    PairTable,
    anchor_iou,
    anchor_xyxy,
    pair_bounds,
    refine,
    screen_threshold,
)
from core.coverage.matching import MatchRule, dense_match, match_boxes

GridsForSize = Callable[[int, int], list[LevelGrid]]

SCREEN_CHUNK = 2048  # boxes per screening block: (boxes x pairs) temporaries stay in cache
EMPTY_BEST = 1e-5  # boxes whose screening best is below this are handled with a full matrix
THREADS = max(1, min(4, os.cpu_count() or 1))


@dataclass
class BoxCoverage:
    """Per-box coverage, aligned with the input boxes.

    `best_level`, `best_shape`, `best_row`, `best_col` identify the first anchor (levels in grid
    order, then `LevelGrid.expand()` order) reaching `best_iou`; -1 when the image has no
    anchors. `best_anchor` is its xyxy (NaN when none). `matched` follows the rule's matcher;
    `low_quality_only` marks boxes matched only by the rule's low-quality / forced step (the plain
    argmax step gives them no anchor). `ceiling_covered`: an anchor of the box's own size at the
    nearest centre of the finest level would reach `positive_iou`.
    """

    best_iou: np.ndarray
    best_level: np.ndarray
    best_shape: np.ndarray
    best_row: np.ndarray
    best_col: np.ndarray
    best_anchor: np.ndarray
    positives: np.ndarray
    matched: np.ndarray
    low_quality_only: np.ndarray
    ceiling_covered: np.ndarray
    level_positive_anchors: np.ndarray  # (levels,) positive (box, anchor) pairs per level
    rule: MatchRule = field(default_factory=MatchRule)

    def __len__(self) -> int:
        return len(self.best_iou)

    @classmethod
    def empty(cls, n: int, levels: int, rule: MatchRule) -> BoxCoverage:
        minus = np.full(n, -1, np.int64)
        return cls(np.zeros(n), minus, minus.copy(), minus.copy(), minus.copy(),
                   np.full((n, 4), np.nan), np.zeros(n, np.int64), np.zeros(n, bool),
                   np.zeros(n, bool), np.zeros(n, bool), np.zeros(levels, np.int64), rule)


@dataclass
class _SizeGroup:
    height: int
    width: int
    boxes: np.ndarray  # (n, 4) float64, rows ordered by (image, input order)
    index: np.ndarray  # rows -> input positions
    image: np.ndarray  # rows -> group-local image number (ascending)
    image_start: np.ndarray  # group-local image -> first row
    image_count: np.ndarray


def _size_groups(x1, y1, x2, y2, image, heights, widths) -> list[_SizeGroup]:
    image = np.asarray(image, np.int64)
    heights = np.asarray(heights, np.int64)
    widths = np.asarray(widths, np.int64)
    boxes = np.stack([np.asarray(v, np.float64) for v in (x1, y1, x2, y2)], axis=1)
    n = len(boxes)
    if n and (image.min() < 0 or image.max() >= len(heights)):
        raise ValueError("box image index outside the image arrays")
    h, w = heights[image], widths[image]
    inside = ((boxes[:, 0] >= 0) & (boxes[:, 1] >= 0) & (boxes[:, 2] <= w) & (boxes[:, 3] <= h)
              & (boxes[:, 2] > boxes[:, 0]) & (boxes[:, 3] > boxes[:, 1]))
    if not inside.all():
        bad = int(np.flatnonzero(~inside)[0])
        raise ValueError(f"box {bad} {boxes[bad].tolist()} is empty or not inside its "
                         f"{h[bad]}x{w[bad]} image; map and validate boxes first")
    order = np.lexsort((np.arange(n), image, w, h))
    sh, sw = h[order], w[order]
    cut = np.flatnonzero((sh[1:] != sh[:-1]) | (sw[1:] != sw[:-1])) + 1
    groups = []
    for rows in np.split(order, cut):
        if not len(rows):
            continue
        img = image[rows]
        starts = np.flatnonzero(np.r_[True, img[1:] != img[:-1]])
        local = np.cumsum(np.r_[True, img[1:] != img[:-1]]) - 1
        counts = np.diff(np.r_[starts, len(rows)])
        groups.append(_SizeGroup(int(h[rows[0]]), int(w[rows[0]]), boxes[rows], rows, local,
                                 starts, counts))
    return groups


class _Screen:
    """Screening results of one size group: per box the best lower bound and candidate pairs."""

    def __init__(self, lower_best: np.ndarray, cand_box: np.ndarray, cand_col: np.ndarray):
        self.lower_best = lower_best
        self.cand_box = cand_box
        self.cand_col = cand_col


def _parallel(fn, items):
    if THREADS == 1 or len(items) < 2:
        return [fn(item) for item in items]
    with ThreadPoolExecutor(THREADS) as pool:
        return list(pool.map(fn, items))


def _screen_blocks(boxes: np.ndarray, table: PairTable, positive_iou: float) -> _Screen:
    """Screen all pairs of a size group block by block (nothing kept per pair)."""
    n = len(boxes)

    def block(start):
        stop = min(start + SCREEN_CHUNK, n)
        lower, upper = pair_bounds(boxes[start:stop], table)
        best = lower.max(axis=1) if lower.shape[1] else np.zeros(stop - start, lower.dtype)
        tau = screen_threshold(best, positive_iou)
        tau = np.where(best > EMPTY_BEST, tau, np.inf)
        rows, cols = np.nonzero(upper >= tau[:, None].astype(upper.dtype))
        return best, rows + start, cols

    parts = _parallel(block, list(range(0, n, SCREEN_CHUNK)))
    if not parts:
        z = np.zeros(0, np.int64)
        return _Screen(np.zeros(0), z, z)
    best, rows, cols = (np.concatenate(p) for p in zip(*parts, strict=True))
    return _Screen(best.astype(np.float64), rows.astype(np.int64), cols.astype(np.int64))


def _screen_cached(group: _SizeGroup, table: PairTable, positive_iou: float,
                   cache: dict) -> _Screen:
    """Screen with per-column results kept in `cache` (key: the column's anchor geometry)."""
    keys = [table.column_key(p) for p in range(len(table))]
    missing = [p for p, key in enumerate(keys) if key not in cache]
    if missing:
        cols = np.asarray(missing)
        n = len(group.boxes)
        step = max(256, (1 << 16) // max(1, len(cols)))

        def block(start):
            return pair_bounds(group.boxes[start:start + step], table, cols)

        parts = _parallel(block, list(range(0, n, step)))
        lower = np.concatenate([p[0] for p in parts]) if parts else np.zeros((0, len(cols)))
        upper = np.concatenate([p[1] for p in parts]) if parts else np.zeros((0, len(cols)))
        for m, p in enumerate(missing):
            cache[keys[p]] = (np.ascontiguousarray(lower[:, m]), np.ascontiguousarray(upper[:, m]))
    n = len(group.boxes)
    if not keys:
        z = np.zeros(0, np.int64)
        return _Screen(np.zeros(n), z, z)
    best = cache[keys[0]][0].copy()
    for key in keys[1:]:
        np.maximum(best, cache[key][0], out=best)
    tau = screen_threshold(best, positive_iou)
    tau = np.where(best > EMPTY_BEST, tau, np.inf).astype(best.dtype)
    rows, cols = [], []
    for p, key in enumerate(keys):
        hit = np.flatnonzero(cache[key][1] >= tau)
        rows.append(hit)
        cols.append(np.full(len(hit), p, np.int64))
    rows = np.concatenate(rows)
    cols = np.concatenate(cols)
    order = np.argsort(rows, kind="stable")
    return _Screen(best.astype(np.float64), rows[order].astype(np.int64), cols[order])


def _ceiling(group: _SizeGroup, grids: list[LevelGrid], positive_iou: float) -> np.ndarray:
    """Whether an anchor of the box's own w, h at the nearest centre of the finest level (least
    stride_x * stride_y among levels with cells; first on ties; both centres on exact distance
    ties) reaches positive_iou, with that level's clipping."""
    usable = [g for g in grids if g.nx > 0 and g.ny > 0]
    n = len(group.boxes)
    if not usable:
        return np.zeros(n, bool)
    level = min(usable, key=lambda g: g.stride_x * g.stride_y)
    b = group.boxes
    half_w = (b[:, 2] - b[:, 0]) * 0.5
    half_h = (b[:, 3] - b[:, 1]) * 0.5

    def nearest(lo, hi, offset, stride, count):
        mid = (lo + hi) * 0.5
        below = np.clip(np.floor((mid - offset) / stride), 0, count - 1)
        above = np.clip(below + 1, 0, count - 1)
        c_below = offset + below * stride
        c_above = offset + above * stride
        d_below, d_above = np.abs(c_below - mid), np.abs(c_above - mid)
        first = np.where(d_above < d_below, c_above, c_below)
        second = np.where(d_above == d_below, c_above, first)
        return first, second

    xs = nearest(b[:, 0], b[:, 2], level.offset_x, level.stride_x, level.nx)
    ys = nearest(b[:, 1], b[:, 3], level.offset_y, level.stride_y, level.ny)
    best = np.zeros(n)
    for cx in xs:
        for cy in ys:
            ax1, ay1, ax2, ay2 = cx - half_w, cy - half_h, cx + half_w, cy + half_h
            if level.clip:
                w, h = level.image_width, level.image_height
                ax1, ax2 = np.clip(ax1, 0.0, w), np.clip(ax2, 0.0, w)
                ay1, ay2 = np.clip(ay1, 0.0, h), np.clip(ay2, 0.0, h)
            best = np.maximum(best, anchor_iou(ax1, ay1, ax2, ay2, b[:, 0], b[:, 1], b[:, 2],
                                               b[:, 3]))
    return best >= positive_iou


def _all_anchors(grids: list[LevelGrid]) -> tuple[np.ndarray, np.ndarray]:
    """Every anchor of an image (levels in order) and the level index of each."""
    parts = [g.expand() for g in grids]
    levels = np.concatenate([np.full(len(p), i) for i, p in enumerate(parts)]) if parts else []
    anchors = np.concatenate(parts) if parts else np.zeros((0, 4))
    return anchors.reshape(-1, 4), np.asarray(levels, np.int64)


def _dense_images(group, grids, table, images, rule, out):
    """Full-matrix path for a few images: fills every per-box field of their boxes."""
    anchors, anchor_level = _all_anchors(grids)
    level_positive = np.zeros(table.level_count, np.int64)
    for m in images:
        rows = np.arange(group.image_start[m], group.image_start[m] + group.image_count[m])
        b = group.boxes[rows]
        ious = anchor_iou(anchors[None, :, 0], anchors[None, :, 1], anchors[None, :, 2],
                          anchors[None, :, 3], b[:, 0:1], b[:, 1:2], b[:, 2:3], b[:, 3:4])
        idx = group.index[rows]
        positive = ious >= rule.positive_iou
        out.positives[idx] = positive.sum(axis=1)
        level_positive += np.bincount(anchor_level[np.nonzero(positive)[1]],
                                      minlength=table.level_count)
        matched, plain = dense_match(ious, rule.kind, rule.positive_iou)
        out.matched[idx] = matched
        out.low_quality_only[idx] = matched & ~plain
        if len(anchors) == 0:
            continue
        first = ious.argmax(axis=1)
        out.best_iou[idx] = ious[np.arange(len(rows)), first]
        out.best_anchor[idx] = anchors[first]
        level = anchor_level[first]
        out.best_level[idx] = level
        bases = np.r_[0, np.cumsum([g.anchor_count for g in grids])]
        within = first - bases[level]
        counts = np.asarray([len(g.shapes) for g in grids])[level]
        nxs = np.asarray([g.nx for g in grids])[level]
        out.best_shape[idx] = within % counts
        out.best_col[idx] = (within // counts) % nxs
        out.best_row[idx] = (within // counts) // nxs
    return level_positive


def _group_coverage(group: _SizeGroup, grids: list[LevelGrid], rule: MatchRule,
                    out: BoxCoverage, cache: dict | None) -> None:
    table = PairTable.from_grids(grids, group.height, group.width)
    if cache is None:
        screen = _screen_blocks(group.boxes, table, rule.positive_iou)
    else:
        screen = _screen_cached(group, table, rule.positive_iou, cache)
    n = len(group.boxes)
    tau = screen_threshold(screen.lower_best, rule.positive_iou)
    hits = refine(group.boxes, screen.cand_box, screen.cand_col, tau[screen.cand_box], table)
    idx = group.index

    # reduction: best IoU, its first anchor, positives
    best = np.zeros(n)
    if len(hits):
        np.maximum.at(best, hits.box, hits.iou)
    is_best = hits.iou == best[hits.box]
    best_hits = np.flatnonzero(is_best)
    first_order = np.full(n, np.iinfo(np.int64).max)
    np.minimum.at(first_order, hits.box[best_hits], hits.order[best_hits])
    first = best_hits[hits.order[best_hits] == first_order[hits.box[best_hits]]]
    found = np.zeros(n, bool)
    found[hits.box[first]] = True
    rows_first = hits.box[first]
    out.best_iou[idx] = best
    out.best_level[idx[rows_first]] = table.level[hits.column[first]]
    out.best_shape[idx[rows_first]] = table.shape[hits.column[first]]
    out.best_row[idx[rows_first]] = hits.row[first]
    out.best_col[idx[rows_first]] = hits.col[first]
    out.best_anchor[idx[rows_first]] = np.stack(
        anchor_xyxy(table, hits.column[first], hits.row[first], hits.col[first]), axis=1)
    positive = hits.iou >= rule.positive_iou
    out.positives[idx] = np.bincount(hits.box[positive], minlength=n)
    out.level_positive_anchors += np.bincount(table.level[hits.column[positive]],
                                              minlength=table.level_count)
    out.ceiling_covered[idx] = _ceiling(group, grids, rule.positive_iou)

    # images where some box overlaps no anchor: full matrix
    empty_images = np.unique(group.image[~(screen.lower_best > EMPTY_BEST)])
    fast = ~np.isin(group.image, empty_images)
    if len(empty_images):
        in_fast = fast[hits.box]
        out.level_positive_anchors -= np.bincount(
            table.level[hits.column[positive & ~in_fast]], minlength=table.level_count)
        out.level_positive_anchors += _dense_images(group, grids, table, empty_images, rule,
                                                    out)
        hits = AnchorHits(*(getattr(hits, f)[in_fast] for f in
                            ("box", "column", "row", "col", "iou", "order")))
        is_best = is_best[in_fast]
        positive = positive[in_fast]
        first_ids_box = rows_first[fast[rows_first]]
    else:
        first_ids_box = rows_first

    # matching over the fast images
    anchor_id = group.image[hits.box] * np.int64(table.anchor_total) + hits.order
    first_best = np.full(n, -1, np.int64)
    first_best[first_ids_box] = (group.image[first_ids_box] * np.int64(table.anchor_total)
                                 + first_order[first_ids_box])

    def argmax_of(ids):
        return _image_argmax(group, table, ids)

    matched, plain = match_boxes(
        n, rule.kind, anchor_id[positive], hits.box[positive], hits.iou[positive],
        anchor_id[is_best], hits.box[is_best], first_best, argmax_of)
    out.matched[idx[fast]] = matched[fast]
    out.low_quality_only[idx[fast]] = (matched & ~plain)[fast]


def _image_argmax(group: _SizeGroup, table: PairTable, ids: np.ndarray,
                  chunk: int = 1 << 20) -> np.ndarray:
    """For anchor ids (image * anchor_total + order): the argmax box (group row) of the image,
    computed against every box of the image (lowest row on ties), in memory-bounded slices."""
    if len(ids) == 0:
        return np.zeros(0, np.int64)
    counts_all = group.image_count[ids // table.anchor_total]
    ends = np.cumsum(counts_all)
    out = []
    start = 0
    while start < len(ids):
        base = ends[start - 1] if start else 0
        stop = max(int(np.searchsorted(ends, base + chunk, side="right")), start + 1)
        out.append(_image_argmax_slice(group, table, ids[start:stop]))
        start = stop
    return np.concatenate(out)


def _image_argmax_slice(group: _SizeGroup, table: PairTable, ids: np.ndarray) -> np.ndarray:
    image = ids // table.anchor_total
    column, row, col = _decode_order(table, ids % table.anchor_total)
    counts = group.image_count[image]
    owner = np.repeat(np.arange(len(ids)), counts)
    first = np.cumsum(counts) - counts
    rows = group.image_start[image][owner] + (np.arange(counts.sum()) - np.repeat(first, counts))
    ax1, ay1, ax2, ay2 = anchor_xyxy(table, column[owner], row[owner], col[owner])
    b = group.boxes[rows]
    iou = anchor_iou(ax1, ay1, ax2, ay2, b[:, 0], b[:, 1], b[:, 2], b[:, 3])
    top = np.maximum.reduceat(iou, first)
    pos = np.flatnonzero(iou == top[owner])
    keep = np.r_[True, owner[pos][1:] != owner[pos][:-1]]
    return rows[pos[keep]]


def _decode_order(table: PairTable, order: np.ndarray):
    """Anchor index within the image -> (pair column, row j, col i)."""
    last = np.searchsorted(table.anchor_base, order, side="right") - 1  # level's last column
    shapes = table.shape_count[last]
    within = order - table.anchor_base[last]
    k = within % shapes
    cell = within // shapes
    column = last - (shapes - 1) + k  # a level's columns are consecutive, in shape order
    i = cell % table.nx[column]
    j = cell // table.nx[column]
    return column, j, i


class CoverageEngine:
    """Coverage of a fixed set of boxes under changing anchor configurations.

    Screening results are cached per (image size, level lattice, anchor shape), so a recompute
    after a change of one ratio or scale only screens the shapes that changed; refinement,
    reduction and matching are redone (they are cheap). Boxes are `x1, y1, x2, y2` float pixels
    in model-input coordinates, inside their images; `image` indexes the per-image size arrays.
    """

    def __init__(self, x1, y1, x2, y2, image, image_heights, image_widths, *,
                 cache: bool = True, cache_columns: int = 512):
        self.groups = _size_groups(x1, y1, x2, y2, image, image_heights, image_widths)
        self.box_count = len(np.asarray(x1))
        self._caches: list[dict] | None = [{} for _ in self.groups] if cache else None
        self._cache_columns = cache_columns

    def compute(self, grids_for_size: GridsForSize, rule: MatchRule) -> BoxCoverage:
        """Coverage of every box under `rule`, with anchors from `grids_for_size(h, w)`."""
        per_size = {(g.height, g.width): grids_for_size(g.height, g.width) for g in self.groups}
        levels = max((len(v) for v in per_size.values()), default=0)
        out = BoxCoverage.empty(self.box_count, levels, rule)
        for n, group in enumerate(self.groups):
            cache = None if self._caches is None else self._caches[n]
            if cache is not None and len(cache) > self._cache_columns:
                cache.clear()
            grids = per_size[(group.height, group.width)]
            level_positive = out.level_positive_anchors
            out.level_positive_anchors = np.zeros(len(grids), np.int64)
            _group_coverage(group, grids, rule, out, cache)
            level_positive = _add_padded(level_positive, out.level_positive_anchors)
            out.level_positive_anchors = level_positive
        return out


def _add_padded(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    size = max(len(a), len(b))
    return np.pad(a, (0, size - len(a))) + np.pad(b, (0, size - len(b)))


def compute_box_coverage(x1, y1, x2, y2, image, image_heights, image_widths,
                         grids_for_size: GridsForSize, rule: MatchRule) -> BoxCoverage:
    """Exact per-box coverage (SPEC §5) of boxes in model-input pixels; see `BoxCoverage`."""
    engine = CoverageEngine(x1, y1, x2, y2, image, image_heights, image_widths, cache=False)
    return engine.compute(grids_for_size, rule)
