"""core.augmentation: the spec syntax, YOLOv5's `box_candidates` at each threshold's boundary,
the crop's area rule, the letterbox geometry by hand, determinism per seed, the statistics."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from core.analysis import ModelInput, analyze
from core.anchor_config import default_config
from core.augmentation import (
    AREA_RATIO,
    ASPECT_RATIO,
    CROP_AREA,
    KEPT,
    OUTSIDE,
    TOO_SMALL,
    AugmentedSession,
    JitteredResize,
    RandomCrop,
    YoloScale,
    augment_spec,
    augmentation_summary,
    augmented_coverage,
    box_candidate_reasons,
    parse_augment,
)
from core.errors import InputError
from core.family_config import default_family_config
from tests.core.test_augmentation_reference import random_table, small_config, yolov5_box_candidates

# --- syntax ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "expected"), [
    ("jitter:640x640,0.75-1.3", JitteredResize((640, 640), (0.75, 1.3))),
    ("jitter:480x640,0.5-2,crop=400x500", JitteredResize((480, 640), (0.5, 2.0), (400, 500))),
    ("crop:512x512,0.5", RandomCrop((512, 512), 0.5)),
    ("crop:256x128", RandomCrop((256, 128), 0.0)),
    ("yolo:640,0.5", YoloScale(640, 0.5, 0.1)),
    ("yolo:640", YoloScale(640, 0.5, 0.1)),
    ("YOLO:320,0.3,translate=0,ar_thr=20,wh_thr=1,area_thr=0.2",
     YoloScale(320, 0.3, 0.0, wh_thr=1, ar_thr=20, area_thr=0.2)),
])
def test_spec_syntax(text, expected):
    assert parse_augment(text) == expected
    assert parse_augment(augment_spec(expected)) == expected  # the canonical text reads back


@pytest.mark.parametrize(("text", "message"), [
    ("jiter:640x640,0.75-1.3", "unknown kind 'jiter'"),
    ("jitter", "needs a size"),
    ("jitter:640x640", "needs a size and a scale range"),
    ("jitter:640x640,1.3-0.75", "needs 0 < LO <= HI, got '1.3-0.75'"),
    ("jitter:640x640,0.75", "scale range must be LO-HI"),
    ("jitter:640,0.75-1.3", "jitter size must be HxW"),
    ("jitter:640x640,a-1.3", "jitter scale LO must be a number"),
    ("crop:0x512", "crop size must be positive"),
    ("crop:512x512,1.5", "crop MIN_AREA must be in [0, 1]"),
    ("crop:512x512,0.5,0.2", "too many values"),
    ("crop:512x512,foo=1", "unknown option 'foo'"),
    ("yolo:640,1", "yolo SCALE must be in [0, 1)"),
    ("yolo:640.5", "SIZE must be a whole number"),
    ("yolo:640,0.5,translate=0.7", "yolo translate must be in [0, 0.5]"),
])
def test_bad_specs_name_the_problem(text, message):
    with pytest.raises(InputError) as error:
        parse_augment(text)
    assert message in str(error.value)
    assert "\n" not in str(error.value)


# --- YOLOv5's box_candidates -----------------------------------------------------------------


def test_box_candidates_at_each_threshold():
    """Hand-made boxes at and just past each threshold (defaults wh_thr=2, ar_thr=100,
    area_thr=0.1); (w1, h1): the box before (times the scale), (w2, h2) after."""
    cases = [  # (w1, h1, w2, h2, reasons)
        (10, 10, 10, 10, KEPT),
        (10, 10, 2.0, 10, TOO_SMALL),  # w2 == wh_thr: not > 2 (area ratio 0.2 passes)
        (10, 10, 2.001, 10, KEPT),
        (10, 10, 10, 2.0, TOO_SMALL),
        (10, 10, 10, 2.001, KEPT),
        (100, 10, 10, 10, AREA_RATIO),  # area ratio exactly 0.1: not > 0.1
        (100, 10, 10.001, 10, KEPT),
        (300, 3, 300, 3, ASPECT_RATIO),  # 300 / 3 = 100: not < 100
        (299.9, 3, 299.9, 3, KEPT),
        (3, 300, 3, 300, ASPECT_RATIO),  # h / w alike
        (1, 1, 0, 0, TOO_SMALL | AREA_RATIO),  # nothing left; its ratio 0 / eps = 0 passes
        (250, 1, 250, 1, TOO_SMALL | ASPECT_RATIO),  # a 1-px strip fails two tests
    ]
    w1, h1, w2, h2, reasons = (np.array(v, float) for v in zip(*cases, strict=True))
    got = box_candidate_reasons(w1, h1, w2, h2)
    assert got.tolist() == reasons.astype(int).tolist()
    zeros = np.zeros(len(w1))
    kept = yolov5_box_candidates(np.stack([zeros, zeros, w1, h1]), np.stack([zeros, zeros, w2, h2]))
    assert kept.tolist() == (got == KEPT).tolist()


def test_box_candidates_match_yolov5_on_random_boxes():
    rng = np.random.default_rng(0)
    w1, h1 = rng.uniform(0.1, 300, (2, 5000))
    w2, h2 = w1 * rng.uniform(0, 1.2, 5000), h1 * rng.uniform(0, 1.2, 5000)
    for thresholds in [(2, 100, 0.1), (0.5, 20, 0.3), (4, 8, 0.05)]:
        got = box_candidate_reasons(w1, h1, w2, h2, *thresholds)
        zeros = np.zeros(5000)
        kept = yolov5_box_candidates(np.stack([zeros, zeros, w1, h1]),
                                     np.stack([zeros, zeros, w2, h2]), *thresholds)
        assert ((got == KEPT) == kept).all()
        assert 0 < kept.mean() < 1


def test_yolo_geometry_by_hand():
    """A 375 x 500 image into 640: load_image scales by 1.28 to 480 x 640, letterbox pads 80
    above and below; then scale s about the centre plus the translation."""
    aug = YoloScale(640, 0.5, 0.1)
    width, height, pad_x, pad_y = aug.letterbox(np.array([375]), np.array([500]))
    assert (width[0], height[0], pad_x[0], pad_y[0]) == (640, 480, 0, 80)
    box = [np.array([v]) for v in (100.0, 50.0, 200.0, 100.0)]
    params = {"scale": np.array([1.5]), "translate": np.array([[0.55, 0.45]])}
    out = aug.apply(*box, np.zeros(1, int), np.array([375]), np.array([500]), params)
    # letterboxed: x 128..256, y 144..208; x'' = 1.5 x + (0.55 * 640 - 480), y alike with 0.45
    assert out.x1[0] == pytest.approx(1.5 * 128 - 128) and out.x2[0] == pytest.approx(256)
    assert out.y1[0] == pytest.approx(1.5 * 144 - 192) and out.y2[0] == pytest.approx(120)
    assert out.dropped[0] == KEPT


def test_yolo_drop_reasons_through_the_transform():
    """At scale 1 without translation the boxes stay put; each is dropped by its own test."""
    aug = YoloScale(640, 0.5, 0.1)
    boxes = np.array([[10, 10, 50, 50],  # kept
                      [10, 100, 12, 200],  # 2 px wide: too small
                      [0, 300, 500, 304.5],  # 500 / 4.5 = 111: aspect ratio
                      [700, 10, 800, 50]], float)  # outside the image: `outside` alone
    params = {"scale": np.array([1.0]), "translate": np.array([[0.5, 0.5]])}
    out = aug.apply(*boxes.T, np.zeros(4, int), np.array([640]), np.array([640]), params)
    assert out.dropped.tolist() == [KEPT, TOO_SMALL, ASPECT_RATIO, OUTSIDE]
    # scale 0.5 and a shift left: box 600..700 lands on x'' = 0.5 x + tx * 640 - 160
    box = np.array([[600, 300, 700, 340.0]])

    def dropped(shift_px: float) -> list[int]:
        params = {"scale": np.array([0.5]), "translate": np.array([[shift_px / 640, 0.5]])}
        return aug.apply(*box.T, np.zeros(1, int), np.array([640]), np.array([640]),
                         params).dropped.tolist()

    assert dropped(-170) == [KEPT]  # x'' = -30 .. 20: 20 of 50 px left, ratio 0.4
    assert dropped(-186) == [AREA_RATIO]  # x'' = -46 .. 4: 4 px (> 2) left, ratio 0.08
    assert dropped(-250) == [OUTSIDE]  # x'' = -110 .. -60


def test_crop_area_rule_and_offsets():
    aug = RandomCrop((100, 100), 0.5)
    # offset (0, 50): box 0 keeps exactly half (kept), box 1 a bit less (crop_area), box 2 none
    boxes = np.array([[40, 10, 60, 30], [39.9, 10, 60, 30], [0, 0, 50, 50], [60, 60, 70, 70]],
                     float)
    out = aug.apply(*boxes.T, np.zeros(4, int), np.array([100]), np.array([150]),
                    {"offset_u": np.array([[0.0, 50 / 51]])})
    assert out.dropped.tolist() == [KEPT, CROP_AREA, OUTSIDE, KEPT]
    assert out.x1[0] == 0 and out.x2[0] == 10 and out.x1[3] == 10
    # every offset 0..free equally likely; an image smaller than the crop stays at 0
    offsets = aug.offsets(np.array([100, 103, 80]), np.array([150, 100, 300]),
                          np.array([[0.999999, 0.999999]] * 3))
    assert offsets.tolist() == [[0, 50], [3, 0], [0, 200]]
    rng = np.random.default_rng(0)
    drawn = aug.offsets(np.full(20000, 103), np.full(20000, 100), rng.random((20000, 2)))
    assert np.bincount(drawn[:, 0]).tolist() == pytest.approx([5000] * 4, rel=0.06)


def test_jitter_pieces_by_hand():
    """keras-cv: the factor multiplies the image's own size; scale = min over the axes."""
    aug = JitteredResize((640, 640), (0.75, 1.3))
    scale, offset = aug.scaled_geometry(np.array([375, 512]), np.array([500, 512]),
                                        np.array([0.75, 1.25], np.float32),
                                        np.array([[0.5, 0.5], [0.5, 0.25]], np.float32))
    # 375 x 500 at 0.75: round(281.25) = 281, 375 -> min(281/375, 0.75) -> sizes 281 x 375
    np.testing.assert_array_equal(scale[0], np.float32([281 / 375, 375 / 500]))
    assert offset[0].tolist() == [0, 0]  # smaller than the target: padded, no offset
    # 512 at 1.25: 640, nothing to crop
    assert scale[1].tolist() == [1.25, 1.25] and offset[1].tolist() == [0, 0]


