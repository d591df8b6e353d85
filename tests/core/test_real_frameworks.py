"""Our anchors against the real keras-cv and keras-hub AnchorGenerators (installed), on CPU.

Order and values must agree (float32 frameworks vs our float64: ~1e-4 relative; keras-hub's
anchors are integers and must agree exactly) for asymmetric ratios, several scales and non-square,
non-divisible image sizes.
"""

from __future__ import annotations

import os

import numpy as np
import pytest

from core.anchor_config import AnchorConfig, default_config
from core.anchor_generation import generate_anchors

IMAGE_SIZES = [(512, 512), (300, 500), (333, 517), (97, 1000)]
RATIOS_WH = (0.1, 0.37, 1.0, 3.0, 9.5)


@pytest.fixture(scope="module")
def keras_modules():
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")
    keras_cv = pytest.importorskip("keras_cv")
    keras_hub = pytest.importorskip("keras_hub")
    return keras_cv, keras_hub


def _numpy(tensors: dict) -> np.ndarray:
    return np.concatenate([np.asarray(t) for t in tensors.values()], axis=0).astype(np.float64)


def _keras_cv_anchors(keras_cv, config: AnchorConfig, height: int, width: int) -> np.ndarray:
    generator = keras_cv.layers.AnchorGenerator(
        bounding_box_format="xyxy", sizes=list(config.sizes), scales=list(config.scales),
        aspect_ratios=list(config.aspect_ratios), strides=list(config.strides),
        clip_boxes=bool(config.clip),
    )
    return _numpy(generator(image_shape=(height, width, 3)))


def _keras_hub_anchors(keras_hub, levels, num_scales, ratios_hw, anchor_size, height, width):
    generator = keras_hub.layers.AnchorGenerator(
        bounding_box_format="xyxy", min_level=levels[0], max_level=levels[-1],
        num_scales=num_scales, aspect_ratios=list(ratios_hw), anchor_size=anchor_size,
    )
    return _numpy(generator(np.zeros((1, height, width, 3), np.float32)))


@pytest.mark.parametrize("height,width", IMAGE_SIZES)
@pytest.mark.parametrize("clip", [True, False])
def test_keras_cv_matches_real_generator(keras_modules, height, width, clip):
    keras_cv, _ = keras_modules
    config = AnchorConfig(
        framework="keras-cv", levels=(3, 4, 5, 6, 7), strides=(8, 16, 32, 64, 128),
        sizes=(24, 48, 96, 192, 384), scales=(1.0, 1.19, 1.41, 1.68), aspect_ratios=RATIOS_WH,
        positive_iou=0.5, negative_iou=0.4, clip=clip,
    )
    ours = generate_anchors(config, height, width)
    theirs = _keras_cv_anchors(keras_cv, config, height, width)
    assert ours.shape == theirs.shape
    np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-3)


def test_keras_cv_retinanet_default_matches_our_default(keras_modules):
    keras_cv, _ = keras_modules
    real = keras_cv.models.RetinaNet.default_anchor_generator("xyxy")
    theirs = _numpy(real(image_shape=(333, 517, 3)))
    ours = generate_anchors(default_config("keras-cv"), 333, 517)
    np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-3)


@pytest.mark.parametrize("height,width", IMAGE_SIZES)
@pytest.mark.parametrize("anchor_size,num_scales", [(4.0, 3), (3.0, 2), (1.5, 4)])
def test_keras_hub_matches_real_generator(keras_modules, height, width, anchor_size, num_scales):
    _, keras_hub = keras_modules
    levels = (3, 4, 5, 6, 7)
    config = AnchorConfig(
        framework="keras-hub", levels=levels, strides=tuple(2.0**lv for lv in levels),
        sizes=tuple(anchor_size * 2.0**lv for lv in levels),
        scales=tuple(2 ** (i / num_scales) for i in range(num_scales)),
        aspect_ratios=RATIOS_WH, positive_iou=0.5, negative_iou=0.4,
    )
    ratios_hw = [1.0 / r for r in RATIOS_WH]  # keras-hub's own ratio is height / width
    theirs = _keras_hub_anchors(keras_hub, levels, num_scales, ratios_hw, anchor_size,
                                height, width)
    ours = generate_anchors(config, height, width)
    assert ours.shape == theirs.shape
    np.testing.assert_array_equal(ours, theirs)


def test_keras_hub_retinanet_default_matches_our_default(keras_modules):
    _, keras_hub = keras_modules
    theirs = _keras_hub_anchors(keras_hub, (3, 4, 5, 6, 7), 3, [0.5, 1.0, 2.0], 4, 333, 517)
    np.testing.assert_array_equal(generate_anchors(default_config("keras-hub"), 333, 517), theirs)


def test_keras_hub_rounded_scales_use_its_own_formula(keras_modules):
    """Scales typed with 4 decimals (1.2599, 1.5874) still generate keras-hub's own anchors."""
    _, keras_hub = keras_modules
    config = default_config("keras-hub").replace(scales=(1.0, 1.2599, 1.5874))
    theirs = _keras_hub_anchors(keras_hub, (3, 4, 5, 6, 7), 3, [0.5, 1.0, 2.0], 4, 512, 512)
    np.testing.assert_array_equal(generate_anchors(config, 512, 512), theirs)
