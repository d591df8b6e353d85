"""Boxes mapped into model-input pixels: stretch, letterbox (both placements), identity."""

from __future__ import annotations

import numpy as np
import pytest

from core.input_mapping import map_boxes_to_input


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
    from core.input_mapping import map_boxes_to_image

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