# --- the distribution ----------------------------------------------------------------------


def test_deterministic_per_seed_and_stable_in_the_number_of_draws():
    table = random_table(3)
    config = small_config("keras-cv")
    aug = YoloScale(160, 0.5, 0.1)
    a = augmented_coverage(table, config, aug, draws=6, seed=4)
    b = augmented_coverage(table, config, aug, draws=6, seed=4)
    c = augmented_coverage(table, config, aug, draws=10, seed=4)
    d = augmented_coverage(table, config, aug, draws=6, seed=5)
    np.testing.assert_array_equal(a.matched, b.matched)
    np.testing.assert_array_equal(a.dropped, b.dropped)
    np.testing.assert_array_equal(a.matched, c.matched[:6])
    assert not np.array_equal(a.dropped, d.dropped) or not np.array_equal(a.matched, d.matched)


def test_chunks_of_draws_give_the_same_result(monkeypatch):
    import core.augmentation as augmentation

    table = random_table(3)
    config = small_config("torchvision")
    aug = JitteredResize((128, 128), (0.5, 1.5))
    whole = augmented_coverage(table, config, aug, draws=7, seed=1)
    monkeypatch.setattr(augmentation, "CHUNK_BOXES", 2 * len(table))
    session = AugmentedSession(table, aug, draws=7, seed=1)
    assert [len(c) for c in session.chunks()] == [2, 2, 2, 1]
    chunked = session.compute(config)
    np.testing.assert_array_equal(whole.matched, chunked.matched)
    np.testing.assert_array_equal(whole.dropped, chunked.dropped)


