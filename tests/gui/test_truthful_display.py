"""One colour per IoU band in the image and the table, a legend naming every colour, and boxes
matched only by the low-quality step shown apart, with recall with and without them."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt

from core.anchor_config import load_preset
from gui.theme import IOU_BAND_COLOURS, IOU_BAND_NAMES, iou_band
from gui.uncovered_table import BEST_IOU


def outlines(item) -> int:
    xs = item.getData()[0]
    return 0 if xs is None else len(xs) // 6


def test_low_quality_matches_are_shown_apart(window, load, qtbot):
    load(window, "demo?images=40&seed=3")
    window.coverage.wait(60)
    state = window.state
    state.set_config(load_preset("torchvision-retinanet"))
    qtbot.waitUntil(lambda: state.is_current, timeout=30_000)
    window.report.flush()
    coverage, report = state.result.coverage, state.result.report
    low = report.low_quality_only
    assert low > 0  # torchvision forces each box its best anchor
    strict = report.recall - low / len(state.table)
    note = window.report.low_quality_note
    assert note.isVisibleTo(window.report)
    assert f"{low:,d} boxes only by the low-quality step" in note.text()
    assert f"{100 * strict:.1f} % without them" in note.text()
    image = int(state.table.image[np.flatnonzero(coverage.low_quality_only)[0]])
    window.image_spin.setValue(image)
    rows = state.boxes_of_image(image)
    view = window.view
    assert outlines(view.low_quality_item) == coverage.low_quality_only[rows].sum()
    truly = coverage.matched & ~coverage.low_quality_only
    assert outlines(view.matched_item) == truly[rows].sum()
    assert outlines(view.unmatched_item) == (~coverage.matched)[rows].sum()


def test_one_colour_scheme_for_the_iou_and_a_legend(window, load, qtbot):
    load(window, "demo?images=40&seed=3")
    window.coverage.wait(60)
    state, model = window.state, window.report.uncovered.model
    config, coverage = state.result.config, state.result.coverage
    bands = iou_band(coverage.best_iou, config.negative_iou, config.positive_iou)
    for band in (0, 1):  # unmatched boxes are below the positive IoU (or lost in matching)
        row = int(np.flatnonzero((bands == band) & ~coverage.matched)[0])
        colour = model.index(model.view_row(row), BEST_IOU).data(Qt.ItemDataRole.ForegroundRole)
        assert colour.name() == IOU_BAND_COLOURS[band]
        state.select_box(row)  # its image; its best anchor drawn in the same band's pen
        window._draw_overlays()
        item = window.view.best_anchor_items[band]
        assert item.opts["pen"].color().name() == IOU_BAND_COLOURS[band]
        anchor = window.anchors.to_image(coverage.best_anchor[[row]], state.image_index)[0]
        xs, ys = item.getData()
        assert np.isclose(xs, anchor[0]).any() and np.isclose(ys, anchor[1]).any()
    legend = window.legend.text()
    for words in ("positive anchor", "without one", "low-quality step", *IOU_BAND_NAMES,
                  "selected box", "its positive anchors", "cell under the cursor"):
        assert words in legend
    assert legend.count("▭") >= 2 + len(state.config.levels)  # a swatch per level
