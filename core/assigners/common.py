"""What every assigner family returns: per box, the positives counted as the real code counts
them, whether it is matched, its best level and why it was missed (docs/families.md).

The families decide positives from static geometry (no IoU matcher over anchors as in
`core.coverage`): YOLOv5's ratio test and neighbour cells, FCOS's points inside the box, ATSS's
adaptive IoU threshold, YOLOv8's candidate points. Each family module has
`assign_image(boxes, image_hw, params) -> BoxAssignment` for the boxes of one image (xyxy,
float64 pixels of the model input) and a function giving one box's positive anchors, cells or
points for the overlays.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# Why a box got no positive (0: it got some). One table for every family; each family uses the
# reasons that fit it (docs/families.md#miss-reasons).
MATCHED = 0
DEGENERATE = 1  # zero width or height: no family assigns anything to it
RATIO_OUTSIDE = 2  # YOLOv5: every anchor's w or h ratio is >= anchor_t
NO_POINT_INSIDE = 3  # FCOS / ATSS / YOLOv8: no anchor point (centre) strictly inside the box
OUTSIDE_SIZE_RANGES = 4  # FCOS: points inside, but no level's regression range holds them
BELOW_THRESHOLD = 5  # ATSS: no candidate reaches mean + std of the candidates' IoUs
TAKEN = 6  # its points all went to another box (FCOS: smaller area; ATSS: higher IoU)
OUTSIDE_CENTRE_SAMPLING = 7  # FCOS: points inside the box, none within radius x stride
MISS_REASONS = {
    MATCHED: "matched",
    DEGENERATE: "zero width or height",
    RATIO_OUTSIDE: "w/h ratio outside anchor_t of every anchor",
    NO_POINT_INSIDE: "no anchor point inside the box",
    OUTSIDE_SIZE_RANGES: "outside every level's size range",
    BELOW_THRESHOLD: "below the ATSS IoU threshold",
    TAKEN: "its positives went to another box",
    OUTSIDE_CENTRE_SAMPLING: "no point within the centre-sampling radius",
}


@dataclass(frozen=True)
class BoxAssignment:
    """Per box of one image (in the order given) or of a whole table: `positives` [n] int64 as
    the real code counts them, `best_level` [n] int64 (level index with the most positives, the
    finest on a tie; -1: none), `miss_reason` [n] int8 (a code of MISS_REASONS; MATCHED when
    positives > 0)."""

    positives: np.ndarray
    best_level: np.ndarray
    miss_reason: np.ndarray

    @property
    def matched(self) -> np.ndarray:
        return self.positives > 0

    def __len__(self) -> int:
        return len(self.positives)


def best_levels(per_level_positives: np.ndarray) -> np.ndarray:
    """[n, L] positives per level -> the level with the most (finest on a tie), -1 with none."""
    per_level_positives = np.asarray(per_level_positives)
    if per_level_positives.shape[1] == 0:
        return np.full(per_level_positives.shape[0], -1, np.int64)
    best = per_level_positives.argmax(axis=1).astype(np.int64)
    best[per_level_positives.max(axis=1) == 0] = -1
    return best
