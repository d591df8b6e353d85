"""Histograms of box shapes: aspect ratio w/h (log axis) and side length sqrt(w*h)."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QVBoxLayout, QWidget

from core.boxes import BoxTable
from core.statistics import log2_edges

BAR_BRUSH = pg.mkBrush(90, 160, 230, 200)
NICE_MANTISSAS = (1, 2, 5)


def log_ticks(lo: float, hi: float) -> list[tuple[float, str]]:
    """Readable major ticks (1, 2, 5 x 10^k) for a log10 axis spanning [lo, hi]."""
    ticks = []
    for exponent in range(int(np.floor(np.log10(lo))), int(np.ceil(np.log10(hi))) + 1):
        for mantissa in NICE_MANTISSAS:
            value = mantissa * 10.0**exponent
            if lo <= value <= hi:
                ticks.append((np.log10(value), f"{value:g}"))
    return ticks


class ShapeHistogram(pg.PlotWidget):
    """One log-x histogram drawn as a step curve (one item, updated with setData)."""

    def __init__(self, title: str, x_label: str, parent=None):
        super().__init__(parent)
        self.setBackground("#1e1f22")
        plot = self.getPlotItem()
        plot.setTitle(title, size="10pt")
        plot.setLabel("bottom", x_label)
        plot.setLabel("left", "boxes")
        plot.setLogMode(x=True, y=False)
        self.curve = pg.PlotDataItem(stepMode="center", fillLevel=0, brush=BAR_BRUSH,
                                     pen=pg.mkPen(140, 200, 255))
        plot.addItem(self.curve)

    def set_values(self, values: np.ndarray) -> None:
        values = values[np.isfinite(values) & (values > 0)]
        edges = log2_edges(values, bins_per_octave=4)
        counts, _ = np.histogram(values, bins=edges)
        self.curve.setData(edges, counts)  # log mode maps x through log10 itself
        self.getPlotItem().getAxis("bottom").setTicks([log_ticks(edges[0], edges[-1]), []])


class HistogramPanel(QWidget):
    """The box-shape histograms of the loaded dataset."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.aspect = ShapeHistogram("Aspect ratio (w/h)", "w / h")
        self.side = ShapeHistogram("Side length √(w·h)", "px")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.aspect)
        layout.addWidget(self.side)

    def set_table(self, table: BoxTable) -> None:
        widths, heights = table.widths, table.heights
        self.aspect.set_values(widths / heights)
        self.side.set_values(np.sqrt(widths * heights))
