"""The anchor budget (docs/optimizer.md#the-anchor-budget): the best exact recall for each count
of aspect ratios R and scales S, against anchors per location (R x S), with the exact ceiling
as the asymptote — how many anchors a dataset needs, before the head is built.

Each grid point is one `optimize` run; neighbouring points warm-start each other (the optimum of
R - 1 ratios and of S - 1 scales are starting points of (R, S)), so a sweep costs little more
than its evaluations. Deterministic per seed, like `optimize`.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

from core.analysis import CoverageSession, ModelInput
from core.anchor_config import AnchorConfig, config_to_dict
from core.boxes import BoxTable
from core.optimizer import CancelCheck, ProgressCallback, optimize

RATIO_COUNTS = tuple(range(1, 9))
SCALE_COUNTS = (1, 2, 3)
SWEEP_EFFORT = "quick"  # per grid point; the warm starts make up for the smaller budget


@dataclass(frozen=True)
class BudgetPoint:
    """The best config found with `ratios` aspect ratios and `scales` scales, on all boxes."""

    ratios: int
    scales: int
    config: AnchorConfig
    recall: float
    best_possible_recall: float
    mean_positives_per_box: float
    ceiling_recall: float
    seconds: float

    @property
    def anchors_per_location(self) -> int:
        return self.ratios * self.scales

    def to_dict(self) -> dict:
        """One JSON row of `optimize --sweep --json`."""
        return {"ratios": self.ratios, "scales": self.scales,
                "anchors_per_location": self.anchors_per_location, "recall": self.recall,
                "best_possible_recall": self.best_possible_recall,
                "mean_positives_per_box": self.mean_positives_per_box,
                "ceiling_recall": self.ceiling_recall, "seconds": self.seconds,
                "config": config_to_dict(self.config)}


def sweep(
    table: BoxTable,
    base_config: AnchorConfig,
    ratio_counts: Sequence[int] = RATIO_COUNTS,
    scale_counts: Sequence[int] = SCALE_COUNTS,
    *,
    seed: int = 0,
    effort: str = SWEEP_EFFORT,
    optimize_size: bool = True,
    monotonic_sizes: bool = False,
    model_input: ModelInput | None = None,
    progress: ProgressCallback | None = None,
    cancelled: CancelCheck | None = None,
    session: CoverageSession | None = None,
) -> list[BudgetPoint]:
    """The optimum of every (R, S) of the grid, in order of S then R. A cancel ends the sweep
    with the points finished so far (the running one included, as far as it got)."""
    ratio_counts, scale_counts = sorted(set(ratio_counts)), sorted(set(scale_counts))
    model_input = model_input or ModelInput()
    session = session or CoverageSession(table, model_input)
    total = len(ratio_counts) * len(scale_counts)
    found: dict[tuple[int, int], BudgetPoint] = {}
    points: list[BudgetPoint] = []
    for scales in scale_counts:
        for ratios in ratio_counts:
            done = len(points)

            def step(fraction: float, message: str, done=done, r=ratios, s=scales) -> None:
                if progress is not None:
                    progress((done + fraction) / total, f"R {r} x S {s}: {message}")

            warm = [found[key].config for key in ((ratios - 1, scales), (ratios, scales - 1))
                    if key in found]
            started = time.perf_counter()
            result = optimize(table, base_config, ratios, scales, seed=seed, effort=effort,
                              optimize_size=optimize_size, monotonic_sizes=monotonic_sizes,
                              model_input=model_input, warm_starts=warm, progress=step,
                              cancelled=cancelled, session=session)
            report = result.report
            point = BudgetPoint(ratios, scales, result.config, report.recall,
                                report.best_possible_recall, report.mean_positives_per_box,
                                report.ceiling_recall, time.perf_counter() - started)
            found[ratios, scales] = point
            points.append(point)
            if result.stopped == "cancelled":
                return points
    return points
