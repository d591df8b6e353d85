"""The fast coverage engine against the brute-force reference, on random grids and boxes."""

from __future__ import annotations

import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.anchor_grid import LevelGrid
from core.coverage import (
    MATCHER_KINDS,
    CoverageEngine,
    MatchRule,
    anchors_in_cell,
    compute_box_coverage,
    positive_anchors_of_box,
    summarize,
)
from tests.conftest import REPO_ROOT
from tests.core.coverage.coverage_reference import iou_matrix, reference_coverage

FIELDS = ("best_iou", "best_level", "best_shape", "best_row", "best_col", "positives",
          "matched", "low_quality_only", "ceiling_covered")


def random_grids(rng: np.random.Generator, height: int, width: int, clip: bool,
                 levels: int = 2) -> list[LevelGrid]:
    """Levels with random strides (x and y may differ), offsets and shapes."""
    grids = []
    for level in range(levels):
        sx = float(rng.choice([4, 6, 8, 11.5, 16, 24, 32]))
        sy = float(rng.choice([sx, 4, 8, 13, 16, 32]))
        kind = rng.integers(0, 3)
        ox = [0.0, 0.5 * sx, float(rng.uniform(-sx, sx))][kind]
        oy = [0.0, 0.5 * sy, float(rng.uniform(-sy, sy))][kind]
        # grid a bit smaller or larger than the image
        nx = max(1, int(np.ceil(width / sx)) + int(rng.integers(-2, 3)))
        ny = max(1, int(np.ceil(height / sy)) + int(rng.integers(-2, 3)))
        count = int(rng.integers(1, 5))
        w = rng.choice([2.0, 5.0, 8.0, 16.0, 23.7, 32.0, 64.0, 150.0], count) * rng.choice(
            [1.0, 1.0, 0.5, 2.0], count)
        h = rng.choice([2.0, 5.0, 8.0, 16.0, 22.6, 32.0, 64.0, 150.0], count)
        symmetric = rng.random(count) < 0.6
        shift_x = np.where(symmetric, 0.0, rng.uniform(-0.5, 0.5, count) * w)
        shift_y = np.where(symmetric, 0.0, rng.uniform(-0.5, 0.5, count) * h)
        shapes = np.stack([-w / 2 + shift_x, -h / 2 + shift_y, w / 2 + shift_x,
                           h / 2 + shift_y], axis=1)
        if rng.random() < 0.3:  # integer (rounded) half-extents, as keras-hub / torchvision
            shapes = np.round(shapes)
            shapes[:, 2] = np.maximum(shapes[:, 2], shapes[:, 0] + 1)
            shapes[:, 3] = np.maximum(shapes[:, 3], shapes[:, 1] + 1)
        grids.append(LevelGrid(level=3 + level, stride_x=sx, stride_y=sy, offset_x=ox,
                               offset_y=oy, nx=nx, ny=ny, shapes=shapes, clip=clip,
                               image_width=width, image_height=height))
    return grids


def random_dataset(rng, sizes, n_images, boxes_per_image, integer):
    heights = np.array([sizes[rng.integers(len(sizes))][0] for _ in range(n_images)])
    widths = np.array([sizes[rng.integers(len(sizes))][1] for _ in range(n_images)])
    image = rng.integers(0, n_images, n_images * boxes_per_image)
    h, w = heights[image], widths[image]
    kind = rng.integers(0, 4, len(image))
    bw = np.where(kind == 0, 1.0, rng.uniform(1, 1, len(image)) * rng.choice(
        [1, 2, 3, 5, 8, 12, 20, 40, 90], len(image)) * rng.uniform(0.7, 1.3, len(image)))
    bh = rng.choice([1, 2, 4, 7, 10, 16, 30, 60, 100], len(image)) * rng.uniform(0.7, 1.3,
                                                                                len(image))
    bw, bh = np.minimum(bw, w), np.minimum(bh, h)
    x1 = rng.uniform(0, 1, len(image)) * (w - bw)
    y1 = rng.uniform(0, 1, len(image)) * (h - bh)
    # some boxes snapped to the borders
    x1 = np.where(kind == 1, 0.0, np.where(kind == 2, w - bw, x1))
    y1 = np.where(rng.random(len(image)) < 0.2, 0.0, y1)
    x2, y2 = x1 + bw, y1 + bh
    if integer:
        x1, y1 = np.floor(x1), np.floor(y1)
        x2, y2 = np.maximum(np.round(x2), x1 + 1), np.maximum(np.round(y2), y1 + 1)
        x2, y2 = np.minimum(x2, w), np.minimum(y2, h)
    # duplicates and overlapping copies
    dup = rng.random(len(image)) < 0.15
    src = rng.integers(0, len(image), len(image))
    same = dup & (image[src] == image)
    x1, y1, x2, y2 = (np.where(same, v[src], v) for v in (x1, y1, x2, y2))
    return x1, y1, x2, y2, image, heights, widths


