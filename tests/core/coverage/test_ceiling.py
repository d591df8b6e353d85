"""The ceiling IoU is exact and a true upper bound (docs/ceiling.md).

- It equals the breakpoint argument evaluated over every lattice point of every level (so the
  restriction to the two lattice points nearest the box middle loses nothing);
- a brute-force search over a dense grid of anchor widths x heights never beats it, and gets
  close to it (it is reached);
- it bounds the best IoU of every box under every framework's real anchors, for random ratios,
  scales and sizes and for optimizer results: ceiling recall >= best possible recall.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.analysis import analyze
from core.anchor_config import load_preset
from core.anchor_grid import LevelGrid
from core.coverage import MatchRule, compute_box_coverage
from core.optimizer import optimize
from core.sources import load_table
from tests.core.coverage.coverage_reference import ceiling_iou_dense, ceiling_iou_reference

PRESETS = ("keras-cv-retinanet", "keras-hub-retinanet", "torchvision-retinanet",
           "detectron2-retinanet", "mmdet-retinanet", "keras-retinanet")


def lattice(rng, height, width, clip, levels):
    """Levels with random strides (x and y may differ), offsets (incl. centres off the image)
    and counts a bit smaller or larger than the image needs; shapes do not matter here."""
    grids = []
    for level in range(levels):
        sx = float(rng.choice([3, 4, 6, 8, 11.5, 16, 32]))
        sy = float(rng.choice([sx, 4, 7, 16]))
        ox = [0.0, 0.5 * sx, float(rng.uniform(-sx, sx))][int(rng.integers(0, 3))]
        oy = [0.0, 0.5 * sy, float(rng.uniform(-sy, sy))][int(rng.integers(0, 3))]
        nx = max(1, int(np.ceil(width / sx)) + int(rng.integers(-2, 3)))
        ny = max(1, int(np.ceil(height / sy)) + int(rng.integers(-2, 3)))
        grids.append(LevelGrid(level=3 + level, stride_x=sx, stride_y=sy, offset_x=ox,
                               offset_y=oy, nx=nx, ny=ny, shapes=np.array([[-4.0, -4, 4, 4]]),
                               clip=clip, image_width=width, image_height=height))
    return grids


def boxes_in(rng, height, width, n):
    """Boxes of every kind: tiny, thin, large, on the image edges, whole-image."""
    w = rng.choice([0.3, 1.0, 2.5, 7.0, 20.0, 45.0, width], n) * rng.uniform(0.6, 1.0, n)
    h = rng.choice([0.3, 1.0, 3.0, 9.0, 25.0, 50.0, height], n) * rng.uniform(0.6, 1.0, n)
    w, h = np.minimum(w, width), np.minimum(h, height)
    x1 = rng.uniform(0, 1, n) * (width - w)
    y1 = rng.uniform(0, 1, n) * (height - h)
    edge = rng.integers(0, 4, n)
    x1 = np.where(edge == 1, 0.0, np.where(edge == 2, width - w, x1))
    y1 = np.where(edge == 3, 0.0, y1)
    return np.stack([x1, y1, x1 + w, y1 + h], axis=1)


def engine_ceiling(boxes, grids, height, width):
    n = len(boxes)
    coverage = compute_box_coverage(*boxes.T, np.zeros(n, np.int64), np.array([height]),
                                    np.array([width]), lambda h, w: grids, MatchRule())
    return coverage.ceiling_iou


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**31 - 1), clip=st.booleans(), levels=st.integers(1, 3),
       size=st.sampled_from([(40, 40), (64, 96), (33, 71)]))
def test_ceiling_is_the_best_over_every_lattice_point(seed, clip, levels, size):
    rng = np.random.default_rng(seed)
    height, width = size
    grids = lattice(rng, height, width, clip, levels)
    boxes = boxes_in(rng, height, width, 25)
    fast = engine_ceiling(boxes, grids, height, width)
    np.testing.assert_allclose(fast, ceiling_iou_reference(boxes, grids), rtol=0, atol=1e-12)


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("clip", [False, True])
def test_a_dense_search_never_beats_the_ceiling_and_gets_close(seed, clip):
    rng = np.random.default_rng([seed, clip])
    height, width = 48, 80
    grids = lattice(rng, height, width, clip, 2)
    boxes = boxes_in(rng, height, width, 30)
    fast = engine_ceiling(boxes, grids, height, width)
    dense = ceiling_iou_dense(boxes, grids, steps=800)
    assert (dense <= fast + 1e-12).all(), f"beaten by {(dense - fast).max()}"
    # reached: the grid's resolution is the only gap (boxes under 2 px need finer steps than
    # any grid has: an edge off by 0.1 px changes their IoU by tens of percent)
    sized = ((boxes[:, 2] - boxes[:, 0]) >= 2) & ((boxes[:, 3] - boxes[:, 1]) >= 2)
    assert (fast - dense)[sized].max() < 0.02
    assert (fast <= 1.0 + 1e-12).all() and (fast > 0).all()


def test_an_own_shape_anchor_is_not_the_best_off_centre():
    """1-D: box [0, 10] (x), lattice point at 7: own shape [2, 12] gives 8/12, an anchor from
    0 to 14 gives 10/14; the ceiling is at least the latter."""
    grids = [LevelGrid(level=3, stride_x=100.0, stride_y=1.0, offset_x=7.0, offset_y=0.5, nx=1,
                       ny=64, shapes=np.array([[-5.0, -0.5, 5, 0.5]]), clip=False,
                       image_width=128, image_height=64)]
    boxes = np.array([[0.0, 10.0, 10.0, 11.0]])
    ceiling = engine_ceiling(boxes, grids, 64, 128)[0]
    assert ceiling >= 10 / 14 - 1e-12 > 8 / 12


@pytest.mark.parametrize("preset", PRESETS)
def test_the_ceiling_bounds_every_frameworks_best_iou(preset):
    table = load_table("demo?images=60&seed=11")
    rng = np.random.default_rng(len(preset))
    base = load_preset(preset)
    for _ in range(3):
        ratios = tuple(np.round(np.exp(rng.uniform(-3.2, 2.5, rng.integers(1, 5))), 4))
        scales = tuple(np.round(np.exp(rng.uniform(-0.7, 0.7, rng.integers(1, 4))), 4))
        config = base.replace(aspect_ratios=tuple(sorted(set(ratios))),
                              scales=tuple(sorted(set(scales))))
        coverage = analyze(table, config).coverage
        assert (coverage.ceiling_iou >= coverage.best_iou - 1e-12).all()
        report = analyze(table, config).report
        assert report.ceiling_recall >= report.best_possible_recall


def test_the_ceiling_bounds_optimizer_results():
    table = load_table("demo?images=200&seed=4")
    config = load_preset("keras-cv-retinanet")
    result = optimize(table, config, 3, 3, seed=1, optimize_size=True, max_evaluations=120)
    coverage = analyze(table, result.config).coverage
    assert (coverage.ceiling_iou >= coverage.best_iou - 1e-12).all()
    assert result.report.ceiling_recall >= result.report.best_possible_recall


def test_an_engine_reuses_the_ceiling_only_for_the_same_lattices():
    """The ceiling depends on the lattices (levels, strides, offsets, clipping, input size), not
    on the anchor shapes: a session keeps it across ratio / scale / size changes, recomputes it
    when the lattices change, and re-thresholds it when positive_iou changes."""
    from core.analysis import CoverageSession
    from core.anchor_config import default_config

    table = load_table("demo?images=40&seed=8")
    base = default_config("keras-cv")
    shapes = base.replace(aspect_ratios=(0.2, 1.0, 5.0), scales=(1.0, 1.4))
    finer = base.replace(levels=(2, 3, 4, 5, 6), strides=(4, 8, 16, 32, 64),
                         sizes=(16, 32, 64, 128, 256))
    strict = shapes.replace(positive_iou=0.7, negative_iou=0.6)
    session = CoverageSession(table)
    session.compute(base)
    for config in (shapes, finer, strict):
        reused = session.compute(config).coverage
        fresh = CoverageSession(table).compute(config).coverage
        np.testing.assert_array_equal(reused.ceiling_iou, fresh.ceiling_iou)
        np.testing.assert_array_equal(reused.ceiling_covered,
                                      fresh.ceiling_iou >= config.positive_iou)
    coarse = session.compute(shapes).coverage.ceiling_iou
    assert (session.compute(finer).coverage.ceiling_iou > coarse).any()
