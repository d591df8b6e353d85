"""Our JitteredResize geometry against keras-cv's real `JitteredResize` layer (installed), on CPU.

The layer's two random sources are replaced by fixed values (its `scale_factor` sampler and its
random generator's `uniform`), so for the same factor and offset fractions the transformed boxes
must agree exactly (float32 both), and so must which boxes survive (keras-cv gives a box with no
area left class -1 and drops it from the ragged output; we count it as `outside`).
"""

from __future__ import annotations

import os

import numpy as np
import pytest

from core.augmentation import KEPT, OUTSIDE, JitteredResize


@pytest.fixture(scope="module")
def keras_cv():
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")
    return pytest.importorskip("keras_cv")


class FixedUniform:
    """Stands in for the layer's tf.random.Generator: `uniform` returns the given values."""

    def __init__(self, values: np.ndarray):
        self.values = values

    def uniform(self, shape, minval=0, maxval=1, dtype=None):
        import tensorflow as tf

        assert tuple(shape) == self.values.shape
        return tf.constant(self.values, tf.float32)


def keras_cv_boxes(keras_cv, aug: JitteredResize, images: np.ndarray, boxes: np.ndarray,
                   factor: np.ndarray, offset_u: np.ndarray):
    """The real layer on a batch [B, H, W, 1] with boxes [B, n, 4] xyxy; returns the layer's
    per-image kept boxes and their class (= box number) and its transformation."""
    import tensorflow as tf

    layer = keras_cv.layers.JitteredResize(
        target_size=aug.target_size, scale_factor=aug.scale_factor,
        crop_size=aug.crop_size, bounding_box_format="xyxy")
    layer.scale_factor = lambda shape=(), dtype="float32": tf.constant(
        factor.reshape(shape), tf.float32)
    layer._random_generator = FixedUniform(offset_u)
    batch, n = boxes.shape[:2]
    classes = np.tile(np.arange(n, dtype=np.float32), (batch, 1))
    out = layer({"images": images, "bounding_boxes": {"boxes": boxes, "classes": classes}})
    assert tuple(out["images"].shape[1:3]) == aug.target_size
    transformation = layer.get_random_transformation_batch(batch, images=tf.constant(images))
    kept = [(np.asarray(b, np.float64).reshape(-1, 4), np.asarray(c).astype(int))
            for b, c in zip(out["bounding_boxes"]["boxes"].to_list(),
                            out["bounding_boxes"]["classes"].to_list(), strict=True)]
    return kept, transformation


def random_boxes(rng, batch, n, height, width):
    """Boxes of every size, some on the borders, some tiny (crop may leave nothing of them)."""
    w = rng.uniform(0.5, width * 0.6, (batch, n))
    h = rng.uniform(0.5, height * 0.6, (batch, n))
    x1 = rng.uniform(0, 1, (batch, n)) * (width - w)
    y1 = rng.uniform(0, 1, (batch, n)) * (height - h)
    x1[:, 0], y1[:, 1] = 0, height - h[:, 1]  # on the left and bottom borders
    x1[:, 2] = width - w[:, 2]
    return np.stack([x1, y1, x1 + w, y1 + h], axis=-1).astype(np.float32)


CASES = [
    (JitteredResize((640, 640), (0.75, 1.3)), (375, 500)),
    (JitteredResize((640, 640), (0.75, 1.3)), (512, 512)),
    (JitteredResize((512, 640), (0.5, 2.0)), (300, 700)),
    (JitteredResize((640, 640), (0.8, 1.25), crop_size=(400, 480)), (480, 640)),
    (JitteredResize((256, 256), (1.0, 3.0)), (97, 1000)),
]


@pytest.mark.parametrize(("aug", "image_hw"), CASES,
                         ids=[f"{a.target_size}-{a.scale_factor}-{a.crop_size}-{hw}"
                              for a, hw in CASES])
def test_boxes_agree_exactly_with_the_real_layer(keras_cv, aug, image_hw):
    rng = np.random.default_rng(hash(image_hw) % 2**32)
    batch, n = 8, 12
    height, width = image_hw
    images = np.zeros((batch, height, width, 1), np.float32)
    boxes = random_boxes(rng, batch, n, height, width)
    lo, hi = aug.scale_factor
    factor = np.r_[lo, hi, rng.uniform(lo, hi, batch - 2)].astype(np.float32)
    offset_u = np.r_[[[0.0, 0.0], [0.999, 0.999]], rng.random((batch - 2, 2))].astype(np.float32)
    theirs, transformation = keras_cv_boxes(keras_cv, aug, images, boxes, factor, offset_u)

    image_scale, offset = aug.scaled_geometry(np.full(batch, height), np.full(batch, width),
                                              factor, offset_u)
    np.testing.assert_array_equal(image_scale, np.asarray(transformation["image_scales"]))
    np.testing.assert_array_equal(offset, np.asarray(transformation["offsets"]))

    image = np.repeat(np.arange(batch), n)
    flat = boxes.reshape(-1, 4).astype(np.float64)
    ours = aug.apply(flat[:, 0], flat[:, 1], flat[:, 2], flat[:, 3], image,
                     np.full(batch, height), np.full(batch, width),
                     {"factor": factor, "offset_u": offset_u})
    ours_xyxy = np.stack([ours.x1, ours.y1, ours.x2, ours.y2], axis=1).reshape(batch, n, 4)
    dropped = ours.dropped.reshape(batch, n)
    assert set(np.unique(dropped)) <= {KEPT, OUTSIDE}
    for b, (their_boxes, their_ids) in enumerate(theirs):
        np.testing.assert_array_equal(their_ids, np.flatnonzero(dropped[b] == KEPT),
                                      err_msg=f"image {b}: kept boxes")
        np.testing.assert_array_equal(ours_xyxy[b, their_ids], their_boxes,
                                      err_msg=f"image {b}: box coordinates")
    assert (ours.image_heights == aug.target_size[0]).all()
    assert (ours.image_widths == aug.target_size[1]).all()


def test_some_boxes_leave_the_crop(keras_cv):
    """The comparison above covers dropped boxes too: a scale-up with the offset at its end
    pushes the top-left boxes out, and both sides drop the same ones."""
    aug = JitteredResize((256, 256), (3.0, 3.0))
    boxes = np.array([[[1, 1, 20, 20], [200, 200, 250, 250], [0, 0, 256, 256]]], np.float32)
    factor, offset_u = np.array([3.0], np.float32), np.array([[0.99, 0.99]], np.float32)
    theirs, _ = keras_cv_boxes(keras_cv, aug, np.zeros((1, 256, 256, 1), np.float32), boxes,
                               factor, offset_u)
    flat = boxes.reshape(-1, 4).astype(np.float64)
    ours = aug.apply(flat[:, 0], flat[:, 1], flat[:, 2], flat[:, 3], np.zeros(3, int),
                     np.array([256]), np.array([256]), {"factor": factor, "offset_u": offset_u})
    assert ours.dropped.tolist() == [OUTSIDE, KEPT, KEPT]
    assert theirs[0][1].tolist() == [1, 2]
