"""FCOS positives equal torchvision 0.29.1's `FCOS.compute_loss` `matched_idxs` exactly
(tests/fixtures/assigners/fcos_torchvision.json), and the rules behind them hold on hand-made
boxes (docs/families.md#fcos)."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from core.assigners.common import (
    DEGENERATE,
    MATCHED,
    NO_POINT_INSIDE,
    OUTSIDE_CENTRE_SAMPLING,
    OUTSIDE_SIZE_RANGES,
    TAKEN,
)
from core.assigners.fcos import (
    FcosParams,
    anchor_points,
    assign_image,
    level_grids,
    matched_indices,
    padded_hw,
    positive_points,
    size_ranges,
)
from tests.core.assigners.recordings import recording

F32 = np.float32
PARAMS = FcosParams()


def recorded() -> dict:
    return recording("fcos_torchvision.json")


def recorded_anchors(case: dict) -> np.ndarray:
    """[P, 4] float32: the real anchors, rebuilt from the fixture's description."""
    out = []
    for level in case["levels"]:
        (gh, gw), (sh, sw), b = level["grid_hw"], level["stride_hw"], level["base_anchor"]
        ys, xs = np.meshgrid(np.arange(gh) * sh, np.arange(gw) * sw, indexing="ij")
        xs, ys = xs.ravel(), ys.ravel()
        out.append(np.stack([xs + b[0], ys + b[1], xs + b[2], ys + b[3]], axis=1))
    return np.concatenate(out).astype(F32)


def point_index(image_hw: tuple[int, int], level: int, x: float, y: float) -> int:
    points, levels, _ = anchor_points(image_hw, PARAMS)
    (hit,) = np.nonzero((levels == level) & (points[:, 0] == x) & (points[:, 1] == y))
    return int(hit[0])


# --------------------------------------------------------------------------- the real code


def test_grids_strides_and_points_equal_torchvision():
    """Feature sizes ceil(padded / 2**level) and strides padded // grid, computed from the image
    size alone, equal what the real forward pass produced, e.g. 384x800 -> P6 stride (64, 61)."""
    for case in recorded()["cases"]:
        image_hw = tuple(case["image_hw"])
        grids = level_grids(image_hw, PARAMS)
        assert list(padded_hw(image_hw, PARAMS.size_divisor)) == case["padded_hw"], case["id"]
        assert [list(g) for g, _ in grids] == [lv["grid_hw"] for lv in case["levels"]], case["id"]
        assert [list(s) for _, s in grids] == [lv["stride_hw"] for lv in case["levels"]], case["id"]
        assert [gh * gw for (gh, gw), _ in grids] == case["num_anchors_per_level"]
        anchors = recorded_anchors(case)
        points, _, sizes = anchor_points(image_hw, PARAMS)
        assert np.array_equal(points, (anchors[:, :2] + anchors[:, 2:]) / F32(2)), case["id"]
        assert np.array_equal(sizes, anchors[:, 2] - anchors[:, 0]), case["id"]
    grids = {tuple(c["image_hw"]): level_grids(tuple(c["image_hw"]), PARAMS)
             for c in recorded()["cases"]}
    assert [s for _, s in grids[(384, 800)][3:]] == [(64, 61), (128, 114)]
    assert [s for _, s in grids[(600, 1000)][3:]] == [(60, 64), (121, 128)]


def test_matched_indices_equal_compute_loss_point_for_point():
    cases = boxes = points = positives = 0
    for case in recorded()["cases"]:
        image_hw = tuple(case["image_hw"])
        matched = matched_indices(np.array(case["boxes_xyxy"]), image_hw, PARAMS)
        expected = np.full(sum(case["num_anchors_per_level"]), -1, np.int64)
        for box, indices in enumerate(case["positives"]):
            expected[indices] = box
        assert np.array_equal(matched, expected), case["id"]
        cases, boxes, points = cases + 1, boxes + len(case["boxes_xyxy"]), points + len(matched)
        positives += int((matched >= 0).sum())
    assert (cases, boxes) == (40, 840)
    assert (points, positives) == (267_800, 3_230)


