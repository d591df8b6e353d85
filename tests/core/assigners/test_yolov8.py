"""YOLOv8 candidate points equal ultralytics' `TaskAlignedAssigner.select_candidates_in_gts`
exactly for 8.3.253, 8.4.0 and 8.4.190 (tests/fixtures/assigners/yolov8_candidates.json), and the
rules that tell the three apart hold (docs/families.md#yolov8)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.assigners.common import DEGENERATE, MATCHED, NO_POINT_INSIDE
from core.assigners.yolov8 import (
    YOLOV8_SEMANTICS,
    Yolov8Params,
    anchor_points,
    assign_image,
    boxes_as_tested,
    candidate_mask,
    candidate_rects,
    positive_points,
    semantics_for_version,
)
from tests.core.assigners.recordings import recording

F32 = np.float32
RECORDED_VERSIONS = ("8.3.253", "8.4.0", "8.4.190")


def recorded() -> dict:
    return recording("yolov8_candidates.json")


def recorded_mask(case: dict, rects: list) -> np.ndarray:
    """The fixture's per-level inclusive rectangles -> the flat [P] mask they encode."""
    mask = np.zeros(case["level_offsets"][-1] + np.prod(case["grid_hw"][-1]), bool)
    for (gh, gw), offset, rect in zip(case["grid_hw"], case["level_offsets"], rects, strict=True):
        if rect is not None:
            level = np.zeros((gh, gw), bool)
            level[rect[2] : rect[3] + 1, rect[0] : rect[1] + 1] = True
            mask[offset : offset + gh * gw] = level.ravel()
    return mask


def test_recorded_versions_map_onto_the_semantics():
    assert sorted(recorded()["versions"]) == sorted(RECORDED_VERSIONS)
    assert [semantics_for_version(v) for v in RECORDED_VERSIONS] == list(YOLOV8_SEMANTICS)
    assert semantics_for_version("8.0.0") == "8.3"
    assert semantics_for_version("8.4.127") == "8.4.0"
    assert semantics_for_version("8.4.128") == "8.4.128"
    with pytest.raises(ValueError):
        semantics_for_version("11.0.0")


def test_anchor_points_are_make_anchors():
    for case in recorded()["cases"]:
        points, levels = anchor_points(tuple(case["image_hw"]), tuple(case["strides"]))
        rebuilt = []
        for (gh, gw), s in zip(case["grid_hw"], case["strides"], strict=True):
            ys, xs = np.meshgrid(np.arange(gh) + 0.5, np.arange(gw) + 0.5, indexing="ij")
            rebuilt.append(np.stack([xs.ravel() * s, ys.ravel() * s], 1))
        assert points.dtype == F32
        assert np.array_equal(points, np.concatenate(rebuilt).astype(F32)), case["id"]
        assert np.flatnonzero(np.diff(levels, prepend=-1)).tolist() == case["level_offsets"]


@pytest.mark.parametrize("version", RECORDED_VERSIONS)
def test_candidates_equal_select_candidates_in_gts(version):
    cases = boxes = candidates = 0
    for case in recorded()["cases"]:
        hw, b = tuple(case["image_hw"]), np.array(case["boxes_xyxy"])
        params = Yolov8Params(tuple(case["strides"]), semantics_for_version(version))
        result = case["results"][version]
        mask = candidate_mask(b, hw, params)
        for i, rects in enumerate(result["rects"]):
            assert np.array_equal(mask[i], recorded_mask(case, rects)), (case["id"], i)
        assert mask.sum(axis=1).tolist() == result["count"], case["id"]
        ours = [[None if r[0] < 0 else r.tolist() for r in box] for box in
                candidate_rects(b, hw, params)]
        assert ours == result["rects"], case["id"]
        assert assign_image(b, hw, params).positives.tolist() == result["count"], case["id"]
        cases, boxes, candidates = cases + 1, boxes + len(b), candidates + int(mask.sum())
    assert (cases, boxes) == (44, 1011)
    assert candidates > 100_000


