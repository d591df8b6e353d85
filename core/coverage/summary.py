"""The dataset-level coverage report (docs/coverage.md `coverage` keys) from per-box coverage."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from core.coverage.engine import BoxCoverage


def _mean(values: np.ndarray) -> float:
    return float(values.mean()) if len(values) else 0.0


def summarize(coverage: BoxCoverage, cls: np.ndarray, class_names: Mapping[int, str],
              levels: Sequence[int], positive_iou: float) -> dict:
    """The report as a JSON-ready dict.

    Keys: `recall` (mean matched), `best_possible_recall` (share with best IoU >= positive_iou),
    `ceiling_recall`, `mean_best_iou`, `median_best_iou`, `uncovered_boxes` (not matched),
    `mean_positives_per_box`, `low_quality_only` (count), `per_level` and `per_class`.
    `per_level[str(level)]`: `best_boxes` (boxes whose first best anchor is on the level),
    `matched_best_boxes` (of those, matched), `positive_anchors` ((box, anchor) pairs with IoU >=
    positive_iou on the level), `mean_best_iou` of its best boxes.
    `per_class[name]`: `boxes`, `recall`, `best_possible_recall`, `mean_best_iou`, `uncovered`.
    Classes without a name are keyed by their id.
    """
    cls = np.asarray(cls)
    best = coverage.best_iou
    covered = best >= positive_iou
    per_level = {}
    for index, level in enumerate(levels):
        on = coverage.best_level == index
        positive = coverage.level_positive_anchors
        per_level[str(level)] = {
            "best_boxes": int(on.sum()),
            "matched_best_boxes": int((on & coverage.matched).sum()),
            "positive_anchors": int(positive[index]) if index < len(positive) else 0,
            "mean_best_iou": _mean(best[on]),
        }
    per_class = {}
    for value in np.unique(cls):
        mine = cls == value
        name = class_names.get(int(value), str(int(value)))
        per_class[name] = {
            "boxes": int(mine.sum()),
            "recall": _mean(coverage.matched[mine]),
            "best_possible_recall": _mean(covered[mine]),
            "mean_best_iou": _mean(best[mine]),
            "uncovered": int((~coverage.matched[mine]).sum()),
        }
    return {
        "recall": _mean(coverage.matched),
        "best_possible_recall": _mean(covered),
        "ceiling_recall": _mean(coverage.ceiling_covered),
        "mean_best_iou": _mean(best),
        "median_best_iou": float(np.median(best)) if len(best) else 0.0,
        "uncovered_boxes": int((~coverage.matched).sum()),
        "mean_positives_per_box": _mean(coverage.positives),
        "low_quality_only": int(coverage.low_quality_only.sum()),
        "per_level": per_level,
        "per_class": per_class,
    }


def miss_breakdown(report: dict) -> tuple[float, float, float]:
    """(missed because of shapes, beyond any shape on the grid, lost in matching) as shares,
    how the CLI and the GUI explain the misses."""
    shapes = max(report["ceiling_recall"] - report["best_possible_recall"], 0.0)
    beyond = max(1.0 - report["ceiling_recall"], 0.0)
    matching = max(report["best_possible_recall"] - report["recall"], 0.0)
    return shapes, beyond, matching


def interpretation(report: dict) -> str:
    """The one-line reading of the report that the CLI and the GUI both print."""
    shapes, beyond, matching = miss_breakdown(report)
    text = (f"{100 * shapes:.1f} % missed because of shapes (tune ratios, scales, sizes); "
            f"{100 * beyond:.1f} % beyond any shape on this grid (stride too coarse)")
    if matching >= 0.0005:
        text += f"; {100 * matching:.1f} % lost in matching (anchor taken by another box)"
    text += "."
    if report["low_quality_only"]:
        text += f" {report['low_quality_only']:,d} boxes matched only by the low-quality step."
    return text
