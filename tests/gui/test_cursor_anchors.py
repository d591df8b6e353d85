"""The anchors of the grid cell under the pointer follow the pointer, and go when it leaves the
image or the image changes (they would sit on unrelated boxes)."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QPoint
from PySide6.QtWidgets import QApplication


def cell_anchor_count(window) -> int:
    return sum(len([x for x in (item.getData()[0] if item.getData()[0] is not None else [])
                    if x == x]) // 5 for item in window.view.cell_items)


def hover_image_centre(window, qtbot) -> None:
    view_box = window.view.getPlotItem().getViewBox()
    centre = view_box.mapViewToScene(view_box.viewRect().center())
    point = window.view.mapFromScene(centre)
    qtbot.mouseMove(window.view.viewport(), QPoint(point.x(), point.y()))
    window.view.scene().sigMouseMoved.emit(centre)  # offscreen: no native move events
    qtbot.waitUntil(lambda: cell_anchor_count(window) > 0, timeout=5_000)


def test_cell_anchors_leave_with_the_pointer_and_the_image(window, load, qtbot):
    load(window, "demo?images=6&seed=2")
    window.coverage.wait(60)
    per_location = window.state.config.anchors_per_location

    hover_image_centre(window, qtbot)
    assert cell_anchor_count(window) == per_location  # one cell of the chosen level
    QApplication.sendEvent(window.view, QEvent(QEvent.Type.Leave))
    assert cell_anchor_count(window) == 0

    hover_image_centre(window, qtbot)
    window.next_button.click()
    assert window.state.image_index == 1
    assert cell_anchor_count(window) == 0
    qtbot.wait(100)  # no late redraw brings them back
    assert cell_anchor_count(window) == 0


def test_a_level_has_one_colour_on_the_image_and_the_histograms(window, load, qtbot):
    load(window, "demo?images=6&seed=2")
    window.coverage.wait(60)
    window.cell_level.setCurrentIndex(1)
    hover_image_centre(window, qtbot)
    scales = len(window.state.config.scales)
    window.histograms.flush()
    for level in range(len(window.view.cell_items)):
        cell = window.view.cell_items[level].opts["pen"].color().name()
        line = window.histograms.side_plot.lines.lines[level * scales].pen.color().name()
        assert cell == line, f"level {level}: {cell} on the image, {line} in the histogram"
