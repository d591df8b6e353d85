"""A fast, honest estimate of the coverage report while anchor settings are being dragged.

Exact coverage of a fixed, seeded random sample of whole images (matching is per image, so a
whole image is the unit), turned into dataset numbers by ratio estimators with 95 % intervals.
The GUI shows it labelled as an estimate and replaces it with the exact report as soon as the
settings rest; see docs/live-tuning.md.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from core.coverage import BoxCoverage, CoverageReport, summarize

SAMPLE_BOXES = 20_000
"""Boxes in the estimate's sample (whole images are added until it is reached)."""
Z_95 = 1.959964  # two-sided 95 % normal quantile
SAMPLE_SEED = 0x5A3D1E


def per_box_values(coverage: BoxCoverage, positive_iou: float) -> dict[str, np.ndarray]:
    """The per-box quantity whose mean is each mean-type report metric."""
    return {
        "recall": coverage.matched.astype(np.float64),
        "best_possible_recall": (coverage.best_iou >= positive_iou).astype(np.float64),
        "ceiling_recall": coverage.ceiling_covered.astype(np.float64),
        "mean_best_iou": coverage.best_iou,
        "mean_positives_per_box": coverage.positives.astype(np.float64),
    }


@dataclass(frozen=True)
class Estimate:
    """How an estimated report was made and how far it can be off.

    `intervals[metric]`: half-width of the 95 % interval, in the metric's own unit (a share for
    recall, IoU for `mean_best_iou`, boxes for `uncovered_boxes`). Counts in the report (totals,
    per level, per class) are the sample's counts scaled by `total_boxes / boxes`.
    """

    images: int
    total_images: int
    boxes: int
    total_boxes: int
    intervals: dict[str, float]
    sample_rows: np.ndarray  # table rows of the sampled boxes, sorted


def sample_images(image: np.ndarray, image_count: int, target_boxes: int = SAMPLE_BOXES,
                  seed: int = SAMPLE_SEED) -> np.ndarray:
    """Sorted indices of whole images, drawn in a seeded random order until they hold at least
    `target_boxes` boxes (all images if the dataset is smaller). Images without boxes count as
    drawn: they belong to the population the ratio estimators divide by."""
    counts = np.bincount(np.asarray(image, np.int64), minlength=image_count)
    order = np.random.default_rng(seed).permutation(image_count)
    taken = int(np.searchsorted(np.cumsum(counts[order]), target_boxes)) + 1
    return np.sort(order[:min(taken, image_count)])


def ratio_interval(y: np.ndarray, x: np.ndarray, population: int) -> float:
    """95 % half-width of the ratio estimator sum(y) / sum(x) over a simple random sample of
    `len(x)` of `population` clusters (images): y per image is the sum of a per-box value, x its
    box count. Linearised variance with the finite population correction (Cochran, ch. 6)."""
    m = len(x)
    if m == 0 or x.sum() == 0:
        return math.inf
    if m >= population:
        return 0.0
    if m < 2:
        return math.inf
    ratio = y.sum() / x.sum()
    residual_variance = float(((y - ratio * x) ** 2).sum()) / (m - 1)
    variance = (1.0 - m / population) * residual_variance / (m * float(x.mean()) ** 2)
    return Z_95 * math.sqrt(variance)


def estimate_report(coverage: BoxCoverage, rows: np.ndarray, image: np.ndarray,
                    cls: np.ndarray, class_names: Mapping[int, str], levels: Sequence[int],
                    positive_iou: float, sampled_images: int, total_images: int,
                    total_boxes: int) -> tuple[CoverageReport, Estimate]:
    """The report (as `summarize` makes it) estimated from the exact coverage of a sample.

    `coverage`, `rows` (table rows), `image` and `cls` are aligned with the sample's boxes;
    `sampled_images` counts the drawn images, empty ones included."""
    report = summarize(coverage, cls, class_names, levels, positive_iou)
    boxes = len(coverage)
    _, local_image = np.unique(image, return_inverse=True)
    x = np.bincount(local_image, minlength=sampled_images).astype(np.float64)
    intervals = {}
    for metric, values in per_box_values(coverage, positive_iou).items():
        y = np.bincount(local_image, weights=values, minlength=sampled_images)
        intervals[metric] = ratio_interval(y, x, total_images)
    intervals["uncovered_boxes"] = intervals["recall"] * total_boxes
    report = report.scaled_counts(total_boxes / boxes if boxes else 0.0)
    return report, Estimate(sampled_images, total_images, boxes, total_boxes, intervals, rows)
