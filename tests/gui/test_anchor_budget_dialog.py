"""The anchor budget dialog sweeps in the background, plots one recall line per scale count up to
the ceiling, loads a clicked point's config, and stops cleanly on Cancel or close."""

import pytest
from PySide6.QtCore import QEvent, QPoint, QPointF, Qt, QThreadPool
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QApplication

from gui.anchor_budget_dialog import AnchorBudgetDialog

SPEC = "demo?images=40&seed=2"


def _dialog(qtbot, window, ratios: tuple[int, int], scales: tuple[int, int], effort: str):
    dialog = AnchorBudgetDialog(window.state, window)
    dialog.ratio_range.first.setValue(ratios[0])
    dialog.ratio_range.last.setValue(ratios[1])
    dialog.scale_range.first.setValue(scales[0])
    dialog.scale_range.last.setValue(scales[1])
    dialog.effort_combo.setCurrentText(effort)
    dialog.resize(800, 640)
    dialog.show()
    qtbot.waitExposed(dialog)
    return dialog


def _plot_pos(dialog, x: float, y: float) -> QPoint:
    """Where data coordinates (x, y) are on the plot's viewport."""
    view_box = dialog.plot_widget.getPlotItem().getViewBox()
    return dialog.plot_widget.mapFromScene(view_box.mapViewToScene(QPointF(x, y)))


def _hover(widget, pos: QPoint) -> None:
    """Move the mouse over `pos` with no button held (the test helper's move sends no event
    to a widget offscreen)."""
    QApplication.sendEvent(widget, QMouseEvent(
        QEvent.Type.MouseMove, QPointF(pos), QPointF(widget.mapToGlobal(pos)),
        Qt.MouseButton.NoButton, Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier))


def test_sweep_plots_frontier_and_click_loads_config(window, load, qtbot):
    load(window, SPEC)
    state = window.state
    before = state.config
    dialog = _dialog(qtbot, window, (1, 2), (1, 2), "quick")
    assert dialog.grid_label.text().startswith("4 grid points")
    dialog.run_button.click()
    assert dialog.running and not dialog.run_button.isEnabled()
    assert dialog.cancel_button.isVisibleTo(dialog) and not dialog.close_button.isVisibleTo(dialog)
    qtbot.waitUntil(lambda: not dialog.running, timeout=60_000)

    points = dialog.points
    assert [(p.ratios, p.scales) for p in points] == [(1, 1), (2, 1), (1, 2), (2, 2)]
    assert sorted(dialog.series) == [1, 2]
    for scales, expected_x in ((1, [1, 2]), (2, [2, 4])):
        x, y = dialog.series[scales].getData()
        assert list(x) == expected_x
        row = [p for p in points if p.scales == scales]
        assert list(y) == pytest.approx([100 * p.recall for p in row])
        assert dialog.series[scales].name() == f"S = {scales}"
    ceiling = points[0].ceiling_recall
    assert 0 < ceiling <= 1 and all(p.ceiling_recall == ceiling for p in points)
    assert all(0 < p.recall <= ceiling for p in points)
    assert dialog.ceiling_line.value() == pytest.approx(100 * ceiling)
    assert dialog.ceiling_line.label.toPlainText() == f"ceiling {100 * ceiling:.1f} %"
    assert dialog.current_line.value() == before.anchors_per_location == 9
    assert "4 grid points" in dialog.status.text()

    chosen = points[3]  # R 2 x S 2
    assert chosen.config != before
    pos = _plot_pos(dialog, chosen.anchors_per_location, 100 * chosen.recall)
    viewport = dialog.plot_widget.viewport()
    _hover(viewport, pos)  # hovering shows the point's config, in the tool tip too
    assert dialog.info.text().startswith("R × S = 2 × 2 = 4: recall ")
    tip = dialog.plot_widget.getPlotItem().getViewBox().toolTip()
    assert tip.splitlines()[0] == f"R × S = 2 × 2 = 4: recall {100 * chosen.recall:.1f} %"
    assert state.config == before
    qtbot.mouseClick(viewport, Qt.MouseButton.LeftButton, pos=pos)
    assert state.config == chosen.config
    assert dialog.status.text().startswith("loaded 2 × 2 config")
    assert dialog.info.text().startswith("R × S = 2 × 2 = 4: recall ")
    assert dialog.chosen_point is chosen
    assert dialog.current_line.value() == 4
    assert dialog.current_line.label.toPlainText() == "current: 4"
    assert list(dialog.selected_ring.getData()[0]) == [4]

    dialog.choose(points[0])  # what a click on the R 1 x S 1 point calls
    assert state.config == points[0].config and state.config.anchors_per_location == 1
    state.undo()  # each loaded point is an undo step of its own, even right after another
    assert state.config == chosen.config
    state.undo()
    assert state.config == before
    dialog.close_button.click()


def test_cancel_stops_a_running_sweep(window, load, qtbot):
    load(window, SPEC)
    state = window.state
    config = state.config
    dialog = _dialog(qtbot, window, (1, 8), (1, 3), "normal")
    dialog.run()
    qtbot.waitUntil(lambda: dialog.progress_bar.value() > 0 and "R 1 x S 1" in
                    dialog.status.text(), timeout=30_000)
    dialog.cancel_button.click()
    assert dialog.status.text() == "stopping…"
    qtbot.waitUntil(lambda: not dialog.running, timeout=30_000)
    assert "cancelled after" in dialog.status.text()
    assert 1 <= len(dialog.points) < 24  # the finished points, and the stopped one
    assert sum(len(item.getData()[0]) for item in dialog.series.values()) == len(dialog.points)
    assert dialog.run_button.isEnabled() and dialog.close_button.isVisibleTo(dialog)
    assert not dialog.cancel_button.isVisibleTo(dialog)
    assert state.config == config


def test_closing_cancels_the_sweep(window, load, qtbot):
    load(window, SPEC)
    dialog = _dialog(qtbot, window, (1, 8), (1, 3), "normal")
    dialog.run()
    dialog.reject()
    assert dialog.background.cancel_requested and not dialog.running and not dialog.isVisible()
    assert QThreadPool.globalInstance().waitForDone(30_000)  # the sweep ended on its own
    assert dialog.points == []  # its result went nowhere


def test_needs_a_dataset(window):
    dialog = AnchorBudgetDialog(window.state, window)
    assert window.state.table is None
    assert not dialog.run_button.isEnabled()
    assert dialog.status.text() == "Load a dataset first."
    assert dialog.effort_combo.currentText() == "quick"
    assert dialog.ratio_range.counts() == list(range(1, 9))
    assert dialog.scale_range.counts() == [1, 2, 3]
    dialog.ratio_range.first.setValue(5)
    dialog.ratio_range.last.setValue(2)  # cannot cross the first
    assert dialog.ratio_range.counts() == [5]


def test_tools_menu_has_anchor_budget(window):
    tools = next(action.menu() for action in window.menuBar().actions()
                 if action.text() == "&Tools")
    texts = [action.text() for action in tools.actions()]
    assert texts.index("Anchor budget…") == texts.index("Optimize anchors…") + 1
