"""ATSS positives equal mmdet 3.3.0's `ATSSAssigner.assign` (topk 9) on `AnchorGenerator` priors
exactly (tests/fixtures/assigners/atss_mmdet.json), and the rules behind them hold on hand-made
boxes (docs/families.md#atss).

Distance ties: where a box's 9th and 10th nearest prior centres on a level are equally far,
`torch.topk` keeps one of them in an order the real code does not define. Our rule keeps the
lower prior index. The fixture flags such boxes (`gt_diagnostics[].topk_tie_levels`, 67 of 815)
and records the candidate sets the real code used, so:
- every box WITHOUT a tie is compared exactly with our own candidate selection (candidates,
  IoU mean / std / threshold bit for bit, positives);
- every case is compared exactly, prior for prior, with the recorded candidate sets fed in
  through `candidates=` (the test hook), tied boxes included.
"""

from __future__ import annotations

import numpy as np

from core.assigners.atss import (
    AtssParams,
    assign_image,
    assigned_gt_inds,
    bbox_overlaps,
    featmap_sizes,
    match,
    positive_anchors,
    priors,
    torch_column_sum,
)
from core.assigners.common import BELOW_THRESHOLD, DEGENERATE, MATCHED, NO_POINT_INSIDE, TAKEN
from tests.core.assigners.recordings import recording

F32 = np.float32
PARAMS = AtssParams()


def recorded() -> dict:
    return recording("atss_mmdet.json")


def recorded_priors(case: dict) -> np.ndarray:
    """[A, 4] float32: the real priors, rebuilt from the fixture's description."""
    out = []
    for level in case["levels"]:
        (h, w), s, b = level["featmap_hw"], level["stride"], level["base_anchor"]
        ys, xs = np.meshgrid(np.arange(h) * s, np.arange(w) * s, indexing="ij")
        xs, ys = xs.ravel(), ys.ravel()
        out.append(np.stack([xs + b[0], ys + b[1], xs + b[2], ys + b[3]], axis=1))
    return np.concatenate(out).astype(F32)


def expected_gt_inds(case: dict) -> np.ndarray:
    expected = np.zeros(sum(case["num_level_priors"]), np.int64)
    for box, indices in enumerate(case["positives"]):
        expected[indices] = box + 1
    return expected


def recorded_candidates(case: dict) -> np.ndarray:
    return np.array([d["candidates"] for d in case["gt_diagnostics"]]).T  # [45, n]


def tied(case: dict) -> np.ndarray:
    return np.array([bool(d["topk_tie_levels"]) for d in case["gt_diagnostics"]])


def per_box(gt_inds: np.ndarray, n: int) -> list[list[int]]:
    return [np.nonzero(gt_inds == i + 1)[0].tolist() for i in range(n)]


# --------------------------------------------------------------------------- the real code


def test_featmap_sizes_and_priors_equal_mmdet():
    """Feature sizes ceil(padded / stride), computed from the image size alone, and the priors
    [gx * s, gy * s] +- 4 s equal the recorded AnchorGenerator output."""
    for case in recorded()["cases"]:
        image_hw = tuple(case["image_hw"])
        sizes = featmap_sizes(image_hw, PARAMS)
        assert [list(s) for s in sizes] == [lv["featmap_hw"] for lv in case["levels"]]
        assert [lv["stride"] for lv in case["levels"]] == list(PARAMS.strides)
        anchors, counts = priors(image_hw, PARAMS)
        assert counts == case["num_level_priors"], case["id"]
        assert anchors.dtype == F32
        assert np.array_equal(anchors, recorded_priors(case)), case["id"]


def test_untied_boxes_equal_assign_exactly():
    """Our own candidate selection: every box without a distance tie has the recorded candidate
    set, IoU mean, std and threshold (float32, bit for bit) and positives."""
    boxes = 0
    for case in recorded()["cases"]:
        n = len(case["boxes_xyxy"])
        result = match(np.array(case["boxes_xyxy"]), tuple(case["image_hw"]), PARAMS)
        ours = per_box(result.assigned_gt_inds, n)
        for g, diag in enumerate(case["gt_diagnostics"]):
            if diag["topk_tie_levels"]:
                continue
            where = f"{case['id']} box {g}"
            assert sorted(result.candidates[:, g].tolist()) == diag["candidates"], where
            assert float(result.iou_mean[g]) == diag["iou_mean"], where
            assert float(result.iou_std[g]) == diag["iou_std"], where
            assert float(result.iou_thr[g]) == diag["iou_thr"], where
            assert ours[g] == case["positives"][g], where
            boxes += 1
        if not tied(case).any():
            assert np.array_equal(result.assigned_gt_inds, expected_gt_inds(case)), case["id"]
    assert boxes == 815 - 67