def grids_factory(seed, clip):
    cache = {}

    def grids_for_size(h, w):
        if (h, w) not in cache:
            levels = 1 + seed % 3
            cache[(h, w)] = random_grids(np.random.default_rng([seed, h, w]), h, w, clip, levels)
        return cache[(h, w)]

    return grids_for_size


def assert_same(fast, ref, context):
    for name in FIELDS:
        a, b = getattr(fast, name), ref[name]
        bad = np.flatnonzero(a != b)
        assert len(bad) == 0, (f"{name} differs at {bad[:5]}: fast {a[bad[:5]]} ref {b[bad[:5]]}"
                               f" ({context})")
    np.testing.assert_array_equal(fast.best_anchor, ref["best_anchor"])
    np.testing.assert_array_equal(fast.level_positive_anchors, ref["level_positive_anchors"])


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(seed=st.integers(0, 2**32 - 1), clip=st.booleans(), integer=st.booleans(),
       kind=st.sampled_from(MATCHER_KINDS), pos=st.sampled_from([0.5, 0.4, 0.7, 0.3, 0.55]),
       mixed=st.booleans())
def test_engine_matches_brute_force(seed, clip, integer, kind, pos, mixed):
    rng = np.random.default_rng(seed)
    sizes = [(64, 96), (120, 40), (160, 160)] if mixed else [(96, 128)]
    data = random_dataset(rng, sizes, int(rng.integers(1, 5)), int(rng.integers(1, 9)), integer)
    grids_for_size = grids_factory(seed, clip)
    rule = MatchRule(kind, pos, pos - 0.1)
    fast = compute_box_coverage(*data, grids_for_size, rule)
    ref = reference_coverage(*data, grids_for_size, rule)
    assert_same(fast, ref, f"seed={seed}")


@pytest.mark.parametrize("kind", MATCHER_KINDS)
def test_crowded_images_all_matchers(kind):
    """Many overlapping and duplicate integer boxes per image: argmax conflicts and ties."""
    rng = np.random.default_rng(7)
    for trial in range(6):
        data = random_dataset(rng, [(64, 64), (48, 80)], 2, 25, integer=True)
        grids_for_size = grids_factory(trial, clip=bool(trial % 2))
        rule = MatchRule(kind, 0.3 + 0.1 * (trial % 3))
        assert_same(compute_box_coverage(*data, grids_for_size, rule),
                    reference_coverage(*data, grids_for_size, rule), f"trial {trial}")


def test_engine_retune_reuses_and_stays_exact():
    """Changing one level's shapes through a reused engine gives the one-shot result."""
    rng = np.random.default_rng(3)
    data = random_dataset(rng, [(96, 128), (64, 64)], 5, 8, integer=False)
    base = grids_factory(11, clip=True)
    engine = CoverageEngine(*data)
    rule = MatchRule("low_quality", 0.5)
    first = engine.compute(base, rule)
    assert_same(first, reference_coverage(*data, base, rule), "first")

    def changed(h, w):
        grids = list(base(h, w))
        g = grids[0]
        shapes = g.shapes.copy()
        shapes[0] *= 1.3
        grids[0] = LevelGrid(g.level, g.stride_x, g.stride_y, g.offset_x, g.offset_y, g.nx, g.ny,
                             shapes, g.clip, g.image_width, g.image_height)
        return grids

    second = engine.compute(changed, rule)
    assert_same(second, reference_coverage(*data, changed, rule), "retuned")
    again = engine.compute(base, rule)
    assert_same(again, reference_coverage(*data, base, rule), "back")