def test_statistics():
    table = random_table(3)
    config = small_config("keras-cv")
    result = augmented_coverage(table, config, RandomCrop((96, 96), 0.3), draws=20, seed=2)
    recall = result.matched.mean(axis=1)
    assert result.recall_mean == pytest.approx(recall.mean())
    assert result.recall_pm == pytest.approx(recall.std(ddof=1) / np.sqrt(20))
    assert result.recall_p10 == pytest.approx(np.percentile(recall, 10))
    p = result.matched.mean(axis=0)
    np.testing.assert_allclose(result.probability, p)
    np.testing.assert_allclose(result.probability_pm, np.sqrt(p * (1 - p) / 20))
    assert not (result.matched & (result.dropped != KEPT)).any()  # dropped: never a positive
    drops = result.drops_per_draw()
    assert set(drops) == {"outside", "crop_area"}
    assert (drops["outside"] + drops["crop_area"] == result.dropped_per_draw).all()
    stored = analyze(table, config)
    summary = augmentation_summary(table, stored.report.recall, stored.report.per_class, result)
    assert summary["recall_stored"] == stored.report.recall
    assert summary["drops"]["outside"] == pytest.approx(drops["outside"].mean())
    for name, row in summary["per_class"].items():
        mine = np.array([table.class_name(c) == name for c in table.cls])
        assert row["boxes"] == mine.sum()
        assert row["expected_recall"] == pytest.approx(result.matched[:, mine].mean())
        assert row["stored_recall"] == stored.report.per_class[name].recall
    with pytest.raises(InputError, match="at least 2"):
        augmented_coverage(table, config, RandomCrop((96, 96)), draws=1)


