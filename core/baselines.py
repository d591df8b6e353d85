"""What researchers use today to pick anchors, re-implemented so the optimizer can be judged
against them by the same measure (exact on-grid recall, docs/optimizer.md).

1. The seed notebook: k-means with 6 clusters on the raw (width, height) of the boxes; the aspect
   ratios are read off the cluster centres and the scales are left as they are (18 anchors =
   6 ratios x 3 scales). The notebook computed h / w and handed it to keras-cv, whose
   `aspect_ratios` mean w / h — `seed_kmeans(..., faithful=True)` reproduces that bug,
   `faithful=False` gives the corrected w / h ratios.
2. Zlocha et al. 2019, "Improving RetinaNet for CT lesion detection with dense masks from weak
   RECIST labels" (github.com/martinzlocha/anchor-optimization, `optimize_anchors.py`):
   `scipy.optimize.differential_evolution` over symmetric ratios (1 and the pairs r, 1/r with
   r in [1, 4]) and scales in [0.4, 2]; the objective places boxes and anchors all centred at the
   origin (`include_stride=False`), takes each box's best IoU over the anchors of every level
   (keras-retinanet `generate_anchors`, sizes 32..512) with the pixel-inclusive "+1" overlap of
   their `compute_overlap`, and minimises the focal-style loss mean(-(1 - iou)**2 * log(iou)).
   DE settings as theirs: popsize 15, mutation 0.5, immediate updating, scipy's other defaults,
   `np.random.RandomState(seed)`.
3. A plain differential evolution on the exact objective itself (`exact_de`): the optimizer's
   parameters (log ratios, scales and per-level sizes) and its stratified subsample, scipy's DE
   from a Latin hypercube, no starting points, no local search — what a careful researcher
   would write with our coverage engine; slow, the bar the optimizer must clear.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import scipy.cluster.vq
import scipy.optimize

from core.anchor_config import AnchorConfig
from core.errors import InputError

SEED_CLUSTERS = 6
ZLOCHA_SIZES = (32.0, 64.0, 128.0, 256.0, 512.0)
ZLOCHA_RATIO_BOUNDS = (1.0, 4.0)
ZLOCHA_SCALE_BOUNDS = (0.4, 2.0)


@dataclass(frozen=True)
class BaselineResult:
    """A baseline's anchors as a canonical config, with what the method itself reported."""

    name: str
    config: AnchorConfig
    seconds: float
    details: dict


# --------------------------------------------------------------------------- seed k-means


def kmeans_wh(widths: np.ndarray, heights: np.ndarray, clusters: int = SEED_CLUSTERS,
              seed: int = 0) -> np.ndarray:
    """k-means (scipy `kmeans2`, k-means++ start, seeded) on raw (w, h) pixels; (k, 2) centres
    sorted by w / h."""
    data = np.stack([np.asarray(widths, float), np.asarray(heights, float)], axis=1)
    if len(data) < clusters:
        raise InputError(f"k-means needs at least {clusters} boxes, got {len(data)}")
    centres, _ = scipy.cluster.vq.kmeans2(data, clusters, minit="++", seed=seed)
    return centres[np.argsort(centres[:, 0] / centres[:, 1])]


def seed_kmeans(widths: np.ndarray, heights: np.ndarray, base_config: AnchorConfig, *,
                faithful: bool = True, clusters: int = SEED_CLUSTERS, seed: int = 0
                ) -> BaselineResult:
    """The seed notebook's anchors: ratios from k-means centres on (w, h), scales unchanged.

    `faithful=True`: the ratios are the centres' h / w, written where keras-cv reads w / h (the
    seed's bug); `faithful=False`: the centres' w / h. Ratios are sorted ascending."""
    started = time.perf_counter()
    centres = kmeans_wh(widths, heights, clusters, seed)
    w_over_h = centres[:, 0] / centres[:, 1]
    ratios = 1.0 / w_over_h if faithful else w_over_h
    ratios = tuple(sorted(float(f"{r:.4g}") for r in ratios))
    config = base_config.replace(aspect_ratios=ratios)
    return BaselineResult("seed k-means (h/w bug)" if faithful else "seed k-means (w/h)", config,
                          time.perf_counter() - started,
                          {"centres_wh": centres.round(3).tolist(), "faithful": faithful})


# --------------------------------------------------------------------------- Zlocha DE


def zlocha_parameters(values: np.ndarray, ratio_count: int) -> tuple[np.ndarray, np.ndarray]:
    """Their `calculate_config`: ratios [1, v0, 1/v0, v1, 1/v1, ...], scales = the rest."""
    split = (ratio_count - 1) // 2
    ratios = [1.0]
    for value in values[:split]:
        ratios += [float(value), 1.0 / float(value)]
    return np.asarray(ratios), np.asarray(values[split:], float)


def retinanet_anchor_shapes(sizes, ratios_h_over_w, scales) -> np.ndarray:
    """keras-retinanet `generate_anchors` for every size: (n, 2) anchor (w, h), ratio = h / w,
    area (size*scale)**2 kept; ratio-major within a size."""
    ratios = np.repeat(np.asarray(ratios_h_over_w, float), len(scales))
    shapes = []
    for size in sizes:
        side = size * np.tile(np.asarray(scales, float), len(ratios_h_over_w))
        w = np.sqrt(side * side / ratios)
        shapes.append(np.stack([w, w * ratios], axis=1))
    return np.concatenate(shapes)