def test_recorded_misses_have_their_reason():
    """The 4 recorded zero-size boxes get nothing in 8.3 and candidates in 8.4."""
    reasons = {v: {MATCHED: 0, DEGENERATE: 0, NO_POINT_INSIDE: 0} for v in RECORDED_VERSIONS}
    for case in recorded()["cases"]:
        hw, b = tuple(case["image_hw"]), np.array(case["boxes_xyxy"])
        for version in RECORDED_VERSIONS:
            params = Yolov8Params(tuple(case["strides"]), semantics_for_version(version))
            result = assign_image(b, hw, params)
            for reason, count in zip(*np.unique(result.miss_reason, return_counts=True),
                                     strict=True):
                reasons[version][int(reason)] += int(count)
            zero_count = np.array(case["results"][version]["count"]) == 0
            assert (result.miss_reason != MATCHED).tolist() == zero_count.tolist()
    assert reasons["8.3.253"][DEGENERATE] == 4
    assert reasons["8.4.0"][DEGENERATE] == reasons["8.4.190"][DEGENERATE] == 0
    assert reasons["8.4.0"][NO_POINT_INSIDE] == reasons["8.4.190"][NO_POINT_INSIDE] == 0


# --- the rules, on hand-made boxes (640 x 640, strides 8, 16, 32) ---

HW = (640, 640)
V83, V840, V84128 = (Yolov8Params(semantics=s) for s in YOLOV8_SEMANTICS)


def count(box: list[float], params: Yolov8Params) -> int:
    return int(assign_image(np.array([box]), HW, params).positives[0])


def test_points_on_the_edge_are_outside():
    """Strict inside: x1 = y1 = 4 excludes level 0's first column and row (centres at 4)."""
    def level0(box):
        levels, xy = positive_points(np.array([box]), HW, V83, 0)
        return xy[levels == 0].tolist()

    assert level0([4.0, 4.0, 20.0, 20.0]) == [[12.0, 12.0]]
    assert level0([3.999, 3.999, 20.0, 20.0]) == [[4.0, 4.0], [12.0, 4.0], [4.0, 12.0],
                                                  [12.0, 12.0]]


def test_thin_tick_gets_candidates_only_from_8_4():
    """3 px wide, centre x 102: no column centre in (100.5, 103.5); 8.4 widens it to 16 px,
    x in (94, 110) holds column centres 100, 108 (level 0) and 104 (level 1)."""
    tick = [100.5, 40.0, 103.5, 200.0]
    assert count(tick, V83) == 0
    assert count(tick, V840) == count(tick, V84128) > 0
    assert assign_image(np.array([tick]), HW, V83).miss_reason.tolist() == [NO_POINT_INSIDE]
    levels, xy = positive_points(np.array([tick]), HW, V84128, 0)
    assert sorted(set(xy[:, 0].tolist())) == [100.0, 104.0, 108.0]
    assert sorted(set(levels.tolist())) == [0, 1]


def test_8_4_0_keeps_sides_between_8_and_16():
    """8.4.0 widens a side < 8 to 16 but keeps one of 10: the narrower box gets more. About
    x = 102, 16 px hold column centres 100, 108 (level 0) and 104 (level 1); 10 px lose 108."""
    narrow, wider = [98.5, 40.0, 105.5, 200.0], [97.0, 40.0, 107.0, 200.0]  # 7 and 10 px
    assert count(narrow, V840) > count(wider, V840) > 0
    assert count(wider, V84128) == count(narrow, V84128)  # both become 16 px


def test_zero_size_boxes():
    line = [100.0, 40.0, 100.0, 200.0]
    assert assign_image(np.array([line]), HW, V83).miss_reason.tolist() == [DEGENERATE]
    assert count(line, V840) > 0 and count(line, V84128) > 0
    # an all-zero box is padding for v8DetectionLoss (mask_gt = sum > 0): never widened
    for params in (V83, V840, V84128):
        result = assign_image(np.zeros((1, 4)), HW, params)
        assert result.miss_reason.tolist() == [DEGENERATE]
        assert result.best_level.tolist() == [-1]


