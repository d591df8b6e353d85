"""YOLOv5 anchors that maximise exact positives-recall (docs/families.md#optimizing-yolov5-anchors).

Under `build_targets` a box gets positives exactly when some anchor passes the ratio test:
max(w / aw, aw / w) < anchor_t and the same for h — strict, per side, on every level. In
log space that is an open square of half-side ln(anchor_t) around the anchor's (ln aw, ln ah);
the grid never decides it (a passing anchor always takes the box's own cell). So the best
recall with k anchors is a maximum coverage of the boxes' log-shapes by k such squares:

1. bin the log-shapes finely and place squares greedily, each where it covers the most boxes
   not yet covered (ties: the window adding most to the boxes with the fewest passing anchors);
2. re-place each square in turn given the others until no move gains (a local optimum of the
   exact count);
   squares that then cover no box alone are free: they go to the k-means centres of the
   log-shapes (seeded), where they add positives to the most boxes — the tie-break of mean
   positives per box — as distinct anchors instead of copies piled on the densest shape;
3. sort the anchors by area, smallest on the finest level (as autoanchor orders them), round to
   4 significant digits, and confirm recall and positives with the exact assigner.

A square is shrunk by `MARGIN` so float32 rounding in the real test never loses a box.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np
import scipy.cluster.vq

from core.analysis import ModelInput
from core.assigners.yolov5 import Yolov5Params
from core.boxes import BoxTable
from core.family_analysis import NATIVE, FamilyResult, analyze_family
from core.family_config import FamilyConfig
from core.input_mapping import map_boxes_to_input

BIN = 0.01  # log-space bin width of the placement search (nats)
MARGIN = 1e-4  # the squares' half-side is ln(anchor_t) - MARGIN
MAX_ROUNDS = 20  # re-placement rounds (it stops as soon as a round gains nothing)
SIGNIFICANT_DIGITS = 4
CLUSTER_SEED = 0
CANDIDATE_WINDOWS = 6  # best binned windows refined exactly
REFINE_STEPS = 48  # interval ends per axis tried around a binned window


@dataclass(frozen=True)
class YoloOptimizeResult:
    config: FamilyConfig
    result: FamilyResult
    before: FamilyResult
    seconds: float


def log_shapes(table: BoxTable, model_input: ModelInput) -> np.ndarray:
    """[n, 2] ln(w), ln(h) of the non-degenerate boxes in model-input pixels."""
    x1, y1, x2, y2, _, _ = map_boxes_to_input(
        table.x1, table.y1, table.x2, table.y2, table.image, table.image_heights,
        table.image_widths, model_input.size, model_input.resize)
    w, h = x2 - x1, y2 - y1
    keep = (w > 0) & (h > 0)
    return np.log(np.stack([w[keep], h[keep]], axis=1))


class _Grid:
    """The log-shapes binned; window sums of any histogram by 2-D prefix sums."""

    def __init__(self, points: np.ndarray, half: float):
        self.half_bins = max(1, int(half / BIN))
        pad = self.half_bins + 1
        self.origin = points.min(axis=0) - pad * BIN
        self.index = np.floor((points - self.origin) / BIN).astype(np.int64)
        self.shape = tuple(self.index.max(axis=0) + pad + 1)

    def histogram(self, weights: np.ndarray) -> np.ndarray:
        counts = np.zeros(self.shape)
        np.add.at(counts, (self.index[:, 0], self.index[:, 1]), weights)
        return counts

    def window_sums(self, counts: np.ndarray) -> np.ndarray:
        """Sum of `counts` in the (2 half_bins + 1)^2 window centred on every bin."""
        k = self.half_bins
        prefix = np.zeros((counts.shape[0] + 1, counts.shape[1] + 1))
        prefix[1:, 1:] = counts.cumsum(0).cumsum(1)
        a0 = np.clip(np.arange(counts.shape[0]) - k, 0, counts.shape[0])
        a1 = np.clip(np.arange(counts.shape[0]) + k + 1, 0, counts.shape[0])
        b0 = np.clip(np.arange(counts.shape[1]) - k, 0, counts.shape[1])
        b1 = np.clip(np.arange(counts.shape[1]) + k + 1, 0, counts.shape[1])
        return (prefix[a1][:, b1] - prefix[a0][:, b1] - prefix[a1][:, b0]
                + prefix[a0][:, b0])

    def centre(self, flat_index: int) -> np.ndarray:
        i, j = np.unravel_index(flat_index, self.shape)
        return self.origin + (np.array([i, j]) + 0.5) * BIN


def _covered(points: np.ndarray, centre: np.ndarray, half: float) -> np.ndarray:
    return (np.abs(points - centre) < half).all(axis=1)


def _score(points: np.ndarray, passing: np.ndarray, centre: np.ndarray, half: float
           ) -> float:
    """Exact: points covered that no other square covers, then the spread tie-break."""
    inside = _covered(points, centre, half)
    return float((inside & (passing == 0)).sum() * (len(points) + 1)
                 + (inside / (1.0 + passing)).sum())


def _refine(points: np.ndarray, passing: np.ndarray, centre: np.ndarray, half: float
            ) -> tuple[float, np.ndarray]:
    """The exact best centre near a binned one: the covered set only changes where an axis
    crosses some point's interval end (p +- half), so the midpoints between the ends nearest the
    centre are the distinct choices there (at most REFINE_STEPS per axis)."""
    near = (np.abs(points - centre) < half + 4 * BIN).all(axis=1)
    local, local_passing = points[near], passing[near]
    masks = []
    for axis in range(2):
        ends = np.unique(np.concatenate([local[:, axis] - half, local[:, axis] + half]))
        ends = ends[np.argsort(np.abs(ends - centre[axis]))[:REFINE_STEPS]]
        ends.sort()
        values = np.concatenate([[centre[axis]], (ends[1:] + ends[:-1]) / 2])
        masks.append((values, np.abs(local[:, axis][None] - values[:, None]) < half))
    (xs, in_x), (ys, in_y) = masks
    weight = (local_passing == 0) * (len(points) + 1) + 1.0 / (1.0 + local_passing)
    scores = (in_x * weight) @ in_y.T.astype(float)  # [x candidates, y candidates]
    i, j = np.unravel_index(int(scores.argmax()), scores.shape)
    best = np.array([xs[i], ys[j]])
    return _score(points, passing, best, half), best


def _best_window(grid: _Grid, points: np.ndarray, passing: np.ndarray, half: float
                 ) -> np.ndarray:
    """The centre covering the most points no other square covers (`passing` = how many squares
    cover each point), then adding the most 1 / (1 + passing): the best few binned windows,
    each refined exactly."""
    new = grid.window_sums(grid.histogram((passing == 0).astype(float)))
    spread = grid.window_sums(grid.histogram(1.0 / (1.0 + passing)))
    score = (new * (len(points) + 1) + spread).ravel()
    top = np.argpartition(score, -CANDIDATE_WINDOWS)[-CANDIDATE_WINDOWS:]
    refined = [_refine(points, passing, grid.centre(int(i)), half) for i in top]
    return max(refined, key=lambda item: item[0])[1]


def place_squares(points: np.ndarray, count: int, half: float) -> np.ndarray:
    """[count, 2] centres of open squares (half-side `half`) covering as many points as the
    greedy placement and one-at-a-time re-placement find."""
    grid = _Grid(points, half)
    centres: list[np.ndarray] = []
    covered_by = np.zeros(len(points), np.int64)
    for _ in range(count):
        centre = _best_window(grid, points, covered_by, half)
        centres.append(centre)
        covered_by += _covered(points, centre, half)
    for _ in range(MAX_ROUNDS):
        moved = False
        for i in range(count):
            mine = _covered(points, centres[i], half)
            others = covered_by - mine
            centre = _best_window(grid, points, others, half)
            gain = int((_covered(points, centre, half) & (others == 0)).sum()) - int(
                (mine & (others == 0)).sum())
            if gain > 0:
                centres[i] = centre
                covered_by = others + _covered(points, centre, half)
                moved = True
        if not moved:
            break
    return _free_squares_to_clusters(points, np.array(centres), half)


def _free_squares_to_clusters(points: np.ndarray, centres: np.ndarray, half: float
                              ) -> np.ndarray:
    """Squares that no point needs move to k-means centres of the points (coverage unchanged)."""
    inside = np.stack([_covered(points, centre, half) for centre in centres], axis=1)
    alone = inside & (inside.sum(axis=1, keepdims=True) == 1)
    needed = alone.any(axis=0)
    free = int((~needed).sum())
    if free == 0:
        return centres
    clusters, _ = scipy.cluster.vq.kmeans2(points, free, minit="++", seed=CLUSTER_SEED)
    return np.concatenate([centres[needed], clusters])


def _round(value: float) -> float:
    return float(f"{value:.{SIGNIFICANT_DIGITS}g}")


def anchors_from_centres(centres: np.ndarray, levels: int) -> tuple:
    """Anchors (w, h) in pixels, sorted by area and dealt to the levels smallest first."""
    pairs = sorted(((_round(math.exp(x)), _round(math.exp(y))) for x, y in centres),
                   key=lambda pair: (pair[0] * pair[1], pair))
    per_level = len(pairs) // levels
    return tuple(tuple(pairs[i * per_level:(i + 1) * per_level]) for i in range(levels))


def optimize_yolo_anchors(table: BoxTable, config: FamilyConfig,
                          anchors_per_level: int | None = None,
                          model_input: ModelInput = NATIVE) -> YoloOptimizeResult:
    """The YOLOv5 config (same strides and anchor_t) whose anchors cover the most boxes."""
    started = time.perf_counter()
    params: Yolov5Params = config.params
    per_level = anchors_per_level or len(params.anchors[0])
    levels = len(params.strides)
    points = log_shapes(table, model_input)
    half = math.log(params.anchor_t) - MARGIN
    centres = place_squares(points, per_level * levels, half)
    tuned = FamilyConfig(config.framework, Yolov5Params(
        strides=params.strides, anchors=anchors_from_centres(centres, levels),
        anchor_t=params.anchor_t))
    before = analyze_family(table, config, model_input)
    after = analyze_family(table, tuned, model_input)
    return YoloOptimizeResult(tuned, after, before, time.perf_counter() - started)