def test_box_without_any_overlapping_anchor_uses_full_matrix():
    """A grid covering only part of the image: a box outside it has best IoU 0 and, under the
    low-quality matchers, every anchor ties for its best (the frameworks' literal behaviour)."""
    grid = LevelGrid(3, 8.0, 8.0, 4.0, 4.0, 4, 4, np.array([[-8.0, -8.0, 8.0, 8.0]]), True, 64,
                     64)
    x1, y1, x2, y2 = (np.array(v, float) for v in ([2, 50, 0], [2, 50, 0], [14, 60, 10],
                                                   [14, 60, 10]))
    image = np.zeros(3, int)
    for kind in MATCHER_KINDS:
        rule = MatchRule(kind, 0.5)
        fast = compute_box_coverage(x1, y1, x2, y2, image, [64], [64], lambda h, w: [grid],
                                    rule)
        assert_same(fast, reference_coverage(x1, y1, x2, y2, image, [64], [64],
                                             lambda h, w: [grid], rule), kind)
        assert fast.best_iou[1] == 0.0


def test_positive_anchors_and_cell_lookup():
    rng = np.random.default_rng(5)
    grids = random_grids(rng, 96, 128, clip=True)
    box = np.array([30.0, 20.0, 70.0, 44.0])
    anchors = np.concatenate([g.expand() for g in grids])
    ious = iou_matrix(box[None], anchors)[0]
    found = positive_anchors_of_box(box, grids, 0.3)
    np.testing.assert_array_equal(np.sort(found.iou), np.sort(ious[ious >= 0.3]))
    g = grids[0]
    cell = anchors_in_cell(grids, 0, g.centers_x()[1] + 0.1, g.centers_y()[2] - 0.1)
    expected = g.expand().reshape(g.ny, g.nx, -1, 4)[2, 1]
    np.testing.assert_array_equal(cell, expected)


def test_summary_numbers():
    rng = np.random.default_rng(9)
    data = random_dataset(rng, [(96, 128)], 6, 6, integer=True)
    grids_for_size = grids_factory(2, clip=True)
    rule = MatchRule("argmax", 0.5)
    cov = compute_box_coverage(*data, grids_for_size, rule)
    cls = rng.integers(0, 3, len(cov))
    levels = [g.level for g in grids_for_size(96, 128)]
    report = summarize(cov, cls, {0: "block", 1: "tick"}, levels, 0.5)
    assert report.recall == pytest.approx(cov.matched.mean())
    assert report.best_possible_recall == pytest.approx((cov.best_iou >= 0.5).mean())
    assert report.uncovered_boxes == int((~cov.matched).sum())
    assert sum(c.boxes for c in report.per_class.values()) == len(cov)
    assert sum(v.best_boxes for v in report.per_level.values()) == int(
        (cov.best_level >= 0).sum())
    assert report.per_class["block"].boxes == int((cls == 0).sum())
    assert "2" in report.per_class  # unnamed class falls back to its id


