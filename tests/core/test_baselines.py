"""The baselines the optimizer is judged against: the seed's k-means and Zlocha et al.'s DE."""

import numpy as np
import pytest

from core.anchor_config import default_config, level_shapes
from core.baselines import (
    centred_best_overlap,
    kmeans_wh,
    retinanet_anchor_shapes,
    seed_kmeans,
    zlocha_de,
    zlocha_objective,
    zlocha_parameters,
)


def _two_clusters(n=200, seed=0):
    rng = np.random.default_rng(seed)
    w = np.r_[rng.normal(10, 0.5, n), rng.normal(80, 2.0, n)]
    h = np.r_[rng.normal(100, 2.0, n), rng.normal(8, 0.5, n)]
    return w, h


def test_kmeans_finds_two_clear_clusters():
    w, h = _two_clusters()
    centres = kmeans_wh(w, h, clusters=2, seed=0)
    assert centres[0] == pytest.approx([10, 100], abs=1.0)
    assert centres[1] == pytest.approx([80, 8], abs=1.0)


def test_seed_kmeans_bug_is_the_reciprocal_of_the_fix():
    w, h = _two_clusters()
    base = default_config("keras-cv")
    faithful = seed_kmeans(w, h, base, faithful=True, clusters=2)
    fixed = seed_kmeans(w, h, base, faithful=False, clusters=2)
    assert fixed.config.aspect_ratios == pytest.approx([0.1, 10], rel=0.05)  # w / h
    assert faithful.config.aspect_ratios == pytest.approx(
        sorted(1 / r for r in fixed.config.aspect_ratios), rel=1e-3)
    assert faithful.config.scales == base.scales
    six = seed_kmeans(w, h, base)
    assert six.config.anchors_per_location == 18


def test_zlocha_ratios_are_symmetric():
    ratios, scales = zlocha_parameters(np.array([2.0, 3.0, 0.5, 1.0]), 5)
    assert ratios.tolist() == [1.0, 2.0, 0.5, 3.0, 1 / 3]
    assert scales.tolist() == [0.5, 1.0]


def test_anchor_shapes_match_keras_retinanet_generation():
    config = default_config("keras-retinanet").replace(aspect_ratios=(0.25, 1.0, 4.0),
                                                      scales=(0.5, 1.0, 1.7))
    ours = retinanet_anchor_shapes(config.sizes[:1], (4.0, 1.0, 0.25), config.scales)
    offsets = level_shapes(config, 0)
    reference = np.stack([offsets[:, 2] - offsets[:, 0], offsets[:, 3] - offsets[:, 1]], axis=1)
    assert np.allclose(np.sort(ours, axis=0), np.sort(reference, axis=0))


def test_boxes_equal_to_an_anchor_shape_have_iou_one():
    values = np.array([2.0, 0.5, 1.0, 1.5])
    ratios, scales = zlocha_parameters(values, 3)
    anchors = retinanet_anchor_shapes((32, 64, 128, 256, 512), ratios, scales)
    best = centred_best_overlap(anchors[:, 0], anchors[:, 1], anchors)
    assert np.allclose(best, 1.0)
    assert zlocha_objective(values, anchors[:, 0], anchors[:, 1]) == pytest.approx(0.0, abs=1e-12)
    # a box twice as wide as every anchor of its height scores below 1
    assert centred_best_overlap(anchors[:1, 0] * 2, anchors[:1, 1], anchors[:1])[0] < 0.6


def test_zlocha_de_stays_in_its_bounds_and_is_seeded():
    w, h = _two_clusters(60)
    base = default_config("keras-cv")
    first = zlocha_de(w, h, base, seed=3, popsize=5, maxiter=15)
    second = zlocha_de(w, h, base, seed=3, popsize=5, maxiter=15)
    assert first.config == second.config
    r = first.config.aspect_ratios
    assert len(r) == 3 and r[1] == 1.0 and r[0] * r[2] == pytest.approx(1.0, rel=1e-3)
    assert 1 / 4 - 1e-9 <= r[0] and r[2] <= 4 + 1e-3
    assert all(0.4 - 1e-9 <= s <= 2.0 + 1e-9 for s in first.config.scales)
    assert first.config.sizes == base.sizes
    with pytest.raises(Exception, match="odd"):
        zlocha_de(w, h, base, ratios=2)
