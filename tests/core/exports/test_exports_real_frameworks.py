"""The exported keras-cv and keras-hub snippets, executed in the real installed frameworks, build
anchor generators whose anchors equal `generate_anchors` (float32 vs float64: ~1e-4 relative) and
label encoders with the config's thresholds."""

from __future__ import annotations

import os

import numpy as np
import pytest

from core.anchor_config import AnchorConfig, default_config, load_preset
from core.anchor_generation import generate_anchors
from core.exports import export_text

IMAGE_SIZES = [(512, 512), (300, 500)]
TUNED_RATIOS = (0.0989, 0.376, 3.0362, 9.5392)  # width / height


@pytest.fixture(scope="module")
def frameworks():
    os.environ["KERAS_BACKEND"] = "tensorflow"
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
    os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")
    keras_cv = pytest.importorskip("keras_cv")
    keras_hub = pytest.importorskip("keras_hub")
    return keras_cv, keras_hub


def run_snippet(text: str) -> dict:
    namespace: dict = {}
    exec(compile(text, "<export>", "exec"), namespace)
    return namespace


def flatten(per_level: dict, expected_keys: list) -> np.ndarray:
    assert list(per_level) == expected_keys  # level order
    return np.concatenate([np.asarray(t) for t in per_level.values()]).astype(np.float64)


def assert_close(theirs: np.ndarray, config: AnchorConfig, height: int, width: int) -> None:
    ours = generate_anchors(config, height, width)
    assert theirs.shape == ours.shape
    np.testing.assert_allclose(theirs, ours, rtol=1e-4, atol=1e-3)


KERAS_CV_CONFIGS = {
    "default": default_config("keras-cv"),
    "seed-notebook": load_preset("seed-notebook"),
    "tuned": default_config("keras-cv").replace(
        sizes=(24.0, 48.0, 96.0, 192.0, 384.0), scales=(1.0, 1.19, 1.41),
        aspect_ratios=TUNED_RATIOS, clip=False, positive_iou=0.45, negative_iou=0.35),
}

KERAS_HUB_CONFIGS = {
    "default": default_config("keras-hub"),
    "tuned": default_config("keras-hub").replace(
        sizes=(24.0, 48.0, 96.0, 192.0, 384.0), scales=(1.0, 2**0.5),
        aspect_ratios=TUNED_RATIOS, low_quality_matches=True, positive_iou=0.55),
}


@pytest.mark.parametrize("name", list(KERAS_CV_CONFIGS))
def test_keras_cv_snippet_runs_in_keras_cv(frameworks, name):
    config = KERAS_CV_CONFIGS[name]
    namespace = run_snippet(export_text(config, "keras-cv"))
    generator = namespace["anchor_generator"]
    for height, width in IMAGE_SIZES:
        anchors = generator(image_shape=(height, width, 3))
        assert_close(flatten(anchors, list(range(len(config.levels)))), config, height, width)
    matcher = namespace["label_encoder"].box_matcher
    assert list(matcher.thresholds)[1:-1] == [config.negative_iou, config.positive_iou]
    assert matcher.force_match_for_each_col is False


@pytest.mark.parametrize("name", list(KERAS_HUB_CONFIGS))
def test_keras_hub_snippet_runs_in_keras_hub(frameworks, name):
    config = KERAS_HUB_CONFIGS[name]
    namespace = run_snippet(export_text(config, "keras-hub"))
    generator = namespace["anchor_generator"]
    for height, width in IMAGE_SIZES:
        anchors = generator(np.zeros((1, height, width, 3), np.float32))
        assert_close(flatten(anchors, [f"P{lv}" for lv in config.levels]), config, height, width)
    matcher = namespace["label_encoder"].box_matcher
    assert list(matcher.thresholds)[1:-1] == [config.negative_iou, config.positive_iou]
    assert matcher.force_match_for_each_col is bool(config.low_quality_matches)