@pytest.mark.parametrize("kind", MATCHER_KINDS)
def test_large_images_screen_in_float64(kind):
    """Images above 2048 px screen in float64; 1-pixel boxes far from the origin stay exact."""
    rng = np.random.default_rng(21)
    h, w = 3000, 4100
    shapes = np.array([[-40.0, -20.0, 40.0, 20.0], [-3.0, -2.0, 3.0, 2.0], [-90, -90, 90, 90]])
    grids = [LevelGrid(5, 64.0, 48.0, 32.0, 24.0, 65, 63, shapes, True, w, h),
             LevelGrid(6, 128.0, 128.0, 0.0, 0.0, 33, 24, shapes * 2, True, w, h)]
    n = 60
    x1 = np.round(rng.uniform(0, w - 200, n), 3)
    y1 = np.round(rng.uniform(0, h - 200, n), 3)
    bw = rng.choice([1.0, 6.0, 80.0, 170.0], n)
    bh = rng.choice([1.0, 4.0, 40.0, 175.0], n)
    data = (x1, y1, x1 + bw, y1 + bh, rng.integers(0, 3, n), [h] * 3, [w] * 3)
    rule = MatchRule(kind, 0.5)
    assert_same(compute_box_coverage(*data, lambda *_: grids, rule),
                reference_coverage(*data, lambda *_: grids, rule), kind)


def keras_cv_like_grids(height, width, ratios=(0.5, 1.0, 2.0)):
    """5 levels x 9 anchors, centres (i + 0.5) * stride, clipped: the benchmark's grids."""
    grids = []
    for level, (stride, size) in enumerate(zip([8, 16, 32, 64, 128], [32, 64, 128, 256, 512],
                                               strict=True)):
        shapes = [[-w / 2, -h / 2, w / 2, h / 2]
                  for scale in (1.0, 2 ** (1 / 3), 2 ** (2 / 3)) for ratio in ratios
                  for w, h in [(size * scale * np.sqrt(ratio), size * scale / np.sqrt(ratio))]]
        grids.append(LevelGrid(level + 3, stride, stride, stride / 2, stride / 2,
                               int(np.ceil(width / stride)), int(np.ceil(height / stride)),
                               np.array(shapes), True, width, height))
    return grids


def spectrogram_like(rng, n_images, per_image, size=128):
    """The four SciSRS-like clusters (scaled to the image), crowded, some on the borders."""
    n = n_images * per_image
    cluster = rng.integers(0, 4, n)
    s = size / 512
    w = s * np.select([cluster == 0, cluster == 1, cluster == 2],
                      [rng.uniform(75, 330, n), rng.uniform(5, 10, n), rng.uniform(6, 11, n)],
                      rng.uniform(80, 88, n))
    h = s * np.select([cluster == 0, cluster == 1, cluster == 2],
                      [rng.uniform(77, 103, n), rng.uniform(10, 22, n), rng.uniform(100, 104, n)],
                      rng.uniform(1, 21, n))
    x1 = np.where(rng.random(n) < 0.1, 0.0, rng.uniform(0, 1, n) * (size - w))
    y1 = np.where(rng.random(n) < 0.1, size - h, rng.uniform(0, 1, n) * (size - h))
    image = np.repeat(np.arange(n_images), per_image)
    return (x1, y1, x1 + w, y1 + h, image, np.full(n_images, size), np.full(n_images, size))


@pytest.mark.parametrize("kind", MATCHER_KINDS)
def test_benchmark_shaped_data_all_matchers(kind):
    """The benchmark's situation (clipped keras-cv grids, spectrogram clusters), small enough
    for the brute force, and a retune through the same engine."""
    rng = np.random.default_rng(31)
    data = spectrogram_like(rng, 6, 30)
    engine = CoverageEngine(*data)
    for ratios in [(0.5, 1.0, 2.0), (0.5, 1.0, 2.05), (0.25, 1.0, 8.0)]:
        grids = keras_cv_like_grids(128, 128, ratios)
        for pos in (0.5, 0.3):
            rule = MatchRule(kind, pos)
            assert_same(engine.compute(lambda *_, g=grids: g, rule),
                        reference_coverage(*data, lambda *_, g=grids: g, rule),
                        f"{ratios} {pos}")


