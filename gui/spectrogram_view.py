"""The spectrogram of one image (time on x, frequency on y) with its boxes and anchor overlays.

Everything is drawn with a handful of pyqtgraph items whose data is replaced on update: the image,
one outline item per box colour, one per IoU band of best anchors, one for the selected box's
positive anchors, one per level for the anchors of the cell under the cursor. The view stays in
image pixels; when the source knows the physical units, the axes label it in s and Hz.
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal

from core.units import HERTZ, SECONDS, PhysicalAxes, unit_prefix
from gui.frame_rate import cache_static_item
from gui.theme import (
    BACKGROUND,
    IOU_BAND_COLOURS,
    IOU_BAND_NAMES,
    MUTED,
    iou_band,
    level_colour,
)

COLOR_MAP = "viridis"  # perceptual, and no reds: red/white outlines stay readable on it
LEVEL_PERCENTILES = (2.0, 99.7)  # default colour levels: robust to a few hot pixels
LEVEL_SAMPLE_PIXELS = 65_536
MATCHED_COLOUR, UNMATCHED_COLOUR, UNKNOWN_COLOUR = "#ffffff", "#ff3c3c", "#c8c8c8"
LOW_QUALITY_COLOUR, SELECTED_COLOUR, POSITIVE_COLOUR = "#e8b04b", "#00ffff", "#ff78ff"
MATCHED_PEN = pg.mkPen(MATCHED_COLOUR, width=1.5)
UNMATCHED_PEN = pg.mkPen(UNMATCHED_COLOUR, width=2.2)
UNKNOWN_PEN = pg.mkPen(UNKNOWN_COLOUR, width=1.5)
# matched only by the matcher's low-quality step (an anchor below the positive IoU)
LOW_QUALITY_PEN = pg.mkPen(LOW_QUALITY_COLOUR, width=2.2, style=Qt.PenStyle.DotLine)
SELECTED_PEN = pg.mkPen(SELECTED_COLOUR, width=3.0)
POSITIVE_PEN = pg.mkPen(POSITIVE_COLOUR, width=1.2, style=Qt.PenStyle.DashLine)
# best anchors by IoU band (gui.theme.iou_band): below negative, ignore band, positive
IOU_BAND_PENS = tuple(pg.mkPen(colour, width=1.2, style=Qt.PenStyle.DashLine)
                      for colour in IOU_BAND_COLOURS)


def _swatch(colour: str, style: str) -> str:
    return f"<span style='color:{colour}'>{style}</span>"


def family_legend_html(positives: str) -> str:
    """The legend of the detector-family window: boxes by result, the selected box and what
    makes it positive (`positives`, e.g. "its positive grid cells")."""
    solid, dashed = "▭", "┅"
    return " &nbsp; ".join([
        f"{_swatch(MATCHED_COLOUR, solid)} box with a positive",
        f"{_swatch(UNMATCHED_COLOUR, solid)} box without one",
        f"{_swatch(SELECTED_COLOUR, solid)} selected box, "
        f"{_swatch(POSITIVE_COLOUR, dashed)} {positives}",
    ])


def legend_html(levels: int = 3) -> str:
    """One line naming every colour and line style the image uses."""
    solid, dashed, dotted = "▭", "┅", "⋯"
    bands = [f"{_swatch(c, dashed)} {n}" for c, n in zip(IOU_BAND_COLOURS, IOU_BAND_NAMES,
                                                          strict=True)]
    cells = "".join(_swatch("#{:02x}{:02x}{:02x}".format(*level_colour(k)), solid)
                    for k in range(levels))
    return " &nbsp; ".join([
        f"{_swatch(MATCHED_COLOUR, solid)} box with a positive anchor",
        f"{_swatch(UNMATCHED_COLOUR, solid)} box without one",
        f"{_swatch(LOW_QUALITY_COLOUR, dotted)} matched only by the low-quality step",
        "best anchor: " + ", ".join(bands),
        f"{_swatch(SELECTED_COLOUR, solid)} selected box, "
        f"{_swatch(POSITIVE_COLOUR, dashed)} its positive anchors",
        f"{cells} anchors of the cell under the cursor (one colour per level)",
    ])


def colour_levels(pixels: np.ndarray) -> tuple[float, float]:
    """Default colour levels: robust percentiles of an even grid of at most ~65k pixels (the
    percentiles of a million pixels cost ~13 ms per image step and look the same)."""
    stride = max(1, int(np.sqrt(pixels.size / LEVEL_SAMPLE_PIXELS)))
    lo, hi = np.percentile(pixels[::stride, ::stride], LEVEL_PERCENTILES)
    return float(lo), float(hi)


def rectangles_path(xyxy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """x, y vertex arrays drawing every box as a closed outline, NaN-separated for one item."""
    xyxy = np.asarray(xyxy, np.float64).reshape(-1, 4)
    x1, y1, x2, y2 = (xyxy[:, k] for k in range(4))
    nan = np.full(len(xyxy), np.nan)
    xs = np.stack([x1, x2, x2, x1, x1, nan], axis=1).ravel()
    ys = np.stack([y1, y1, y2, y2, y1, nan], axis=1).ravel()
    return xs, ys


def _outline_item(pen) -> pg.PlotDataItem:
    return pg.PlotDataItem(pen=pen, connect="finite", skipFiniteCheck=False)


class PhysicalAxisItem(pg.AxisItem):
    """An axis of the image that labels pixel coordinates as time or frequency when a linear
    mapping `value = origin + step * pixel` is set (ticks fall on round values of the unit,
    the label names the unit with its prefix, e.g. "time (ms)"); without one it is the plain
    pixel axis ("time (px)")."""

    def __init__(self, orientation: str, name: str, pixel_units: str):
        super().__init__(orientation)
        self.pixel_label = (name, pixel_units)
        self.mapping: tuple[float, float] | None = None  # (origin, step) in the unit per pixel
        self.unit = ""
        self._factor = 1.0  # of the prefix in the label (1e-3 for ms)
        self.setLabel(name, units=pixel_units)

    def set_mapping(self, origin: float, step: float, unit: str, name: str) -> None:
        """Label pixel p as `origin + step * p` in `unit` (s or Hz)."""
        self.mapping, self.unit = (float(origin), float(step)), unit
        self.setLabel(name, units=unit)  # the prefix follows the range (updateAutoSIPrefix)

    def mapping_key(self) -> tuple:
        """`(origin, step, unit, name)` as `set_mapping` took them (() without a mapping)."""
        return () if self.mapping is None else (*self.mapping, self.unit, self.labelText)

    def clear_mapping(self) -> None:
        """Back to pixels."""
        self.mapping, self.unit, self._factor = None, "", 1.0
        self.setLabel(*self.pixel_label[:1], units=self.pixel_label[1])

    def physical(self, pixels):
        """Values in the unit (no prefix) at pixel coordinates."""
        origin, step = self.mapping
        return origin + step * np.asarray(pixels, np.float64)

    def updateAutoSIPrefix(self) -> None:  # noqa: N802 (pyqtgraph API)
        """With a mapping, the label's prefix suits the largest value in view."""
        if getattr(self, "mapping", None) is None:  # (also while pyqtgraph builds the axis)
            super().updateAutoSIPrefix()
            return
        largest = float(np.abs(self.physical(self.range)).max())
        prefix, self._factor = unit_prefix(largest, self.unit)
        self.autoSIPrefixScale = 1.0
        self.labelUnitPrefix = prefix
        self._updateLabel()

    def tickValues(self, minVal: float, maxVal: float, size: float):  # noqa: N802, N803
        """Round values of the unit, placed at their pixel coordinates."""
        if self.mapping is None:
            return super().tickValues(minVal, maxVal, size)
        origin, step = self.mapping
        lo, hi = sorted(float(v) for v in self.physical([minVal, maxVal]))
        if not hi > lo:
            return []
        return [(spacing / abs(step), [(v - origin) / step for v in values])
                for spacing, values in super().tickValues(lo, hi, size)]

    def tickStrings(self, values, scale, spacing):  # noqa: N802 (pyqtgraph API)
        """Numbers in the label's unit, with the decimals the tick spacing needs."""
        if self.mapping is None:
            return super().tickStrings(values, scale, spacing)
        step = abs(spacing * self.mapping[1]) / self._factor
        places = max(0, math.ceil(-math.log10(step) - 1e-9)) if step > 0 else 0
        return [f"{value / self._factor + 0.0:.{places}f}" for value in self.physical(values)]


