"""YOLOv8's candidate points: the static stage of ultralytics `utils/tal.py`
`TaskAlignedAssigner.select_candidates_in_gts` over the points of `make_anchors(..., 0.5)`,
in float32, for the three rules ultralytics has shipped (docs/families.md#yolov8).

The task-aligned top-k that follows needs predictions, so the candidates are the most a box can
get. Images are letterboxed to a multiple of the largest stride first, so a level's grid is
`(H // stride, W // stride)`. The candidate test is separable (a point's x against the box's x
range, its y against the y range), so the code tests each grid column and row once and combines
them; per level the candidates form one rectangle of grid cells.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.assigners.common import (
    DEGENERATE,
    MATCHED,
    NO_POINT_INSIDE,
    BoxAssignment,
    best_levels,
)

F32 = np.float32

# The candidate rules, named by the first ultralytics release that has them:
# - "8.3": ultralytics <= 8.3.x (recorded: 8.3.253); a point is a candidate when strictly inside
#   the box: min(px - x1, py - y1, x2 - px, y2 - py) > eps.
# - "8.4.0": 8.4.0 to 8.4.127 (recorded: 8.4.0); first a box side < strides[0] (8) becomes
#   strides[1] (16) about the centre (sides in [8, 16) stay: not monotone), then the same test.
# - "8.4.128": 8.4.128 on (recorded: 8.4.190); a side < stride_val = strides[1] (16) becomes 16.
YOLOV8_SEMANTICS = ("8.3", "8.4.0", "8.4.128")
INSIDE_EPS = F32(1e-9)  # select_candidates_in_gts(eps=1e-9), compared as float32
GRID_CELL_OFFSET = F32(0.5)  # make_anchors(feats, strides, grid_cell_offset=0.5)


def semantics_for_version(version: str) -> str:
    """The `YOLOV8_SEMANTICS` rule of an ultralytics release such as "8.4.190" (a later 8.x minor
    is assumed to keep the newest rule)."""
    major, minor, patch = (int(part) for part in (version.split(".") + ["0", "0"])[:3])
    if major != 8:
        raise ValueError(f"no recorded candidate rule for ultralytics {version}")
    if minor < 4:
        return "8.3"
    if minor == 4 and patch < 128:
        return "8.4.0"
    return "8.4.128"


@dataclass(frozen=True)
class Yolov8Params:
    """`strides` in pixels, one per level (ultralytics passes the model's strides to the
    assigner); `semantics` one of `YOLOV8_SEMANTICS`."""

    strides: tuple[int, ...] = (8, 16, 32)
    semantics: str = "8.4.128"

    def __post_init__(self) -> None:
        if self.semantics not in YOLOV8_SEMANTICS:
            raise ValueError(f"semantics {self.semantics!r} not in {YOLOV8_SEMANTICS}")
        if self.semantics == "8.4.0" and len(self.strides) < 2:
            raise ValueError("the 8.4.0 rule widens to strides[1]: it needs two levels")


def _grid_sizes(image_hw: tuple[int, int], strides: tuple[int, ...]) -> list[tuple[int, int]]:
    if any(side % max(strides) for side in image_hw):
        raise ValueError(f"image {image_hw} is not letterboxed to a multiple of {max(strides)}")
    return [(image_hw[0] // s, image_hw[1] // s) for s in strides]


def _centres(count: int, stride: int) -> np.ndarray:
    """[count] float32 pixel centres (g + 0.5) * stride of one grid axis, as make_anchors."""
    return (np.arange(count, dtype=F32) + GRID_CELL_OFFSET) * F32(stride)


def anchor_points(image_hw: tuple[int, int], strides: tuple[int, ...]
                  ) -> tuple[np.ndarray, np.ndarray]:
    """What v8DetectionLoss hands to the assigner (`anchor_points * stride_tensor`): [P, 2]
    float32 pixel points ((gx + 0.5) * s, (gy + 0.5) * s), levels concatenated, within a level
    index gy * grid_w + gx; and [P] int64 level of each point."""
    points, levels = [], []
    for level, ((gh, gw), stride) in enumerate(zip(_grid_sizes(image_hw, strides), strides,
                                                   strict=True)):
        ys, xs = np.meshgrid(_centres(gh, stride), _centres(gw, stride), indexing="ij")
        points.append(np.column_stack([xs.ravel(), ys.ravel()]))
        levels.append(np.full(gh * gw, level, np.int64))
    return np.concatenate(points), np.concatenate(levels)


def boxes_as_tested(boxes: np.ndarray, params: Yolov8Params) -> np.ndarray:
    """[n, 4] float32 xyxy boxes as the inside test sees them. 8.4: float32 `xyxy2xywh`, sides
    below the threshold of valid boxes (`mask_gt`: coordinate sum > 0, as v8DetectionLoss)
    replaced about the centre, `xywh2xyxy` -- the round trip applies to unwidened boxes too."""
    b = np.asarray(boxes, F32).reshape(-1, 4)
    if params.semantics == "8.3":
        return b
    centre = (b[:, :2] + b[:, 2:]) / F32(2)  # [n, 2]
    wh = b[:, 2:] - b[:, :2]  # [n, 2]
    if params.semantics == "8.4.0":
        below, size = params.strides[0], params.strides[1]
    else:  # stride_val = stride[1] if len(stride) > 1 else stride[0]
        below = size = params.strides[1] if len(params.strides) > 1 else params.strides[0]
    valid = b.sum(axis=1, dtype=F32) > 0  # [n] mask_gt
    wh = np.where((wh < F32(below)) & valid[:, None], F32(size), wh)
    half = wh / F32(2)
    return np.concatenate([centre - half, centre + half], axis=1)


def _inside_axes(boxes: np.ndarray, image_hw: tuple[int, int], params: Yolov8Params
                 ) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per level ([n, grid_w] bool: column centre strictly inside x1..x2, [n, grid_h] bool: row
    centre strictly inside y1..y2), the four `> eps` differences of the real test."""
    b = boxes_as_tested(boxes, params)
    axes = []
    for (gh, gw), stride in zip(_grid_sizes(image_hw, params.strides), params.strides,
                                strict=True):
        xs, ys = _centres(gw, stride)[None, :], _centres(gh, stride)[None, :]
        in_x = ((xs - b[:, 0:1]) > INSIDE_EPS) & ((b[:, 2:3] - xs) > INSIDE_EPS)  # [n, gw]
        in_y = ((ys - b[:, 1:2]) > INSIDE_EPS) & ((b[:, 3:4] - ys) > INSIDE_EPS)  # [n, gh]
        axes.append((in_x, in_y))
    return axes


