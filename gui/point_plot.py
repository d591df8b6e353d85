"""A percent plot of result points on the app's dark theme, as the anchor budget and STFT sweep
dialogs draw them: each point an invisible hover and click target with its summary as tool tip,
a ring round the chosen point, and a dotted vertical line at the value in use."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QWidget

from gui.theme import BACKGROUND, MUTED, TEXT

AXIS_PEN = pg.mkPen("#8a8e96")
CURRENT_PEN = pg.mkPen(MUTED, width=1.5, style=Qt.PenStyle.DotLine)
LABEL_FILL = pg.mkBrush(30, 31, 34, 210)  # behind a line's label
HOVER_PEN = pg.mkPen(TEXT, width=2)
SELECTED_PEN = pg.mkPen("#ffffff", width=2.5)
NO_PEN = pg.mkPen(None)
NO_BRUSH = pg.mkBrush(0, 0, 0, 0)
SYMBOL_SIZE = 9  # px: the symbols of the plotted series
HIT_SIZE = 16  # px: the invisible, hoverable and clickable spot over each point
RING_SIZE = 19  # px: the ring round the chosen point
Y_HEADROOM = 8  # % above 100: room for labels at the top however high the points


class PointPlot(pg.PlotWidget):
    """Styled axes over 0-100 %, fixed (no mouse zoom); `set_points` makes each point a target
    that shows `tip(data)` while hovered and emits `point_clicked(data)` when clicked. The
    dialog draws its own series and sets `current_line` and `selected_ring` itself."""

    point_clicked = Signal(object)  # the clicked point's data
    point_hovered = Signal(object)  # the hovered point's data; None when the mouse leaves them

    def __init__(self, x_label: str, y_label: str, tip: Callable[[Any], str],
                 parent: QWidget | None = None):
        super().__init__(parent)
        self.setBackground(BACKGROUND)
        plot = self.getPlotItem()
        for name in ("bottom", "left"):
            axis = plot.getAxis(name)
            axis.setPen(AXIS_PEN)
            axis.setTextPen(pg.mkPen(TEXT))
        plot.setLabel("bottom", x_label, color=TEXT, size="10pt")
        plot.setLabel("left", y_label, color=TEXT, size="10pt")
        plot.showGrid(x=True, y=True, alpha=0.12)
        plot.setMenuEnabled(False)
        plot.hideButtons()
        plot.getViewBox().setMouseEnabled(x=False, y=False)
        # its label right of the line, near the top (the STFT dialog moves it left of the line
        # in the right half)
        self.current_line = self.add_line(90, CURRENT_PEN, MUTED, 0.96, (0.0, 0.0), (1.0, 0.0))
        # one item over all points: the hover tool tip, the click, a ring while hovered
        self.hit_points = pg.ScatterPlotItem(
            size=HIT_SIZE, pen=NO_PEN, brush=NO_BRUSH, hoverable=True, hoverPen=HOVER_PEN,
            tip=lambda x, y, data: tip(data))
        self.hit_points.setZValue(30)
        self.hit_points.sigClicked.connect(self._on_clicked)
        self.hit_points.sigHovered.connect(self._on_hovered)
        self.selected_ring = pg.ScatterPlotItem(size=RING_SIZE, pen=SELECTED_PEN, brush=NO_BRUSH)
        self.selected_ring.setZValue(25)
        plot.addItem(self.hit_points)
        plot.addItem(self.selected_ring)

    def add_line(self, angle: float, pen, colour: str, position: float,
                 *anchors: tuple[float, float]) -> pg.InfiniteLine:
        """A hidden line at `angle` (0: horizontal, 90: vertical) with a label in `colour` at
        `position` along it (0 to 1) and `anchors` (pyqtgraph's label anchors); it does not
        change the plot's range."""
        line = pg.InfiniteLine(angle=angle, pen=pen, movable=False, label="",
                               labelOpts={"position": position, "anchors": list(anchors),
                                          "color": colour, "fill": LABEL_FILL})
        line.setVisible(False)
        self.getPlotItem().addItem(line, ignoreBounds=True)
        return line

    def set_points(self, x: Sequence[float], y: Sequence[float], data: Sequence[Any]) -> None:
        """The targets: one at each (x, y), carrying its `data`."""
        self.hit_points.setData(x=list(x), y=list(y), data=list(data))

    def ring(self, position: tuple[float, float] | None) -> None:
        """Ring the chosen point at `position` (x, y); None: no point is chosen."""
        x, y = ([], []) if position is None else ([position[0]], [position[1]])
        self.selected_ring.setData(x=x, y=y)

    def set_x_range(self, low: float, high: float) -> None:
        """Show x from `low` to `high`, and y from just under 0 to above 100 %."""
        plot = self.getPlotItem()
        plot.setXRange(low, high, padding=0)
        plot.setYRange(-2, 100 + Y_HEADROOM, padding=0)

    def _on_clicked(self, _item, spots, _event=None) -> None:
        if len(spots):
            self.point_clicked.emit(spots[0].data())

    def _on_hovered(self, _item, spots, _event=None) -> None:
        self.point_hovered.emit(spots[0].data() if len(spots) else None)
