"""Boxes mapped into model-input pixels: stretch, letterbox (both placements), identity; an image
that letterboxing would make 0 px tall or wide is named, not a crash."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from core.errors import InputError
from core.input_mapping import (
    check_resizable,
    letterbox_size,
    map_boxes_to_image,
    map_boxes_to_input,
)


def test_identity_keeps_boxes_and_sizes():
    out = map_boxes_to_input([1.0], [2.0], [3.0], [4.0], [0], [10], [20], None)
    assert [v.tolist() for v in out] == [[1.0], [2.0], [3.0], [4.0], [10], [20]]


def test_stretch_scales_each_axis():
    x1, y1, x2, y2, h, w = map_boxes_to_input([10.0], [20.0], [30.0], [40.0], [0], [100], [50],
                                              (200, 100), "stretch")
    assert (x1[0], y1[0], x2[0], y2[0]) == (20.0, 40.0, 60.0, 80.0)
    assert h.tolist() == [200] and w.tolist() == [100]


def test_letterbox_top_left_like_keras_cv():
    # 100x300 image into 512x512: s = 512/300, image resized to 170x512, padded below
    x1, y1, x2, y2, _, _ = map_boxes_to_input([0.0], [0.0], [300.0], [100.0], [0], [100], [300],
                                              (512, 512), "letterbox")
    assert x2[0] == pytest.approx(512.0)
    assert y2[0] == pytest.approx(170.0)  # int(100 * 512 / 300) = 170
    assert x1[0] == 0.0 and y1[0] == 0.0


def test_letterbox_center_like_keras3():
    x1, y1, x2, y2, _, _ = map_boxes_to_input([0.0], [0.0], [300.0], [100.0], [0], [100], [300],
                                              (512, 512), "letterbox", "center")
    s = 512 / 300
    offset = (512 - 100 * s) // 2
    assert y1[0] == pytest.approx(offset) and y2[0] == pytest.approx(100 * s + offset)
    assert x1[0] == 0.0 and x2[0] == pytest.approx(512.0)


def test_letterbox_matches_keras_resizing_layer():
    keras = pytest.importorskip("keras")
    layer = keras.layers.Resizing(64, 64, pad_to_aspect_ratio=True, data_format="channels_last")
    boxes = np.array([[[5.0, 3.0, 20.0, 9.0], [0.0, 0.0, 40.0, 10.0]]], np.float32)
    out = layer._transform_boxes_pad_to_aspect_ratio(boxes, 10, 40)  # H=10, W=40
    x1, y1, x2, y2, _, _ = map_boxes_to_input(boxes[0, :, 0], boxes[0, :, 1], boxes[0, :, 2],
                                              boxes[0, :, 3], [0, 0], [10], [40], (64, 64),
                                              "letterbox", "center")
    np.testing.assert_allclose(np.stack([x1, y1, x2, y2], 1), np.asarray(out)[0], rtol=1e-6)


def test_bad_arguments():
    with pytest.raises(ValueError):
        map_boxes_to_input([0.0], [0.0], [1.0], [1.0], [0], [2], [2], (4, 4), "squash")
    with pytest.raises(ValueError):
        map_boxes_to_input([0.0], [0.0], [1.0], [1.0], [0], [2], [2], (0, 4))


def test_map_boxes_to_image_inverts_the_mapping():
    rng = np.random.default_rng(4)
    heights, widths = np.array([300, 90]), np.array([500, 700])
    for resize in ("stretch", "letterbox"):
        for placement in ("top_left", "center"):
            for image in (0, 1):
                xy = rng.uniform(0, 1, (20, 2)) * [widths[image] * 0.5, heights[image] * 0.5]
                boxes = np.concatenate([xy, xy + 5], axis=1)
                mapped = map_boxes_to_input(*boxes.T, np.full(20, image), heights, widths,
                                            (256, 320), resize, placement)
                model = np.stack(mapped[:4], axis=1)
                back = map_boxes_to_image(model, heights[image], widths[image], (256, 320),
                                          resize, placement)
                np.testing.assert_allclose(back, boxes, atol=1e-9)


def test_letterbox_size_truncates_to_whole_pixels():
    heights, widths = letterbox_size([100, 8, 2, 1], [300, 125_000, 1024, 1025], (512, 512))
    assert heights.tolist() == [170, 0, 1, 0]  # int(100 * 512 / 300); a long strip: 0 rows
    assert widths.tolist() == [512, 512, 512, 512]


def test_an_image_letterboxed_to_zero_pixels_is_named():
    ids = np.array(["wide", "rec", "rec2", "rec3"])
    with pytest.raises(InputError) as caught:
        check_resizable([100, 8, 4, 1], [300, 125_000, 125_000, 1025], (512, 512), "letterbox",
                        image_ids=ids)
    assert str(caught.value) == ("image 1 (id rec) is 8 x 125000 px: letterboxed into 512 x 512 "
                                 "it would be 0 px tall (and 2 more images)")
    with pytest.raises(InputError) as caught:
        check_resizable([125_000], [8], (512, 512), "letterbox")
    assert str(caught.value) == ("image 0 is 125000 x 8 px: letterboxed into 512 x 512 it "
                                 "would be 0 px wide")
    check_resizable([100, 2], [300, 1024], (512, 512), "letterbox")  # 1 px is enough
    for input_size, resize, placement in (((512, 512), "stretch", "top_left"),
                                          ((512, 512), "letterbox", "center"),
                                          (None, "letterbox", "top_left")):
        check_resizable([8], [125_000], input_size, resize, placement)  # no truncation


def test_a_zero_pixel_image_maps_without_error_and_analysis_refuses_it():
    """The mapping stays total (the histograms bin whatever it gives: empty boxes), its inverse
    has no finite answer and says so quietly; the coverage analysis names the image."""
    from core.analysis import CoverageSession, ModelInput
    from core.anchor_config import default_config
    from core.boxes import BoxTableBuilder

    _, y1, _, y2, heights, _ = map_boxes_to_input([10.0], [2.0], [500.0], [6.0], [0], [8],
                                                  [125_000], (512, 512), "letterbox")
    assert y1[0] == y2[0] == 0.0 and heights.tolist() == [512]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        back = map_boxes_to_image(np.array([[0.0, 0.0, 1.0, 1.0]]), 8, 125_000, (512, 512),
                                  "letterbox")
    assert np.isfinite(back[0, [0, 2]]).all() and not np.isfinite(back[0, [1, 3]]).any()

    builder = BoxTableBuilder("test:strip")
    builder.add_images(["strip"], [8], [125_000])
    builder.add_boxes(np.zeros(1, np.int64), np.array([[10.0, 2.0, 500.0, 6.0]]),
                      np.zeros(1, np.int32), np.zeros(1, np.int64))
    table = builder.build()
    with pytest.raises(InputError, match=r"^image 0 \(id strip\) is 8 x 125000 px: "):
        CoverageSession(table, ModelInput((512, 512), "letterbox")).compute(
            default_config("keras-cv"))
    stretched = CoverageSession(table, ModelInput((512, 512), "stretch"))
    assert len(stretched.compute(default_config("keras-cv")).coverage.matched) == 1