def test_tested_boxes_round_trip_float32():
    box = np.array([[10.1, 20.3, 300.7, 400.9]])
    assert np.array_equal(boxes_as_tested(box, V83), box.astype(F32))
    widened = boxes_as_tested(np.array([[100.0, 40.0, 103.0, 200.0]]), V84128)
    assert widened.tolist() == [[93.5, 40.0, 109.5, 200.0]]


def test_image_must_be_letterboxed_to_the_largest_stride():
    with pytest.raises(ValueError, match="multiple of 32"):
        anchor_points((640, 630), (8, 16, 32))
    with pytest.raises(ValueError):
        Yolov8Params(semantics="8.4")


# --- the separable computation equals the real [n, P] test over every point ---


def reference_mask(boxes: np.ndarray, image_hw: tuple[int, int], semantics: str) -> np.ndarray:
    """select_candidates_in_gts as written: widen (8.4), then four differences per point."""
    b = boxes.astype(F32)
    if semantics != "8.3":
        xywh = np.concatenate([(b[:, :2] + b[:, 2:]) / F32(2), b[:, 2:] - b[:, :2]], 1)
        below, size = (8, 16) if semantics == "8.4.0" else (16, 16)
        widen = (xywh[:, 2:] < F32(below)) & (b.sum(1, dtype=F32) > 0)[:, None]
        xywh[:, 2:] = np.where(widen, F32(size), xywh[:, 2:])
        b = np.concatenate([xywh[:, :2] - xywh[:, 2:] / F32(2),
                            xywh[:, :2] + xywh[:, 2:] / F32(2)], 1)
    points = []
    for s in (8, 16, 32):
        ys, xs = np.meshgrid(np.arange(image_hw[0] // s, dtype=F32) + F32(0.5),
                             np.arange(image_hw[1] // s, dtype=F32) + F32(0.5), indexing="ij")
        points.append(np.stack([xs.ravel() * F32(s), ys.ravel() * F32(s)], 1))
    p = np.concatenate(points)[None]  # [1, P, 2]
    deltas = np.concatenate([p - b[:, None, :2], b[:, None, 2:] - p], axis=2)  # [n, P, 4]
    return deltas.min(axis=2) > F32(1e-9)


@st.composite
def image_and_boxes(draw):
    height, width = draw(st.sampled_from([(64, 96), (96, 160), (128, 64)]))
    coord = st.integers(0, 4 * 160).map(lambda q: q / 4)  # quarter pixels: hits point centres
    boxes = []
    for _ in range(draw(st.integers(0, 8))):
        x1, x2 = sorted(draw(st.tuples(coord, coord)))
        y1, y2 = sorted(draw(st.tuples(coord, coord)))
        boxes.append([min(x1, width), min(y1, height), min(x2, width), min(y2, height)])
    return (height, width), np.array(boxes, np.float64).reshape(-1, 4)


@settings(max_examples=60, deadline=None)
@given(image_and_boxes(), st.sampled_from(YOLOV8_SEMANTICS))
def test_separable_mask_equals_pointwise_test(image_boxes, semantics):
    image_hw, boxes = image_boxes
    params = Yolov8Params(semantics=semantics)
    mask = candidate_mask(boxes, image_hw, params)
    assert np.array_equal(mask, reference_mask(boxes, image_hw, semantics))
    result = assign_image(boxes, image_hw, params)
    assert result.positives.tolist() == mask.sum(axis=1).tolist()
    for i in range(len(boxes)):
        levels, xy = positive_points(boxes, image_hw, params, i)
        points, point_levels = anchor_points(image_hw, params.strides)
        assert np.array_equal(xy, points[mask[i]]) and np.array_equal(levels,
                                                                      point_levels[mask[i]])
