"""Tools ▸ Detector families: the dataset under a family's own rules, following the main
window's image and selection, with the selected box's positives drawn."""

from __future__ import annotations

import math

import numpy as np
import pytest

from core.family_analysis import analyze_family, positive_outlines
from core.family_config import default_family_config, with_params

SPEC = "demo?images=20&seed=4"


@pytest.fixture
def family_window(window, load, qtbot):
    load(window, SPEC)
    window.coverage.wait(60)
    window.show_family_window()
    family = window.family_window
    qtbot.waitUntil(lambda: family.result is not None and not family.busy, timeout=60_000)
    return family


def drawn_rectangles(item) -> int:
    """Rectangles in an outline item (each is 5 points and a break)."""
    x, _ = item.getData()
    return 0 if x is None else len(x) // 6


@pytest.mark.parametrize("name", ["yolov5", "fcos", "atss", "yolov8"])
def test_each_family_reports_the_exact_dataset_result(family_window, qtbot, name):
    state = family_window.state
    family_window.family_combo.setCurrentIndex(family_window.family_combo.findData(name))
    qtbot.waitUntil(lambda: family_window.result is not None and not family_window.busy
                    and family_window.result.config.framework == name, timeout=60_000)
    expected = analyze_family(state.table, default_family_config(name), state.model_input)
    assert family_window.result.report == expected.report
    assert f"{100 * expected.report.recall:.1f} %" in family_window.recall_label.text()
    # the boxes on screen are coloured by the family's result for them
    rows = state.boxes_of_image(state.image_index)
    matched = expected.coverage.matched[rows]
    assert drawn_rectangles(family_window.view.matched_item) == int(matched.sum())
    assert drawn_rectangles(family_window.view.unmatched_item) == int((~matched).sum())


def test_the_selected_box_shows_its_positives(family_window, qtbot):
    state = family_window.state
    result = family_window.result  # yolov5, the default family
    rows = state.boxes_of_image(state.image_index)
    best = int(rows[np.argmax(result.coverage.positives[rows])])
    state.select_box(best)
    drawn = drawn_rectangles(family_window.view.positive_item)
    assert drawn == int(result.coverage.positives[best]) > 0


def test_editing_a_parameter_recomputes(family_window, qtbot):
    before = family_window.result.report.recall
    tight = with_params(family_window.config, anchor_t=1.5)
    family_window.panel.config_edited.emit(tight)
    qtbot.waitUntil(lambda: family_window.result.config == tight and not family_window.busy,
                    timeout=60_000)
    assert family_window.result.report.recall < before


def test_positive_outlines_count_what_the_assigner_counts():
    boxes = np.array([[100.0, 100.0, 180.0, 140.0], [10.0, 300.0, 400.0, 305.0]])
    for name in ("yolov5", "fcos", "atss", "yolov8"):
        config = default_family_config(name)
        assigned = config.family.assigner.assign_image(boxes, (512, 512), config.params)
        for box in range(2):
            assert len(positive_outlines(config, boxes, (512, 512), box)) == \
                assigned.positives[box], (name, box)


def test_dragging_an_anchor_square_moves_that_anchor(family_window, qtbot):
    squares = family_window.anchor_squares
    assert len(squares) == 9  # yolov5s: 3 anchors on 3 levels
    half = math.log10(4.0)
    x, y = squares[4].pos()  # level 1, anchor 1: 62 x 45
    assert (10 ** (x + half), 10 ** (y + half)) == pytest.approx((62.0, 45.0))
    squares[4].setPos((math.log10(300.0) - half, math.log10(5.0) - half))  # a long thin strip
    qtbot.waitUntil(lambda: family_window.result.config.params.anchors[1][1] == (300.0, 5.0)
                    and not family_window.busy, timeout=60_000)
    assert family_window.panel.config() == family_window.config
    missed = ~family_window.result.coverage.matched
    x_points, _ = family_window.density.unmatched.getData()
    assert len(x_points) == int(missed.sum())