def test_positive_counts_and_reasons_per_box():
    for case in recorded()["cases"]:
        result = assign_image(np.array(case["boxes_xyxy"]), tuple(case["image_hw"]), PARAMS)
        counts = [len(p) for p in case["positives"]]
        assert result.positives.tolist() == counts, case["id"]
        assert ((result.miss_reason == MATCHED) == (result.positives > 0)).all()
        assert (result.best_level[result.positives == 0] == -1).all()
        degenerate = [k == "degenerate" for k in case["kinds"]]
        assert ((result.miss_reason == DEGENERATE) == degenerate).all(), case["id"]


def test_recorded_float32_area_tie_goes_to_the_lower_index():
    """fcos-004: box 1 (area 3584) keeps its points against the smaller box 7 (3581.68):
    float32 1e8 - area is the same number for both, and max() keeps the first."""
    case = next(c for c in recorded()["cases"] if c["id"] == "fcos-004")
    result = assign_image(np.array(case["boxes_xyxy"]), tuple(case["image_hw"]), PARAMS)
    assert result.positives[1] == 6 and result.positives[7] == 0
    assert result.miss_reason[7] == TAKEN


# --------------------------------------------------------------------------- the rules


def test_size_ranges_follow_the_anchor_sizes():
    assert size_ranges(PARAMS) == [(0, 64), (64, 128), (128, 256), (256, 512), (512, math.inf)]


def test_a_largest_side_distance_of_exactly_64_matches_no_level():
    """The point (256, 256) is 64 px from the box's left and right sides: level 0 needs < 64,
    level 1 needs > 64 (both strict). 0.5 px narrower, level 0 takes it."""
    image_hw = (512, 512)
    p3, p4 = point_index(image_hw, 0, 256, 256), point_index(image_hw, 1, 256, 256)
    matched = matched_indices(np.array([[192.0, 240.0, 320.0, 272.0]]), image_hw, PARAMS)
    assert matched[p3] == -1 and matched[p4] == -1
    assert matched.max() == 0  # other points of the box still match (e.g. P4 (240, 256))
    matched = matched_indices(np.array([[192.5, 240.0, 319.5, 272.0]]), image_hw, PARAMS)
    assert matched[p3] == 0 and matched[p4] == -1


def test_duplicates_the_first_box_takes_every_point():
    box = [100.0, 120.0, 180.0, 210.0]
    result = assign_image(np.array([box, box]), (512, 512), PARAMS)
    alone = assign_image(np.array([box]), (512, 512), PARAMS)
    assert result.positives.tolist() == [alone.positives[0], 0]
    assert result.miss_reason.tolist() == [MATCHED, TAKEN]


def test_float32_area_tie_lower_index_wins_even_when_larger():
    """Areas 3584 and 3581.44: 1e8 - area rounds to 99996416 for both (float32 spacing is 8
    there), so the first box wins although it is larger; 64 px² apart the smaller one wins."""
    larger = [96.0, 98.0, 160.0, 154.0]  # 64 x 56 = 3584
    near = [96.0, 98.0, 160.0, 153.96]  # 64 x 55.96 = 3581.44; qualifies at the same points
    smaller = [96.0, 98.0, 160.0, 153.0]  # 64 x 55 = 3520
    image_hw = (512, 512)
    assert F32(1e8) - F32(3584) == F32(1e8) - F32(64) * (F32(153.96) - F32(98))
    alone = assign_image(np.array([larger]), image_hw, PARAMS).positives[0]
    assert alone > 0
    tie = assign_image(np.array([larger, near]), image_hw, PARAMS)
    assert tie.positives.tolist() == [alone, 0] and tie.miss_reason[1] == TAKEN
    swapped = assign_image(np.array([near, larger]), image_hw, PARAMS)
    assert swapped.positives[1] == 0 and swapped.positives[0] > 0
    apart = assign_image(np.array([larger, smaller]), image_hw, PARAMS)
    assert apart.positives[0] < alone and apart.positives[1] > 0


