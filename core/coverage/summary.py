"""The dataset-level coverage report (docs/coverage.md) from per-box coverage, typed."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, replace

import numpy as np

from core.coverage.engine import BoxCoverage


@dataclass(frozen=True)
class LevelReport:
    """One pyramid level: `best_boxes` (boxes whose first best anchor is on the level),
    `matched_best_boxes` (of those, matched), `positive_anchors` ((box, anchor) pairs with IoU >=
    positive_iou on the level), `mean_best_iou` of its best boxes."""

    best_boxes: int
    matched_best_boxes: int
    positive_anchors: int
    mean_best_iou: float


@dataclass(frozen=True)
class ClassReport:
    """One class: its `boxes`, `recall`, `best_possible_recall`, `mean_best_iou`, `uncovered`."""

    boxes: int
    recall: float
    best_possible_recall: float
    mean_best_iou: float
    uncovered: int


@dataclass(frozen=True)
class CoverageReport:
    """The dataset-level coverage report; every field is defined in docs/coverage.md.

    `recall` (mean matched), `best_possible_recall` (share with best IoU >= positive_iou),
    `ceiling_recall`, `mean_best_iou`, `median_best_iou`, `uncovered_boxes` (not matched),
    `mean_positives_per_box`, `low_quality_only` (count); `per_level` is keyed by the level as a
    string, `per_class` by the class name (classes without one by their id).
    """

    recall: float
    best_possible_recall: float
    ceiling_recall: float
    mean_best_iou: float
    median_best_iou: float
    uncovered_boxes: int
    mean_positives_per_box: float
    low_quality_only: int
    per_level: dict[str, LevelReport]
    per_class: dict[str, ClassReport]

    def to_dict(self) -> dict:
        """The JSON form (`analyze --json` `coverage`)."""
        return asdict(self)

    def scaled_counts(self, factor: float) -> CoverageReport:
        """Counts multiplied by `factor` and rounded to whole boxes (a sample's counts as
        dataset counts); shares and IoUs unchanged."""
        def scale(value: int) -> int:
            return int(round(value * factor))
        return replace(
            self, uncovered_boxes=scale(self.uncovered_boxes),
            low_quality_only=scale(self.low_quality_only),
            per_level={key: replace(row, best_boxes=scale(row.best_boxes),
                                    matched_best_boxes=scale(row.matched_best_boxes),
                                    positive_anchors=scale(row.positive_anchors))
                       for key, row in self.per_level.items()},
            per_class={key: replace(row, boxes=scale(row.boxes), uncovered=scale(row.uncovered))
                       for key, row in self.per_class.items()},
        )


def _mean(values: np.ndarray) -> float:
    return float(values.mean()) if len(values) else 0.0


def summarize(coverage: BoxCoverage, cls: np.ndarray, class_names: Mapping[int, str],
              levels: Sequence[int], positive_iou: float) -> CoverageReport:
    """The report of per-box coverage, with per-level and per-class rows."""
    cls = np.asarray(cls)
    best = coverage.best_iou
    covered = best >= positive_iou
    per_level = {}
    for index, level in enumerate(levels):
        on = coverage.best_level == index
        positive = coverage.level_positive_anchors
        per_level[str(level)] = LevelReport(
            best_boxes=int(on.sum()),
            matched_best_boxes=int((on & coverage.matched).sum()),
            positive_anchors=int(positive[index]) if index < len(positive) else 0,
            mean_best_iou=_mean(best[on]),
        )
    per_class = {}
    for value in np.unique(cls):
        mine = cls == value
        name = class_names.get(int(value), str(int(value)))
        per_class[name] = ClassReport(
            boxes=int(mine.sum()),
            recall=_mean(coverage.matched[mine]),
            best_possible_recall=_mean(covered[mine]),
            mean_best_iou=_mean(best[mine]),
            uncovered=int((~coverage.matched[mine]).sum()),
        )
    return CoverageReport(
        recall=_mean(coverage.matched),
        best_possible_recall=_mean(covered),
        ceiling_recall=_mean(coverage.ceiling_covered),
        mean_best_iou=_mean(best),
        median_best_iou=float(np.median(best)) if len(best) else 0.0,
        uncovered_boxes=int((~coverage.matched).sum()),
        mean_positives_per_box=_mean(coverage.positives),
        low_quality_only=int(coverage.low_quality_only.sum()),
        per_level=per_level,
        per_class=per_class,
    )


def miss_breakdown(report: CoverageReport) -> tuple[float, float, float]:
    """(missed because of shapes, beyond any shape on the grid, lost in matching) as shares,
    how the CLI and the GUI explain the misses."""
    shapes = max(report.ceiling_recall - report.best_possible_recall, 0.0)
    beyond = max(1.0 - report.ceiling_recall, 0.0)
    matching = max(report.best_possible_recall - report.recall, 0.0)
    return shapes, beyond, matching


def interpretation(report: CoverageReport) -> str:
    """The one-line reading of the report that the CLI and the GUI both print."""
    shapes, beyond, matching = miss_breakdown(report)
    text = (f"{100 * shapes:.1f} % missed because of shapes (tune ratios, scales, sizes); "
            f"{100 * beyond:.1f} % beyond any shape on this grid (stride too coarse)")
    if matching >= 0.0005:
        text += f"; {100 * matching:.1f} % lost in matching (anchor taken by another box)"
    text += "."
    if report.low_quality_only:
        text += f" {report.low_quality_only:,d} boxes matched only by the low-quality step."
    return text
