"""The reference for the batched assigners: a dataset's family coverage computed image by image
with each family's `assign_image`, boxes in source order — what `family_coverage` computed before
it sent images of one size to `assign_images` together (tests, benchmarks/bench_families.py)."""

from __future__ import annotations

import numpy as np

from core.analysis import ModelInput
from core.assigners.common import BoxAssignment
from core.boxes import BoxTable
from core.family_analysis import assignment_size
from core.family_config import FamilyConfig
from core.input_mapping import map_boxes_to_input

NATIVE = ModelInput()  # every image at its own size


def per_image_coverage(table: BoxTable, config: FamilyConfig,
                       model_input: ModelInput = NATIVE) -> BoxAssignment:
    """Per box (table order) the family's positives, best level and miss reason, one
    `assign_image` call per image."""
    x1, y1, x2, y2, heights, widths = map_boxes_to_input(
        table.x1, table.y1, table.x2, table.y2, table.image, table.image_heights,
        table.image_widths, model_input.size, model_input.resize)
    boxes = np.stack([x1, y1, x2, y2], axis=1)
    out = BoxAssignment(np.zeros(len(table), np.int64), np.full(len(table), -1, np.int64),
                        np.zeros(len(table), np.int8))
    order = np.lexsort((table.box_index, table.image))
    starts = np.searchsorted(table.image[order], np.arange(table.image_count + 1))
    for image in np.flatnonzero(np.diff(starts)):
        rows = order[starts[image]:starts[image + 1]]
        size = assignment_size(config, int(heights[image]), int(widths[image]))
        result = config.family.assigner.assign_image(boxes[rows], size, config.params)
        out.positives[rows] = result.positives
        out.best_level[rows] = result.best_level
        out.miss_reason[rows] = result.miss_reason
    return out
