"""Coverage of a dataset under a detector family (docs/families.md): per box the positives as the
real code counts them, matched, best level and the miss reason; the dataset report.

Boxes are mapped into the model input as for RetinaNet configs (`--input-size`, `--resize`). The
YOLO families then see the input letterboxed to a multiple of their largest stride (padding at
the right and bottom, as YOLOv5's loader pads to stride multiples); FCOS and ATSS pad to 32
themselves (their size divisor).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import numpy as np

from core.analysis import ModelInput
from core.assigners import yolov5
from core.assigners.common import MATCHED, MISS_REASONS, BoxAssignment
from core.boxes import BoxTable
from core.family_config import FamilyConfig
from core.input_mapping import check_resizable, map_boxes_to_input

YOLO_FAMILIES = ("yolov5", "yolov8")
NATIVE = ModelInput()  # every image at its own size


@dataclass(frozen=True)
class FamilyClassReport:
    boxes: int
    recall: float
    uncovered: int


@dataclass(frozen=True)
class FamilyReport:
    """`recall` (boxes with at least one positive), `mean_positives_per_box`, `uncovered_boxes`,
    `per_level[name]` (boxes whose most positives are on the level), `per_class[name]`, `misses`
    (uncovered boxes by reason) and `extra` (YOLOv5: autoanchor's best possible recall and
    anchors above threshold, for comparison)."""

    recall: float
    mean_positives_per_box: float
    uncovered_boxes: int
    per_level: dict[str, int]
    per_class: dict[str, FamilyClassReport]
    misses: dict[str, int]
    extra: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class FamilyResult:
    config: FamilyConfig
    coverage: BoxAssignment
    report: FamilyReport
    model_input: ModelInput = ModelInput()


def level_names(config: FamilyConfig) -> list[str]:
    """`P<level>` per level, from the levels or the strides (stride 2**l is level l)."""
    params = config.params
    if hasattr(params, "levels"):
        return [f"P{level}" for level in params.levels]
    return [f"P{int(round(math.log2(stride)))}" for stride in params.strides]


def assignment_size(config: FamilyConfig, height: int, width: int) -> tuple[int, int]:
    """The image size the family's assigner sees: YOLO pads to a multiple of its largest
    stride; FCOS and ATSS pad inside their assigner."""
    if config.framework in YOLO_FAMILIES:
        step = max(config.params.strides)
        return -(-height // step) * step, -(-width // step) * step
    return height, width


def family_coverage(table: BoxTable, config: FamilyConfig,
                    model_input: ModelInput = NATIVE) -> BoxAssignment:
    """Assign every image's boxes, in the source's order within the image (`box_index`: the
    order of the label file, which decides the families' ties), and collect the results.

    Images of one assignment size go to the family's `assign_images` together, in chunks of
    whole images of about `ASSIGN_CHUNK_BOXES` boxes; per box it gives what `assign_image` gives
    for the box's image (tests/core/assigners/test_batched.py)."""
    x1, y1, x2, y2, heights, widths = map_boxes_to_input(
        table.x1, table.y1, table.x2, table.y2, table.image, table.image_heights,
        table.image_widths, model_input.size, model_input.resize)
    boxes = np.stack([x1, y1, x2, y2], axis=1)
    positives = np.zeros(len(table), np.int64)
    best_level = np.full(len(table), -1, np.int64)
    miss_reason = np.zeros(len(table), np.int8)
    order = np.lexsort((table.box_index, table.image))  # [N] by image, then source order
    image = np.asarray(table.image, np.int64)[order]
    assign = config.family.assigner.assign_images
    for size, rows, image_of_row in _size_chunks(order, image, heights, widths, config):
        result = assign(boxes[rows], image_of_row, size, config.params)
        positives[rows] = result.positives
        best_level[rows] = result.best_level
        miss_reason[rows] = result.miss_reason
    return BoxAssignment(positives, best_level, miss_reason)


ASSIGN_CHUNK_BOXES = 16_384  # boxes per `assign_images` call (bounds its [boxes x grid] arrays)


def _size_chunks(order: np.ndarray, image: np.ndarray, heights: np.ndarray, widths: np.ndarray,
                 config: FamilyConfig):
    """Yield (assignment size, rows [k] into the table, image [k] of each row) for runs of
    whole images of one assignment size, rows in `order`'s order. `image` [N] is sorted."""
    if not len(order):
        return
    sizes = np.stack([heights[image], widths[image]], axis=1)  # [N, 2] model-input size per row
    unique_sizes, size_of_row = np.unique(sizes, axis=0, return_inverse=True)
    size_of_row = size_of_row.reshape(-1)
    for index, (height, width) in enumerate(unique_sizes.tolist()):
        mine = np.flatnonzero(size_of_row == index)  # positions in `order`, images contiguous
        mine_image = image[mine]
        first_rows = np.flatnonzero(np.r_[True, mine_image[1:] != mine_image[:-1]])
        chunk_of_image = first_rows // ASSIGN_CHUNK_BOXES  # whole images per chunk
        cuts = first_rows[np.flatnonzero(np.r_[True, np.diff(chunk_of_image) > 0])]
        size = assignment_size(config, int(height), int(width))
        for start, stop in zip(cuts.tolist(), [*cuts[1:].tolist(), len(mine)], strict=True):
            yield size, order[mine[start:stop]], mine_image[start:stop]


def family_report(table: BoxTable, config: FamilyConfig, coverage: BoxAssignment,
                  model_input: ModelInput = NATIVE) -> FamilyReport:
    matched = coverage.matched
    names = level_names(config)
    per_level = {name: int((coverage.best_level == index).sum())
                 for index, name in enumerate(names)}
    per_class = {}
    for value in np.unique(table.cls):
        mine = table.cls == value
        per_class[table.class_name(int(value))] = FamilyClassReport(
            boxes=int(mine.sum()), recall=float(matched[mine].mean()),
            uncovered=int((~matched[mine]).sum()))
    reasons, counts = np.unique(coverage.miss_reason[~matched], return_counts=True)
    misses = {MISS_REASONS[int(r)]: int(c) for r, c in zip(reasons, counts, strict=True)
              if r != MATCHED}
    extra = {}
    if config.framework == "yolov5":
        x1, y1, x2, y2, _, _ = map_boxes_to_input(
            table.x1, table.y1, table.x2, table.y2, table.image, table.image_heights,
            table.image_widths, model_input.size, model_input.resize)
        bpr, aat = yolov5.autoanchor_metric(x2 - x1, y2 - y1, config.params)
        extra = {"autoanchor_best_possible_recall": float(bpr),
                 "autoanchor_anchors_above_threshold": float(aat)}
    n = len(coverage)
    return FamilyReport(
        recall=float(matched.mean()) if n else 0.0,
        mean_positives_per_box=float(coverage.positives.mean()) if n else 0.0,
        uncovered_boxes=int((~matched).sum()), per_level=per_level, per_class=per_class,
        misses=misses, extra=extra)


def analyze_family(table: BoxTable, config: FamilyConfig,
                   model_input: ModelInput = NATIVE) -> FamilyResult:
    check_resizable(table.image_heights, table.image_widths, model_input.size,
                    model_input.resize, image_ids=table.image_ids)
    coverage = family_coverage(table, config, model_input)
    return FamilyResult(config, coverage, family_report(table, config, coverage, model_input),
                        model_input)


POINT_MARK = 0.5  # a positive point is drawn as a square of this fraction of its stride


def positive_outlines(config: FamilyConfig, boxes: np.ndarray, image_hw: tuple[int, int],
                      box: int) -> np.ndarray:
    """[k, 4] xyxy outlines (model-input pixels) of what makes box `box` positive, for the
    viewer: YOLOv5's grid cells (one per build_targets entry), ATSS's anchors, and for FCOS and
    YOLOv8 a small square around each positive point. `boxes` are the image's boxes in the
    source's order; `image_hw` the image's model-input size (YOLO pads it as the analysis does)."""
    size = assignment_size(config, *image_hw)
    params, module = config.params, config.family.assigner
    if config.framework == "yolov5":
        return module.positive_cells(boxes, size, params, box).cell_xyxy
    if config.framework == "atss":
        return np.asarray(module.positive_anchors(boxes, size, params, box), np.float64)
    level, xy = module.positive_points(boxes, size, params, box)
    strides = (np.asarray([2.0 ** lv for lv in params.levels]) if hasattr(params, "levels")
               else np.asarray(params.strides, np.float64))
    half = POINT_MARK * strides[np.asarray(level, np.int64)] / 2
    xy = np.asarray(xy, np.float64).reshape(-1, 2)
    return np.column_stack([xy[:, 0] - half, xy[:, 1] - half, xy[:, 0] + half,
                            xy[:, 1] + half])