TIME_AXIS, FREQUENCY_AXIS = "bottom", "left"


def axis_mappings(axes: PhysicalAxes | None, height: float
                  ) -> dict[str, tuple[float, float, str, str] | None]:
    """Per image axis (TIME_AXIS, FREQUENCY_AXIS): `(origin, step, unit, name)` or None (keep
    pixels). A frequency axis without a known origin (a retuned recording) is labelled as the
    offset from the image's centre row."""
    mappings: dict[str, tuple[float, float, str, str] | None] = {TIME_AXIS: None,
                                                                FREQUENCY_AXIS: None}
    if axes is None:
        return mappings
    if axes.knows_time:
        mappings[TIME_AXIS] = (axes.time_of_column0, axes.seconds_per_column, SECONDS, "time")
    if axes.knows_frequency:
        mappings[FREQUENCY_AXIS] = (axes.frequency_of_row0, -axes.hertz_per_row, HERTZ,
                                    "frequency")
    elif axes.knows_bandwidth:
        mappings[FREQUENCY_AXIS] = (height / 2 * axes.hertz_per_row, -axes.hertz_per_row, HERTZ,
                                    "frequency offset")
    return mappings


class SpectrogramView(pg.PlotWidget):
    """pyqtgraph view of one image with ground truth and anchor overlays."""

    mouse_moved = Signal(float, float)  # image pixels
    mouse_left = Signal()  # the pointer left the image area
    clicked = Signal(float, float)

    def __init__(self, parent=None):
        self.time_axis = PhysicalAxisItem(TIME_AXIS, "time", "px")
        self.frequency_axis = PhysicalAxisItem(FREQUENCY_AXIS, "frequency", "row")
        super().__init__(parent, axisItems={TIME_AXIS: self.time_axis,
                                            FREQUENCY_AXIS: self.frequency_axis})
        self.setBackground(BACKGROUND)
        plot = self.getPlotItem()
        plot.invertY(True)  # row 0 (highest frequency) at the top, as the image is stored
        plot.getViewBox().setAspectLocked(True, ratio=1.0)  # square pixels, at any window size
        self.image_item = pg.ImageItem(axisOrder="row-major")
        self.image_item.setColorMap(pg.colormap.get(COLOR_MAP))
        cache_static_item(self.image_item)  # overlays change often, the pixels seldom
        plot.addItem(self.image_item)
        for axis in plot.axes.values():
            cache_static_item(axis["item"])
        self.colorbar = pg.ColorBarItem(colorMap=pg.colormap.get(COLOR_MAP), width=12,
                                        label="power (dB) or pixel value", interactive=True)
        self.colorbar.setImageItem(self.image_item, insert_in=plot)
        self.best_anchor_items = [_outline_item(pen) for pen in IOU_BAND_PENS]
        self.positive_item = _outline_item(POSITIVE_PEN)
        self.cell_items: list[pg.PlotDataItem] = []
        self.matched_item = _outline_item(MATCHED_PEN)
        self.unmatched_item = _outline_item(UNMATCHED_PEN)
        self.unknown_item = _outline_item(UNKNOWN_PEN)
        self.low_quality_item = _outline_item(LOW_QUALITY_PEN)
        self.selected_item = _outline_item(SELECTED_PEN)
        for item in (*self.best_anchor_items, self.positive_item, self.unknown_item,
                     self.matched_item, self.low_quality_item, self.unmatched_item,
                     self.selected_item):
            plot.addItem(item)
        self.no_pixels_label = pg.TextItem("no pixels", color="w", anchor=(0.5, 0.5))
        self.no_pixels_label.setVisible(False)
        plot.addItem(self.no_pixels_label)
        plot.getViewBox().setMouseMode(pg.ViewBox.PanMode)
        self.setCursor(Qt.CursorShape.CrossCursor)
        self.scene().sigMouseMoved.connect(self._on_mouse_moved)
        self.scene().sigMouseClicked.connect(self._on_mouse_clicked)
        self.image_size = (0, 0)
        self.physical_axes: PhysicalAxes | None = None

    # -- pixels --------------------------------------------------------------------------------
    def show_image(self, pixels: np.ndarray | None, height: int, width: int,
                   reset_zoom: bool = True, pending: bool = False, reason: str = "") -> None:
        """Show one image's pixels (or a 'no pixels' placeholder of its size, with the
        `reason`; 'loading…' while they are still `pending`)."""
        if pixels is None:
            self.no_pixels_label.setText("loading…" if pending else
                                         "no pixels" + (f"\n{reason}" if reason else ""))
            self.image_item.setImage(np.zeros((height, width), np.float32), autoLevels=False)
            self.no_pixels_label.setPos(width / 2, height / 2)
            self.no_pixels_label.setVisible(True)
        else:
            lo, hi = colour_levels(pixels)
            self.image_item.setImage(pixels, autoLevels=False)
            self.colorbar.setLevels((lo, hi))
            self.no_pixels_label.setVisible(False)
        self.image_item.setRect(0, 0, width, height)
        if reset_zoom or self.image_size != (height, width):
            self.getPlotItem().getViewBox().setRange(xRange=(0, width), yRange=(0, height),
                                                     padding=0.02)
        self.image_size = (height, width)

    def set_physical_axes(self, axes: PhysicalAxes | None) -> None:
        """Label the axes of the image shown in s and Hz (None: in pixels, as without units).
        Call after `show_image` (a frequency offset needs the image's height)."""
        self.physical_axes = axes
        mappings = axis_mappings(axes, self.image_size[0])
        for name, axis in ((TIME_AXIS, self.time_axis), (FREQUENCY_AXIS, self.frequency_axis)):
            wanted = mappings[name]
            if wanted is None and axis.mapping is not None:
                axis.clear_mapping()
            elif wanted is not None and (*axis.mapping_key(),) != wanted:  # else: unchanged
                axis.set_mapping(*wanted)

    def set_caption(self, text: str) -> None:
        """What image this is (index, id, size, boxes), above it."""
        self.getPlotItem().setTitle(text, size="9pt", color=MUTED)

    # -- overlays ------------------------------------------------------------------------------
    def set_boxes(self, xyxy: np.ndarray, matched: np.ndarray | None,
                  low_quality_only: np.ndarray | None = None) -> None:
        """Ground-truth boxes; once coverage is known: matched, unmatched, and matched only by
        the low-quality step (drawn apart: no anchor reaches the positive IoU)."""
        xyxy = np.asarray(xyxy, np.float64).reshape(-1, 4)
        if matched is None:
            self.unknown_item.setData(*rectangles_path(xyxy))
            for item in (self.matched_item, self.unmatched_item, self.low_quality_item):
                item.setData([], [])
            return
        low = (np.zeros(len(xyxy), bool) if low_quality_only is None
               else np.asarray(low_quality_only, bool))
        self.unknown_item.setData([], [])
        self.matched_item.setData(*rectangles_path(xyxy[matched & ~low]))
        self.low_quality_item.setData(*rectangles_path(xyxy[matched & low]))
        self.unmatched_item.setData(*rectangles_path(xyxy[~matched]))

    def set_selected(self, xyxy: np.ndarray | None) -> None:
        self.selected_item.setData(*rectangles_path(np.zeros((0, 4)) if xyxy is None else xyxy))

    def set_best_anchors(self, xyxy: np.ndarray, iou: np.ndarray, negative_iou: float,
                         positive_iou: float) -> None:
        """Each box's best anchor, coloured by whether its IoU is negative, ignored or positive."""
        xyxy = np.asarray(xyxy, np.float64).reshape(-1, 4)
        band = iou_band(iou, negative_iou, positive_iou)
        finite = np.isfinite(xyxy).all(axis=1)
        for index, item in enumerate(self.best_anchor_items):
            item.setData(*rectangles_path(xyxy[(band == index) & finite]))

    def set_positive_anchors(self, xyxy: np.ndarray) -> None:
        self.positive_item.setData(*rectangles_path(xyxy))

    def set_cell_anchors(self, per_level: list[np.ndarray]) -> None:
        """The anchors of the grid cell under the cursor, one outline item per level."""
        plot = self.getPlotItem()
        while len(self.cell_items) < len(per_level):
            pen = pg.mkPen(level_colour(len(self.cell_items)), width=1.3)
            item = _outline_item(pen)
            plot.addItem(item)
            self.cell_items.append(item)
        for index, item in enumerate(self.cell_items):
            if index < len(per_level):
                item.setData(*rectangles_path(per_level[index]))
            else:
                item.setData([], [])

    # -- mouse ---------------------------------------------------------------------------------
    def _scene_to_image(self, position) -> tuple[float, float] | None:
        view_box = self.getPlotItem().getViewBox()
        if not view_box.sceneBoundingRect().contains(position):
            return None
        point = view_box.mapSceneToView(position)
        return point.x(), point.y()

    def _on_mouse_moved(self, position) -> None:
        point = self._scene_to_image(position)
        if point is not None:
            self.mouse_moved.emit(*point)
        else:  # over the axes or the colour bar
            self.mouse_left.emit()

    def leaveEvent(self, event) -> None:  # noqa: N802 - Qt's name
        super().leaveEvent(event)
        self.mouse_left.emit()

    def _on_mouse_clicked(self, event) -> None:
        if event.button() != Qt.MouseButton.LeftButton or event.double():
            return
        point = self._scene_to_image(event.scenePos())
        if point is not None:
            self.clicked.emit(*point)
