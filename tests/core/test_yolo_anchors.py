"""YOLOv5 anchor optimisation: maximum coverage of the boxes' log-shapes by anchor_t squares,
confirmed by the exact build_targets assigner."""

import itertools
import math

import numpy as np
import pytest

from core.analysis import ModelInput
from core.anchor_config import resolve_config
from core.assigners.yolov5 import Yolov5Params
from core.boxes import BoxTableBuilder
from core.family_config import FamilyConfig
from core.sources import load_table
from core.yolo_anchors import log_shapes, optimize_yolo_anchors, place_squares


def brute_force_best_square(points: np.ndarray, half: float, lattice: float) -> int:
    """The most points one open square can cover, over every centre of a fine lattice."""
    lo, hi = points.min(axis=0) - half, points.max(axis=0) + half
    xs = np.arange(lo[0], hi[0] + lattice, lattice / 4)
    ys = np.arange(lo[1], hi[1] + lattice, lattice / 4)
    return max(int((np.abs(points - (x, y)) < half).all(axis=1).sum())
               for x, y in itertools.product(xs, ys))


@pytest.mark.parametrize("seed", range(4))
def test_one_square_covers_as_many_as_brute_force(seed):
    rng = np.random.default_rng(seed)
    points = rng.integers(0, 60, (80, 2)) * 0.1 + 0.05  # on a 0.1 lattice, off the bin edges
    half = 1.2
    (centre,) = place_squares(points, 1, half)
    found = int((np.abs(points - centre) < half).all(axis=1).sum())
    assert found == brute_force_best_square(points, half, 0.1)


def test_covers_everything_coverable_and_confirms_exactly():
    table = load_table("demo?images=80&seed=3")
    config = resolve_config("yolov5", families=True)
    result = optimize_yolo_anchors(table, config, model_input=ModelInput((640, 640), "letterbox"))
    assert result.result.report.recall == 1.0 > result.before.report.recall
    # the squares' count in log space is what the exact float32 assigner finds
    points = log_shapes(table, ModelInput((640, 640), "letterbox"))
    anchors = np.log(np.array([pair for level in result.config.params.anchors for pair in level]))
    half = math.log(config.params.anchor_t)
    covered = (np.abs(points[:, None] - anchors[None]) < half).all(axis=2).any(axis=1)
    assert covered.mean() == result.result.report.recall


def test_anchors_are_distinct_sorted_by_area_and_keep_the_grid():
    table = load_table("demo?images=80&seed=3")
    config = resolve_config("yolov5", families=True)
    result = optimize_yolo_anchors(table, config, anchors_per_level=4)
    params = result.config.params
    pairs = [pair for level in params.anchors for pair in level]
    assert len(pairs) == 12 and len(set(pairs)) == 12
    areas = [w * h for w, h in pairs]
    assert areas == sorted(areas)
    assert params.strides == config.params.strides and params.anchor_t == config.params.anchor_t


def test_boxes_beyond_every_square_stay_uncovered_and_are_named():
    builder = BoxTableBuilder("far apart")
    builder.add_images(["a"], [640], [640])
    shapes = [(4, 4), (600, 4), (4, 600), (600, 600)]  # four corners of the shape space
    builder.add_boxes(np.zeros(4, int), np.array([[0, 0, w, h] for w, h in shapes], float),
                      np.zeros(4, int), np.arange(4))
    table = builder.build()
    config = FamilyConfig("yolov5", Yolov5Params(strides=(8, 16, 32), anchor_t=4.0,
                                                 anchors=(((10, 10),), ((20, 20),), ((30, 30),))))
    result = optimize_yolo_anchors(table, config, anchors_per_level=1)
    assert result.result.report.recall == 0.75  # three anchors, four far-apart shapes
    assert result.result.report.misses == {"w/h ratio outside anchor_t of every anchor": 1}