def test_identity_augmentation_gives_the_stored_coverage():
    """A crop the size of the images changes nothing: every draw is the stored coverage."""
    table = random_table(4)
    table = replace(table, image_heights=np.full(table.image_count, 160, np.int32),
                    image_widths=np.full(table.image_count, 160, np.int32))
    config = small_config("mmdet")
    result = augmented_coverage(table, config, RandomCrop((160, 160)), draws=3)
    stored = analyze(table, config).coverage.matched
    assert (result.matched == stored).all()
    # and with a model input: the crop starts from the model-input image
    model_input = ModelInput((200, 180), "stretch")
    result = augmented_coverage(table, config, RandomCrop((200, 180)), model_input, draws=3)
    assert (result.matched == analyze(table, config, model_input).coverage.matched).all()


def test_detector_families():
    """A family config goes through the family's assigner; identity again equals stored."""
    from core.family_analysis import analyze_family

    table = random_table(4)
    table = replace(table, image_heights=np.full(table.image_count, 160, np.int32),
                    image_widths=np.full(table.image_count, 160, np.int32))
    config = default_family_config("yolov5")
    result = augmented_coverage(table, config, RandomCrop((160, 160)), draws=2)
    stored = analyze_family(table, config).coverage.matched
    assert (result.matched == stored).all()
    jittered = augmented_coverage(table, config, YoloScale(160, 0.5), draws=4, seed=3)
    assert jittered.matched.shape == (4, len(table))
    assert (jittered.dropped != KEPT).any()


def test_default_config_is_usable():
    table = random_table(5)
    result = augmented_coverage(table, default_config("keras-cv"),
                                JitteredResize((256, 256), (0.75, 1.3)), draws=2)
    assert result.matched.shape == (2, len(table))
