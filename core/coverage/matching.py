"""The four matcher kinds: which anchors a framework assigns to which ground-truth box.

Only two kinds of anchors can be assigned to a box: anchors with IoU >= `positive_iou` with some
box ("positives") and anchors that reach some box's best IoU ("best ties"). The compiled kernel
(`kernel._match_image`) applies the rules over those candidates only; `dense_match` applies them
to a full IoU matrix. Box order within an image (the row order the framework sees) breaks ties.

The rules, as the frameworks' code does them (anchors = rows, boxes = columns):
- `argmax`: anchor -> argmax box (first on ties) when that IoU >= positive_iou.
- `force_best` (keras-cv `BoxMatcher(force_match_for_each_col=True)`): argmax, then each box's
  first best anchor is forced to it; a shared forced anchor goes to the lowest box index.
- `low_quality` (torchvision / detectron2 `Matcher(allow_low_quality_matches=True)`): argmax,
  then every anchor reaching some box's best IoU (ties included) is assigned to its own argmax box.
- `mmdet` (`MaxIoUAssigner`, `min_pos_iou=0`, `gt_max_assign_all=True`): argmax, then for each box
  in order every anchor reaching its best IoU is assigned to it, later boxes overwriting.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.coverage.layout import ARGMAX, FORCE_BEST, LOW_QUALITY, MATCHER_KINDS, MMDET


@dataclass(frozen=True)
class MatchRule:
    """A matcher: its kind (one of MATCHER_KINDS) and IoU thresholds.

    `negative_iou` does not change which boxes get a positive anchor; it is kept for reports.
    """

    kind: str = ARGMAX
    positive_iou: float = 0.5
    negative_iou: float = 0.4

    def __post_init__(self):
        if self.kind not in MATCHER_KINDS:
            raise ValueError(f"matcher kind {self.kind!r} is not one of {MATCHER_KINDS}")
        if not 0.0 < self.positive_iou <= 1.0:
            raise ValueError(f"positive_iou must be in (0, 1], got {self.positive_iou}")


def dense_match(ious: np.ndarray, kind: str, positive_iou: float):
    """Reference-style matching of one image from its full (boxes, anchors) IoU matrix.

    Used for the rare images where a box overlaps no anchor (best IoU 0), where every anchor
    ties for that box's best. Returns `(matched, argmax_matched)`.
    """
    n_boxes, n_anchors = ious.shape
    if n_anchors == 0 or n_boxes == 0:
        z = np.zeros(n_boxes, bool)
        return z, z
    top = ious.max(axis=0)
    owner = ious.argmax(axis=0)
    plain = np.where(top >= positive_iou, owner, -1)
    argmax_matched = np.isin(np.arange(n_boxes), plain)
    assigned = plain.copy()
    best = ious.max(axis=1)
    if kind == FORCE_BEST:
        rows = ious.argmax(axis=1)
        for g in range(n_boxes - 1, -1, -1):  # lowest box wins a shared anchor
            assigned[rows[g]] = g
    elif kind == LOW_QUALITY:
        hit = (ious == best[:, None]).any(axis=0)
        assigned[hit] = owner[hit]
    elif kind == MMDET:
        for g in range(n_boxes):
            assigned[ious[g] == best[g]] = g
    return np.isin(np.arange(n_boxes), assigned), argmax_matched
