"""The anchor optimizer (docs/optimizer.md): aspect ratios and scales (counts fixed by the
detection head) that maximise exact on-grid `recall` under the framework's matcher, tie-broken
by mean best IoU (with best possible recall in between for the forced-match matchers, see
`Score`).

How it searches, all exact (no IoU surrogate):
1. A stratified subsample of whole images (so the matcher's argmax over an image's boxes stays
   exact) is the search set: images are grouped by the rarest box class they hold and drawn from
   every group in proportion, about `sample_boxes` boxes in all.
2. Starting points: the current config, the framework default, and data-driven ones — quantiles
   and 1-D k-means of log(w/h) for ratios and of log(sqrt(w*h) / size of the box's nearest level)
   for scales (plain and class-balanced). Each is evaluated on the subsample.
3. From the best few starts, coordinate descent in log space with shrinking steps, then
   iterated local search (perturb the best, descend again) while evaluations remain.
4. The best candidates (each descent's optimum, the best starts, the current and default config
   when their counts fit) are confirmed on all boxes; the best there wins. So the result is never
   worse on the full dataset than any confirmed starting point.

Values are rounded to 4 significant digits before they are evaluated, so the written config is
exactly the one that was measured. Ratios (width / height, canonical) and scales come out sorted
ascending. keras-hub can only express scales 2**(i/n) and sizes anchor_size * 2**level: for it
the scales stay 2**(i/S) and only the ratios (and with `optimize_size` the one anchor_size) move,
so the output stays expressible. `optimize_size` for the other frameworks frees each level's size
(a common factor on all sizes would only repeat what the scales do).

Under a training augmentation (`augment`, docs/augmentation.md) the objective is the expected
recall instead: the search set is a fixed set of `augment_draws` seeded draws of the subsample
(transformed once, all draws in one coverage engine; a dropped box counts as missed), and the
confirmation ranks the candidates by `augmented_coverage` on all boxes (its default draws) first.

Determinism: the same seed and evaluation budget give the same result. A `time_budget` stops at
a wall-clock deadline, so how far the search got then depends on the machine.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from core.analysis import CoverageResult, CoverageSession, ModelInput, grids_for, match_rule
from core.anchor_config import AnchorConfig, default_config, sizes_out_of_order
from core.augmentation import DEFAULT_DRAWS, Augment, AugmentedSession, augment_spec
from core.boxes import BoxTable
from core.coverage import BoxCoverage, CoverageEngine, CoverageReport
from core.errors import InputError
from core.frameworks import FRAMEWORKS, common_anchor_size

ProgressCallback = Callable[[float, str], None]
CancelCheck = Callable[[], bool]



@dataclass(frozen=True)
class Effort:
    """How hard the search tries (docs/optimizer.md#effort): `sample_boxes` in the search
    subsample (whole images, so a little more or less), `max_evaluations` on it when no time
    budget is given, `descent_starts` starting points refined by coordinate descent, `confirm`
    candidates re-evaluated on all boxes at the end."""

    sample_boxes: int
    max_evaluations: int
    descent_starts: int
    confirm: int


EFFORTS = {
    "quick": Effort(sample_boxes=4000, max_evaluations=300, descent_starts=3, confirm=4),
    "normal": Effort(sample_boxes=6000, max_evaluations=1500, descent_starts=4, confirm=6),
    "thorough": Effort(sample_boxes=12000, max_evaluations=6000, descent_starts=6, confirm=10),
}
DEFAULT_EFFORT = "normal"
SWAP_SIZES = 0.25  # share of search kicks that swap two levels' sizes (their size bands)
FIRST_STEP = {"ratio": 0.5, "scale": 0.3, "size": 0.3}  # initial log-space steps
LAST_STEP = 0.01  # a descent ends when every step is below this (about 1 %)
PERTURBATION = 0.35  # log-space sigma of the iterated-local-search kicks
LOG_BOUNDS = {"ratio": math.log(128.0), "scale": math.log(32.0), "size": math.log(8.0)}
SIGNIFICANT_DIGITS = 4

Score = tuple[float, float, float]
"""(recall, best possible recall, mean best IoU), compared lexicographically. The middle key only
matters for matchers with forced / low-quality matches (torchvision, detectron2, mmdet), whose
recall is near 1 for any anchors: among equal recalls, more boxes with a real IoU >= positive_iou
anchor win before mean best IoU decides."""


@dataclass(frozen=True)
class PathStep:
    """One improvement found by the search: the evaluation number and the subsample scores."""

    evaluation: int
    recall: float
    mean_best_iou: float
    config: AnchorConfig

    def __iter__(self):
        return iter((self.evaluation, self.recall, self.mean_best_iou, self.config))


@dataclass
class OptimizeResult:
    """The best config found and its full-dataset report, next to the config we started from.

    `path` lists the improvements on the search subsample in order (evaluation, recall,
    mean_best_iou, config). `stopped` is "budget" (the evaluations or the time were used up; the
    search refines until then) or "cancelled". `notes` explains choices the user should know
    (e.g. keras-hub scales).

    Under an augmentation, `expected_recall_before` / `expected_recall` are the expected recalls
    of `before_config` / `config` on all boxes (`augmented_coverage`, `expected_draws` draws,
    seeded with `augment_seed`, the search's seed); the search scored `augment_draws` draws of
    the subsample."""

    config: AnchorConfig
    report: CoverageReport
    before_config: AnchorConfig
    before: CoverageReport
    path: list[PathStep]
    evaluations: int
    full_evaluations: int
    sample_boxes: int
    sample_images: int
    seconds: float
    stopped: str
    notes: list[str] = field(default_factory=list)
    coverage: BoxCoverage | None = None  # of `config` on all boxes
    augment: Augment | None = None
    augment_draws: int = 0
    expected_draws: int = 0
    augment_seed: int = 0
    expected_recall_before: float | None = None
    expected_recall: float | None = None

    @property
    def improved(self) -> bool:
        return ((self.expected_recall, *_score(self.report))
                > (self.expected_recall_before, *_score(self.before)))


class _Stop(Exception):
    """The search must end now (cancelled or out of budget)."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def _score(report: CoverageReport) -> Score:
    return (float(report.recall), float(report.best_possible_recall),
            float(report.mean_best_iou))


def _round(value: float) -> float:
    return float(f"{value:.{SIGNIFICANT_DIGITS}g}")


# --------------------------------------------------------------------------- subsample


def image_subset(table: BoxTable, images: np.ndarray) -> BoxTable:
    """The table restricted to the given images (renumbered in the given order), with all their
    boxes, so the matcher sees each image exactly as in the full table."""
    images = np.asarray(images, np.int64)
    remap = np.full(table.image_count, -1, np.int64)
    remap[images] = np.arange(len(images))
    keep = remap[table.image] >= 0
    order = np.flatnonzero(keep)
    return dataclasses.replace(
        table, image=remap[table.image[order]].astype(np.int32), cls=table.cls[order],
        x1=table.x1[order], y1=table.y1[order], x2=table.x2[order], y2=table.y2[order],
        box_index=table.box_index[order], image_ids=table.image_ids[images],
        image_heights=table.image_heights[images], image_widths=table.image_widths[images])


def stratified_images(table: BoxTable, target_boxes: int, rng: np.random.Generator
                      ) -> np.ndarray:
    """Image indices (sorted) holding about `target_boxes` boxes: images grouped by the rarest
    class among their boxes, each group sampled in proportion to its boxes (at least one image
    of every group), so rare classes are represented."""
    counts = np.bincount(table.image, minlength=table.image_count)
    with_boxes = np.flatnonzero(counts)
    if counts.sum() <= target_boxes:
        return with_boxes
    cls = table.cls.astype(np.int64) - int(table.cls.min(initial=0))
    class_total = np.bincount(cls)
    # rarest class per image: minimise (global class count) over the image's boxes
    rarity = class_total[cls] * np.int64(len(class_total) + 1) + cls
    image_key = np.full(table.image_count, np.iinfo(np.int64).max)
    np.minimum.at(image_key, table.image, rarity)
    image_group = image_key % (len(class_total) + 1)
    fraction = target_boxes / counts.sum()
    chosen = []
    for group in np.unique(image_group[with_boxes]):
        members = with_boxes[image_group[with_boxes] == group]
        members = members[rng.permutation(len(members))]
        want = max(1.0, fraction * counts[members].sum())
        take = int(np.searchsorted(np.cumsum(counts[members]), want) + 1)
        chosen.append(members[:take])
    return np.sort(np.concatenate(chosen))


# --------------------------------------------------------------------------- search space


class SearchSpace:
    """The parameter vector the search moves: log ratios (w/h), log scales, log size factors.

    A framework with fixed scales (keras-hub's 2**(i/S)) does not search them; one with a single
    anchor size moves one common size factor; the others move per-level size factors when
    `optimize_size` is on (the framework table says which).
    """

    def __init__(self, base: AnchorConfig, ratios: int, scales: int, optimize_size: bool,
                 monotonic_sizes: bool = False):
        self.base = base
        self.monotonic_sizes = monotonic_sizes
        self.ratio_count = ratios
        self.scale_count = scales
        fw = FRAMEWORKS[base.framework]
        self.fixed_scales = fw.fixed_scales(scales) if fw.fixed_scales is not None else None
        self.one_anchor_size = fw.one_anchor_size
        self.hub_anchor_size = (common_anchor_size(base.levels, base.sizes)
                                if fw.one_anchor_size else None)
        if not optimize_size:
            self.size_count = 0
        else:
            self.size_count = 1 if fw.one_anchor_size else len(base.levels)
        self.searched_scales = 0 if self.fixed_scales is not None else scales
        kinds = (["ratio"] * ratios + ["scale"] * self.searched_scales
                 + ["size"] * self.size_count)
        self.kinds = kinds
        self.bound = np.array([LOG_BOUNDS[k] for k in kinds])
        self.first_step = np.array([FIRST_STEP[k] for k in kinds])

    @property
    def dimension(self) -> int:
        return len(self.kinds)

    def split(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        r, s = self.ratio_count, self.searched_scales
        return x[:r], x[r:r + s], x[r + s:]

    def join(self, log_ratios, log_scales, log_sizes) -> np.ndarray:
        x = np.concatenate([np.sort(np.asarray(log_ratios, float)),
                            np.sort(np.asarray(log_scales, float)),
                            np.asarray(log_sizes, float)])
        return np.clip(x, -self.bound, self.bound)

    def normalise(self, x: np.ndarray) -> np.ndarray:
        return self.join(*self.split(np.asarray(x, float)))

    def config(self, x: np.ndarray) -> AnchorConfig:
        """The canonical config of a point (values rounded to 4 significant digits, sorted)."""
        log_ratios, log_scales, log_sizes = self.split(self.normalise(x))
        ratios = tuple(sorted(_round(math.exp(v)) for v in log_ratios))
        if self.fixed_scales is not None:
            scales = self.fixed_scales  # exact, e.g. keras-hub's 2**(i/n) (checked to 1e-4)
        else:
            scales = tuple(sorted(_round(math.exp(v)) for v in log_scales))
        sizes = self.base.sizes
        if self.size_count and self.one_anchor_size:
            factor = math.exp(log_sizes[0])
            if self.hub_anchor_size is not None:
                anchor = _round(self.hub_anchor_size * factor)
                sizes = tuple(anchor * 2.0**level for level in self.base.levels)
            else:
                sizes = tuple(_round(s * factor) for s in self.base.sizes)
        elif self.size_count:
            sizes = tuple(_round(s * math.exp(v)) for s, v in zip(self.base.sizes, log_sizes,
                                                                  strict=True))
            if self.monotonic_sizes:
                sizes = tuple(sorted(sizes))
        return self.base.replace(aspect_ratios=ratios, scales=scales, sizes=sizes)

    def point(self, ratios, scales, size_factors=None) -> np.ndarray:
        """A point from plain values (scales ignored for keras-hub)."""
        log_sizes = (np.log(np.asarray(size_factors, float)) if size_factors is not None
                     else np.zeros(self.size_count))
        log_scales = np.log(np.asarray(scales, float)) if self.searched_scales else []
        return self.join(np.log(np.asarray(ratios, float)), log_scales, log_sizes)


def _resample(values, count: int) -> np.ndarray:
    """`count` values spread like `values` (log-space interpolation of the sorted values)."""
    logs = np.sort(np.log(np.asarray(values, float)))
    if len(logs) == count:
        return np.exp(logs)
    if len(logs) == 1:
        return np.exp(logs[0] + np.linspace(-0.5, 0.5, count)) if count > 1 else np.exp(logs)
    positions = np.linspace(0, len(logs) - 1, count) if count > 1 else [(len(logs) - 1) / 2]
    return np.exp(np.interp(positions, np.arange(len(logs)), logs))


def kmeans_1d(values: np.ndarray, k: int, weights: np.ndarray | None = None,
              iterations: int = 50) -> np.ndarray:
    """Weighted 1-D k-means (Lloyd) started from weighted quantiles; sorted centres."""
    values = np.asarray(values, float)
    weights = np.ones_like(values) if weights is None else np.asarray(weights, float)
    order = np.argsort(values)
    values, weights = values[order], weights[order]
    cumulative = np.cumsum(weights) / weights.sum()
    centres = values[np.searchsorted(cumulative, (np.arange(k) + 0.5) / k).clip(0,
                                                                                len(values) - 1)]
    for _ in range(iterations):
        cuts = (centres[1:] + centres[:-1]) / 2
        label = np.searchsorted(cuts, values)
        total = np.bincount(label, weights, minlength=k)
        moved = np.bincount(label, weights * values, minlength=k)
        new = np.where(total > 0, moved / np.maximum(total, 1e-300), centres)
        new = np.sort(new)
        if np.allclose(new, centres):
            break
        centres = new
    return centres


def box_shape_samples(widths: np.ndarray, heights: np.ndarray, config: AnchorConfig
                      ) -> tuple[np.ndarray, np.ndarray]:
    """Per box: log(w/h), and log(sqrt(w*h) / size of its nearest level) — the scale it asks for
    on the level whose size is nearest its side in log space."""
    side = np.sqrt(widths * heights)
    log_sizes = np.log(np.asarray(config.sizes, float))
    nearest = np.abs(np.log(side)[:, None] - log_sizes[None, :]).argmin(axis=1)
    return np.log(widths / heights), np.log(side) - log_sizes[nearest]


def starting_points(space: SearchSpace, widths: np.ndarray, heights: np.ndarray,
                    cls: np.ndarray, warm_starts: Sequence[AnchorConfig] = ()
                    ) -> list[tuple[str, np.ndarray]]:
    """Named starting points: warm starts (e.g. a neighbouring count's optimum), the current
    config, the framework default, data quantiles and k-means."""
    base, r, s = space.base, space.ratio_count, space.scale_count
    log_ratio, log_scale = box_shape_samples(widths, heights, base)
    _, class_index, class_counts = np.unique(cls, return_inverse=True, return_counts=True)
    balanced = 1.0 / class_counts[class_index]
    middle = (np.arange(r) + 0.5) / r
    middle_s = (np.arange(s) + 0.5) / s
    current = (_resample(base.aspect_ratios, r), _resample(base.scales, s))
    fw_default = default_config(base.framework)
    default = (_resample(fw_default.aspect_ratios, r), _resample(fw_default.scales, s))
    quantile = (np.exp(np.quantile(log_ratio, middle)), np.exp(np.quantile(log_scale, middle_s)))
    kmeans = (np.exp(kmeans_1d(log_ratio, r)), np.exp(kmeans_1d(log_scale, s)))
    kmeans_balanced = (np.exp(kmeans_1d(log_ratio, r, balanced)),
                       np.exp(kmeans_1d(log_scale, s, balanced)))
    named = [("current", current), ("default", default), ("quantiles", quantile),
             ("k-means", kmeans), ("k-means balanced", kmeans_balanced),
             ("k-means ratios, current scales", (kmeans[0], current[1]))]
    points = [(f"warm start {i + 1}", warm_start_point(space, config))
              for i, config in enumerate(warm_starts)]
    return points + [(name, space.point(*values)) for name, values in named]


def _grown(values, count: int) -> np.ndarray:
    """`values` with copies of its own values added up to `count` (an anchor set with a
    duplicate covers exactly what the set covers: the search starts from the smaller optimum and
    moves the copy), or resampled down to `count`."""
    values = np.sort(np.asarray(values, float))
    if count <= len(values):
        return _resample(values, count)
    middle = values[len(values) // 2]
    return np.sort(np.concatenate([values, np.full(count - len(values), middle)]))


def warm_start_point(space: SearchSpace, config: AnchorConfig) -> np.ndarray:
    """`config` as a point of `space`: its ratios and scales grown (by copies) or resampled to the
    space's counts, its sizes as factors of the base sizes (one common factor where the framework
    has one size)."""
    factors = np.asarray(config.sizes, float) / np.asarray(space.base.sizes, float)
    if space.size_count == 0:
        factors = None
    elif space.size_count == 1:
        factors = [float(np.exp(np.log(factors).mean()))]
    return space.point(_grown(config.aspect_ratios, space.ratio_count),
                       _grown(config.scales, space.scale_count), factors)


# --------------------------------------------------------------------------- evaluation


@dataclass(frozen=True)
class _SearchSet:
    """What the search scores a config on: one coverage engine over its boxes and `boxes`, the
    count the scores are shares of (draws x subsample boxes under an augmentation, so a box the
    augmentation drops counts as missed); the engine's boxes' widths, heights [K] (pixels) and
    classes [K] feed the data-driven starting points."""

    engine: CoverageEngine
    boxes: int
    widths: np.ndarray
    heights: np.ndarray
    cls: np.ndarray
    label: str = "recall"


def _plain_search_set(sample: CoverageSession) -> _SearchSet:
    return _SearchSet(sample.engine, len(sample.table), sample.x2 - sample.x1,
                      sample.y2 - sample.y1, sample.table.cls)


def _augmented_search_set(sample: AugmentedSession) -> _SearchSet:
    """All draws of `sample`, transformed once, as one engine's boxes."""
    kept = sample.kept_boxes(range(sample.draws))
    if len(kept.rows) == 0:
        raise InputError(f"--augment {augment_spec(sample.augment)} drops every box of the "
                         "search sample: nothing to optimise for")
    x1, y1, x2, y2 = kept.xyxy
    return _SearchSet(kept.engine(), sample.draws * len(sample.table), x2 - x1, y2 - y1,
                      sample.table.cls[kept.rows], "expected recall")


class _ExpectedRank:
    """Confirmation key under an augmentation: (expected recall on all boxes, plain score);
    the expected recall of each config is computed once (`expected`)."""

    def __init__(self, session: AugmentedSession):
        self.session = session
        self.expected: dict[AnchorConfig, float] = {}

    def __call__(self, result: CoverageResult) -> tuple[float, ...]:
        if result.config not in self.expected:
            self.expected[result.config] = self.session.compute(result.config).recall_mean
        return (self.expected[result.config], *_score(result.report))


def _plain_rank(result: CoverageResult) -> Score:
    return _score(result.report)


class _Evaluator:
    """Exact (recall, best possible recall, mean best IoU) of configs on the search set, as
    shares of its boxes, cached, with the budget."""

    def __init__(self, search_set: _SearchSet, space: SearchSpace, max_evaluations: int,
                 deadline: float | None, cancelled: CancelCheck | None,
                 progress: ProgressCallback | None, started: float, time_budget: float | None):
        self.search_set = search_set
        self.space = space
        self.max_evaluations = max_evaluations
        self.deadline = deadline
        self.cancelled = cancelled
        self.progress = progress
        self.started = started
        self.time_budget = time_budget
        self.cache: dict[tuple, Score] = {}
        self.count = 0
        self.best: tuple[Score, np.ndarray, AnchorConfig] | None = None
        self.path: list[PathStep] = []
        self.phase = "starting points"

    def fraction(self) -> float:
        done = self.count / self.max_evaluations
        if self.time_budget:
            done = max(done, (time.perf_counter() - self.started) / self.time_budget)
        return min(done, 1.0)

    def check(self) -> None:
        if self.cancelled is not None and self.cancelled():
            raise _Stop("cancelled")
        if self.count >= self.max_evaluations:
            raise _Stop("budget")
        if self.deadline is not None and time.perf_counter() >= self.deadline:
            raise _Stop("budget")

    def __call__(self, x: np.ndarray) -> tuple[Score, np.ndarray]:
        x = self.space.normalise(x)
        config = self.space.config(x)
        key = (config.aspect_ratios, config.scales, config.sizes)
        if key in self.cache:
            return self.cache[key], x
        self.check()
        coverage = self.search_set.engine.compute(grids_for(config), match_rule(config))
        best_iou, boxes = coverage.best_iou, self.search_set.boxes
        score = (float(coverage.matched.sum() / boxes),
                 float((best_iou >= config.positive_iou).sum() / boxes),
                 float(best_iou.sum() / boxes))
        self.count += 1
        self.cache[key] = score
        if self.best is None or score > self.best[0]:
            self.best = (score, x, config)
            self.path.append(PathStep(self.count, score[0], score[2], config))
        if self.progress is not None:
            best = self.best[0][0]
            self.progress(0.05 + 0.85 * self.fraction(),
                          f"{self.phase}: {self.count} evaluations, best "
                          f"{self.search_set.label} {best:.1%} "
                          "(subsample)")
        return score, x


def coordinate_descent(evaluate: _Evaluator, x: np.ndarray, score: Score,
                       rng: np.random.Generator) -> tuple[Score, np.ndarray]:
    """Coordinate descent in log space: try +/- step on each coordinate (random order), keep
    improvements (and keep going in a direction that worked, doubling the step), halve the step
    of a coordinate that did not improve; ends when every step is below LAST_STEP."""
    space = evaluate.space
    step = space.first_step.copy()
    while (step >= LAST_STEP).any():
        for i in rng.permutation(space.dimension):
            if step[i] < LAST_STEP:
                continue
            improved = False
            for sign in (1.0, -1.0):
                trial = x.copy()
                trial[i] += sign * step[i]
                trial_score, trial = evaluate(trial)
                if trial_score > score:
                    x, score, improved = trial, trial_score, True
                    # one extrapolation: keep going the same way with twice the step
                    ahead = x.copy()
                    ahead[i] += sign * step[i]
                    ahead_score, ahead = evaluate(ahead)
                    if ahead_score > score:
                        x, score = ahead, ahead_score
                    break
            if not improved:
                step[i] *= 0.5
    return score, x


def _perturb(space: SearchSpace, x: np.ndarray, rng: np.random.Generator,
             log_ratio: np.ndarray) -> np.ndarray:
    """A kick for iterated local search: Gaussian noise on all coordinates, half the time one
    ratio jumps to the shape of a random box, and sometimes two levels swap their sizes (a level
    then serves another size band: a move no small step reaches)."""
    trial = x + rng.normal(0.0, PERTURBATION, len(x)) * (space.first_step / space.first_step.max())
    if rng.random() < 0.5 and space.ratio_count:
        trial[rng.integers(space.ratio_count)] = log_ratio[rng.integers(len(log_ratio))]
    if space.size_count >= 2 and rng.random() < SWAP_SIZES:
        first = len(x) - space.size_count
        a, b = first + rng.choice(space.size_count, 2, replace=False)
        sizes = np.log(np.asarray(space.base.sizes, float))
        level_a, level_b = a - first, b - first
        # the swapped levels keep each other's absolute sizes
        trial[a] = x[b] + sizes[level_b] - sizes[level_a]
        trial[b] = x[a] + sizes[level_a] - sizes[level_b]
    return space.normalise(trial)


# --------------------------------------------------------------------------- the optimizer


def _space_notes(space: SearchSpace, base: AnchorConfig, optimize_size: bool) -> list[str]:
    """What the framework keeps out of the search, in words for the report."""
    notes = []
    label = FRAMEWORKS[base.framework].label
    if space.fixed_scales is not None:
        kept = ", ".join(f"{v:.4g}" for v in space.fixed_scales)
        notes.append(f"{label} expresses only fixed scales: kept at {kept}; ratios"
                     + (" and anchor_size" if optimize_size else "") + " optimised")
    if space.one_anchor_size and optimize_size and space.hub_anchor_size is None:
        notes.append(f"{label}: the sizes are not anchor_size * 2**level, so the output is not "
                     "expressible there (export offers the nearest expressible one)")
    return notes


def _search(evaluate: _Evaluator, space: SearchSpace, starts, rng: np.random.Generator,
            log_ratio: np.ndarray, descent_starts: int
            ) -> tuple[list[tuple[Score, np.ndarray]], str]:
    """Steps 2-3 of the module docstring on the subsample: evaluate the starting points, descend
    from the best few, then iterated local search until the budget (or a cancel) stops it.
    Returns the finalists (score, point) and why it stopped."""
    finalists: list[tuple[Score, np.ndarray]] = []
    stopped = "budget"
    try:
        scored = []
        for _name, x in starts():
            score, x = evaluate(x)
            scored.append((score, x))
        scored.sort(key=lambda item: item[0], reverse=True)
        finalists.extend(scored[:2])
        evaluate.phase = "descent"
        seen = []
        for score, x in scored:
            if len(seen) == descent_starts:
                break
            if any(np.allclose(x, other) for other in seen):
                continue
            seen.append(x)
            finalists.append(coordinate_descent(evaluate, x, score, rng))
        evaluate.phase = "refining"
        while True:  # iterated local search until the budget ends it
            kicked = _perturb(space, evaluate.best[1], rng, log_ratio)
            score, kicked = evaluate(kicked)
            finalists.append(coordinate_descent(evaluate, kicked, score, rng))
    except _Stop as stop:
        stopped = stop.reason
    if evaluate.best is not None:
        finalists.append(evaluate.best[:2])
    return finalists, stopped


def _confirmation_candidates(finalists, space: SearchSpace, base: AnchorConfig, ratios: int,
                             scales: int, limit: int) -> list[AnchorConfig]:
    """Step 4's candidates: the best distinct finalists (at most `limit`), plus the current and
    the framework's default config when their counts fit the head."""
    candidates: list[AnchorConfig] = []
    for _score_value, x in sorted(finalists, key=lambda item: item[0], reverse=True):
        config = space.config(x)
        if config not in candidates and len(candidates) < limit:
            candidates.append(config)
    for config in (base, default_config(base.framework)):
        fits = (len(config.aspect_ratios) == ratios and len(config.scales) == scales
                and config.levels == base.levels and config.strides == base.strides
                and config.sizes == base.sizes)
        if fits and config.framework == base.framework:
            config = dataclasses.replace(base, aspect_ratios=tuple(sorted(config.aspect_ratios)),
                                         scales=tuple(sorted(config.scales)))
            if config not in candidates:
                candidates.append(config)
    return candidates


def _best_on_all_boxes(candidates: list[AnchorConfig], full: CoverageSession, before,
                       base: AnchorConfig, rank=_plain_rank):
    """The candidate that ranks best on every box (`rank` of its result: the plain score, or
    the expected recall first under an augmentation), and how many full computations that took
    (the `before` result of `base` counts as one)."""
    best_result = None
    full_evaluations = 1
    for config in candidates:
        if config == base:
            result = before
        else:
            result = full.compute(config)
            full_evaluations += 1
        if best_result is None or rank(result) > rank(best_result):
            best_result = result
    return best_result, full_evaluations


def optimize(
    table: BoxTable,
    base_config: AnchorConfig,
    ratios: int = 3,
    scales: int = 3,
    *,
    seed: int = 0,
    effort: str = DEFAULT_EFFORT,
    optimize_size: bool = True,
    monotonic_sizes: bool = False,
    model_input: ModelInput | None = None,
    time_budget: float | None = None,
    max_evaluations: int | None = None,
    sample_boxes: int | None = None,
    warm_starts: Sequence[AnchorConfig] = (),
    progress: ProgressCallback | None = None,
    cancelled: CancelCheck | None = None,
    session: CoverageSession | None = None,
    augment: Augment | None = None,
    augment_draws: int = 8,
) -> OptimizeResult:
    """The best config with exactly `ratios` aspect ratios and `scales` scales (same framework,
    levels, strides, thresholds) for `table`; the sizes move too unless `optimize_size` is off,
    kept increasing with the level when `monotonic_sizes`.

    `effort` names an entry of EFFORTS (subsample, evaluations, descents, confirmations);
    `sample_boxes` and `max_evaluations` override its numbers. `warm_starts` are extra starting
    points (configs of any counts, resampled), e.g. the optimum of a neighbouring count.

    `progress(fraction, message)` is called as the search goes; `cancelled()` is polled before
    every evaluation — when it returns true the search stops and the best config found so far is
    confirmed on all boxes and returned with `stopped="cancelled"` (no exception).
    `time_budget` (seconds) bounds the whole run; `max_evaluations` bounds the subsample
    evaluations (default the effort's without a time budget, unbounded with one).
    `session` may pass an existing full-dataset CoverageSession of `table` to reuse.

    With `augment` (docs/augmentation.md) the objective is the expected recall under it: each
    evaluation scores `augment_draws` fixed draws (seeded with `seed`) of the subsample, and the
    candidates are confirmed by `augmented_coverage` on all boxes (DEFAULT_DRAWS draws).
    """
    if ratios < 1 or scales < 1:
        raise InputError(f"need at least one ratio and one scale, got {ratios} and {scales}")
    if len(table) == 0:
        raise InputError("the dataset has no valid boxes to optimise anchors for")
    if effort not in EFFORTS:
        raise InputError(f"unknown effort {effort!r}; choose one of {', '.join(EFFORTS)}")
    plan = EFFORTS[effort]
    started = time.perf_counter()
    model_input = model_input or ModelInput()
    rng = np.random.default_rng(seed)
    report = progress or (lambda fraction, message: None)
    space = SearchSpace(base_config, ratios, scales, optimize_size, monotonic_sizes)
    notes = _space_notes(space, base_config, optimize_size)

    report(0.0, "preparing boxes")
    full = session if session is not None else CoverageSession(table, model_input)
    before_started = time.perf_counter()
    before = full.compute(base_config)
    rank = _plain_rank
    if augment is not None:
        rank = _ExpectedRank(AugmentedSession(table, augment, model_input, DEFAULT_DRAWS, seed))
        rank(before)
    full_seconds = time.perf_counter() - before_started
    images = stratified_images(table, sample_boxes or plan.sample_boxes, rng)
    sample_table = image_subset(table, images)
    if augment is not None:
        search_set = _augmented_search_set(
            AugmentedSession(sample_table, augment, model_input, augment_draws, seed))
    else:
        search_set = _plain_search_set(
            CoverageSession(sample_table, model_input) if len(sample_table) < len(table)
            else full)
    if max_evaluations is None:
        max_evaluations = plan.max_evaluations if time_budget is None else 1_000_000
    deadline = None
    if time_budget is not None:
        # keep time to confirm the finalists on all boxes
        deadline = started + max(0.0, time_budget - plan.confirm * full_seconds * 1.2)
    evaluate = _Evaluator(search_set, space, max_evaluations, deadline, cancelled, report,
                          started, time_budget)
    widths, heights = search_set.widths, search_set.heights
    log_ratio, _ = box_shape_samples(widths, heights, base_config)

    def starts():
        return starting_points(space, widths, heights, search_set.cls, warm_starts)

    finalists, stopped = _search(evaluate, space, starts, rng, log_ratio, plan.descent_starts)

    report(0.9, "confirming on all boxes")
    candidates = _confirmation_candidates(finalists, space, base_config, ratios, scales,
                                          1 if stopped == "cancelled" else plan.confirm)
    if stopped != "cancelled":  # a warm start is never lost to the subsample's noise
        candidates += [config for config in (space.config(warm_start_point(space, warm))
                                             for warm in warm_starts)
                       if config not in candidates]
    best_result, full_evaluations = _best_on_all_boxes(candidates, full, before, base_config,
                                                       rank)
    if best_result is None:  # cancelled before the first evaluation, counts do not fit
        best_result = full.compute(space.config(starts()[0][1]))
        full_evaluations += 1
    band_note = sizes_out_of_order(best_result.config)
    if band_note is not None and best_result.config.sizes != base_config.sizes:
        notes.append(band_note)
    report(1.0, f"done: recall {before.report.recall:.1%} -> "
                f"{best_result.report.recall:.1%}")
    expected = {}
    if augment is not None:
        rank(best_result)
        expected = {"augment": augment, "augment_draws": augment_draws,
                    "expected_draws": DEFAULT_DRAWS, "augment_seed": seed,
                    "expected_recall_before": rank.expected[base_config],
                    "expected_recall": rank.expected[best_result.config]}
    return OptimizeResult(
        config=best_result.config, report=best_result.report, before_config=base_config,
        before=before.report, path=evaluate.path, evaluations=evaluate.count,
        full_evaluations=full_evaluations, sample_boxes=len(sample_table),
        sample_images=len(images), seconds=time.perf_counter() - started, stopped=stopped,
        notes=notes, coverage=best_result.coverage, **expected)


# --------------------------------------------------------------------------- ceiling advice


def box_subset(table: BoxTable, rows: np.ndarray) -> BoxTable:
    """The table restricted to some boxes (all images kept)."""
    return dataclasses.replace(
        table, image=table.image[rows], cls=table.cls[rows], x1=table.x1[rows],
        y1=table.y1[rows], x2=table.x2[rows], y2=table.y2[rows], box_index=table.box_index[rows])


def finer_level(config: AnchorConfig) -> AnchorConfig:
    """The config with one more level below its finest: half the stride and half the size."""
    finest = int(np.argmin(config.strides))
    level = config.levels[finest] - 1
    if level < 0:
        raise ValueError("no finer level than level 0")
    return config.replace(levels=(level, *config.levels), strides=(
        config.strides[finest] / 2, *config.strides), sizes=(config.sizes[finest] / 2,
                                                              *config.sizes))


def ceiling_advice(table: BoxTable, result: OptimizeResult,
                   model_input: ModelInput | None = None, min_share: float = 0.01) -> dict | None:
    """When boxes left unmatched are beyond `ceiling_recall` (no anchor shape on this grid could
    reach them), how many, mostly which class, and how much a finer level would recover.
    None when that share is below `min_share`."""
    coverage = result.coverage
    beyond = ~coverage.ceiling_covered & ~coverage.matched
    share = float(beyond.mean()) if len(beyond) else 0.0
    if share < min_share or not beyond.any():
        return None
    rows = np.flatnonzero(beyond)
    classes, counts = np.unique(table.cls[rows], return_counts=True)
    top = int(classes[counts.argmax()])
    config = result.config
    finest = int(np.argmin(config.strides))
    advice = {
        "boxes": int(len(rows)), "share": share, "class": table.class_name(top),
        "class_share": float(counts.max() / len(rows)), "level": int(config.levels[finest]),
        "stride": float(config.strides[finest]), "finer_level": None, "finer_stride": None,
        "recovered_share": None,
    }
    try:
        finer = finer_level(config)
    except (ValueError, InputError):
        finer = None
    if finer is not None:
        ceiling = CoverageSession(box_subset(table, rows),
                                  model_input or ModelInput()).compute(finer)
        advice.update(finer_level=int(finer.levels[0]), finer_stride=float(finer.strides[0]),
                      recovered_share=float(ceiling.coverage.ceiling_covered.mean()))
    advice["message"] = advice_message(advice)
    return advice


def advice_message(advice: dict) -> str:
    text = (f"{advice['share']:.0%} of boxes (mostly class {advice['class']}) are beyond any "
            f"anchor shape at stride {advice['stride']:g}")
    if advice["finer_level"] is not None:
        text += (f": add level {advice['finer_level']} (stride {advice['finer_stride']:g}) or "
                 f"double the input size (a finer grid could reach "
                 f"{advice['recovered_share']:.0%} of them)")
    else:
        text += ": enlarge the input size"
    return text
