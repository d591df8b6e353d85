"""The report panel shows the coverage report, its change, and a lazy table of unmatched boxes."""

from __future__ import annotations

import time

import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QPalette

from core.analysis import CoverageResult, analyze
from core.anchor_config import default_config
from core.boxes import BoxTable
from core.coverage import BoxCoverage, MatchRule
from core.sources import load_table
from gui.app import create_application
from gui.report_panel import BETTER, WORSE, ReportPanel
from gui.state import AppState
from gui.uncovered_table import (
    BEST_IOU,
    CLASS,
    IMAGE_ID,
    SORT_VALUE_ROLE,
    UncoveredBoxTable,
    sort_order,
)

TUNED_RATIOS = (0.15, 1.0, 8.0)  # strips and ticks: more demo boxes get a positive anchor


@pytest.fixture(scope="module")
def demo():
    table = load_table("demo?images=30")
    config = default_config("keras-cv")
    return table, analyze(table, config), analyze(table, config.replace(
        aspect_ratios=TUNED_RATIOS))


@pytest.fixture
def panel(qtbot, demo):
    create_application()
    table, first, _ = demo
    state = AppState()
    state.set_dataset(table, None)
    state.set_config(first.config)
    state.set_result(first)
    widget = ReportPanel(state)
    widget.resize(480, 880)
    qtbot.addWidget(widget)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


def show(panel, result) -> None:
    """What the app does: the result's config is set (an edit of its own, compared with the
    state before it), then its result arrives and is drawn."""
    panel.state.set_config(result.config)
    panel.state.end_gesture()
    panel.state.set_result(result)
    panel.flush()


def percent(value: float) -> str:
    return f"{100 * value:.1f} %"


def text_colour(label) -> str:
    return label.palette().color(QPalette.ColorRole.WindowText).name()


def test_numbers_shown_equal_the_report(panel, demo):
    report = demo[1].report
    assert panel.recall_value.text() == percent(report.recall)
    labels = panel.metric_labels
    assert labels["best_possible_recall"][1].text() == percent(report.best_possible_recall)
    assert labels["ceiling_recall"][1].text() == percent(report.ceiling_recall)
    assert labels["mean_best_iou"][1].text() == f"{report.mean_best_iou:.3f}"
    assert labels["median_best_iou"][1].text() == f"{report.median_best_iou:.3f}"
    assert labels["uncovered_boxes"][1].text() == f"{report.uncovered_boxes:,d}"
    assert labels["mean_positives_per_box"][1].text() == f"{report.mean_positives_per_box:.2f}"
    assert labels["low_quality_only"][1].text() == str(report.low_quality_only)
    assert panel.recall_delta.text() == ""  # nothing to compare with yet
    assert all(before.text() == "" for before, _, _ in labels.values())
    shapes = report.ceiling_recall - report.best_possible_recall
    text = panel.interpretation.text()
    assert f"{100 * shapes:.1f} % missed because of shapes" in text
    assert f"{100 * (1 - report.ceiling_recall):.1f} % beyond any shape" in text
    assert "KerasCV" in panel.context.text() and "260 boxes" in panel.context.text()


def test_second_result_shows_before_after_and_coloured_delta(panel, demo):
    _, first, second = demo
    assert second.report.recall > first.report.recall
    show(panel, second)
    before, after = first.report, second.report
    assert panel.recall_value.text() == percent(after.recall)
    gain = 100 * (after.recall - before.recall)
    assert panel.recall_delta.text() == f"+{gain:.1f} pp"
    assert panel.recall_before.text() == f"was {percent(before.recall)}"
    assert text_colour(panel.recall_delta) == BETTER
    old, new, delta = panel.metric_labels["uncovered_boxes"]
    assert old.text().startswith(f"{before.uncovered_boxes:,d}")
    assert new.text() == f"{after.uncovered_boxes:,d}"
    fewer = before.uncovered_boxes - after.uncovered_boxes
    assert delta.text() == f"−{fewer:,d}" and text_colour(delta) == BETTER  # fewer is better
    # and back: the same change reversed is worse, in red
    show(panel, first)
    assert panel.recall_delta.text() == f"−{gain:.1f} pp"
    assert text_colour(panel.recall_delta) == WORSE
    assert text_colour(panel.metric_labels["uncovered_boxes"][2]) == WORSE


