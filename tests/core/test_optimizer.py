"""The anchor optimizer: exact counts, determinism, never worse than its starts, cancellation,
framework constraints and the ceiling advice."""

import time

import numpy as np
import pytest

from core.analysis import analyze
from core.anchor_config import (
    default_config,
    inexpressible_reasons,
    keras_hub_parameters,
    sizes_out_of_order,
)
from core.boxes import BoxTableBuilder
from core.errors import InputError
from core.optimizer import (
    EFFORTS,
    SearchSpace,
    ceiling_advice,
    finer_level,
    image_subset,
    kmeans_1d,
    optimize,
    stratified_images,
    warm_start_point,
)
from core.sources import load_table

SPEC = "demo?images=60&seed=3"


@pytest.fixture(scope="module")
def table():
    return load_table(SPEC)


def test_exact_counts_sorted_and_same_grid_with_fixed_sizes(table):
    base = default_config("keras-cv")
    result = optimize(table, base, ratios=2, scales=4, seed=1, max_evaluations=25,
                      optimize_size=False)
    config = result.config
    assert len(config.aspect_ratios) == 2 and len(config.scales) == 4
    assert list(config.aspect_ratios) == sorted(config.aspect_ratios)
    assert list(config.scales) == sorted(config.scales)
    assert (config.framework, config.levels, config.strides, config.sizes) == (
        base.framework, base.levels, base.strides, base.sizes)
    assert config.positive_iou == base.positive_iou
    # the report is the exact full-dataset coverage of the returned config
    assert result.report.recall == pytest.approx(analyze(table, config).report.recall)


def test_deterministic_for_a_seed(table):
    base = default_config("keras-cv")
    first = optimize(table, base, 3, 3, seed=7, max_evaluations=40)
    second = optimize(table, base, 3, 3, seed=7, max_evaluations=40)
    assert first.config == second.config
    assert [tuple(step) for step in first.path] == [tuple(step) for step in second.path]


def test_never_worse_than_current_or_default(table):
    base = default_config("keras-cv")
    result = optimize(table, base, 3, 3, seed=0, max_evaluations=30)
    assert result.report.recall >= result.before.recall
    assert result.before.recall == pytest.approx(analyze(table, base).report.recall)
    assert result.report.recall > result.before.recall + 0.2  # the demo is badly served
    # a good current config is kept when the search budget is too small to beat it
    good = base.replace(aspect_ratios=result.config.aspect_ratios, scales=result.config.scales)
    again = optimize(table, good, 3, 3, seed=5, max_evaluations=3)
    assert again.report.recall >= analyze(table, good).report.recall


def test_path_improves_and_progress_reported(table):
    calls = []
    result = optimize(table, default_config(), 3, 3, max_evaluations=30,
                      progress=lambda fraction, message: calls.append((fraction, message)))
    recalls = [step.recall for step in result.path]
    assert recalls == sorted(recalls)
    evaluations = [step.evaluation for step in result.path]
    assert evaluations == sorted(set(evaluations))
    assert all(0.0 <= fraction <= 1.0 for fraction, _ in calls)
    assert calls[-1][0] == 1.0
    assert result.evaluations == 30 and result.stopped == "budget"


def test_cancel_returns_promptly_with_a_valid_config(table):
    polls = []

    def cancelled():
        polls.append(1)
        return len(polls) > 5

    started = time.perf_counter()
    result = optimize(table, default_config(), 3, 2, cancelled=cancelled)
    assert time.perf_counter() - started < 10
    assert result.stopped == "cancelled"
    assert result.evaluations == 5
    assert len(result.config.aspect_ratios) == 3 and len(result.config.scales) == 2
    assert result.report.recall >= 0.0

    # cancelled before anything was evaluated, with counts the start config does not have
    result = optimize(table, default_config(), 4, 1, cancelled=lambda: True)
    assert result.stopped == "cancelled" and result.evaluations == 0
    assert len(result.config.aspect_ratios) == 4 and len(result.config.scales) == 1


def test_time_budget_is_respected(table):
    started = time.perf_counter()
    result = optimize(table, default_config(), 3, 3, time_budget=1.5)
    assert time.perf_counter() - started < 6
    assert result.stopped == "budget"


def test_keras_hub_output_stays_expressible(table):
    base = default_config("keras-hub")
    result = optimize(table, base, 3, 3, max_evaluations=20, optimize_size=True)
    assert keras_hub_parameters(result.config) is not None
    assert list(result.config.aspect_ratios) == sorted(result.config.aspect_ratios)
    assert inexpressible_reasons(result.config) == []
    assert result.notes


