"""Augmented coverage against a brute-force Monte-Carlo of the same augmentations.

The reference here is written independently of core.augmentation: per draw, per image, per box
plain Python loops transform the boxes (float32 scalars for keras-cv's JitteredResize, as there),
YOLOv5's `box_candidates` is transcribed as it is in utils/augmentations.py, and coverage is a
full IoU matrix with the framework's matcher written out (tests/core/coverage/coverage_reference).

1. Same random parameters (the ones `draw_parameters` gives): every draw's per-box positives and
   drop reasons must agree exactly.
2. Own draws (Python's `random` with another seed, the distributions as docs/augmentation.md
   states them): per-box probabilities must agree within the stated ± — the binomial standard
   errors of both estimates combined: every box within 4 of them (3 would be exceeded by chance
   about once in 370 boxes) and at most 2 % of the boxes beyond 3.
3. The criterion can fail: a reference with another scale range is told apart.
"""

from __future__ import annotations

import math
import random
from dataclasses import replace

import numpy as np
import pytest

from core.analysis import grids_for, match_rule
from core.anchor_config import default_config
from core.augmentation import (
    AREA_RATIO,
    ASPECT_RATIO,
    CROP_AREA,
    KEPT,
    OUTSIDE,
    TOO_SMALL,
    JitteredResize,
    RandomCrop,
    YoloScale,
    augmented_coverage,
    draw_parameters,
)
from core.boxes import BoxTable
from tests.core.coverage.coverage_reference import MATCHERS, iou_matrix

F32 = np.float32


def random_table(seed: int, images: int = 10) -> BoxTable:
    """Small images of mixed sizes; boxes of every kind: blobs, thin strips (1-3 px), long
    carriers, boxes on the borders, overlapping ones."""
    rng = np.random.default_rng(seed)
    heights = rng.integers(64, 161, images)
    widths = rng.integers(64, 161, images)
    rows = []
    for i in range(images):
        h, w = int(heights[i]), int(widths[i])
        for k in range(int(rng.integers(2, 8))):
            shape = rng.integers(0, 4)
            if shape == 0:  # blob
                bw, bh = rng.uniform(6, 60), rng.uniform(6, 60)
            elif shape == 1:  # narrowband strip
                bw, bh = rng.uniform(30, w), rng.uniform(0.6, 3)
            elif shape == 2:  # burst
                bw, bh = rng.uniform(2, 8), rng.uniform(4, 20)
            else:  # wide
                bw, bh = rng.uniform(20, w), rng.uniform(10, h)
            bw, bh = min(bw, w), min(bh, h)
            x1 = rng.uniform(0, w - bw) if k % 3 else (0.0 if k % 2 else w - bw)  # borders
            y1 = rng.uniform(0, h - bh)
            rows.append((i, shape, x1, y1, x1 + bw, y1 + bh, k))
    image, cls, x1, y1, x2, y2, index = (np.array(v) for v in zip(*rows, strict=True))
    return BoxTable(
        image=image.astype(np.int32), cls=cls.astype(np.int32), x1=x1, y1=y1, x2=x2, y2=y2,
        box_index=index.astype(np.int32), image_ids=np.arange(images),
        image_heights=heights.astype(np.int32), image_widths=widths.astype(np.int32),
        class_names={0: "blob", 1: "strip", 2: "burst", 3: "wide"}, spec="random")


def small_config(framework: str):
    return replace(default_config(framework), levels=(3, 4, 5), strides=(8.0, 16.0, 32.0),
                   sizes=(16.0, 32.0, 64.0), scales=(1.0, 1.26))


# --- the reference transforms: one box at a time -------------------------------------------