def test_per_level_and_per_class_tables(panel, demo, qtbot):
    report = demo[1].report
    levels = panel.level_model
    assert levels.rowCount() == len(report.per_level)
    for row, (level, values) in enumerate(report.per_level.items()):
        assert levels.index(row, 0).data() == f"P{level}"
        assert levels.index(row, 1).data() == f"{values.best_boxes:,d}"
        assert levels.index(row, 5).data() == f"{values.positive_anchors:,d}"
    classes = panel.class_model
    names = [classes.index(row, 0).data() for row in range(classes.rowCount())]
    assert names == list(report.per_class)
    for row, name in enumerate(names):
        assert classes.index(row, 2).data() == percent(report.per_class[name].recall)
        assert classes.index(row, 6).data() == str(report.per_class[name].uncovered)
    # sortable: clicking "uncovered" twice orders the classes by it, descending
    panel.tabs.setCurrentWidget(panel.class_view)
    header = panel.class_view.horizontalHeader()
    for _ in range(2):
        qtbot.mouseClick(header.viewport(), Qt.MouseButton.LeftButton,
                         pos=QPoint(
                             header.sectionViewportPosition(6) + 5, header.height() // 2))
    uncovered = [classes.index(row, 6).data(SORT_VALUE_ROLE) for row in range(len(names))]
    assert uncovered == sorted(uncovered, reverse=True)
    # Δ recall appears after a second result
    show(panel, demo[2])
    deltas = [classes.index(row, 3).data() for row in range(classes.rowCount())]
    assert all(d.endswith("pp") for d in deltas)


def test_unmatched_table_lists_unmatched_boxes(panel, demo):
    table, first, _ = demo
    model = panel.uncovered.model
    unmatched = ~first.coverage.matched
    assert model.rowCount() == unmatched.sum()
    assert set(model.rows.tolist()) == set(np.flatnonzero(unmatched).tolist())
    assert panel.tabs.tabText(0) == f"Unmatched boxes ({unmatched.sum():,d})"
    row = model.table_row(0)
    assert model.index(0, IMAGE_ID).data() == str(table.image_ids[table.image[row]])
    assert model.index(0, CLASS).data() == table.class_name(int(table.cls[row]))
    assert model.index(0, BEST_IOU).data() == f"{first.coverage.best_iou[row]:.3f}"
    # a better config: fewer rows, and the table follows
    show(panel, demo[2])
    assert model.rowCount() == (~demo[2].coverage.matched).sum() < unmatched.sum()


def test_class_filter(panel, demo):
    table, first, _ = demo
    combo = panel.uncovered.class_combo
    position = combo.findText("burst", Qt.MatchFlag.MatchStartsWith)
    assert position > 0
    combo.setCurrentIndex(position)
    burst = [cls for cls, name in table.class_names.items() if name == "burst"][0]
    expected = (~first.coverage.matched & (table.cls == burst)).sum()
    assert panel.uncovered.model.rowCount() == expected
    assert {panel.uncovered.model.index(r, CLASS).data() for r in range(expected)} == {"burst"}
    combo.setCurrentIndex(0)
    assert panel.uncovered.model.rowCount() == (~first.coverage.matched).sum()


def test_click_and_enter_select_the_box_and_its_image(panel, demo, qtbot):
    table = demo[0]
    state, view, model = panel.state, panel.uncovered.view, panel.uncovered.model
    view_row = next(r for r in range(model.rowCount()) if table.image[model.table_row(r)] != 0)
    target = model.table_row(view_row)
    index = model.index(view_row, 2)
    view.scrollTo(index)
    with qtbot.waitSignal(state.selection_changed) as signal:
        qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton,
                         pos=view.visualRect(index).center())
    assert signal.args == [target]
    assert state.selected_box == target
    assert state.image_index == table.image[target]
    # Enter on the current row selects it again after the selection was cleared elsewhere
    state.select_box(-1)
    with qtbot.waitSignal(state.selection_changed) as signal:
        qtbot.keyClick(view, Qt.Key.Key_Return)
    assert signal.args == [target]
    # a selection made elsewhere is highlighted in the table
    other = model.table_row(0)
    state.select_box(other)
    assert view.currentIndex().row() == 0


def test_sorting_by_best_iou(panel, qtbot):
    view, model = panel.uncovered.view, panel.uncovered.model
    header = view.horizontalHeader()

    def click_best_iou():
        view.scrollTo(model.index(0, BEST_IOU))
        x = header.sectionViewportPosition(BEST_IOU) + header.sectionSize(BEST_IOU) // 2
        qtbot.mouseClick(header.viewport(), Qt.MouseButton.LeftButton,
                         pos=QPoint(x, header.height() // 2))

    def shown() -> list[float]:
        return [float(model.index(r, BEST_IOU).data()) for r in range(model.rowCount())]

    assert shown() != sorted(shown())  # table order first
    click_best_iou()
    assert header.sortIndicatorSection() == BEST_IOU
    assert shown() == sorted(shown())
    click_best_iou()
    assert shown() == sorted(shown(), reverse=True)


def test_dataset_change_clears(panel):
    panel.state.set_dataset(load_table("demo?images=3"), None)
    assert panel.recall_value.text() == "—"
    assert panel.uncovered.model.rowCount() == 0
    assert panel.level_model.rowCount() == 0


@pytest.mark.parametrize("size", [(900, 320), (480, 880), (360, 880)])
def test_nothing_clipped(panel, demo, qtbot, size, tmp_path):
    show(panel, demo[2])
    panel.resize(*size)
    qtbot.wait(20)
    labels = [panel.recall_value, panel.recall_delta]
    labels += [label for row in panel.metric_labels.values() for label in row]
    for label in labels:
        assert label.width() >= label.sizeHint().width(), label.text()
    assert panel.tabs.geometry().bottom() <= panel.height()
    assert panel.summary_scroll.geometry().bottom() <= panel.height()
    assert not panel.summary_scroll.verticalScrollBar().isVisible()  # all numbers in sight
    panel.tabs.setCurrentWidget(panel.class_view)
    qtbot.wait(20)
    view = panel.class_view
    for column in range(panel.class_model.columnCount()):  # numbers are never elided
        assert view.horizontalHeader().sectionSize(column) >= view.sizeHintForColumn(column)
    wide = size[0] > size[1]
    assert (panel.tabs.x() > panel.summary_scroll.x()) == wide  # beside when wide, else below
    panel.grab().save(str(tmp_path / f"report_{size[0]}x{size[1]}.png"))


def test_sort_order_equals_a_stable_sort():
    rng = np.random.default_rng(1)
    key = rng.integers(0, 5, 1000)
    assert (sort_order(key, False) == np.argsort(key, kind="stable")).all()
    assert (sort_order(key, True) == np.argsort(-key, kind="stable")).all()
    floats = rng.uniform(0, 1, 1000)
    assert (np.diff(floats[sort_order(floats, True)]) <= 0).all()


def test_sort_by_class_name_and_image_id(panel, demo):
    table = demo[0]
    model = panel.uncovered.model
    model.sort(CLASS, Qt.SortOrder.AscendingOrder)
    names = [model.index(r, CLASS).data() for r in range(model.rowCount())]
    assert names == sorted(names)
    model.sort(IMAGE_ID, Qt.SortOrder.DescendingOrder)
    images = table.image[model.rows]
    assert (np.diff(images) <= 0).all()


def synthetic(n: int, seed: int = 0) -> tuple[BoxTable, CoverageResult]:
    """`n` random boxes on 1,000 images with a random coverage (30 % matched)."""
    rng = np.random.default_rng(seed)
    images = 1000
    x1, y1 = rng.uniform(0, 400, n), rng.uniform(0, 400, n)
    table = BoxTable(
        image=rng.integers(0, images, n).astype(np.int32), cls=rng.integers(0, 4, n, np.int32),
        x1=x1, y1=y1, x2=x1 + rng.uniform(1, 100, n), y2=y1 + rng.uniform(1, 100, n),
        box_index=rng.integers(0, 30, n).astype(np.int32), image_ids=np.arange(images),
        image_heights=np.full(images, 512, np.int32), image_widths=np.full(images, 512, np.int32),
        class_names={0: "wideband", 1: "burst", 2: "pulse", 3: "narrowband"})
    config = default_config("keras-cv")
    coverage = BoxCoverage.empty(n, len(config.levels), MatchRule())
    coverage.best_iou[:] = rng.uniform(0, 1, n)
    coverage.best_level[:] = rng.integers(0, len(config.levels), n)
    coverage.matched[:] = rng.uniform(0, 1, n) < 0.3
    return table, CoverageResult(config, coverage, {})


def test_million_rows_reset_fast(qtbot):
    create_application()
    table, result = synthetic(1_000_000)
    state = AppState()
    widget = UncoveredBoxTable(state)
    widget.resize(480, 600)
    qtbot.addWidget(widget)
    widget.show()
    model = widget.model
    model.set_coverage(table, result)  # warm up
    timings = []
    for _ in range(3):
        start = time.perf_counter()
        model.set_coverage(table, result)
        timings.append(time.perf_counter() - start)
    expected = int((~result.coverage.matched).sum())
    assert model.rowCount() == expected
    assert min(timings) < 0.1, timings
    last = model.table_row(expected - 1)
    assert model.index(expected - 1, BEST_IOU).data() == f"{result.coverage.best_iou[last]:.3f}"
    start = time.perf_counter()
    model.sort(BEST_IOU, Qt.SortOrder.DescendingOrder)
    sort_seconds = time.perf_counter() - start
    start = time.perf_counter()
    model.set_coverage(table, result)  # a reset keeps the sort: one argsort
    sorted_reset = time.perf_counter() - start
    best = result.coverage.best_iou[model.rows]
    assert (np.diff(best) <= 0).all()
    print(f"\n1,000,000 boxes, {expected:,d} unmatched: reset {1000 * min(timings):.1f} ms, "
          f"sort by best IoU {1000 * sort_seconds:.0f} ms, sorted reset "
          f"{1000 * sorted_reset:.0f} ms")


def test_unmatched_table_shows_the_ceiling_iou(panel, demo):
    from gui.uncovered_table import CEILING_IOU

    _, first, _ = demo
    model = panel.uncovered.model
    row = model.table_row(0)
    assert model.headerData(CEILING_IOU, Qt.Orientation.Horizontal) == "ceiling IoU"
    assert model.index(0, CEILING_IOU).data() == f"{first.coverage.ceiling_iou[row]:.3f}"
    model.sort(CEILING_IOU, Qt.SortOrder.DescendingOrder)
    shown = first.coverage.ceiling_iou[model.rows]
    assert (np.diff(shown) <= 0).all()
