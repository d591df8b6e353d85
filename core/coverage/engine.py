"""Per-box coverage of ground-truth boxes by a detector's anchors, exact and fast
(docs/coverage.md).

Boxes are grouped by image size (each size has its own anchor grids) and ordered by image. The
compiled kernel (`kernel.cover_images`) does each group in one pass, images split among threads:
per box the few grid cells that can matter, exact IoUs there, then the framework's matcher over
the candidate anchors of each image. Images containing a box that overlaps no anchor at all (so
every anchor ties for that box's best) are done with a full IoU matrix (`matching.dense_match`).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace

import numpy as np

from core.anchor_grid import LevelGrid
from core.coverage.geometry import ColumnTable, anchor_iou, ceiling_levels
from core.coverage.layout import MATCHER_CODES, KernelInputs, KernelOutputs
from core.coverage.matching import MatchRule, dense_match

GridsForSize = Callable[[int, int], list[LevelGrid]]

THREADS = max(1, min(8, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
                     else os.cpu_count() or 1))
CHUNKS_PER_THREAD = 4  # image ranges per thread, for load balance
MIN_CHUNK_BOXES = 2048  # below this many boxes a range is not worth a thread hand-off
CEILINGS_KEPT = 32  # (size group, lattices) whose ceiling IoUs an engine remembers

_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def _executor() -> ThreadPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(THREADS, thread_name_prefix="coverage")
        return _pool


@dataclass
class BoxCoverage:
    """Per-box coverage, aligned with the input boxes.

    `best_level`, `best_shape`, `best_row`, `best_col` identify the first anchor (levels in grid
    order, then `LevelGrid.expand()` order) reaching `best_iou`; -1 when the image has no
    anchors. `best_anchor` is its xyxy (NaN when none). `matched` follows the rule's matcher;
    `low_quality_only` marks boxes matched only by the rule's low-quality / forced step (the plain
    argmax step gives them no anchor). `ceiling_iou`: the best IoU any anchor of any width and
    height centred on a lattice point of any level (clipped as the level clips) reaches with the
    box, an upper bound of `best_iou` for every ratio, scale and size (docs/ceiling.md);
    `ceiling_covered`: it reaches `positive_iou`.
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
    ceiling_iou: np.ndarray
    ceiling_covered: np.ndarray
    level_positive_anchors: np.ndarray  # (levels,) positive (box, anchor) pairs per level
    rule: MatchRule = field(default_factory=MatchRule)

    def __len__(self) -> int:
        return len(self.best_iou)

    def take(self, positions: np.ndarray) -> BoxCoverage:
        """The coverage of the boxes at `positions` (per-box fields indexed, the rest kept)."""
        return replace(self, **{name: getattr(self, name)[positions] for name in PER_BOX_FIELDS})

    def concat(self, other: BoxCoverage) -> BoxCoverage:
        """This coverage followed by `other`'s boxes (per-level counts added)."""
        per_box = {name: np.concatenate([getattr(self, name), getattr(other, name)])
                   for name in PER_BOX_FIELDS}
        levels = max(len(self.level_positive_anchors), len(other.level_positive_anchors))
        counts = np.zeros(levels, np.int64)
        counts[:len(self.level_positive_anchors)] += self.level_positive_anchors
        counts[:len(other.level_positive_anchors)] += other.level_positive_anchors
        return replace(self, **per_box, level_positive_anchors=counts)

    @classmethod
    def empty(cls, n: int, levels: int, rule: MatchRule) -> BoxCoverage:
        minus = np.full(n, -1, np.int64)
        return cls(np.zeros(n), minus, minus.copy(), minus.copy(), minus.copy(),
                   np.full((n, 4), np.nan), np.zeros(n, np.int64), np.zeros(n, bool),
                   np.zeros(n, bool), np.zeros(n), np.zeros(n, bool), np.zeros(levels, np.int64),
                   rule)


PER_BOX_FIELDS = ("best_iou", "best_level", "best_shape", "best_row", "best_col", "best_anchor",
                  "positives", "matched", "low_quality_only", "ceiling_iou", "ceiling_covered")
"""The `BoxCoverage` fields that hold one value (or row) per box."""