def ref_jitter(aug: JitteredResize, box, h, w, factor, u_y, u_x):
    """keras-cv JitteredResize for one box, float32 scalars; (box or None, reason)."""
    H, W, f = F32(h), F32(w), F32(factor)
    sh, sw = np.round(H * f), np.round(W * f)
    rh, rw = sh / H, sw / W
    scale = rh if rh < rw else rw
    sh, sw = np.round(H * scale), np.round(W * scale)
    ish, isw = sh / H, sw / W
    ch, cw = aug.crop_size or aug.target_size
    oy = F32(int(max(sh - F32(ch), F32(0)) * F32(u_y)))
    ox = F32(int(max(sw - F32(cw), F32(0)) * F32(u_x)))
    th, tw = F32(aug.target_size[0]), F32(aug.target_size[1])
    rel = []
    for value, gain, offset, size in zip(box, (isw, ish, isw, ish), (ox, oy, ox, oy),
                                         (tw, th, tw, th), strict=True):
        r = (F32(value) * gain - offset) / size
        rel.append(min(max(r, F32(0)), F32(1)))
    if rel[2] - rel[0] <= 0 or rel[3] - rel[1] <= 0:
        return None, OUTSIDE
    out = [rel[0] * tw, rel[1] * th, rel[2] * tw, rel[3] * th]
    if out[2] <= out[0] or out[3] <= out[1]:
        return None, OUTSIDE
    return [float(v) for v in out], KEPT


def ref_crop(aug: RandomCrop, box, h, w, oy, ox):
    ch, cw = aug.size
    x1, y1, x2, y2 = box
    cx1, cx2 = min(max(x1 - ox, 0), cw), min(max(x2 - ox, 0), cw)
    cy1, cy2 = min(max(y1 - oy, 0), ch), min(max(y2 - oy, 0), ch)
    if cx2 - cx1 <= 0 or cy2 - cy1 <= 0:
        return None, OUTSIDE
    if (cx2 - cx1) * (cy2 - cy1) < aug.min_area * ((x2 - x1) * (y2 - y1)):
        return None, CROP_AREA
    return [cx1, cy1, cx2, cy2], KEPT


def yolov5_box_candidates(box1, box2, wh_thr=2, ar_thr=100, area_thr=0.1, eps=1e-16):
    """YOLOv5 utils/augmentations.py `box_candidates`, as written there."""
    w1, h1 = box1[2] - box1[0], box1[3] - box1[1]
    w2, h2 = box2[2] - box2[0], box2[3] - box2[1]
    ar = np.maximum(w2 / (h2 + eps), h2 / (w2 + eps))  # aspect ratio
    return (w2 > wh_thr) & (h2 > wh_thr) & (w2 * h2 / (w1 * h1 + eps) > area_thr) & (ar < ar_thr)


def ref_yolo_letterbox(imgsz, h0, w0):
    """YOLOv5 load_image + letterbox(auto=False): (ratio * w, ratio * h, padw, padh)."""
    r = imgsz / max(h0, w0)
    h, w = (math.ceil(h0 * r), math.ceil(w0 * r)) if r != 1 else (h0, w0)
    ratio = min(imgsz / h, imgsz / w)
    new_unpad = round(w * ratio), round(h * ratio)  # Python's round: half to even
    return ratio * w, ratio * h, (imgsz - new_unpad[0]) / 2, (imgsz - new_unpad[1]) / 2


def ref_yolo(aug: YoloScale, box, h0, w0, s, tx, ty):
    width, height, padw, padh = ref_yolo_letterbox(aug.imgsz, h0, w0)
    x1, y1, x2, y2 = box
    lb = [x1 / w0 * width + padw, y1 / h0 * height + padh, x2 / w0 * width + padw,
          y2 / h0 * height + padh]
    size = aug.imgsz
    m02 = tx * size - s * size / 2
    m12 = ty * size - s * size / 2
    new = [lb[0] * s + m02, lb[1] * s + m12, lb[2] * s + m02, lb[3] * s + m12]
    new = [min(max(v, 0.0), size) for v in new]
    if new[2] <= new[0] or new[3] <= new[1]:
        return None, OUTSIDE
    box1 = np.array([[v * s] for v in lb])  # (4, 1), as targets[:, 1:5].T * s
    box2 = np.array([[v] for v in new])
    if yolov5_box_candidates(box1, box2, aug.wh_thr, aug.ar_thr, aug.area_thr)[0]:
        return new, KEPT
    w1, h1 = box1[2, 0] - box1[0, 0], box1[3, 0] - box1[1, 0]
    w2, h2 = new[2] - new[0], new[3] - new[1]
    reason = 0
    if not (w2 > aug.wh_thr and h2 > aug.wh_thr):
        reason |= TOO_SMALL
    if not w2 * h2 / (w1 * h1 + 1e-16) > aug.area_thr:
        reason |= AREA_RATIO
    if not max(w2 / (h2 + 1e-16), h2 / (w2 + 1e-16)) < aug.ar_thr:
        reason |= ASPECT_RATIO
    return None, reason


