"""YOLOv5 positives equal yolov5 7.0.14's `ComputeLoss.build_targets` rows and `check_anchors`
metric exactly (tests/fixtures/assigners/yolov5_build_targets.json), and the boundary rules they
rest on hold (docs/families.md#yolov5)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.assigners.common import DEGENERATE, MATCHED, RATIO_OUTSIDE, best_levels
from core.assigners.yolov5 import (
    BOX,
    Yolov5Params,
    assign_image,
    autoanchor_metric,
    autoanchor_wh,
    build_target_entries,
    normalised_targets,
    positive_cells,
)
from tests.core.assigners.recordings import recording

F32 = np.float32


def recorded() -> dict:
    return recording("yolov5_build_targets.json")


def params_of(case: dict) -> Yolov5Params:
    anchors = tuple(tuple((w, h) for w, h in level) for level in case["anchors_px"])
    return Yolov5Params(strides=tuple(case["strides"]), anchors=anchors,
                        anchor_t=case["anchor_t"])


def per_box(entries: np.ndarray, n: int) -> list[list[list[int]]]:
    """[k, 5] rows -> per box its [level, anchor, gx, gy] rows, in output order."""
    return [entries[entries[:, BOX] == i, 1:].tolist() for i in range(n)]


def test_targets_are_the_recorded_float32_inputs():
    for case in recorded()["cases"]:
        targets = normalised_targets(np.array(case["boxes_xyxy"]), tuple(case["image_hw"]))
        assert targets.dtype == F32
        assert targets.tolist() == case["targets_norm_xywh_f32"], case["id"]


def test_entries_equal_build_targets_row_for_row():
    cases = boxes = entries = duplicates = 0
    for case in recorded()["cases"]:
        ours = build_target_entries(np.array(case["boxes_xyxy"]), tuple(case["image_hw"]),
                                    params_of(case))
        assert per_box(ours, len(case["boxes_xyxy"])) == case["entries"], case["id"]
        cases, boxes, entries = cases + 1, boxes + len(case["entries"]), entries + len(ours)
        duplicates += len(ours) - len(np.unique(ours, axis=0))
    # everything was compared, including the duplicate rows of centres on grid lines
    assert (cases, boxes, entries, duplicates) == (48, 1121, 6405, 97)


def test_assign_image_counts_like_the_loss():
    reasons = {MATCHED: 0, DEGENERATE: 0, RATIO_OUTSIDE: 0}
    for case in recorded()["cases"]:
        boxes = np.array(case["boxes_xyxy"])
        result = assign_image(boxes, tuple(case["image_hw"]), params_of(case))
        expected = [len(rows) for rows in case["entries"]]
        assert result.positives.tolist() == expected, case["id"]
        per_level = np.zeros((len(boxes), len(case["strides"])), np.int64)
        for i, rows in enumerate(case["entries"]):
            for level, *_ in rows:
                per_level[i, level] += 1
        assert result.best_level.tolist() == best_levels(per_level).tolist()
        zero_size = (boxes[:, 2:] == boxes[:, :2]).any(axis=1)
        want = np.where(zero_size, DEGENERATE,
                        np.where(np.array(expected) > 0, MATCHED, RATIO_OUTSIDE))
        assert result.miss_reason.tolist() == want.tolist(), case["id"]
        for reason in reasons:
            reasons[reason] += int((want == reason).sum())
    assert reasons == {MATCHED: 733, DEGENERATE: 4, RATIO_OUTSIDE: 384}


def test_positive_cells_are_the_rows_of_that_box():
    for case in recorded()["cases"][:12]:
        boxes, hw, params = np.array(case["boxes_xyxy"]), tuple(case["image_hw"]), params_of(case)
        for i, rows in enumerate(case["entries"]):
            cells = positive_cells(boxes, hw, params, i)
            stride = np.array(case["strides"])[cells.level]
            assert [[lv, a] for lv, a, *_ in rows] == np.column_stack(
                [cells.level, cells.anchor]).tolist()
            assert (cells.cell_xyxy[:, :2] / stride[:, None]).tolist() == [r[2:] for r in rows]


def test_anchor_order_is_checked_like_model_construction():
    """`thin_reversed` lists the levels largest first: check_anchor_order flips them back."""
    seen = set()
    for case in recorded()["cases"]:
        params = Yolov5Params.from_yaml(case["anchors_cfg"], tuple(case["strides"]),
                                        case["anchor_t"])
        assert params == params_of(case), case["id"]
        seen.add(case["anchor_set"])
    assert seen == {"default", "thin", "thin_reversed"}


def test_autoanchor_metric_equals_check_anchors():
    for case in recorded()["cases"]:
        wh = autoanchor_wh(np.array(case["boxes_xyxy"]), tuple(case["image_hw"]))
        assert wh.tolist() == case["autoanchor"]["wh_px_f32"], case["id"]
        bpr, aat = autoanchor_metric(wh[:, 0], wh[:, 1], params_of(case))
        assert (bpr, aat) == (case["autoanchor"]["bpr"], case["autoanchor"]["aat"]), case["id"]


def test_autoanchor_threshold_is_float32_of_one_over_thr():
    """`x > 1 / thr` compares float32 x with the Python float cast to float32 (checked with torch
    2.14: for thr 2.9 an x equal to float32(1 / 2.9) does not count), not with float32(1) /
    float32(thr), which is one ulp lower."""
    x = F32(1 / 2.9)
    assert F32(1) / F32(2.9) < x  # the two readings differ here
    params = Yolov5Params(strides=(8,), anchors=(((1.0, 1.0),),), anchor_t=2.9)
    assert autoanchor_metric([x], [1.0], params) == (0.0, 0.0)
    assert autoanchor_metric([np.nextafter(x, F32(1))], [1.0], params) == (1.0, 1.0)


# --- the rules, on hand-made boxes (default yolov5s anchors, 640 x 640, level 0 = stride 8) ---

HW = (640, 640)
V5S = Yolov5Params()


def box_at(cx: float, cy: float, w: float = 10.0, h: float = 13.0) -> np.ndarray:
    return np.array([[cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2]])


@pytest.mark.parametrize(("cx", "grid_x", "cells_x"), [
    (84, 10.5, [10]),  # fraction exactly 0.5: no neighbour on either side
    (82, 10.25, [10, 9]),  # < 0.5: the left neighbour (j)
    (86, 10.75, [10, 11]),  # > 0.5: the right neighbour (l)
    (80, 10.0, [10, 9, 10]),  # on a grid line: j and l fire, l is the centre cell again
    (8, 1.0, [1, 1]),  # gx > 1 is strict: no left cell, but the duplicate
    (632, 79.0, [79, 78]),  # gxi = nx - gx = 1: no right cell
])
def test_neighbour_cells(cx, grid_x, cells_x):
    """A 10 x 13 box fits the three level-0 anchors only; gy = 10.5 adds no vertical neighbour.
    Rows come offset-major (centre, j, k, l, m), then anchor."""
    box = box_at(cx, 84)
    assert F32(normalised_targets(box, HW)[0, 0] * F32(80)) == grid_x
    entries = build_target_entries(box, HW, V5S)
    assert entries[:, 1:].tolist() == [[0, a, x, 10] for x in cells_x for a in range(3)]
    assert assign_image(box, HW, V5S).positives.tolist() == [3 * len(cells_x)]


def test_centre_rounded_onto_the_image_edge_is_clamped():
    """A centre 1.5e-6 px left of the right edge becomes gx = nx in float32; the centre cell nx
    is clamped to nx - 1 (line 229) and the left neighbour is that same cell."""
    params = Yolov5Params(strides=(32,), anchors=(((3e-6, 10.0),),), anchor_t=4.0)
    box = np.array([[63.999997, 0.0, 64.0, 10.0]])
    assert normalised_targets(box, (64, 64))[0, 0] == 1.0
    assert build_target_entries(box, (64, 64), params)[:, 3].tolist() == [1, 1]


def test_ratio_test_is_strict_and_per_side():
    params = Yolov5Params(strides=(8,), anchors=(((8.0, 8.0),),), anchor_t=4.0)
    at_limit = np.array([[0.0, 0.0, 32.0, 8.0], [0.0, 0.0, 2.0, 8.0]])  # w ratio 4 and 1/4
    inside = np.array([[0.0, 0.0, 31.9, 8.0], [0.0, 0.0, 2.1, 8.0]])
    assert assign_image(at_limit, (64, 64), params).miss_reason.tolist() == [RATIO_OUTSIDE] * 2
    assert assign_image(inside, (64, 64), params).miss_reason.tolist() == [MATCHED] * 2


def test_misses_have_their_reason():
    boxes = np.array([[100.0, 100.0, 104.0, 500.0],  # 4 x 400: too thin for every anchor
                      [100.0, 100.0, 100.0, 140.0],  # zero width
                      [100.0, 100.0, 140.0, 140.0]])
    result = assign_image(boxes, HW, V5S)
    assert result.miss_reason.tolist() == [RATIO_OUTSIDE, DEGENERATE, MATCHED]
    assert result.positives.tolist()[:2] == [0, 0]
    assert result.best_level.tolist()[:2] == [-1, -1]


def test_positive_cells_geometry():
    cells = positive_cells(box_at(80, 84), HW, V5S, 0)
    assert cells.anchor.tolist() == [0, 1, 2] * 3
    assert cells.cell_xyxy.tolist() == [[80, 80, 88, 88]] * 3 + [[72, 80, 80, 88]] * 3 + [
        [80, 80, 88, 88]] * 3
    assert cells.anchor_xyxy[0].tolist() == [79.0, 77.5, 89.0, 90.5]  # 10 x 13 about (84, 84)


def test_image_must_be_letterboxed_to_the_largest_stride():
    with pytest.raises(ValueError, match="multiple of 32"):
        build_target_entries(box_at(80, 84), (640, 620), V5S)


# --- the vectorised rows equal a plain loop over level, offset, anchor, box ---


def reference_entries(boxes: np.ndarray, image_hw: tuple[int, int],
                      params: Yolov5Params) -> list[list[int]]:
    targets = normalised_targets(boxes, image_hw)
    rows = []
    for level, stride in enumerate(params.strides):
        ny, nx = image_hw[0] // stride, image_hw[1] // stride
        kept = []
        for a, (aw, ah) in enumerate(params.anchors[level]):
            for i, (x, y, w, h) in enumerate(targets):
                ratios = [F32(w * F32(nx)) / (F32(aw) / F32(stride)),
                          F32(h * F32(ny)) / (F32(ah) / F32(stride))]
                if all(r > 0 and max(r, F32(1) / r) < F32(params.anchor_t) for r in ratios):
                    kept.append((a, i, F32(x * F32(nx)), F32(y * F32(ny))))
        for dx, dy in [(0, 0), (0.5, 0), (0, 0.5), (-0.5, 0), (0, -0.5)]:
            for a, i, gx, gy in kept:
                fires = {(0, 0): True,
                         (0.5, 0): gx % 1 < 0.5 and gx > 1, (0, 0.5): gy % 1 < 0.5 and gy > 1,
                         (-0.5, 0): F32(nx - gx) % 1 < 0.5 and F32(nx - gx) > 1,
                         (0, -0.5): F32(ny - gy) % 1 < 0.5 and F32(ny - gy) > 1}[(dx, dy)]
                if fires:
                    cx, cy = int(F32(gx - F32(dx))), int(F32(gy - F32(dy)))
                    rows.append([i, level, a, min(max(cx, 0), nx - 1), min(max(cy, 0), ny - 1)])
    return rows


@st.composite
def image_and_boxes(draw):
    height, width = draw(st.sampled_from([(64, 96), (96, 160), (128, 64)]))
    coord = st.integers(0, 8 * 32).map(lambda q: q / 8)  # 1/8 px: exact .0 / .5 grid fractions
    boxes = []
    for _ in range(draw(st.integers(0, 8))):
        x1, x2 = sorted(draw(st.tuples(coord, coord)))
        y1, y2 = sorted(draw(st.tuples(coord, coord)))
        boxes.append([min(x1, width), min(y1, height), min(x2, width), min(y2, height)])
    return (height, width), np.array(boxes, np.float64).reshape(-1, 4)


# half-size yolov5s anchors, so that the small images give every level some boxes
SMALL_ANCHORS = (((5.0, 7.0), (8.0, 15.0), (16.0, 11.0)),
                 ((15.0, 30.0), (31.0, 22.0), (30.0, 60.0)),
                 ((58.0, 45.0), (78.0, 99.0), (186.0, 163.0)))


@settings(max_examples=60, deadline=None)
@given(image_and_boxes(), st.sampled_from([2.9, 4.0]))
def test_vectorised_entries_equal_plain_loop(image_boxes, anchor_t):
    image_hw, boxes = image_boxes
    params = Yolov5Params(anchors=SMALL_ANCHORS, anchor_t=anchor_t)
    ours = build_target_entries(boxes, image_hw, params)
    assert ours.tolist() == reference_entries(boxes, image_hw, params)