def test_recorded_candidates_reproduce_every_prior_of_every_case():
    """The recorded candidate sets through the test hook: assigned_gt_inds equal the real ones for
    all 40 cases, prior for prior, tied boxes included. Std is exact; where tied distances were
    summed in another order the float32 mean may differ by one ulp (no decision changes)."""
    cases = boxes = priors_compared = 0
    for case in recorded()["cases"]:
        image_hw, gt = tuple(case["image_hw"]), np.array(case["boxes_xyxy"])
        result = match(gt, image_hw, PARAMS, candidates=recorded_candidates(case))
        assert np.array_equal(result.assigned_gt_inds, expected_gt_inds(case)), case["id"]
        assert np.array_equal(
            assigned_gt_inds(gt, image_hw, PARAMS, candidates=recorded_candidates(case)),
            result.assigned_gt_inds)
        for g, diag in enumerate(case["gt_diagnostics"]):
            assert float(result.iou_std[g]) == diag["iou_std"]
            for ours, theirs in ((result.iou_mean[g], diag["iou_mean"]),
                                 (result.iou_thr[g], diag["iou_thr"])):
                assert abs(ours - F32(theirs)) <= np.spacing(F32(theirs)), case["id"]
                if not diag["topk_tie_levels"]:
                    assert float(ours) == theirs
        cases, boxes = cases + 1, boxes + len(gt)
        priors_compared += len(result.assigned_gt_inds)
    assert (cases, boxes, priors_compared) == (40, 815, 267_800)


def test_positive_counts_and_reasons_per_box():
    for case in recorded()["cases"]:
        gt, image_hw = np.array(case["boxes_xyxy"]), tuple(case["image_hw"])
        result = assign_image(gt, image_hw, PARAMS, candidates=recorded_candidates(case))
        assert result.positives.tolist() == [len(p) for p in case["positives"]], case["id"]
        assert ((result.miss_reason == MATCHED) == (result.positives > 0)).all()
        degenerate = [k == "degenerate" for k in case["kinds"]]
        assert ((result.miss_reason == DEGENERATE) == degenerate).all(), case["id"]
        ours = assign_image(gt, image_hw, PARAMS)
        untied = ~tied(case)
        assert np.array_equal(ours.positives[untied], result.positives[untied]), case["id"]


def test_our_tie_rule_keeps_the_lower_prior_index():
    """Box centre (256, 192), halfway between the P7 rows 128 and 256 (4 x 4 priors, stride
    128): the 9th to 12th nearest P7 priors are equally far; the stable rule keeps the lower
    indices (the real torch.topk: undefined)."""
    gt = np.array([[200.0, 136.0, 312.0, 248.0]])
    image_hw = (512, 512)
    result = match(gt, image_hw, PARAMS)
    anchors, counts = priors(image_hw, PARAMS)
    start = sum(counts[:4])
    centres = (anchors[start:, :2] + anchors[start:, 2:]) / 2  # [16, 2]
    distance = np.hypot(centres[:, 0] - 256.0, centres[:, 1] - 192.0)
    order = np.argsort(distance, kind="stable")
    assert distance[order[8]] == distance[order[9]]  # a tie at the 9th place
    assert (result.candidates[-9:, 0] - start).tolist() == order[:9].tolist()


# --------------------------------------------------------------------------- the rules


def test_mean_adds_in_torch_cpu_order():
    """1 followed by 44 x 2**-24 (half an ulp of 1 each): a running float32 sum stays 1, the
    exact sum is 1 + 22 ulp, and torch's CPU sum gives three different answers depending on the
    column's position — 14 ulp in blocks of 32 columns (and of 4 below 8 columns, chunks of 16
    rows), 18 ulp for the remaining columns (4 interleaved partial sums), 16 ulp for a single
    column (8-lane vectors). Checked against torch 2.14.1 on CPU."""
    column = np.array([1.0] + [2.0**-24] * 44, F32)[:, None]  # [45, 1]
    running = F32(0)
    for value in column[:, 0]:
        running += value
    assert running == 1.0
    ulp = 2.0**-23
    assert torch_column_sum(np.repeat(column, 40, axis=1)).tolist() == \
        [1 + 14 * ulp] * 32 + [1 + 18 * ulp] * 8
    assert torch_column_sum(np.repeat(column, 5, axis=1)).tolist() == \
        [1 + 14 * ulp] * 4 + [1 + 18 * ulp]
    assert torch_column_sum(column).tolist() == [1 + 16 * ulp]


def test_iou_is_float32_with_the_union_clamped():
    anchors = np.array([[0.0, 0.0, 10.0, 10.0], [0.0, 0.0, 0.0, 0.0]], F32)
    gt = np.array([[5.0, 0.0, 15.0, 10.0], [3.0, 3.0, 3.0, 3.0]], F32)
    iou = bbox_overlaps(anchors, gt)
    assert iou.dtype == F32 and iou.shape == (2, 2)
    assert iou.tolist() == [[F32(50) / F32(150), 0.0], [0.0, 0.0]]  # 0 / 1e-6, not nan


def test_duplicates_the_first_box_takes_every_prior():
    box = [100.0, 120.0, 180.0, 210.0]
    result = assign_image(np.array([box, box]), (512, 512), PARAMS)
    alone = assign_image(np.array([box]), (512, 512), PARAMS)
    assert result.positives.tolist() == [alone.positives[0], 0]
    assert result.miss_reason.tolist() == [MATCHED, TAKEN]
    assert set(assigned_gt_inds(np.array([box, box]), (512, 512), PARAMS).tolist()) == {0, 1}


