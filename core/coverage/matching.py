"""Which boxes a framework's matcher gives at least one anchor, from the few anchors that matter.

Only two kinds of anchors can be assigned to a box: anchors with IoU >= `positive_iou` with some
box ("positive hits") and anchors that reach some box's best IoU ("best hits", ties included).
An anchor that is a positive hit of a box is a positive hit of its argmax box too, so argmax
conflicts are resolved among the hits that share an anchor id. Best hits below the threshold may
have their argmax box elsewhere in the image; those few are checked against every box of the
image. Box order within an image (the row order the framework sees) breaks ties.

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

MATCHER_KINDS = ("argmax", "force_best", "low_quality", "mmdet")


@dataclass(frozen=True)
class MatchRule:
    """A matcher: its kind (one of MATCHER_KINDS) and IoU thresholds.

    `negative_iou` does not change which boxes get a positive anchor; it is kept for reports.
    """

    kind: str = "argmax"
    positive_iou: float = 0.5
    negative_iou: float = 0.4

    def __post_init__(self):
        if self.kind not in MATCHER_KINDS:
            raise ValueError(f"matcher kind {self.kind!r} is not one of {MATCHER_KINDS}")
        if not 0.0 < self.positive_iou <= 1.0:
            raise ValueError(f"positive_iou must be in (0, 1], got {self.positive_iou}")


def _groups(ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For sorted ids: start of each run and the run number of every element."""
    if len(ids) == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    new = np.empty(len(ids), bool)
    new[0] = True
    np.not_equal(ids[1:], ids[:-1], out=new[1:])
    starts = np.flatnonzero(new)
    return starts, np.cumsum(new) - 1


def _first_per_group(mask: np.ndarray, group: np.ndarray) -> np.ndarray:
    """Index of the first True of each group that has one (groups sorted)."""
    pos = np.flatnonzero(mask)
    g = group[pos]
    keep = np.ones(len(pos), bool)
    keep[1:] = g[1:] != g[:-1]
    return pos[keep]


def _sort_by_id_then_box(ids: np.ndarray, box: np.ndarray) -> np.ndarray:
    if len(ids) == 0:
        return np.zeros(0, np.int64)
    span = int(box.max()) + 1
    if int(ids.max()) < (1 << 62) // span:
        return np.argsort(ids * span + box)
    return np.lexsort((box, ids))


def argmax_owners(ids: np.ndarray, box: np.ndarray, iou: np.ndarray):
    """Unique anchor ids of the hits and, per id, the hit box with the highest IoU (lowest box on
    ties)."""
    order = _sort_by_id_then_box(ids, box)
    ids_s, box_s, iou_s = ids[order], box[order], iou[order]
    starts, group = _groups(ids_s)
    if len(starts) == 0:
        return ids_s, box_s
    top = np.maximum.reduceat(iou_s, starts)
    first = _first_per_group(iou_s == top[group], group)
    return ids_s[starts], box_s[first]


def match_boxes(
    n_boxes: int,
    kind: str,
    positive_ids: np.ndarray,
    positive_box: np.ndarray,
    positive_iou: np.ndarray,
    best_ids: np.ndarray,
    best_box: np.ndarray,
    first_best_ids: np.ndarray,
    argmax_of: callable,
) -> tuple[np.ndarray, np.ndarray]:
    """`(matched, argmax_matched)` per box.

    Boxes are numbered so that a lower number means a lower index within the image.
    `positive_*`: all (anchor id, box, IoU) with IoU >= positive_iou. `best_*`: all (anchor id,
    box) where the anchor reaches the box's best IoU. `first_best_ids`: per box its first best
    anchor (-1 if none). `argmax_of(ids)` returns the argmax box over the whole image of anchors.
    """
    p_ids, p_owner = argmax_owners(positive_ids, positive_box, positive_iou)
    argmax_matched = np.bincount(p_owner, minlength=n_boxes)[:n_boxes] > 0
    if kind == "argmax":
        return argmax_matched, argmax_matched
    if kind == "force_best":
        has = first_best_ids >= 0
        boxes = np.flatnonzero(has)
        forced = first_best_ids[has]
        # lowest box per forced anchor: boxes are ascending, so a stable sort keeps the first
        f_ids, f_winner = _lowest_per_id(forced, boxes)
        free = ~np.isin(p_ids, f_ids, assume_unique=True)
        owners = np.concatenate([f_winner, p_owner[free]])
    elif kind == "low_quality":
        q_ids = np.unique(best_ids)
        known = np.isin(q_ids, p_ids, assume_unique=True)
        owners = np.concatenate([p_owner, argmax_of(q_ids[~known])])
    elif kind == "mmdet":
        # later boxes overwrite: the highest box per best anchor wins
        q_ids, q_winner = _lowest_per_id(best_ids, -best_box)
        q_winner = -q_winner
        free = ~np.isin(p_ids, q_ids, assume_unique=True)
        owners = np.concatenate([q_winner, p_owner[free]])
    else:
        raise ValueError(kind)
    matched = np.bincount(owners, minlength=n_boxes)[:n_boxes] > 0
    return matched, argmax_matched


def _lowest_per_id(ids: np.ndarray, box: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Unique ids and the lowest `box` value among the entries of each."""
    order = _sort_by_id_then_box(ids, box - box.min() if len(box) else box)
    ids_s, box_s = ids[order], box[order]
    starts, _ = _groups(ids_s)
    return ids_s[starts], box_s[starts]


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
    if kind == "force_best":
        rows = ious.argmax(axis=1)
        for g in range(n_boxes - 1, -1, -1):  # lowest box wins a shared anchor
            assigned[rows[g]] = g
    elif kind == "low_quality":
        hit = (ious == best[:, None]).any(axis=0)
        assigned[hit] = owner[hit]
    elif kind == "mmdet":
        for g in range(n_boxes):
            assigned[ious[g] == best[g]] = g
    return np.isin(np.arange(n_boxes), assigned), argmax_matched
