"""One coverage analysis: a box table and an anchor config in, per-box coverage and report out.

The glue between the box table (`core.boxes`), the model input (`core.input_mapping`), the
framework's anchors (`core.anchor_generation`) and the coverage engine (`core.coverage`). The GUI
keeps one `CoverageSession` per loaded dataset so a change of anchor settings reuses the engine's
caches; the CLI runs one analysis.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from core.anchor_config import AnchorConfig, matcher_for
from core.anchor_generation import level_grids
from core.boxes import BoxTable
from core.coverage import BoxCoverage, CoverageEngine, CoverageReport, MatchRule, summarize
from core.errors import InputError
from core.estimate import SAMPLE_BOXES, Estimate, estimate_report, sample_images
from core.input_mapping import RESIZE_MODES, check_resizable, map_boxes_to_input


@dataclass(frozen=True)
class ModelInput:
    """The size the detector sees (None: each image's own size) and how images get there."""

    size: tuple[int, int] | None = None  # (height, width)
    resize: str = "stretch"

    def describe(self) -> str:
        if self.size is None:
            return "native image sizes"
        return f"{self.size[0]}x{self.size[1]} ({self.resize})"


def parse_input_size(text: str | None, resize: str = "stretch") -> ModelInput:
    """`--input-size HxW` and `--resize` as a ModelInput; InputError names the bad option."""
    if resize not in RESIZE_MODES:
        raise InputError(f"--resize must be one of {', '.join(RESIZE_MODES)}, got {resize!r}")
    if not text:
        return ModelInput(None, resize)
    try:
        height, width = (int(part) for part in text.lower().split("x"))
    except ValueError:
        raise InputError(f"--input-size must be HxW such as 512x512, got {text!r}") from None
    if height < 1 or width < 1:
        raise InputError(f"--input-size must be positive, got {text!r}")
    return ModelInput((height, width), resize)


def match_rule(config: AnchorConfig) -> MatchRule:
    """The framework's matcher with the config's thresholds."""
    return MatchRule(matcher_for(config), config.positive_iou, config.negative_iou)


def grids_for(config: AnchorConfig):
    """`(height, width) -> [LevelGrid]`: the anchors the matcher can assign, per input size."""
    return lambda height, width: level_grids(config, height, width, matchable_only=True)


@dataclass(frozen=True)
class CoverageResult:
    """Per-box coverage and the `coverage` report of one config on one
    dataset, exact or estimated.

    Exact: `rows` is None and `coverage` covers every box of the table. Estimated (`estimate`
    set, docs/live-tuning.md): the report comes from a sample of images, and `coverage` holds the
    exact per-box coverage of the table rows `rows` (sorted): the sample and the image on screen;
    its per-level positive-anchor counts are the sample's.
    """

    config: AnchorConfig
    coverage: BoxCoverage
    report: CoverageReport
    rows: np.ndarray | None = None
    estimate: Estimate | None = None
    model_input: ModelInput = ModelInput()

    @property
    def exact(self) -> bool:
        return self.estimate is None

    def coverage_of(self, rows: np.ndarray) -> BoxCoverage | None:
        """Per-box coverage of table `rows`, or None if this result does not hold all of them."""
        rows = np.asarray(rows, np.int64)
        if self.rows is None:
            return self.coverage.take(rows)
        positions = np.searchsorted(self.rows, rows)
        if len(rows) and (positions.max() >= len(self.rows)
                          or (self.rows[positions] != rows).any()):
            return None
        return self.coverage.take(positions)


class CoverageSession:
    """The boxes of one dataset in model-input pixels, with a coverage engine whose caches make
    recomputing after a change of ratios or scales fast."""

    sample_boxes = SAMPLE_BOXES  # boxes in the estimate's sample of whole images

    def __init__(self, table: BoxTable, model_input: ModelInput = ModelInput()):
        """InputError if the model input cannot take one of the table's images (it would be
        resized to 0 px: `core.input_mapping.check_resizable`)."""
        self.table = table
        self.model_input = model_input
        check_resizable(table.image_heights, table.image_widths, model_input.size,
                        model_input.resize, image_ids=table.image_ids)
        x1, y1, x2, y2, heights, widths = map_boxes_to_input(
            table.x1, table.y1, table.x2, table.y2, table.image, table.image_heights,
            table.image_widths, model_input.size, model_input.resize)
        self.x1, self.y1, self.x2, self.y2 = x1, y1, x2, y2
        self.image_heights, self.image_widths = heights, widths
        self.engine = CoverageEngine(x1, y1, x2, y2, table.image, heights, widths)
        self._sample: tuple[int, np.ndarray, CoverageEngine] | None = None
        self._image_engines: dict[int, tuple[np.ndarray, CoverageEngine]] = {}

    def compute(self, config: AnchorConfig) -> CoverageResult:
        """The exact coverage of every box."""
        coverage = self.engine.compute(grids_for(config), match_rule(config))
        report = summarize(coverage, self.table.cls, self.table.class_names, config.levels,
                           config.positive_iou)
        return CoverageResult(config, coverage, report, model_input=self.model_input)

    @property
    def estimates_help(self) -> bool:
        """Whether `estimate` is much faster than `compute` (the dataset is large)."""
        return len(self.table) > 2 * self.sample_boxes

    def estimate(self, config: AnchorConfig, image_index: int | None = None) -> CoverageResult:
        """The report estimated on a fixed sample of images (docs/live-tuning.md); per-box
        coverage is exact for the sample and for image `image_index` (the one on screen)."""
        images, rows, engine = self._sample_engine()
        grids, rule = grids_for(config), match_rule(config)
        coverage = sample_coverage = engine.compute(grids, rule)
        table = self.table
        report, estimate = estimate_report(
            coverage, rows, table.image[rows], table.cls[rows], table.class_names, config.levels,
            config.positive_iou, images, table.image_count, len(table))
        if image_index is not None and 0 <= image_index < table.image_count:
            image_rows, image_engine = self._image_engine(image_index)
            rows = np.concatenate([rows, image_rows])
            coverage = coverage.concat(image_engine.compute(grids, rule))
            rows, first = np.unique(rows, return_index=True)
            # per-level counts stay the sample's (the image on screen may be in the sample)
            coverage = replace(coverage.take(first),
                               level_positive_anchors=sample_coverage.level_positive_anchors)
        return CoverageResult(config, coverage, report, rows, estimate, self.model_input)

    def _subset_engine(self, rows: np.ndarray) -> CoverageEngine:
        return CoverageEngine(self.x1[rows], self.y1[rows], self.x2[rows], self.y2[rows],
                              self.table.image[rows], self.image_heights, self.image_widths)

    def _sample_engine(self) -> tuple[int, np.ndarray, CoverageEngine]:
        """(images drawn, their table rows, an engine over them), built on first use."""
        if self._sample is None:
            table = self.table
            images = sample_images(table.image, table.image_count, self.sample_boxes)
            rows = np.flatnonzero(np.isin(table.image, images))
            self._sample = (len(images), rows, self._subset_engine(rows))
        return self._sample

    def _image_engine(self, index: int) -> tuple[np.ndarray, CoverageEngine]:
        if index not in self._image_engines:
            if len(self._image_engines) >= 8:
                self._image_engines.clear()
            rows = np.flatnonzero(self.table.image == index)
            self._image_engines[index] = (rows, self._subset_engine(rows))
        return self._image_engines[index]


def analyze(table: BoxTable, config: AnchorConfig, model_input: ModelInput = ModelInput()
            ) -> CoverageResult:
    """Coverage of every box of `table` under `config` (one-shot, no cache kept)."""
    return CoverageSession(table, model_input).compute(config)
