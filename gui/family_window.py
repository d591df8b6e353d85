"""Tools ▸ Detector families: the loaded dataset under YOLOv5, FCOS, ATSS or YOLOv8's own
positive rules (docs/families.md), beside the RetinaNet-style main window.

The window follows the main window's image and selected box. Left: the family and its
parameters (`FamilyPanel`), the recall, the misses by reason and per class. Right: the image
with its boxes coloured by whether the family gives them a positive, and the selected box's
positive cells, anchors or points. The whole dataset is computed in a worker (newest parameters
win, as in the main window); the image on screen is assigned at once on the UI thread.
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QHBoxLayout,
    QLabel,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)
from superqt.utils import create_worker

from core.dataset_views import model_shape_bins
from core.family_analysis import FamilyResult, analyze_family, assignment_size, positive_outlines
from core.family_config import FAMILIES, FamilyConfig, default_family_config, with_params
from core.input_mapping import map_boxes_to_image, map_boxes_to_input
from gui.dataset_loader import retire
from gui.family_panel import FamilyPanel
from gui.histograms import ShapeDensity
from gui.pixel_loader import PixelLoader
from gui.spectrogram_view import SpectrogramView, family_legend_html
from gui.state import AppState
from gui.theme import MUTED, level_colour

POSITIVE_SHAPES = {"yolov5": "its positive grid cells (one per build_targets entry)",
                   "fcos": "its positive points", "atss": "its positive anchors",
                   "yolov8": "its candidate points"}


class FamilyWindow(QDialog):
    """A non-modal window: the dataset under one detector family's rules."""

    def __init__(self, state: AppState, pixel_loader: PixelLoader | None = None,
                 parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Detector families")
        self.setModal(False)
        self.resize(1500, 820)
        self.state = state
        self.pixel_loader = pixel_loader
        self.config: FamilyConfig = default_family_config("yolov5")
        self.result: FamilyResult | None = None
        self._worker = None
        self._pending = False

        self.family_combo = QComboBox()
        for name, family in FAMILIES.items():
            self.family_combo.addItem(family.label, name)
        self.panel = FamilyPanel()
        self.panel.set_config(self.config)
        self.recall_label = QLabel("", textFormat=Qt.TextFormat.RichText)
        self.status = QLabel("")
        self.status.setStyleSheet(f"color: {MUTED};")
        self.misses = QLabel("", wordWrap=True, textFormat=Qt.TextFormat.RichText)
        self.classes = QTableWidget(0, 3)
        self.classes.setHorizontalHeaderLabels(["class", "boxes", "recall"])
        self.classes.verticalHeader().setVisible(False)
        self.classes.horizontalHeader().setStretchLastSection(True)
        left = QVBoxLayout()
        left.addWidget(self.family_combo)
        left.addWidget(self.panel)
        left.addWidget(self.recall_label)
        left.addWidget(self.status)
        left.addWidget(self.misses)
        left.addWidget(self.classes, 1)
        side = QWidget()
        side.setLayout(left)
        self.view = SpectrogramView()
        self.legend = QLabel("", wordWrap=True, textFormat=Qt.TextFormat.RichText)
        self.legend.setStyleSheet(f"color: {MUTED};")
        self.density = ShapeDensity()
        self.density.setMinimumWidth(300)
        self.density_note = QLabel("", wordWrap=True)
        self.density_note.setStyleSheet(f"color: {MUTED};")
        self.anchor_squares: list[pg.ROI] = []
        density = QWidget()
        density_layout = QVBoxLayout(density)
        density_layout.setContentsMargins(0, 0, 0, 0)
        density_layout.addWidget(self.density, 1)
        density_layout.addWidget(self.density_note)
        image = QSplitter(Qt.Orientation.Horizontal)
        image_side = QWidget()
        image_layout = QVBoxLayout(image_side)
        image_layout.setContentsMargins(0, 0, 0, 0)
        image_layout.addWidget(self.view, 1)
        image_layout.addWidget(self.legend)
        image.addWidget(image_side)
        image.addWidget(density)
        image.setSizes([520, 360])
        splitter = QSplitter()
        splitter.addWidget(side)
        splitter.addWidget(image)
        splitter.setSizes([380, 820])
        layout = QHBoxLayout(self)
        layout.addWidget(splitter)

        self.family_combo.currentIndexChanged.connect(self._on_family)
        self.panel.config_edited.connect(self.set_config)
        self.view.clicked.connect(self._on_view_clicked)
        state.dataset_changed.connect(self.recompute)
        state.model_input_changed.connect(self.recompute)
        state.image_changed.connect(lambda _index: self.show_image())
        state.selection_changed.connect(lambda _row: self.show_image(reset_zoom=False))
        if pixel_loader is not None:
            pixel_loader.ready.connect(self._on_pixels_ready)
        self.recompute()

    # -- configuration ---------------------------------------------------------------------------
    def _on_family(self, index: int) -> None:
        name = self.family_combo.itemData(index)
        if name != self.config.framework:
            config = default_family_config(name)
            self.panel.set_config(config)
            self.set_config(config)

    def set_config(self, config: FamilyConfig) -> None:
        """Show `config` and recompute the dataset under it."""
        self.config = config
        index = self.family_combo.findData(config.framework)
        if index != self.family_combo.currentIndex():
            self.family_combo.blockSignals(True)
            self.family_combo.setCurrentIndex(index)
            self.family_combo.blockSignals(False)
            self.panel.set_config(config)
        self.recompute()

    # -- the dataset -----------------------------------------------------------------------------
    @property
    def busy(self) -> bool:
        return self._worker is not None

    def recompute(self) -> None:
        """Assign the whole dataset under the current config in a worker (newest wins)."""
        state = self.state
        self.show_image()
        if state.table is None or state.partial:
            self.recall_label.setText("")
            self.status.setText("load a dataset first")
            return
        if self._worker is not None:
            self._pending = True
            return
        self._pending = False
        self.status.setText("computing…")
        worker = create_worker(analyze_family, state.table, self.config, state.model_input,
                               _start_thread=False, _ignore_errors=True)
        worker.returned.connect(self._on_returned)
        worker.errored.connect(self._on_errored)
        self._worker = worker
        worker.start()

    def _on_returned(self, result: FamilyResult) -> None:
        self._worker = None
        state = self.state
        fits = result.config == self.config and result.model_input == state.model_input
        if self._pending or not fits:
            self.recompute()
            return
        self.result = result
        self._show_report(result)
        self._show_density(result)
        self.show_image(reset_zoom=False)

    def _on_errored(self, error: Exception) -> None:
        self._worker = None
        self.status.setText(f"failed: {error}")
        if self._pending:
            self.recompute()

    def _show_report(self, result: FamilyResult) -> None:
        report, family = result.report, result.config.family
        self.recall_label.setText(
            f"<span style='font-size:16pt'><b>{100 * report.recall:.1f} %</b></span> recall · "
            f"{report.mean_positives_per_box:.2f} positives per box")
        note = f" — {family.note}" if family.note else ""
        self.status.setText(f"{report.uncovered_boxes:,d} of {len(result.coverage):,d} boxes "
                            f"without a positive{note}")
        lines = [f"{count:,d} · {reason}" for reason, count in report.misses.items()]
        self.misses.setText("<br>".join(lines) if lines else "every box gets a positive")
        self.classes.setRowCount(len(report.per_class))
        for row, (name, values) in enumerate(report.per_class.items()):
            for column, text in enumerate((name, f"{values.boxes:,d}",
                                           f"{100 * values.recall:.1f} %")):
                self.classes.setItem(row, column, QTableWidgetItem(text))

    # -- box shapes ------------------------------------------------------------------------------
    def _show_density(self, result: FamilyResult) -> None:
        """The boxes' width x height density (model-input pixels), the boxes without a positive
        over it and, for YOLOv5, each anchor's ratio-test square — drag one to move the anchor."""
        state, table = self.state, self.state.table
        bins = model_shape_bins(table, state.model_input)
        self.density.set_density(bins.grid_counts(), bins.width.edges, bins.height.edges)
        missed = ~result.coverage.matched
        self.density.set_unmatched(bins.widths[missed], bins.heights[missed])
        if not self.density.user_moved_view:
            self.density.fit((math.log10(bins.width.edges[0]), math.log10(bins.width.edges[-1])),
                             (math.log10(bins.height.edges[0]),
                              math.log10(bins.height.edges[-1])))
        self._show_anchor_squares()

    def _show_anchor_squares(self) -> None:
        for square in self.anchor_squares:
            self.density.plot.removeItem(square)
        self.anchor_squares = []
        config = self.config
        if config.framework != "yolov5":
            self.density_note.setText("red: boxes without a positive (this family has no "
                                      "anchor shapes to place here)")
            return
        half = math.log10(config.params.anchor_t)
        for level, anchors in enumerate(config.params.anchors):
            pen = pg.mkPen(level_colour(level), width=1.5)
            for index, (w, h) in enumerate(anchors):
                square = pg.ROI((math.log10(w) - half, math.log10(h) - half),
                                (2 * half, 2 * half), pen=pen, movable=True, rotatable=False,
                                resizable=False, removable=False)
                square.setZValue(20)
                square.sigRegionChangeFinished.connect(
                    lambda roi, level=level, index=index: self._on_square_moved(roi, level,
                                                                                index))
                self.density.plot.addItem(square)
                self.anchor_squares.append(square)
        self.density_note.setText("each square: the (w, h) an anchor takes under anchor_t "
                                  "(one colour per level); drag one to move its anchor · red: "
                                  "boxes without a positive")

    def _on_square_moved(self, roi: pg.ROI, level: int, index: int) -> None:
        """A dragged square: its centre is the anchor's new (w, h)."""
        x, y = roi.pos()
        half = math.log10(self.config.params.anchor_t)
        w, h = (float(f"{10 ** (v + half):.4g}") for v in (x, y))
        anchors = [list(level_anchors) for level_anchors in self.config.params.anchors]
        if anchors[level][index] == (w, h):
            return
        anchors[level][index] = (w, h)
        config = with_params(self.config, anchors=tuple(tuple(a) for a in anchors))
        self.panel.set_config(config)
        self.set_config(config)

    # -- the image on screen ---------------------------------------------------------------------
    def _image_boxes(self) -> tuple[np.ndarray, np.ndarray, tuple[int, int]]:
        """The on-screen image's rows in the source's order, their boxes in model-input pixels
        and the image's model-input size."""
        state, table = self.state, self.state.table
        rows = state.boxes_of_image(state.image_index)
        rows = rows[np.argsort(table.box_index[rows], kind="stable")]
        model = state.model_input
        x1, y1, x2, y2, heights, widths = map_boxes_to_input(
            table.x1[rows], table.y1[rows], table.x2[rows], table.y2[rows],
            np.zeros(len(rows), np.int64), table.image_heights[[state.image_index]],
            table.image_widths[[state.image_index]], model.size, model.resize)
        return rows, np.stack([x1, y1, x2, y2], axis=1), (int(heights[0]), int(widths[0]))

    def show_image(self, reset_zoom: bool = True) -> None:
        """The main window's image, its boxes by family result, the selected box's positives."""
        state, table = self.state, self.state.table
        if table is None or state.image_index < 0:
            return
        index = state.image_index
        height, width = int(table.image_heights[index]), int(table.image_widths[index])
        pixels = (self.pixel_loader.request(state.source, index, table.image_count)
                  if self.pixel_loader is not None else None)
        self.view.show_image(pixels, height, width, reset_zoom=reset_zoom,
                             pending=self.pixel_loader is not None
                             and self.pixel_loader.pending(index))
        self.view.set_caption(f"image {index} · {self.config.family.label}")
        self.legend.setText(family_legend_html(POSITIVE_SHAPES[self.config.framework]))
        rows, boxes, size = self._image_boxes()
        assigned = self.config.family.assigner.assign_image(
            boxes, assignment_size(self.config, *size), self.config.params)
        self.view.set_boxes(table.xyxy(rows), assigned.matched)
        selected = state.selected_box
        mine = np.flatnonzero(rows == selected)
        self.view.set_selected(table.xyxy(np.array([selected])) if len(mine) else None)
        outlines = np.zeros((0, 4))
        if len(mine):
            outlines = positive_outlines(self.config, boxes, size, int(mine[0]))
            model = state.model_input
            outlines = map_boxes_to_image(outlines, height, width, model.size, model.resize)
        self.view.set_positive_anchors(outlines)

    def _on_pixels_ready(self, index: int, _pixels) -> None:
        if index == self.state.image_index:
            self.show_image(reset_zoom=False)

    def _on_view_clicked(self, x: float, y: float) -> None:
        state = self.state
        if state.table is not None:
            state.select_box(state.table.smallest_box_at(state.boxes_of_image(state.image_index),
                                                         x, y))

    def closeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        if self._worker is not None:
            retire(self._worker)
            self._worker = None
        super().closeEvent(event)