def candidate_mask(boxes: np.ndarray, image_hw: tuple[int, int], params: Yolov8Params
                   ) -> np.ndarray:
    """[n, P] bool: `select_candidates_in_gts` for xyxy pixel boxes [n, 4] over `anchor_points`
    (same point order). Boxes are cast to float32 as the real code receives them."""
    masks = []
    for in_x, in_y in _inside_axes(boxes, image_hw, params):
        n, gh, gw = len(in_x), in_y.shape[1], in_x.shape[1]
        masks.append((in_y[:, :, None] & in_x[:, None, :]).reshape(n, gh * gw))  # [n, gh * gw]
    return np.concatenate(masks, axis=1)


def candidate_rects(boxes: np.ndarray, image_hw: tuple[int, int], params: Yolov8Params
                    ) -> np.ndarray:
    """[n, L, 4] int64 inclusive grid rectangle (gx_lo, gx_hi, gy_lo, gy_hi) of each box's
    candidates per level, -1 where a level has none: the same set as `candidate_mask`."""
    axes = _inside_axes(boxes, image_hw, params)
    rects = np.full((len(axes[0][0]), len(axes), 4), -1, np.int64)
    for level, (in_x, in_y) in enumerate(axes):
        some = in_x.any(axis=1) & in_y.any(axis=1)  # [n]
        for col, inside in ((0, in_x), (2, in_y)):
            first = inside.argmax(axis=1)
            last = inside.shape[1] - 1 - inside[:, ::-1].argmax(axis=1)
            rects[some, level, col], rects[some, level, col + 1] = first[some], last[some]
    return rects


def assign_image(boxes: np.ndarray, image_hw: tuple[int, int], params: Yolov8Params
                 ) -> BoxAssignment:
    """Per box: positives = candidate points (before the task-aligned top-k), the level with
    most, and DEGENERATE (zero w or h and no candidate: always in 8.3; in 8.4 zero-size boxes
    are widened and usually get some) / NO_POINT_INSIDE / MATCHED."""
    per_level = np.stack([in_x.sum(axis=1) * in_y.sum(axis=1)
                          for in_x, in_y in _inside_axes(boxes, image_hw, params)], axis=1)
    positives = per_level.sum(axis=1).astype(np.int64)  # [n]
    b = np.asarray(boxes, F32).reshape(-1, 4)
    zero_size = ((b[:, 2:] - b[:, :2]) == 0).any(axis=1)
    miss = np.where(zero_size, DEGENERATE, NO_POINT_INSIDE).astype(np.int8)
    miss[positives > 0] = MATCHED
    return BoxAssignment(positives=positives, best_level=best_levels(per_level),
                           miss_reason=miss)


def assign_images(boxes: np.ndarray, image: np.ndarray, image_hw: tuple[int, int],
                  params: Yolov8Params) -> BoxAssignment:
    """`assign_image` for many images of the same size at once: a box's candidate points depend
    on that box and the image size alone, so all rows go through `assign_image` together.
    `image` [N] (which image each row belongs to) is accepted for the common signature."""
    return assign_image(boxes, image_hw, params)


def positive_points(boxes: np.ndarray, image_hw: tuple[int, int], params: Yolov8Params,
                    box: int) -> tuple[np.ndarray, np.ndarray]:
    """Candidate points of `boxes[box]` for overlays: ([k] int64 level, [k, 2] float64 pixel
    xy), in `anchor_points` order. The test is per box, so only that box is evaluated."""
    one = np.asarray(boxes, np.float64).reshape(-1, 4)[box : box + 1]
    points, levels = anchor_points(image_hw, params.strides)
    inside = candidate_mask(one, image_hw, params)[0]
    return levels[inside], points[inside].astype(np.float64)