@dataclass
class _SizeGroup:
    height: int
    width: int
    boxes: np.ndarray  # (n, 4) float64, rows ordered by (image, input order)
    index: np.ndarray  # rows -> input positions
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
    if n == 0:
        return []
    # order by (image size, image, input order): a stable sort of one int key per box
    size_codes, size_of_image = np.unique(heights * (widths.max() + 1) + widths,
                                          return_inverse=True)
    key = size_of_image.reshape(-1)[image] * np.int64(len(heights)) + image
    if np.all(key[1:] >= key[:-1]):
        order = np.arange(n)
    else:
        order = np.argsort(key, kind="stable")
        key = key[order]
    cut = np.flatnonzero(key[1:] // len(heights) != key[:-1] // len(heights)) + 1
    groups = []
    for rows, keys in zip(np.split(order, cut), np.split(key, cut), strict=True):
        new_image = np.r_[True, keys[1:] != keys[:-1]]
        starts = np.flatnonzero(new_image)
        counts = np.diff(np.r_[starts, len(rows)])
        height, width = divmod(int(size_codes[keys[0] // len(heights)]), int(widths.max()) + 1)
        groups.append(_SizeGroup(height, width, boxes[rows], rows, starts, counts))
    return groups


def load_kernel() -> None:
    """Import the compiled kernel and the numba modules its first call would import.

    A GUI calls this on its main thread before its first coverage worker starts: numba's first
    import and set-up in a worker thread of a PySide6 process segfaulted in about half of the
    GUI test runs (not cured by disabling PySide6's import-hook source inspection); on the main
    thread it never did. About 0.6 s, once per process."""
    from numba.core.registry import cpu_target

    import core.coverage.kernel  # noqa: F401 - imports numba

    cpu_target.target_context.refresh()  # the lazily imported implementation registries


def warm_up_kernel() -> None:
    """`load_kernel`, then one tiny computation, which loads the kernel's compiled code from
    numba's cache (or compiles it): the first real computation then starts at full speed. The
    CLI runs this in a thread while the dataset loads (no Qt there, so threads may import)."""
    load_kernel()
    grid = LevelGrid(level=3, stride_x=8.0, stride_y=8.0, offset_x=4.0, offset_y=4.0, nx=2,
                     ny=2, shapes=np.array([[-4.0, -4.0, 4.0, 4.0]]), clip=True,
                     image_width=16, image_height=16)
    one = np.array([1.0])
    compute_box_coverage(one, one, one + 4, one + 4, np.zeros(1, np.int64), np.array([16]),
                         np.array([16]), lambda h, w: [grid], MatchRule())


def _all_anchors(grids: list[LevelGrid]) -> tuple[np.ndarray, np.ndarray]:
    """Every anchor of an image (levels in order) and the level index of each."""
    parts = [g.expand() for g in grids]
    levels = np.concatenate([np.full(len(p), i) for i, p in enumerate(parts)]) if parts else []
    anchors = np.concatenate(parts) if parts else np.zeros((0, 4))
    return anchors.reshape(-1, 4), np.asarray(levels, np.int64)


def _dense_images(group: _SizeGroup, grids: list[LevelGrid], images: np.ndarray,
                  rule: MatchRule, out: BoxCoverage) -> np.ndarray:
    """Full-matrix path for a few images: fills every per-box field of their boxes except the
    ceiling, returns their positive (box, anchor) pairs per level."""
    anchors, anchor_level = _all_anchors(grids)
    level_positive = np.zeros(len(grids), np.int64)
    bases = np.r_[0, np.cumsum([g.anchor_count for g in grids])]
    shape_counts = np.asarray([len(g.shapes) for g in grids])
    nxs = np.asarray([g.nx for g in grids])
    for m in images:
        rows = np.arange(group.image_start[m], group.image_start[m] + group.image_count[m])
        b = group.boxes[rows]
        ious = anchor_iou(anchors[None, :, 0], anchors[None, :, 1], anchors[None, :, 2],
                          anchors[None, :, 3], b[:, 0:1], b[:, 1:2], b[:, 2:3], b[:, 3:4])
        idx = group.index[rows]
        positive = ious >= rule.positive_iou
        out.positives[idx] = positive.sum(axis=1)
        level_positive += np.bincount(anchor_level[np.nonzero(positive)[1]],
                                      minlength=len(grids))
        matched, plain = dense_match(ious, rule.kind, rule.positive_iou)
        out.matched[idx] = matched
        out.low_quality_only[idx] = matched & ~plain
        first = ious.argmax(axis=1)
        out.best_iou[idx] = ious[np.arange(len(rows)), first]
        out.best_anchor[idx] = anchors[first]
        level = anchor_level[first]
        out.best_level[idx] = level
        within = first - bases[level]
        out.best_shape[idx] = within % shape_counts[level]
        out.best_col[idx] = (within // shape_counts[level]) % nxs[level]
        out.best_row[idx] = (within // shape_counts[level]) // nxs[level]
    return level_positive


def _image_ranges(counts: np.ndarray) -> list[tuple[int, int]]:
    """Consecutive image ranges of about equal box counts, a few per thread."""
    total = int(counts.sum())
    parts = min(THREADS * CHUNKS_PER_THREAD, max(1, total // MIN_CHUNK_BOXES), len(counts))
    if parts <= 1:
        return [(0, len(counts))]
    ends = np.searchsorted(np.cumsum(counts), np.linspace(0, total, parts + 1)[1:-1])
    bounds = np.unique(np.r_[0, ends + 1, len(counts)].clip(0, len(counts)))
    return list(zip(bounds[:-1].tolist(), bounds[1:].tolist(), strict=True))


def _group_coverage(group: _SizeGroup, grids: list[LevelGrid], rule: MatchRule,
                    out: BoxCoverage, ceiling: np.ndarray | None) -> np.ndarray:
    """Fill `out` for the group's boxes; returns positive (box, anchor) pairs per level.
    `ceiling`: the group's ceiling IoUs when already known (they depend on the lattices only,
    not on the anchor shapes), written into `out` instead of computed."""
    from core.coverage.kernel import cover_images  # numba loads on the first computation

    table = ColumnTable.from_grids(grids, group.height, group.width)
    images = len(group.image_count)
    image_level = np.zeros((images, max(1, table.level_count)), np.int64)
    image_dense = np.zeros(images, bool)

    inputs = KernelInputs(
        group.image_start, group.image_count, group.boxes, group.index, table.floats,
        table.ints, float(table.width), float(table.height), table.ceiling,
        MATCHER_CODES[rule.kind], float(rule.positive_iou), ceiling is None)
    outputs = KernelOutputs(
        out.best_iou, out.best_level, out.best_shape, out.best_row, out.best_col,
        out.best_anchor, out.positives, out.matched, out.low_quality_only, out.ceiling_iou,
        image_level, image_dense)

    def run(bounds):
        cover_images(bounds[0], bounds[1], inputs, outputs)

    if ceiling is not None:
        out.ceiling_iou[group.index] = ceiling

    ranges = _image_ranges(group.image_count)
    if len(ranges) == 1:
        run(ranges[0])
    else:
        list(_executor().map(run, ranges))
    level_positive = image_level[~image_dense].sum(axis=0)[:table.level_count]
    dense = np.flatnonzero(image_dense)
    if len(dense) and table.anchor_total:
        level_positive = level_positive + _dense_images(group, grids, dense, rule, out)
    return level_positive


class CoverageEngine:
    """Coverage of a fixed set of boxes under changing anchor configurations.

    Boxes are `x1, y1, x2, y2` float pixels in model-input coordinates, inside their images;
    `image` indexes the per-image size arrays. Within an image, input order is the box order the
    matcher sees (it breaks argmax ties). Construction groups and orders the boxes once; each
    `compute` is one pass of the compiled kernel, safe to call from several threads.
    """

    def __init__(self, x1, y1, x2, y2, image, image_heights, image_widths):
        self.groups = _size_groups(x1, y1, x2, y2, image, image_heights, image_widths)
        self.box_count = len(np.asarray(x1))
        # ceiling IoUs per (size group, lattices): a change of ratios, scales or sizes keeps them
        self._ceilings: dict[tuple[int, bytes], np.ndarray] = {}
        self._ceilings_lock = threading.Lock()

    def compute(self, grids_for_size: GridsForSize, rule: MatchRule) -> BoxCoverage:
        """Coverage of every box under `rule`, with anchors from `grids_for_size(h, w)`."""
        per_size = {(g.height, g.width): grids_for_size(g.height, g.width) for g in self.groups}
        levels = max((len(v) for v in per_size.values()), default=0)
        out = BoxCoverage.empty(self.box_count, levels, rule)
        for number, group in enumerate(self.groups):
            grids = per_size[(group.height, group.width)]
            key = (number, ceiling_levels(grids).tobytes())
            with self._ceilings_lock:
                known = self._ceilings.get(key)
            level_positive = _group_coverage(group, grids, rule, out, known)
            if known is None:
                with self._ceilings_lock:
                    if len(self._ceilings) >= CEILINGS_KEPT:
                        self._ceilings.clear()
                    self._ceilings[key] = out.ceiling_iou[group.index].copy()
            out.level_positive_anchors[:len(level_positive)] += level_positive
        out.ceiling_covered[:] = out.ceiling_iou >= rule.positive_iou
        return out


def compute_box_coverage(x1, y1, x2, y2, image, image_heights, image_widths,
                         grids_for_size: GridsForSize, rule: MatchRule) -> BoxCoverage:
    """Exact per-box coverage (docs/coverage.md) of boxes in model-input pixels; see
    `BoxCoverage`."""
    engine = CoverageEngine(x1, y1, x2, y2, image, image_heights, image_widths)
    return engine.compute(grids_for_size, rule)