def test_a_prior_goes_to_the_box_with_the_higher_iou_the_first_on_a_tie():
    """An 80 x 64 and a 64 x 80 box with the same centre share nine positive priors: each goes
    to the box it overlaps more; where both IoUs are equal (by symmetry) the first box wins."""
    gt = np.array([[90.0, 96.0, 170.0, 160.0], [96.0, 90.0, 160.0, 170.0]])
    result = match(gt, (512, 512), PARAMS)
    anchors, _ = priors((512, 512), PARAMS)
    both = np.intersect1d(result.candidates[result.candidate_positive[:, 0], 0],
                          result.candidates[result.candidate_positive[:, 1], 1])
    iou = bbox_overlaps(anchors[both], gt)  # [k, 2]
    assert len(both) == 9 and (iou[:, 0] == iou[:, 1]).sum() == 3
    winners = result.assigned_gt_inds[both] - 1
    assert winners.tolist() == np.where(iou[:, 1] > iou[:, 0], 1, 0).tolist()
    assert set(winners.tolist()) == {0, 1}


def test_thin_ticks_without_a_centre_inside_or_below_the_threshold():
    """ATSS positives need a candidate centre > 0.01 px inside and IoU >= mean + std."""
    image_hw = (512, 512)
    boxes = np.array([
        [97.0, 100.0, 100.0, 300.0],  # 3 px tick between the P3 columns 96 and 104
        [103.995, 100.0, 106.0, 300.0],  # column 104 only 0.005 px inside: not inside
        [103.98, 100.0, 106.0, 300.0],  # 0.02 px inside: matched
        [60.0, 60.0, 60.0, 90.0],  # zero width
    ])
    result = assign_image(boxes, image_hw, PARAMS)
    assert result.miss_reason.tolist() == [NO_POINT_INSIDE, NO_POINT_INSIDE, MATCHED, DEGENERATE]
    assert result.positives[[0, 1, 3]].tolist() == [0, 0, 0]
    # An 18 x 450 px tick on the right edge of a 128 px wide image: its candidates' IoUs plateau
    # around 0.104 on several levels, so mean + std (0.1056) is above every one of them.
    tick = np.array([[110.0, 0.0, 128.0, 450.0]])
    detail = match(tick, (512, 128), PARAMS)
    assert detail.candidate_inside.any()
    assert detail.candidate_iou.max() < detail.iou_thr[0]
    result = assign_image(tick, (512, 128), PARAMS)
    assert result.miss_reason.tolist() == [BELOW_THRESHOLD] and result.positives[0] == 0
    # The same box in a wider image has other coarse candidates and a lower threshold.
    assert assign_image(tick, (512, 512), PARAMS).miss_reason.tolist() == [MATCHED]


def test_an_iou_equal_to_the_threshold_is_positive():
    """One level, topk 2: the box centre (80, 64) lies halfway between the priors at (64, 64)
    and (96, 64), so both candidates have the same IoU, std 0 and thr = that IoU: `>=` keeps
    both (a strict test would keep none). Checked against mmdet 3.3.0."""
    params = AtssParams(strides=(32,), topk=2)
    result = match(np.array([[60.0, 40.0, 100.0, 88.0]]), (128, 128), params)
    assert result.iou_std[0] == 0 and (result.candidate_iou == result.iou_thr).all()
    assert np.nonzero(result.assigned_gt_inds)[0].tolist() == [10, 11]


def test_fewer_priors_than_topk_on_a_level():
    """A 64 x 64 input has a single P6 and P7 prior: each level gives min(9, count) candidates."""
    result = match(np.array([[10.0, 10.0, 50.0, 40.0]]), (64, 64), PARAMS)
    assert result.level_counts == [64, 16, 4, 1, 1]
    assert result.candidates.shape == (9 + 9 + 4 + 1 + 1, 1)
    assert assign_image(np.array([[10.0, 10.0, 50.0, 40.0]]), (64, 64), PARAMS).positives[0] > 0


def test_positive_anchors_are_the_assigned_priors():
    boxes = np.array([[100.0, 120.0, 180.0, 210.0], [301.3, 40.7, 497.1, 398.9]])
    anchors, _ = priors((512, 512), PARAMS)
    gt_inds = assigned_gt_inds(boxes, (512, 512), PARAMS)
    result = assign_image(boxes, (512, 512), PARAMS)
    for box in range(2):
        mine = positive_anchors(boxes, (512, 512), PARAMS, box)
        assert np.array_equal(mine, anchors[gt_inds == box + 1])
        assert len(mine) == result.positives[box] > 0


def test_no_boxes_leaves_every_prior_background():
    gt_inds = assigned_gt_inds(np.zeros((0, 4)), (320, 480), PARAMS)
    assert len(gt_inds) == len(priors((320, 480), PARAMS)[0]) and (gt_inds == 0).all()
    assert assign_image(np.zeros((0, 4)), (320, 480), PARAMS).positives.shape == (0,)