def ref_transform(aug, table: BoxTable, params_of_image):
    """One draw by loops: per box (box or None, reason); `params_of_image(i)` gives the
    image's random values."""
    out = []
    for row in range(len(table)):
        i = int(table.image[row])
        h, w = int(table.image_heights[i]), int(table.image_widths[i])
        box = [float(table.x1[row]), float(table.y1[row]), float(table.x2[row]),
               float(table.y2[row])]
        values = params_of_image(i)
        if isinstance(aug, JitteredResize):
            out.append(ref_jitter(aug, box, h, w, *values))
        elif isinstance(aug, RandomCrop):
            out.append(ref_crop(aug, box, h, w, *values))
        else:
            out.append(ref_yolo(aug, box, h, w, *values))
    return out


def ref_matched(aug, table: BoxTable, boxes, config) -> np.ndarray:
    """Brute-force positives of one draw: per image, the kept boxes in table order, all anchors
    of the output size, the full IoU matrix and the framework's matcher."""
    out_h, out_w = aug.output_size
    grids = grids_for(config)(out_h, out_w)
    anchors = np.concatenate([g.expand() for g in grids]).reshape(-1, 4)
    rule = match_rule(config)
    matched = np.zeros(len(table), bool)
    for i in range(table.image_count):
        rows = [r for r in np.flatnonzero(table.image == i) if boxes[r][0] is not None]
        if not rows:
            continue
        ious = iou_matrix(np.array([boxes[r][0] for r in rows]), anchors)
        assigned = MATCHERS[rule.kind](ious, rule.positive_iou)
        matched[rows] = np.isin(np.arange(len(rows)), assigned)
    return matched


def params_from_ours(aug, table: BoxTable, seed: int, draw: int):
    """The image's random values from core's own draw (for the exact comparison)."""
    p = draw_parameters(aug, table.image_count, seed, draw)
    if isinstance(aug, JitteredResize):
        return lambda i: (p["factor"][i], p["offset_u"][i, 0], p["offset_u"][i, 1])
    if isinstance(aug, RandomCrop):
        offsets = aug.offsets(table.image_heights, table.image_widths, p["offset_u"])
        return lambda i: (int(offsets[i, 0]), int(offsets[i, 1]))
    return lambda i: (p["scale"][i], p["translate"][i, 0], p["translate"][i, 1])


def params_own(aug, table: BoxTable, rnd: random.Random):
    """Independent draws with Python's random, per the documented distributions."""
    values = []
    for i in range(table.image_count):
        h, w = int(table.image_heights[i]), int(table.image_widths[i])
        if isinstance(aug, JitteredResize):
            lo, hi = aug.scale_factor
            values.append((F32(lo + (hi - lo) * rnd.random()), rnd.random(), rnd.random()))
        elif isinstance(aug, RandomCrop):
            values.append((rnd.randint(0, max(h - aug.size[0], 0)),
                           rnd.randint(0, max(w - aug.size[1], 0))))
        else:
            s = rnd.uniform(1 - aug.scale, 1 + aug.scale)
            t = aug.translate
            values.append((s, rnd.uniform(0.5 - t, 0.5 + t), rnd.uniform(0.5 - t, 0.5 + t)))
    return values.__getitem__


def reference_probability(aug, table, config, draws: int, seed: int) -> np.ndarray:
    rnd = random.Random(seed)
    hits = np.zeros(len(table))
    for _ in range(draws):
        boxes = ref_transform(aug, table, params_own(aug, table, rnd))
        hits += ref_matched(aug, table, boxes, config)
    return hits / draws


