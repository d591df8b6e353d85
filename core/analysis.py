"""One coverage analysis: a box table and an anchor config in, per-box coverage and report out.

The glue between the box table (`core.boxes`), the model input (`core.input_mapping`), the
framework's anchors (`core.anchor_generation`) and the coverage engine (`core.coverage`). The GUI
keeps one `CoverageSession` per loaded dataset so a change of anchor settings reuses the engine's
caches; the CLI runs one analysis.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.anchor_config import AnchorConfig
from core.anchor_generation import level_grids
from core.boxes import BoxTable
from core.coverage import BoxCoverage, CoverageEngine, MatchRule, summarize
from core.errors import InputError
from core.frameworks import matcher_for
from core.input_mapping import RESIZE_MODES, map_boxes_to_input


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
    """Per-box coverage and the SPEC §8 `coverage` report of one config on one dataset."""

    config: AnchorConfig
    coverage: BoxCoverage
    report: dict


class CoverageSession:
    """The boxes of one dataset in model-input pixels, with a coverage engine whose caches make
    recomputing after a change of ratios or scales fast."""

    def __init__(self, table: BoxTable, model_input: ModelInput = ModelInput()):
        self.table = table
        self.model_input = model_input
        x1, y1, x2, y2, heights, widths = map_boxes_to_input(
            table.x1, table.y1, table.x2, table.y2, table.image, table.image_heights,
            table.image_widths, model_input.size, model_input.resize)
        self.x1, self.y1, self.x2, self.y2 = x1, y1, x2, y2
        self.image_heights, self.image_widths = heights, widths
        self.engine = CoverageEngine(x1, y1, x2, y2, table.image, heights, widths)

    def compute(self, config: AnchorConfig) -> CoverageResult:
        coverage = self.engine.compute(grids_for(config), match_rule(config))
        report = summarize(coverage, self.table.cls, self.table.class_names, config.levels,
                           config.positive_iou)
        return CoverageResult(config, coverage, report)


def analyze(table: BoxTable, config: AnchorConfig, model_input: ModelInput = ModelInput()
            ) -> CoverageResult:
    """Coverage of every box of `table` under `config` (one-shot, no cache kept)."""
    return CoverageSession(table, model_input).compute(config)