def test_miss_reasons_name_the_first_failing_test():
    image_hw = (512, 640)
    boxes = np.array([
        [50.0, 50.0, 50.0, 90.0],  # zero width
        [1.0, 1.0, 7.0, 7.0],  # between the P3 points 0 and 8: none strictly inside
        [0.0, 101.0, 600.0, 107.0],  # strip: only row y=104 inside, largest distance ~300
    ])
    result = assign_image(boxes, image_hw, PARAMS)
    assert result.miss_reason.tolist() == [DEGENERATE, NO_POINT_INSIDE, OUTSIDE_SIZE_RANGES]
    assert result.positives.tolist() == [0, 0, 0]
    assert result.best_level.tolist() == [-1, -1, -1]
    # Radius 0.25 x 8 = 2 px: P3 points 8 and 16 are exactly 2 px from the centre 10 (strict).
    tight = FcosParams(center_sampling_radius=0.25)
    result = assign_image(np.array([[0.0, 0.0, 20.0, 20.0]]), image_hw, tight)
    assert result.miss_reason.tolist() == [OUTSIDE_CENTRE_SAMPLING]


def test_positive_points_are_the_matched_points():
    boxes = np.array([[100.0, 120.0, 180.0, 210.0], [300.0, 40.0, 500.0, 400.0]])
    image_hw = (512, 512)
    matched = matched_indices(boxes, image_hw, PARAMS)
    points, levels, _ = anchor_points(image_hw, PARAMS)
    result = assign_image(boxes, image_hw, PARAMS)
    for box in range(2):
        level, xy = positive_points(boxes, image_hw, PARAMS, box)
        assert np.array_equal(xy, points[matched == box])
        assert np.array_equal(level, levels[matched == box])
        assert len(xy) == result.positives[box]
        assert result.best_level[box] == np.bincount(level).argmax()


def test_no_boxes_leaves_every_point_background():
    matched = matched_indices(np.zeros((0, 4)), (320, 480), PARAMS)
    assert len(matched) == len(anchor_points((320, 480), PARAMS)[0])
    assert (matched == -1).all()
    assert assign_image(np.zeros((0, 4)), (320, 480), PARAMS).positives.shape == (0,)


# --------------------------------------------------------------------------- brute force


def brute_force(boxes: np.ndarray, image_hw: tuple[int, int]) -> list[int]:
    """compute_loss written out point by point and box by box, in float32 scalars."""
    points, levels, sizes = anchor_points(image_hw, PARAMS)
    ranges = size_ranges(PARAMS)
    gt = boxes.astype(F32)
    out = []
    for (x, y), level, size in zip(points, levels, sizes, strict=True):
        best, best_score = -1, F32(0)
        for i, (x1, y1, x2, y2) in enumerate(gt):
            cx, cy = (x1 + x2) / F32(2), (y1 + y2) / F32(2)
            if not max(abs(x - cx), abs(y - cy)) < F32(1.5) * size:
                continue
            sides = [x - x1, y - y1, x2 - x, y2 - y]
            low, high = ranges[level]
            if min(sides) > 0 and low < max(sides) < high:
                score = F32(1e8) - (x2 - x1) * (y2 - y1)
                if score > best_score:
                    best, best_score = i, score
        out.append(best)
    return out


lattice = st.integers(0, 40).map(lambda v: v * 4.0)  # 4 px lattice: exact boundaries
fraction = st.sampled_from([0.0, 0.0, 0.5, 0.01, 3.9375])


@st.composite
def small_images(draw):
    image_hw = (draw(st.sampled_from([64, 96, 160])), draw(st.sampled_from([64, 128, 160])))
    n = draw(st.integers(1, 6))
    boxes = []
    for _ in range(n):
        x1, y1 = draw(lattice) + draw(fraction), draw(lattice) + draw(fraction)
        w, h = draw(lattice) + draw(fraction), draw(lattice) + draw(fraction)
        boxes.append([x1, y1, min(x1 + w, image_hw[1]), min(y1 + h, image_hw[0])])
    if draw(st.booleans()):
        boxes.append(list(boxes[0]))  # a duplicate
    return np.array(boxes), image_hw


@settings(max_examples=40, deadline=None)
@given(small_images())
def test_vectorised_matching_equals_a_point_by_point_reference(image):
    boxes, image_hw = image
    assert matched_indices(boxes, image_hw, PARAMS).tolist() == brute_force(boxes, image_hw)