CASES = [
    ("jitter", JitteredResize((128, 160), (0.75, 1.3)), "keras-cv"),
    ("jitter-crop", JitteredResize((144, 144), (0.5, 2.0), crop_size=(96, 120)), "torchvision"),
    ("crop", RandomCrop((96, 112), 0.4), "mmdet"),
    ("yolo", YoloScale(160, 0.5, 0.1), "keras-cv"),
    ("yolo-thresholds", YoloScale(128, 0.4, 0.2, wh_thr=0.5, ar_thr=30, area_thr=0.3),
     "torchvision"),
]


DROP_BITS = (OUTSIDE, CROP_AREA, TOO_SMALL, AREA_RATIO, ASPECT_RATIO)
EXPECTED_REASONS = {"jitter": {OUTSIDE}, "jitter-crop": {OUTSIDE}, "crop": {OUTSIDE, CROP_AREA},
                    "yolo": {OUTSIDE, TOO_SMALL, AREA_RATIO},
                    "yolo-thresholds": {AREA_RATIO, ASPECT_RATIO}}


@pytest.mark.parametrize(("name", "aug", "framework"), CASES, ids=[c[0] for c in CASES])
def test_same_draws_agree_exactly(name, aug, framework):
    table = random_table(1)
    config = small_config(framework)
    result = augmented_coverage(table, config, aug, draws=12, seed=5)
    reasons_seen = set()
    for d in range(12):
        boxes = ref_transform(aug, table, params_from_ours(aug, table, 5, d))
        reasons = np.array([reason for _, reason in boxes])
        reasons_seen |= set(reasons.tolist())
        np.testing.assert_array_equal(result.dropped[d], reasons, err_msg=f"draw {d}")
        np.testing.assert_array_equal(result.matched[d], ref_matched(aug, table, boxes, config),
                                      err_msg=f"draw {d}")
    assert result.matched.any() and not result.matched.all()
    bits = {bit for r in reasons_seen for bit in DROP_BITS if r & bit}
    assert EXPECTED_REASONS[name] <= bits  # the drop rules are exercised, not only kept boxes


DRAWS = 400


@pytest.mark.parametrize(("name", "aug", "framework"), CASES, ids=[c[0] for c in CASES])
def test_probabilities_agree_with_an_independent_monte_carlo(name, aug, framework):
    table = random_table(2)
    config = small_config(framework)
    ours = augmented_coverage(table, config, aug, draws=DRAWS, seed=11)
    reference = reference_probability(aug, table, config, DRAWS, seed=12345)
    z = _z_scores(ours.probability, reference, DRAWS, DRAWS)
    varied = ((ours.probability > 0.05) & (ours.probability < 0.95)).sum()
    assert varied >= 5, "the data should give uncertain boxes, or the test proves little"
    assert z.max() <= 4, f"box {int(z.argmax())}: {ours.probability[z.argmax()]:.3f} vs " \
                         f"{reference[z.argmax()]:.3f}"
    assert (z > 3).mean() <= 0.02
    # the stated ±: our probability_pm is the binomial standard error of our estimate
    p = ours.probability
    np.testing.assert_allclose(ours.probability_pm, np.sqrt(p * (1 - p) / DRAWS))


def _z_scores(p1, p2, n1, n2):
    pooled = (p1 * n1 + p2 * n2) / (n1 + n2)
    se = np.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    diff = np.abs(p1 - p2)
    return np.where(se > 0, diff / np.where(se > 0, se, 1), np.where(diff > 0, np.inf, 0))


def test_the_criterion_tells_another_augmentation_apart():
    """A reference of a slightly different jitter (scale 0.9-1.5 instead of 0.75-1.3) fails
    the same criterion: the comparison has the power to catch a wrong geometry."""
    table = random_table(2)
    config = small_config("keras-cv")
    ours = augmented_coverage(table, config, JitteredResize((128, 160), (0.75, 1.3)),
                              draws=DRAWS, seed=11)
    other = reference_probability(JitteredResize((128, 160), (0.9, 1.5)), table, config,
                                  DRAWS, seed=12345)
    z = _z_scores(ours.probability, other, DRAWS, DRAWS)
    assert z.max() > 4 or (z > 3).mean() > 0.02