def test_positive_anchors_match_brute_force_on_random_boxes():
    rng = np.random.default_rng(17)
    for trial in range(20):
        grids = random_grids(rng, 96, 128, clip=bool(trial % 2), levels=3)
        anchors = np.concatenate([g.expand() for g in grids])
        x1, y1 = rng.uniform(0, 100), rng.uniform(0, 70)
        box = np.array([x1, y1, x1 + rng.uniform(1, 28), y1 + rng.uniform(1, 26)])
        ious = iou_matrix(box[None], anchors)[0]
        for t in (0.2, 0.5):
            found = positive_anchors_of_box(box, grids, t)
            keep = np.flatnonzero(ious >= t)
            np.testing.assert_array_equal(found.iou, ious[keep])
            np.testing.assert_array_equal(found.xyxy, anchors[keep])


def test_kernel_works_without_a_writable_numba_cache():
    """A read-only install (no cache location at all) still imports, without warnings."""
    code = ("import warnings\nwarnings.simplefilter('error')\n"
            "import numba.core.caching as caching\ncaching.CacheImpl._locator_classes = []\n"
            "from core.coverage import kernel\nprint(type(kernel.cover_images._cache).__name__)")
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "NullCache"


def test_concurrent_computes_agree():
    """The GUI may recompute from a worker while another runs: results stay exact."""
    rng = np.random.default_rng(41)
    data = spectrogram_like(rng, 40, 60)
    engine = CoverageEngine(*data)
    grids = keras_cv_like_grids(128, 128)
    rule = MatchRule("low_quality", 0.5)
    expected = engine.compute(lambda *_: grids, rule)
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda _: engine.compute(lambda *_: grids, rule), range(8)))
    for result in results:
        for name in FIELDS:
            np.testing.assert_array_equal(getattr(result, name), getattr(expected, name))


class _Config:
    """A mutable anchor configuration for the retune tests: per level a lattice (stride,
    offset, cells beyond the image) and shapes; one clip flag. `grids(h, w)` builds it."""

    def __init__(self, rng: np.random.Generator, levels: int):
        self.clip = bool(rng.random() < 0.5)
        self.levels = []
        for _ in range(levels):
            sx = float(rng.choice([4, 6, 8, 11.5, 16, 24, 32]))
            sy = float(rng.choice([sx, 4, 8, 13, 16]))
            ox = float(rng.choice([0.0, 0.5 * sx, rng.uniform(-sx, sx)]))
            oy = float(rng.choice([0.0, 0.5 * sy, rng.uniform(-sy, sy)]))
            extra = (int(rng.integers(-2, 3)), int(rng.integers(-2, 3)))
            shapes = [self.shape(rng) for _ in range(int(rng.integers(1, 4)))]
            self.levels.append([sx, sy, ox, oy, extra, shapes])

    @staticmethod
    def shape(rng, size=None, ratio=None):
        size = float(rng.choice([3.0, 8.0, 16.0, 23.7, 40.0, 90.0])) if size is None else size
        ratio = float(rng.choice([0.25, 0.5, 1.0, 2.0, 3.0])) if ratio is None else ratio
        w, h = size * np.sqrt(ratio), size / np.sqrt(ratio)
        return (-w / 2, -h / 2, w / 2, h / 2)

    def copy(self) -> _Config:
        other = _Config.__new__(_Config)
        other.clip = self.clip
        other.levels = [[*lv[:5], list(lv[5])] for lv in self.levels]
        return other

    def grids(self, height, width):
        grids = []
        for index, (sx, sy, ox, oy, extra, shapes) in enumerate(self.levels):
            nx = max(1, int(np.ceil(width / sx)) + extra[0])
            ny = max(1, int(np.ceil(height / sy)) + extra[1])
            grids.append(LevelGrid(3 + index, sx, sy, ox, oy, nx, ny,
                                   np.array(shapes, np.float64).reshape(-1, 4), self.clip,
                                   width, height))
        return grids


CHANGES = ("ratio", "scale", "add", "remove", "level_size", "clip", "revert")