def centred_best_overlap(widths: np.ndarray, heights: np.ndarray, anchor_wh: np.ndarray
                         ) -> np.ndarray:
    """Each box's best IoU over anchors, box and anchor centred together, with the "+1" pixel
    convention of their `compute_overlap` (so an anchor of the box's exact shape gives 1)."""
    w = np.asarray(widths, float)[:, None]
    h = np.asarray(heights, float)[:, None]
    aw, ah = anchor_wh[None, :, 0], anchor_wh[None, :, 1]
    inter = (np.minimum(w, aw) + 1.0) * (np.minimum(h, ah) + 1.0)
    union = (w + 1.0) * (h + 1.0) + (aw + 1.0) * (ah + 1.0) - inter
    return (inter / union).max(axis=1)


def zlocha_objective(values: np.ndarray, widths: np.ndarray, heights: np.ndarray,
                     ratio_count: int = 3, sizes=ZLOCHA_SIZES, mode: str = "focal") -> float:
    """Their `average_overlap` (include_stride=False): loss of the best centred IoU per box."""
    ratios, scales = zlocha_parameters(values, ratio_count)
    best = centred_best_overlap(widths, heights, retinanet_anchor_shapes(sizes, ratios, scales))
    if mode == "avg":
        return float(1.0 - best.mean())
    if mode == "ce":
        return float(np.mean(-np.log(best)))
    if mode == "focal":
        return float(np.mean(-((1.0 - best) ** 2) * np.log(best)))
    raise ValueError(f"invalid mode {mode!r}")


def zlocha_de(widths: np.ndarray, heights: np.ndarray, base_config: AnchorConfig, *,
              ratios: int = 3, scales: int = 3, seed: int = 0, popsize: int = 15,
              mutation: float = 0.5, maxiter: int = 1000, objective: str = "focal"
              ) -> BaselineResult:
    """Zlocha et al.'s anchor optimisation; the result as a canonical config on `base_config`'s
    levels and sizes (their ratios are symmetric, so h/w and w/h name the same set)."""
    if ratios % 2 != 1:
        raise InputError(f"Zlocha's method needs an odd number of ratios, got {ratios}")
    started = time.perf_counter()
    widths = np.asarray(widths, float)
    heights = np.asarray(heights, float)
    sizes = tuple(float(s) for s in base_config.sizes)
    bounds = [ZLOCHA_RATIO_BOUNDS] * ((ratios - 1) // 2) + [ZLOCHA_SCALE_BOUNDS] * scales
    result = scipy.optimize.differential_evolution(
        zlocha_objective, bounds, args=(widths, heights, ratios, sizes, objective),
        mutation=mutation, updating="immediate", popsize=popsize, maxiter=maxiter,
        seed=np.random.RandomState(seed))
    ratio_values, scale_values = zlocha_parameters(result.x, ratios)
    best = centred_best_overlap(widths, heights,
                                retinanet_anchor_shapes(sizes, ratio_values, scale_values))
    config = base_config.replace(
        aspect_ratios=tuple(sorted(float(f"{r:.4g}") for r in ratio_values)),
        scales=tuple(sorted(float(f"{s:.4g}") for s in scale_values)))
    return BaselineResult("Zlocha DE", config, time.perf_counter() - started, {
        "objective": float(result.fun), "evaluations": int(result.nfev),
        "generations": int(result.nit), "average_overlap": float(best.mean()),
        "not_matched": int((best < 0.5).sum())})


# --------------------------------------------------------------------------- exact-objective DE


def exact_de(table, base_config: AnchorConfig, *, ratios: int = 3, scales: int = 3,
             seed: int = 0, popsize: int = 8, maxiter: int = 40,
             sample_boxes: int = 6000) -> BaselineResult:
    """Plain DE maximising exact recall (tie-break best possible recall, mean best IoU) on the
    optimizer's subsample, sizes free; the best member is returned as a config (judge it on all
    boxes yourself)."""
    from core.analysis import CoverageSession, grids_for, match_rule
    from core.optimizer import SearchSpace, image_subset, stratified_images

    started = time.perf_counter()
    space = SearchSpace(base_config, ratios, scales, optimize_size=True)
    images = stratified_images(table, sample_boxes, np.random.default_rng(seed))
    sample = CoverageSession(image_subset(table, images))
    cache: dict[AnchorConfig, float] = {}

    def loss(x: np.ndarray) -> float:
        config = space.config(x)
        if config not in cache:
            coverage = sample.engine.compute(grids_for(config), match_rule(config))
            best = coverage.best_iou
            cache[config] = -(coverage.matched.mean() + 1e-3 * (best >= config.positive_iou)
                              .mean() + 1e-4 * best.mean())
        return float(cache[config])

    result = scipy.optimize.differential_evolution(
        loss, list(zip(-space.bound, space.bound, strict=True)), popsize=popsize,
        maxiter=maxiter, tol=0.0, polish=False, seed=np.random.RandomState(seed))
    return BaselineResult("exact DE", space.config(result.x), time.perf_counter() - started, {
        "evaluations": int(result.nfev), "distinct_configs": len(cache),
        "generations": int(result.nit), "sample_boxes": int(len(sample.x1))})