def test_forced_match_framework_gains_real_positives(table):
    base = default_config("torchvision")  # low-quality matches: recall is near 1 regardless
    result = optimize(table, base, 3, 3, max_evaluations=30)
    assert result.report.recall >= result.before.recall
    assert result.report.best_possible_recall > result.before.best_possible_recall + 0.2


def test_sizes_move_per_level_by_default(table):
    base = default_config("keras-cv")
    result = optimize(table, base, 3, 3, max_evaluations=40)
    assert len(result.config.sizes) == len(base.sizes)
    assert result.config.sizes != base.sizes
    assert result.config.levels == base.levels and result.config.strides == base.strides
    assert result.report.recall >= result.before.recall


def test_stratified_sample_keeps_whole_images_and_every_class():
    table = load_table("demo?images=400&seed=1")
    images = stratified_images(table, 600, np.random.default_rng(0))
    subset = image_subset(table, images)
    assert 300 < len(subset) < 1200
    assert set(np.unique(subset.cls)) == set(np.unique(table.cls))
    per_image = np.bincount(table.image, minlength=table.image_count)
    assert np.array_equal(np.bincount(subset.image), per_image[images])


def test_kmeans_1d_finds_separated_groups():
    values = np.r_[np.full(50, -2.0), np.full(30, 0.5), np.full(20, 3.0)]
    assert np.allclose(kmeans_1d(values, 3), [-2.0, 0.5, 3.0])


def _tiny_box_table():
    builder = BoxTableBuilder("synthetic")
    builder.add_images(np.arange(4), np.full(4, 256), np.full(4, 256))
    rng = np.random.default_rng(0)
    image = np.repeat(np.arange(4), 20)
    x = rng.uniform(10, 230, len(image))
    y = rng.uniform(10, 230, len(image))
    xyxy = np.stack([x, y, x + 2.0, y + 2.0], axis=1)  # 2x2 pixel specks
    builder.add_boxes(image, xyxy, np.zeros(len(image), np.int32), np.arange(len(image)) % 20)
    builder.class_names = {0: "speck"}
    return builder.build()


def test_ceiling_advice_names_class_and_finer_level():
    table = _tiny_box_table()
    result = optimize(table, default_config(), 1, 1, max_evaluations=10)
    advice = ceiling_advice(table, result)
    assert advice is not None
    assert advice["class"] == "speck" and advice["finer_level"] == 2
    assert "add level 2 (stride 4)" in advice["message"]
    assert finer_level(default_config()).strides[0] == 4


def test_unknown_effort_is_refused(table):
    with pytest.raises(InputError, match="unknown effort 'huge'"):
        optimize(table, default_config(), 3, 3, effort="huge")


def test_effort_sets_the_budget(table):
    quick = optimize(table, default_config(), 2, 1, effort="quick")
    assert quick.evaluations == EFFORTS["quick"].max_evaluations
    assert quick.stopped == "budget"


def test_monotonic_sizes_keep_increasing(table):
    base = default_config("keras-cv")
    result = optimize(table, base, 3, 2, seed=2, max_evaluations=60, monotonic_sizes=True)
    sizes = list(result.config.sizes)
    assert sizes == sorted(sizes)
    assert sizes_out_of_order(result.config) is None
    assert not any("size bands" in note for note in result.notes)


def test_sizes_out_of_order_is_noted():
    base = default_config("keras-cv")
    assert sizes_out_of_order(base) is None
    note = sizes_out_of_order(base.replace(sizes=(32, 30, 128, 256, 512)))
    assert note is not None and "--monotonic-sizes" in note


def test_a_copy_of_a_value_covers_the_same_boxes(table):
    """Warm starts grow a smaller optimum by copies; a copy must not change coverage."""
    base = default_config("keras-cv")
    space = SearchSpace(base, 4, 3, optimize_size=True)
    grown = space.config(warm_start_point(space, base))
    assert len(grown.aspect_ratios) == 4 and len(set(grown.aspect_ratios)) == 3
    assert grown.sizes == base.sizes
    assert analyze(table, grown).report.recall == analyze(table, base).report.recall


def test_a_warm_start_from_fewer_anchors_is_never_lost(table):
    base = default_config("keras-cv")
    smaller = optimize(table, base, 2, 2, seed=3, max_evaluations=60)
    larger = optimize(table, base, 3, 2, seed=3, max_evaluations=5, warm_starts=[smaller.config])
    assert larger.report.recall >= smaller.report.recall
