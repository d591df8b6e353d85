"""The histogram panel: box shapes of the dataset against the anchor shapes of the config.

Four pyqtgraph plots observe the `AppState`: aspect ratio w/h and side length sqrt(w*h) (log axes,
anchor ratios / sizes as lines), best IoU per box (thresholds as lines) and the width x height
density with each anchor's IoU >= positive_iou region outlined. Unmatched boxes are drawn over
every plot in one colour. Box shapes are binned once per dataset (`core.shape_regions.ShapeBins`);
a config or coverage change only moves lines and re-counts the unmatched boxes with `bincount`.
When one pixel is the same time and bandwidth in every image (`core.units.pixel_size`), a line
above the plots gives that size, and pointing at the side or width x height plot reads the shape
under the pointer out in s and Hz.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QSize, Qt, QTimer
from PySide6.QtWidgets import QGridLayout, QLabel, QVBoxLayout, QWidget

from core.dataset_views import IOU_BINS, model_shape_bins, unmatched_shapes
from core.shape_regions import (
    ShapeBins,
    anchor_shapes,
    iou_histogram,
    nominal_anchor_sides,
    region_outlines,
)
from core.units import PixelSize, pixel_size
from gui.frame_rate import Paced, cache_static_item
from gui.live_status import status_text
from gui.state import AppState
from gui.theme import BACKGROUND, MUTED, TEXT, level_colour

AXIS_PEN = pg.mkPen("#8a8e96")
ALL_COLOR = (90, 160, 230)  # every box (in the IoU plot: the matched share shows above)
UNMATCHED_COLOR = (255, 140, 40)  # boxes with no positive anchor
RATIO_LINE_COLOR = (235, 235, 235)
POSITIVE_COLOR = (120, 220, 120)
NEGATIVE_COLOR = (240, 90, 90)
DENSITY_COLORS = ((0.0, BACKGROUND), (0.12, "#1f3550"), (0.55, "#2f73b8"), (1.0, "#d6ecff"))
VIEW_PADDING = 0.04
LABEL_GAP_PX = 6  # between two labels in one row
GROW_SPARE = 0.15  # a view that must grow for a new anchor line grows by this much more
Y_HEADROOM = 1.25  # histogram y range over the highest bar (room for the line labels)
MIN_PLOT_HEIGHT = 110  # px
MIN_PLOT_WIDTH = 160
STACK_ASPECT = 1.45  # stack the plots when height >= this x width, else show them 2 x 2
SIDE_TITLE = "Side √(w·h), {pixels}"
PLOT_NAMES = ("aspect_ratio", "side_length", "best_iou", "width_height")


def format_value(value: float) -> str:
    """A tick label: plain for 0.001 .. 99999, otherwise 'me±k' (e.g. 2e5)."""
    if 1e-3 <= abs(value) < 1e5:
        return f"{value:g}"
    exponent = math.floor(math.log10(abs(value)))
    return f"{value / 10.0 ** exponent:.0f}e{exponent}"


def log_ticks(lo: float, hi: float, pixels: float, label_pixels: float = 40.0
              ) -> list[tuple[float, list[float]]]:
    """Ticks for an axis that shows log10(value) over [lo, hi] on `pixels` pixels: labelled
    majors at 1, 2, 5 x 10^k (or only 10^k, or every n-th decade, as space allows, keeping about
    `label_pixels` between labels) and unlabelled minors. Returns pyqtgraph's
    [(spacing, [positions]), ...], majors first."""
    span = max(hi - lo, 1e-9)
    per_decade = pixels / span
    if per_decade >= 10 * label_pixels:
        major, minor = range(1, 10), (1.5, 2.5, 3.5, 4.5, 5.5, 6.5, 7.5, 8.5, 9.5)
    elif per_decade >= 2.5 * label_pixels:
        major, minor = (1, 2, 5), (3, 4, 6, 7, 8, 9)
    elif per_decade >= label_pixels:
        major, minor = (1,), (2, 3, 4, 5, 6, 7, 8, 9)
    else:
        major, minor = (1,), ()
    first, last = math.floor(lo) - 1, math.ceil(hi) + 1
    step = max(1, math.ceil(label_pixels / max(per_decade, 1e-9)))
    majors, minors = [], []
    for exponent in range(first, last + 1):
        for mantissa in major:
            if mantissa == 1 and exponent % step:
                minors.append(float(exponent))
                continue
            majors.append(exponent + math.log10(mantissa))
        minors.extend(exponent + math.log10(m) for m in minor)
    inside = [v for v in majors if lo <= v <= hi]
    return [(1.0, inside), (0.1, [v for v in minors if lo <= v <= hi])]


class LogAxisItem(pg.AxisItem):
    """An axis for data plotted as log10(value) that labels the values themselves."""

    def tickValues(self, minVal: float, maxVal: float, size: float):  # noqa: N802 (Qt API)
        vertical = self.orientation in ("left", "right")
        return log_ticks(minVal, maxVal, size, label_pixels=22.0 if vertical else 40.0)

    def tickStrings(self, values, scale, spacing):  # noqa: N802 (Qt API)
        if spacing < 1.0:
            return [""] * len(values)
        return [format_value(10.0 ** v) for v in values]


def format_count(value: float) -> str:
    """A count tick label, short enough for a narrow axis: 950, 20k, 1.5M."""
    for limit, suffix in ((1e6, "M"), (1e4, "k")):
        if abs(value) >= limit:
            return f"{value / (limit if suffix == 'M' else 1e3):g}{suffix}"
    return f"{value:g}"


class CountAxisItem(pg.AxisItem):
    """A linear axis of box counts with compact labels (20k rather than 20000)."""

    def tickStrings(self, values, scale, spacing):  # noqa: N802 (Qt API)
        return [format_count(v * scale) for v in values]


def _style_plot(widget: pg.PlotWidget, title: str, x_label: str | None, y_label: str
                ) -> pg.PlotItem:
    """Dark theme, light text; no bottom label when the title already names the x axis."""
    widget.setBackground(BACKGROUND)
    plot = widget.getPlotItem()
    plot.setTitle(title, size="9pt", color=TEXT)
    for name in ("bottom", "left"):
        axis = plot.getAxis(name)
        axis.setPen(AXIS_PEN)
        axis.setTextPen(pg.mkPen(TEXT))
        cache_static_item(axis)
    if x_label:
        plot.setLabel("bottom", x_label, color=TEXT, size="9pt")
    plot.setLabel("left", y_label, color=TEXT, size="9pt")
    plot.showGrid(x=True, y=True, alpha=0.12)
    plot.getViewBox().setMouseEnabled(x=True, y=False)
    plot.setMenuEnabled(False)
    plot.layout.setContentsMargins(2, 2, 8, 2)
    return plot


class VerticalLines:
    """A reusable set of labelled vertical lines on one plot: lines are created only when more
    are needed than ever before and hidden when fewer are, never rebuilt."""

    def __init__(self, plot: pg.PlotItem, label_position: float = 0.97):
        self.plot = plot
        self.label_position = label_position
        self.lines: list[pg.InfiniteLine] = []
        plot.getViewBox().sigXRangeChanged.connect(self._place_labels)
        plot.getViewBox().sigResized.connect(self._place_labels)
        self._shown: list[tuple | None] = []  # (pen, label, colour) last set on each line

    def show(self, positions: Sequence[float], pens: Sequence, labels: Sequence[str],
             label_colors: Sequence) -> None:
        """Place the lines; a line whose position, pen or label did not change is not touched
        (re-laying out a label's text is the costly part of a drag step)."""
        while len(self.lines) < len(positions):
            line = pg.InfiniteLine(angle=90, movable=False, label="",
                                   labelOpts={"position": self.label_position,
                                              "anchors": [(0.5, 0.0), (0.5, 0.0)],
                                              "fill": pg.mkBrush(30, 31, 34, 210)})
            line.setZValue(20)
            self.plot.addItem(line, ignoreBounds=True)
            self.lines.append(line)
            self._shown.append(None)
        for k, line in enumerate(self.lines):
            visible = k < len(positions)
            if line.isVisible() != visible:
                line.setVisible(visible)
            if not visible:
                continue
            pen, label, colour = pens[k], labels[k], label_colors[k]
            shown = self._shown[k]
            if shown is None or shown[0] != pen:
                line.setPen(pen)
            if line.value() != positions[k]:
                line.setPos(positions[k])
            if shown is None or shown[1:] != (label, colour):
                line.label.setFormat(label)
                line.label.setColor(colour)
                line.label.setVisible(bool(label))
            self._shown[k] = (pen, label, colour)
        self._place_labels()

    def _place_labels(self, *_) -> None:
        """Give each label a row (from the top) where it overlaps no other label, and keep it
        inside the plot: a label that would cross an edge is drawn beside its line instead of
        centred on it. Runs after each update and when the x range changes."""
        view_box = self.plot.getViewBox()
        (left, right), pixel = view_box.viewRange()[0], view_box.viewPixelSize()[0]
        shown = [(line.value(), line) for line in self.lines
                 if line.isVisible() and line.label.isVisible() and line.label.format]
        if not shown:
            return
        text_height = max(line.label.textItem.boundingRect().height() for _, line in shown)
        row_step = (text_height + 1) / max(view_box.sceneBoundingRect().height(), 1.0)
        row_ends: list[float] = []  # per row, the right end of its last label (x units)
        for x, line in sorted(shown, key=lambda item: item[0]):
            width = (line.label.textItem.boundingRect().width() + LABEL_GAP_PX) * pixel
            anchor, start = 0.5, x - width / 2
            if start < left:
                anchor, start = 0.0, x
            elif start + width > right:
                anchor, start = 1.0, x - width
            row = next((r for r, end in enumerate(row_ends) if start > end), len(row_ends))
            if row == len(row_ends):
                row_ends.append(start + width)
            row_ends[row] = start + width
            position = self.label_position - row_step * row
            if line.label.anchors[0][0] != anchor:
                line.label.anchors = [(anchor, 0.0), (anchor, 0.0)]
                line.label.updatePosition()
            if line.label.orthoPos != position:
                line.label.setPosition(position)

    def positions(self) -> list[float]:
        """log10 positions of the visible lines."""
        return [line.value() for line in self.lines if line.isVisible()]

    def labels(self) -> list[str]:
        return [line.label.format for line in self.lines if line.isVisible()]


class CountHistogram(pg.PlotWidget):
    """A histogram of all boxes with the unmatched boxes' histogram drawn over it (two step
    curves on the same bins, updated with setData). x is plotted as given (log10 for shapes)."""

    def __init__(self, title: str, log_x: bool, x_label: str | None = None):
        axis_items = {"left": CountAxisItem("left")}
        if log_x:
            axis_items["bottom"] = LogAxisItem("bottom")
        super().__init__(axisItems=axis_items)
        self.plot = _style_plot(self, title, x_label, "boxes")
        # axis-aligned steps gain nothing from antialiasing, and their fills cost less without
        self.all_curve = pg.PlotDataItem(stepMode="center", fillLevel=0, antialias=False,
                                         brush=pg.mkBrush(*ALL_COLOR, 150),
                                         pen=pg.mkPen(*ALL_COLOR, width=1))
        self.unmatched_curve = pg.PlotDataItem(stepMode="center", fillLevel=0, antialias=False,
                                               brush=pg.mkBrush(*UNMATCHED_COLOR, 190),
                                               pen=pg.mkPen(*UNMATCHED_COLOR, width=1))
        cache_static_item(self.all_curve)  # changes with the dataset only
        self.plot.addItem(self.all_curve)
        self.plot.addItem(self.unmatched_curve)
        self.plot.setYRange(0, 1, padding=0)
        self.lines = VerticalLines(self.plot)
        self.user_moved_view = False
        self.plot.getViewBox().sigRangeChangedManually.connect(self._moved)

    def _moved(self, *_) -> None:
        self.user_moved_view = True

    def set_counts(self, edges: np.ndarray, all_counts: np.ndarray,
                   unmatched_counts: np.ndarray) -> None:
        self.all_curve.setData(edges, all_counts)
        self.unmatched_curve.setData(edges, unmatched_counts)
        top = max(int(all_counts.max()) if len(all_counts) else 0, 1)
        self.plot.setYRange(-0.02 * top, top * Y_HEADROOM, padding=0)  # room for line labels

    def counts(self) -> tuple[np.ndarray, np.ndarray]:
        """(all, unmatched) counts as drawn."""
        return self.all_curve.getData()[1], self.unmatched_curve.getData()[1]

    def fit_x(self, lo: float, hi: float, force: bool = False) -> None:
        """Show [lo, hi] (plot coordinates) unless the user has zoomed or panned. Unforced
        (a config change), the view only grows, with room to spare: a drag does not re-render
        the axes on every step."""
        if force:
            self.user_moved_view = False
        if self.user_moved_view:
            return
        shown = self.plot.getViewBox().viewRange()[0]
        if not force:
            if shown[0] <= lo and hi <= shown[1]:
                return
            lo, hi = _grown(shown, (lo, hi))
        pad = VIEW_PADDING * max(hi - lo, 1e-6)
        self.plot.setXRange(lo - pad, hi + pad, padding=0)


def _grown(shown: tuple[float, float], needed: tuple[float, float]) -> tuple[float, float]:
    """`shown` grown to hold `needed`, with room to spare on the sides that grew."""
    lo, hi = min(needed[0], shown[0]), max(needed[1], shown[1])
    spare = GROW_SPARE * (hi - lo)
    return (lo - (spare if lo < shown[0] else 0.0), hi + (spare if hi > shown[1] else 0.0))


class ShapeDensity(pg.PlotWidget):
    """Width x height density of the boxes (log-log `ImageItem`), the unmatched boxes as a
    scatter over it, and each anchor's IoU >= t region as one outline item per level."""

    def __init__(self):
        super().__init__(axisItems={"bottom": LogAxisItem("bottom"),
                                    "left": LogAxisItem("left")})
        self.plot = _style_plot(self, "Width × height", "box width (px)", "box height (px)")
        self.plot.getViewBox().setMouseEnabled(x=True, y=True)
        self.image = pg.ImageItem(axisOrder="row-major")
        cache_static_item(self.image)
        positions, colors = zip(*DENSITY_COLORS, strict=True)
        self.image.setColorMap(pg.ColorMap(positions, colors))
        self.plot.addItem(self.image)
        self.unmatched = pg.ScatterPlotItem(size=3, pen=None,
                                            brush=pg.mkBrush(*UNMATCHED_COLOR, 170))
        self.unmatched.setZValue(5)
        self.plot.addItem(self.unmatched)
        self.regions: list[pg.PlotDataItem] = []  # one per level, reused
        self.anchor_marks: list[pg.ScatterPlotItem] = []  # one per level, reused
        self.user_moved_view = False
        self.plot.getViewBox().sigRangeChangedManually.connect(self._moved)

    def _moved(self, *_) -> None:
        self.user_moved_view = True

    def set_density(self, counts: np.ndarray, width_edges: np.ndarray,
                    height_edges: np.ndarray) -> None:
        """Box counts per (width bin, height bin); empty bins take the background colour."""
        shown = np.zeros(counts.shape, np.float32)
        filled = counts > 0
        shown[filled] = np.log10(counts[filled]) + 1.0  # one box is visible, not black
        top = float(shown.max()) if filled.any() else 1.0
        self.image.setImage(shown.T, levels=(0.0, top))
        x0, y0 = np.log10(width_edges[0]), np.log10(height_edges[0])
        self.image.setRect(x0, y0, np.log10(width_edges[-1]) - x0,
                           np.log10(height_edges[-1]) - y0)

    def set_regions(self, level_index: np.ndarray, widths: np.ndarray, heights: np.ndarray,
                    threshold: float) -> None:
        levels = int(level_index.max()) + 1 if len(level_index) else 0
        while len(self.regions) < levels:
            colour = level_colour(len(self.regions))
            # a 1-px cosmetic pen: wider antialiased outlines cost several ms per repaint
            item = pg.PlotDataItem(connect="finite", pen=pg.mkPen(*colour, width=1))
            item.setZValue(10)
            marks = pg.ScatterPlotItem(size=9, symbol="+", pen=pg.mkPen(*colour, width=1.5),
                                       brush=None)
            marks.setZValue(12)
            self.plot.addItem(item)
            self.plot.addItem(marks)
            self.regions.append(item)
            self.anchor_marks.append(marks)
        for index, (item, marks) in enumerate(zip(self.regions, self.anchor_marks, strict=True)):
            mine = level_index == index
            if index >= levels or not mine.any():
                item.setData([], [])
                item.setVisible(False)
                marks.setData([], [])
                continue
            w, h = region_outlines(widths[mine], heights[mine], threshold)
            with np.errstate(invalid="ignore"):
                item.setData(np.log10(w), np.log10(h))
            item.setVisible(True)
            marks.setData(np.log10(widths[mine]), np.log10(heights[mine]))

    def set_unmatched(self, widths: np.ndarray, heights: np.ndarray) -> None:
        self.unmatched.setData(np.log10(widths), np.log10(heights))

    def fit(self, x_range: tuple[float, float], y_range: tuple[float, float],
            force: bool = False) -> None:
        """Like `CountHistogram.fit_x`, for both axes: unforced, the view only grows."""
        if force:
            self.user_moved_view = False
        if self.user_moved_view:
            return
        if not force:
            (x0, x1), (y0, y1) = self.plot.getViewBox().viewRange()
            if x0 <= x_range[0] and x_range[1] <= x1 and y0 <= y_range[0] and y_range[1] <= y1:
                return
            x_range = _grown((x0, x1), x_range)
            y_range = _grown((y0, y1), y_range)
        self.plot.setRange(xRange=x_range, yRange=y_range, padding=VIEW_PADDING)


class HistogramPanel(QWidget):
    """Box-shape histograms of the loaded dataset with the config's anchors drawn on them.

    Observes `state`: `dataset_changed` re-bins the box shapes (in model-input pixels, via
    `core.input_mapping.map_boxes_to_input` and `state.model_input`, again on
    `model_input_changed`); `config_changed` moves the
    anchor lines and regions (and re-bins only if the model input changed); `coverage_changed`
    re-counts the unmatched boxes and the best-IoU histogram. Items are built once.
    """

    def __init__(self, state: AppState, parent: QWidget | None = None):
        super().__init__(parent)
        self.state = state
        self.bins: ShapeBins | None = None
        self._binned_input = None  # the ModelInput the bins were made for
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.setStyleSheet(f"background: {BACKGROUND}; color: {TEXT};")

        self.summary = QLabel()
        self.summary.setTextFormat(Qt.TextFormat.RichText)
        self.summary.setWordWrap(True)
        self.summary.setContentsMargins(6, 4, 6, 2)
        self.pixel_size: PixelSize | None = None  # s and Hz of one (model-input) pixel
        self._pixel_note = ""  # what the read-out says when no plot is pointed at
        self.readout = QLabel()  # physical read-out of the shape under the pointer
        self.readout.setContentsMargins(6, 0, 6, 2)
        self.readout.setStyleSheet(f"color: {MUTED};")
        self.readout.setVisible(False)
        self.aspect_plot = CountHistogram("Aspect ratio w/h", log_x=True)
        self.side_plot = CountHistogram(SIDE_TITLE.format(pixels="px"), log_x=True)
        self.iou_plot = CountHistogram("Best IoU per box", log_x=False)
        self.iou_plot.plot.setXRange(0.0, 1.0, padding=0.01)
        self.iou_thresholds = VerticalLines(self.iou_plot.plot)
        self.iou_thresholds.show([0.4, 0.5], [AXIS_PEN] * 2, ["", ""], [TEXT] * 2)
        self.density_plot = ShapeDensity()

        self.summary.setToolTip("Unmatched: the box gets no positive anchor under the "
                                "framework's matcher, so it never enters the training target.")
        self.aspect_plot.setToolTip("Box aspect ratios w/h (blue: all boxes, orange: unmatched)"
                                    "; dashed lines: the config's anchor ratios.")
        self.side_plot.setToolTip("Box side length √(w·h); lines: anchor sizes size×scale, one "
                                  "colour per level, solid for scale 1 of each level.")
        self.iou_plot.setToolTip("Best IoU of each box with any anchor; orange: unmatched boxes, "
                                 "so the blue above them is the matched ones. Dashed: the "
                                 "negative and positive IoU thresholds.")
        self.grid = QGridLayout()
        self.grid.setContentsMargins(0, 0, 0, 0)
        self.grid.setSpacing(2)
        self.arrangement = ""  # "stack" (tall panel) or "grid" (2 x 2)
        for plot in self.plots():
            plot.setMinimumSize(MIN_PLOT_WIDTH, MIN_PLOT_HEIGHT)
        self._arrange("grid")  # the smaller minimum: a first layout never grows the window
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.summary)
        layout.addWidget(self.readout)
        layout.addLayout(self.grid, 1)
        for plot in self.plots():
            plot.scene().sigMouseMoved.connect(
                lambda position, plot=plot: self._read_out(plot, position))

        # a drag sends config changes and results faster than the display refreshes: draw the
        # newest of each at most once per frame
        # (one redraw draws both, so the plots repaint once per frame)
        self._dataset_dirty = self._config_dirty = self._coverage_dirty = False
        self._redraw = Paced(self._redraw_dirty, self, urgent=lambda: self.state.is_current)
        state.dataset_changed.connect(self._on_dataset_changed)
        state.config_changed.connect(self._on_config_changed)
        state.model_input_changed.connect(self._on_config_changed)  # re-bins the shapes
        state.coverage_changed.connect(self._on_coverage_changed)
        self.refresh()

    def sizeHint(self) -> QSize:  # noqa: N802 (Qt API)
        return QSize(480, 880)

    def leaveEvent(self, event) -> None:  # noqa: N802 (Qt API)
        super().leaveEvent(event)
        self.readout.setText(self._pixel_note)

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt API)
        """A tall panel stacks the four plots; a squat one (a shared dock) shows them 2 x 2."""
        size = event.size()
        self._arrange("stack" if size.height() >= STACK_ASPECT * size.width() else "grid")
        super().resizeEvent(event)

    def _arrange(self, arrangement: str) -> None:
        if arrangement == self.arrangement:
            return
        self.arrangement = arrangement
        for plot in self.plots():
            self.grid.removeWidget(plot)
        for row in range(4):
            self.grid.setRowStretch(row, 0)
        for col in range(2):
            self.grid.setColumnStretch(col, 0)
        if arrangement == "stack":
            for row, (plot, stretch) in enumerate(zip(self.plots(), (2, 2, 2, 3), strict=True)):
                self.grid.addWidget(plot, row, 0)
                self.grid.setRowStretch(row, stretch)
            self.grid.setColumnStretch(0, 1)
        else:
            for k, plot in enumerate(self.plots()):
                self.grid.addWidget(plot, k // 2, k % 2)
            for k in range(2):
                self.grid.setRowStretch(k, 1)
                self.grid.setColumnStretch(k, 1)

    def flush(self) -> None:
        """Draw any update still waiting for its frame now (before a snapshot, in tests)."""
        if self._dataset_dirty:
            self._redraw_dirty()
        self._redraw.flush()

    def plots(self) -> tuple[CountHistogram, CountHistogram, CountHistogram, ShapeDensity]:
        return self.aspect_plot, self.side_plot, self.iou_plot, self.density_plot

    # -- state observers -----------------------------------------------------------------------
    def refresh(self) -> None:
        """Redraw everything from the state now (as after a dataset change)."""
        self._dataset_dirty = True
        self._redraw_dirty()

    def _on_dataset_changed(self) -> None:
        """Redraw in an event of its own: the other panels' dataset updates and this one's
        then leave the event loop a breath between them (a million boxes take tens of ms)."""
        self._dataset_dirty = True
        QTimer.singleShot(0, self, self._redraw_dirty)

    def _on_config_changed(self) -> None:
        self._config_dirty = True
        self._redraw()

    def _on_coverage_changed(self) -> None:
        self._coverage_dirty = True
        self._redraw()

    def _redraw_dirty(self) -> None:
        dataset, config, coverage = self._dataset_dirty, self._config_dirty, self._coverage_dirty
        self._dataset_dirty = self._config_dirty = self._coverage_dirty = False
        if dataset:
            self._bin_shapes()
            self._update_anchors(fit=True)
            self._update_coverage()
            return
        if config:
            self._apply_config()
        if coverage:
            self._update_coverage()

    def _apply_config(self) -> None:
        if self.state.model_input != self._binned_input:
            self._bin_shapes()
            self._update_anchors(fit=True)
            self._update_coverage()
        else:
            self._update_anchors(fit=False)

    # -- drawing ----------------------------------------------------------------------------------
    def _bin_shapes(self) -> None:
        """Bin the dataset's box shapes (model-input pixels) and draw the all-box histograms."""
        state = self.state
        table, model_input = state.table, state.model_input
        self._binned_input = model_input
        if table is None:
            bins = ShapeBins(np.zeros(0), np.zeros(0))
        elif state.views is not None and state.views.model_input == model_input:
            bins = state.views.shape_bins  # prepared by the loading worker
        else:
            bins = model_shape_bins(table, model_input)
        self.bins = bins
        pixels = "model-input px" if model_input.size is not None else "px"
        self._show_pixel_size(table, model_input, pixels)
        self.side_plot.plot.setTitle(SIDE_TITLE.format(pixels=pixels), size="9pt", color=TEXT)
        self.density_plot.plot.setLabel("bottom", f"box width ({pixels})", color=TEXT,
                                        size="9pt")
        self.density_plot.plot.setLabel("left", f"box height ({pixels})", color=TEXT,
                                        size="9pt")
        empty = np.zeros(0, np.int64)
        for plot, log_bins in ((self.aspect_plot, bins.ratio), (self.side_plot, bins.side)):
            counts = log_bins.counts()
            plot.set_counts(np.log10(log_bins.edges), counts, np.zeros_like(counts))
        self.density_plot.set_density(bins.grid_counts(), bins.width.edges, bins.height.edges)
        self.density_plot.set_unmatched(empty, empty)
        for plot in self.plots():
            plot.user_moved_view = False

    def _show_pixel_size(self, table, model_input, pixels: str) -> None:
        """The physical size of one pixel of the binned shapes (None without common units),
        in the read-out line."""
        size = None if table is None else pixel_size(
            table.units, table.image_heights, table.image_widths, model_input.size,
            model_input.resize)
        self.pixel_size = size
        self._pixel_note = "" if size is None else (
            f"1 {pixels} = {size.extent(1)} · point at the side or "
            "w × h plot to read a size")
        self.readout.setText(self._pixel_note)
        self.readout.setVisible(size is not None)

    def _read_out(self, plot, position) -> None:
        """The shape under the pointer in s and Hz: a square of the side (side plot), or
        width x height (w x h plot); the one-pixel note elsewhere."""
        size = self.pixel_size
        if size is None:
            return
        view_box = plot.plot.getViewBox()
        if (plot not in (self.side_plot, self.density_plot)
                or not view_box.sceneBoundingRect().contains(position)):
            self.readout.setText(self._pixel_note)
            return
        point = view_box.mapSceneToView(position)
        if plot is self.side_plot:
            side = 10.0 ** point.x()
            text = f"side √(w·h) {size.describe(side)} (a square box)"
        else:
            text = f"w × h {size.describe(10.0 ** point.x(), 10.0 ** point.y())}"
        self.readout.setText(text)

    def _update_anchors(self, fit: bool) -> None:
        """Anchor ratio / size lines, threshold lines and IoU regions of `state.config`."""
        config, bins = self.state.config, self.bins
        ratios = np.asarray(config.aspect_ratios, np.float64)
        line_pen = pg.mkPen(*RATIO_LINE_COLOR, width=1.5, style=Qt.PenStyle.DashLine)
        self.aspect_plot.lines.show(np.log10(ratios), [line_pen] * len(ratios),
                                    [f"{r:g}" for r in ratios], [RATIO_LINE_COLOR] * len(ratios))

        level_index, sides = nominal_anchor_sides(config)
        first_of_level = np.r_[True, level_index[1:] != level_index[:-1]]
        self.side_plot.lines.show(
            np.log10(sides),
            [pg.mkPen(*level_colour(k), width=1.8) if first else
             pg.mkPen(*level_colour(k), width=1.2, style=Qt.PenStyle.DotLine)
             for k, first in zip(level_index, first_of_level, strict=True)],
            [f"P{config.levels[k]}" if first else "" for k, first in
             zip(level_index, first_of_level, strict=True)],
            [level_colour(k) for k in level_index])

        self.iou_thresholds.show(
            [config.negative_iou, config.positive_iou],
            [pg.mkPen(*NEGATIVE_COLOR, width=1.5, style=Qt.PenStyle.DashLine),
             pg.mkPen(*POSITIVE_COLOR, width=1.5, style=Qt.PenStyle.DashLine)],
            [f"neg {config.negative_iou:g}", f"pos {config.positive_iou:g}"],
            [NEGATIVE_COLOR, POSITIVE_COLOR])

        shapes = anchor_shapes(config)
        self.density_plot.set_regions(shapes.level_index, shapes.widths, shapes.heights,
                                      config.positive_iou)
        self.density_plot.plot.setTitle(
            f"w × h · IoU ≥ {config.positive_iou:g} regions",
            size="9pt", color=TEXT)

        if bins is None:
            return
        ratio_edges = np.log10(bins.ratio.edges)
        side_edges = np.log10(bins.side.edges)
        self.aspect_plot.fit_x(min(ratio_edges[0], np.log10(ratios.min())),
                               max(ratio_edges[-1], np.log10(ratios.max())), force=fit)
        self.side_plot.fit_x(min(side_edges[0], np.log10(sides.min())),
                             max(side_edges[-1], np.log10(sides.max())), force=fit)
        wx, hy = np.log10(bins.width.edges[[0, -1]]), np.log10(bins.height.edges[[0, -1]])
        aw, ah = np.log10(shapes.widths), np.log10(shapes.heights)
        self.density_plot.fit((min(wx[0], aw.min()), max(wx[1], aw.max())),
                              (min(hy[0], ah.min()), max(hy[1], ah.max())), force=fit)

    def _update_coverage(self) -> None:
        """Unmatched overlays and the best-IoU histogram from `state.result`; an estimate's
        sample counts are scaled to the dataset (docs/live-tuning.md). The coverage worker
        usually counted them already (`state.result_shapes`)."""
        bins, result = self.bins, self.state.result
        if bins is None:
            return
        shapes = self.state.result_shapes
        if shapes is None or shapes.bins is not bins:
            shapes = unmatched_shapes(bins, result)
        if shapes is None:  # no coverage yet: all-box histograms only
            empty = np.zeros(0, np.int64)
            for plot, log_bins in ((self.aspect_plot, bins.ratio), (self.side_plot, bins.side)):
                plot.unmatched_curve.setData(np.log10(log_bins.edges),
                                             np.zeros(log_bins.count))
            edges, counts = iou_histogram(np.zeros(0), IOU_BINS)
            self.iou_plot.set_counts(edges, counts, counts)
            self.density_plot.set_unmatched(empty, empty)
            self._show_summary(len(bins), 0.0, False, result)
            return
        self.aspect_plot.unmatched_curve.setData(np.log10(bins.ratio.edges), shapes.ratio_counts)
        self.side_plot.unmatched_curve.setData(np.log10(bins.side.edges), shapes.side_counts)
        self.iou_plot.set_counts(shapes.iou_edges, shapes.iou_all, shapes.iou_unmatched)
        self.density_plot.set_unmatched(shapes.cells_w, shapes.cells_h)
        self.density_plot.setToolTip(
            "Box width × height (blue: density of all boxes). Outlines: the box shapes each "
            "anchor (+) reaches at IoU ≥ the positive threshold when centred on the box, one "
            f"colour per level. Orange dots: the shapes (to 1/16 octave) of the "
            f"{shapes.unmatched:,.0f} unmatched boxes.")
        self._show_summary(len(bins), shapes.unmatched, True, result)

    def _show_summary(self, boxes: int, unmatched: float, has_coverage: bool, result) -> None:
        blue = "#{:02x}{:02x}{:02x}".format(*ALL_COLOR)
        orange = "#{:02x}{:02x}{:02x}".format(*UNMATCHED_COLOR)
        if self.state.table is None:
            self.summary.setText("No dataset loaded.")
            return
        text = f"<span style='color:{blue}'>■</span> {boxes:,} boxes"
        if has_coverage:
            share = unmatched / boxes if boxes else 0.0
            about = "≈ " if not result.exact else ""
            text += (f" &nbsp; <span style='color:{orange}'>■</span> {about}{unmatched:,.0f} "
                     f"unmatched ({share:.1%})")
            if not self.state.is_current:
                text += f" &nbsp; <span style='color:{MUTED}'>{status_text(self.state)}</span>"
        else:
            text += f" &nbsp; <span style='color:{MUTED}'>coverage not computed yet</span>"
        self.summary.setText(text)

    # -- export ---------------------------------------------------------------------------------
    def save_png(self, path: str | Path, plot: str | None = None) -> Path:
        """Render the whole panel (or one plot: one of PLOT_NAMES) to a PNG file. A panel that
        was never laid out is rendered at its size hint."""
        path = Path(path)
        self.flush()
        if not self.isVisible() and (self.width() < 50 or self.height() < 50):
            self.resize(self.sizeHint())
        widget: QWidget = self
        if plot is not None:
            if plot not in PLOT_NAMES:
                raise ValueError(f"plot must be one of {', '.join(PLOT_NAMES)}, got {plot!r}")
            widget = self.plots()[PLOT_NAMES.index(plot)]
        if not widget.grab().save(str(path), "PNG"):
            raise OSError(f"could not write {path}")
        return path
