"""Exact IoU coverage of ground-truth boxes by a detector's anchors (docs/coverage.md): per-box
numbers, the dataset report, and the anchors the GUI draws for one box or one grid cell."""

from core.coverage.engine import BoxCoverage, CoverageEngine, GridsForSize, compute_box_coverage
from core.coverage.geometry import anchor_iou
from core.coverage.lookup import AnchorList, anchors_in_cell, nearest_cell, positive_anchors_of_box
from core.coverage.matching import MATCHER_KINDS, MatchRule
from core.coverage.summary import ClassReport, CoverageReport, LevelReport, summarize

__all__ = ["MATCHER_KINDS", "AnchorList", "BoxCoverage", "ClassReport", "CoverageEngine",
           "CoverageReport", "GridsForSize", "LevelReport", "MatchRule", "anchor_iou",
           "anchors_in_cell", "compute_box_coverage", "nearest_cell", "positive_anchors_of_box",
           "summarize"]