def apply_change(config: _Config, history: list[_Config], change: str, rng) -> _Config:
    """One GUI-like edit of `config` (a new object; `history` holds the earlier ones)."""
    if change == "revert":
        return history[int(rng.integers(len(history)))].copy()
    config = config.copy()
    level = config.levels[int(rng.integers(len(config.levels)))]
    shapes = level[5]
    k = int(rng.integers(len(shapes)))
    x1, y1, x2, y2 = shapes[k]
    size, ratio = np.sqrt((x2 - x1) * (y2 - y1)), (x2 - x1) / (y2 - y1)
    if change == "ratio":
        shapes[k] = config.shape(rng, size, ratio * float(rng.choice([0.8, 1.05, 1.5, 2.0])))
    elif change == "scale":
        shapes[k] = config.shape(rng, size * float(rng.choice([0.7, 1.1, 1.26, 2.0])), ratio)
    elif change == "add":
        shapes.append(config.shape(rng))
    elif change == "remove" and len(shapes) > 1:
        del shapes[k]
    elif change == "level_size":
        factor = float(rng.choice([0.5, 0.9, 1.2, 2.0]))
        level[5] = [tuple(factor * v for v in s) for s in shapes]
    elif change == "clip":
        config.clip = not config.clip
    return config


@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
@given(seed=st.integers(0, 2**32 - 1), integer=st.booleans(), mixed=st.booleans(),
       pos=st.sampled_from([0.5, 0.3, 0.7]),
       changes=st.lists(st.sampled_from(CHANGES), min_size=1, max_size=6))
def test_retune_sequences_stay_exact(seed, integer, mixed, pos, changes):
    """A sequence of edits through one reused engine: after every step, every per-box field
    under every matcher equals a fresh computation and the brute force."""
    rng = np.random.default_rng(seed)
    sizes = [(64, 96), (120, 40)] if mixed else [(96, 128)]
    data = random_dataset(rng, sizes, int(rng.integers(1, 4)), int(rng.integers(2, 12)),
                          integer)
    engine = CoverageEngine(*data)
    config = _Config(rng, int(rng.integers(1, 4)))
    history = [config]
    for step, change in enumerate(["start", *changes]):
        if step:
            config = apply_change(config, history, change, rng)
            history.append(config)
        for kind in MATCHER_KINDS:
            rule = MatchRule(kind, pos)
            cached = engine.compute(config.grids, rule)
            fresh = compute_box_coverage(*data, config.grids, rule)
            for name in (*FIELDS, "best_anchor", "level_positive_anchors"):
                np.testing.assert_array_equal(getattr(cached, name), getattr(fresh, name),
                                              err_msg=f"{name} after {changes[:step]}")
            assert_same(cached, reference_coverage(*data, config.grids, rule),
                        f"seed={seed} {kind} after {changes[:step]}")


def test_two_threads_retuning_one_engine():
    """A GUI worker may start a compute while another still runs: two threads computing
    different configurations on one engine both get exact results, every time."""
    import threading

    rng = np.random.default_rng(47)
    data = spectrogram_like(rng, 120, 40)
    engine = CoverageEngine(*data)
    configs = [keras_cv_like_grids(128, 128, (0.5, 1.0, 2.0)),
               keras_cv_like_grids(128, 128, (0.5, 1.3, 2.0)),
               keras_cv_like_grids(128, 128, (0.4, 1.0, 2.5))]
    rules = [MatchRule("low_quality", 0.5), MatchRule("argmax", 0.5), MatchRule("mmdet", 0.5)]
    expected = [compute_box_coverage(*data, lambda *_, g=g: g, r)
                for g, r in zip(configs, rules, strict=True)]
    barrier = threading.Barrier(2)
    failures = []

    def worker(order):
        barrier.wait()
        for i in order * 3:
            result = engine.compute(lambda *_, g=configs[i]: g, rules[i])
            for name in (*FIELDS, "best_anchor", "level_positive_anchors"):
                if not np.array_equal(getattr(result, name), getattr(expected[i], name),
                                      equal_nan=True):
                    failures.append((i, name))

    threads = [threading.Thread(target=worker, args=(order,)) for order in ([0, 1], [2, 0, 1])]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not failures
