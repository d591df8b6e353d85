"""The spectrogram of one image (time on x, frequency on y) with its ground-truth boxes."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt

COLOR_MAP = "inferno"  # perceptual, dark background makes boxes readable
BOX_PEN = pg.mkPen((90, 220, 255), width=1.5)
LEVEL_PERCENTILES = (2.0, 99.7)  # default colour levels: robust to a few hot pixels


def rectangles_path(xyxy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """x, y vertex arrays drawing every box as a closed outline, NaN-separated for one item."""
    x1, y1, x2, y2 = (xyxy[:, k] for k in range(4))
    nan = np.full(len(xyxy), np.nan)
    xs = np.stack([x1, x2, x2, x1, x1, nan], axis=1).ravel()
    ys = np.stack([y1, y1, y2, y2, y1, nan], axis=1).ravel()
    return xs, ys


class SpectrogramView(pg.PlotWidget):
    """pyqtgraph view: `ImageItem` for the pixels, one line item for all boxes."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setBackground("#1e1f22")
        plot = self.getPlotItem()
        plot.setLabel("bottom", "time", units="px")
        plot.setLabel("left", "frequency", units="row")
        plot.invertY(True)  # row 0 (highest frequency) at the top, as the image is stored
        plot.setAspectLocked(False)
        self.image_item = pg.ImageItem(axisOrder="row-major")
        self.image_item.setColorMap(pg.colormap.get(COLOR_MAP))
        plot.addItem(self.image_item)
        self.boxes_item = pg.PlotDataItem(pen=BOX_PEN, connect="finite")
        plot.addItem(self.boxes_item)
        self.colorbar = pg.ColorBarItem(colorMap=pg.colormap.get(COLOR_MAP), width=12,
                                        label="power (dB)", interactive=True)
        self.colorbar.setImageItem(self.image_item, insert_in=plot)
        self.no_pixels_label = pg.TextItem("no pixels", color="w", anchor=(0.5, 0.5))
        self.no_pixels_label.setVisible(False)
        plot.addItem(self.no_pixels_label)
        plot.showGrid(x=False, y=False)
        plot.getViewBox().setMouseMode(pg.ViewBox.PanMode)
        self.setCursor(Qt.CursorShape.CrossCursor)

    def show_image(self, pixels: np.ndarray | None, height: int, width: int,
                   boxes_xyxy: np.ndarray) -> None:
        """Show one image's pixels (or a 'no pixels' placeholder) and its boxes; resets zoom."""
        if pixels is None:
            self.image_item.setImage(np.zeros((height, width), np.float32), autoLevels=False)
            self.no_pixels_label.setPos(width / 2, height / 2)
            self.no_pixels_label.setVisible(True)
        else:
            lo, hi = np.percentile(pixels, LEVEL_PERCENTILES)
            self.image_item.setImage(pixels, autoLevels=False)
            self.colorbar.setLevels((float(lo), float(hi)))
            self.no_pixels_label.setVisible(False)
        self.image_item.setRect(0, 0, width, height)
        xs, ys = rectangles_path(boxes_xyxy)
        self.boxes_item.setData(xs, ys)
        self.getPlotItem().getViewBox().setRange(xRange=(0, width), yRange=(0, height),
                                                 padding=0.02)
