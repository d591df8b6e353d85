"""The inspector's main window: spectrogram with overlays in the middle, the anchor panel on the
left, shape histograms on the right, the coverage report below; menus for files and exports."""

from __future__ import annotations

import json

import numpy as np
from PySide6.QtCore import QEvent, QSettings, Qt, QTimer
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDockWidget,
    QFileDialog,
    QLabel,
    QMainWindow,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QSpinBox,
    QToolBar,
    QVBoxLayout,
    QWidget,
)
from superqt import QElidingLabel
from superqt.utils import qdebounced

from core.anchor_config import (
    config_from_dict,
    config_to_dict,
    load_config,
    save_config,
)
from core.boxes import BoxTable
from core.errors import InputError
from core.image_anchors import ImageAnchors
from core.sources import Source
from gui.anchor_panel import AnchorPanel
from gui.coverage_controller import CoverageController
from gui.dataset_loader import DatasetLoader
from gui.frame_rate import Paced
from gui.histograms import HistogramPanel
from gui.live_status import status_text
from gui.pixel_loader import PixelLoader
from gui.report_panel import ReportPanel
from gui.spectrogram_view import SpectrogramView, legend_html
from gui.state import AppState

RECENT_LIMIT = 10
LEFT_SHARE, RIGHT_SHARE, SIDE_PANEL_MIN = 0.24, 0.32, 260  # of the window width; px
BOTTOM_SHARE, BOTTOM_PANEL_MIN = 0.33, 220  # of the window height; px
CURSOR_REFRESH_MS = 30
CONFIG_SAVE_MS = 400


class MainWindow(QMainWindow):
    """Shows one image at a time with its boxes and anchors; every panel observes `state`."""

    def __init__(self, settings: QSettings | None = None):
        super().__init__()
        self.setWindowTitle("Anchor Inspector")
        self.settings = settings or QSettings("AnchorInspector", "AnchorInspector")
        self.state = AppState(self)
        self.loader = DatasetLoader(self)
        self.coverage = CoverageController(self.state, self)
        self._cursor: tuple[float, float] | None = None  # image pixels
        self._anchors: ImageAnchors | None = None
        self.family_window = None  # Tools ▸ Detector families, built when first opened
        self.pixel_loader = PixelLoader(self)  # pixels decoded off the UI thread, cached
        self.pixel_loader.ready.connect(self._on_pixels_ready)
        self.pixel_loader.failed.connect(self._on_pixels_failed)
        self._previewing = False  # showing the boxes of a load still running
        self._attempted_spec: str | None = None  # the newest spec asked to load
        self._failed_spec: str | None = None  # ... if it failed: the dialog offers it again

        self.view = SpectrogramView()
        self.legend = QLabel(legend_html())  # every colour of the image, named
        self.legend.setWordWrap(True)
        self.legend.setTextFormat(Qt.TextFormat.RichText)
        self.legend.setContentsMargins(6, 2, 6, 2)
        self.legend.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        centre = QWidget()
        centre_layout = QVBoxLayout(centre)
        centre_layout.setContentsMargins(0, 0, 0, 0)
        centre_layout.setSpacing(0)
        centre_layout.addWidget(self.view, 1)
        centre_layout.addWidget(self.legend)
        self.setCentralWidget(centre)
        self.anchor_panel = AnchorPanel(self.state)
        self.histograms = HistogramPanel(self.state)
        self.report = ReportPanel(self.state)
        self.anchor_panel.setMinimumWidth(SIDE_PANEL_MIN)  # it scrolls itself
        self._dock("Anchors", "anchors_dock", self.anchor_panel,
                   Qt.DockWidgetArea.LeftDockWidgetArea)
        self._dock("Box shapes", "shapes_dock", self.histograms,
                   Qt.DockWidgetArea.RightDockWidgetArea)
        self._dock("Coverage", "coverage_dock", self.report,
                   Qt.DockWidgetArea.BottomDockWidgetArea)

        self._build_navigation()
        self._build_status_bar()
        self._build_menu()
        self._connect()
        self._cursor_timer = QTimer(self)
        self._cursor_timer.setSingleShot(True)
        self._cursor_timer.setInterval(CURSOR_REFRESH_MS)
        self._cursor_timer.timeout.connect(self._draw_cell_anchors)
        self._compute_seconds = 0.0
        # the last config is saved once the settings rest, not on every step of a drag
        self._remember_config = qdebounced(self._save_config_setting, CONFIG_SAVE_MS, parent=self)
        self._on_config_changed()
        self._restore_config()

    # -- construction ---------------------------------------------------------------------------
    def _dock(self, title: str, name: str, widget, area) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(name)
        dock.setWidget(widget)
        self.addDockWidget(area, dock)
        return dock

    def _build_navigation(self) -> None:
        bar = QToolBar("Navigation", self)
        bar.setObjectName("navigation")
        bar.setMovable(False)
        self.addToolBar(bar)
        self.image_spin = QSpinBox()
        self.image_spin.setMinimumWidth(90)
        self.image_spin.setKeyboardTracking(False)
        self.image_spin.installEventFilter(self)  # N jumps even while the image box has focus
        self.previous_button = QPushButton("◀")
        self.next_button = QPushButton("▶")
        self.previous_uncovered_button = QPushButton("◀ unmatched")
        self.next_uncovered_button = QPushButton("unmatched ▶")
        for button, tip in ((self.previous_button, "Previous image (PgUp)"),
                            (self.next_button, "Next image (PgDown)"),
                            (self.previous_uncovered_button,
                             "Previous image with an unmatched box"),
                            (self.next_uncovered_button, "Next image with an unmatched box (N)")):
            button.setToolTip(tip)
        self.previous_button.setShortcut(QKeySequence(Qt.Key.Key_PageUp))
        self.next_button.setShortcut(QKeySequence(Qt.Key.Key_PageDown))
        self.next_uncovered_button.setShortcut(QKeySequence(Qt.Key.Key_N))
        self.show_best = QCheckBox("best anchors")
        self.show_positives = QCheckBox("positives of selected")
        self.show_cell = QCheckBox("anchors at cursor")
        for box in (self.show_best, self.show_positives, self.show_cell):
            box.setChecked(True)
        self.cell_level = QComboBox()
        self.cell_level.setToolTip("Pyramid level of the anchors drawn at the cursor")
        bar.addWidget(QLabel(" Image "))
        for widget in (self.image_spin, self.previous_button, self.next_button,
                       self.previous_uncovered_button, self.next_uncovered_button):
            bar.addWidget(widget)
        bar.addSeparator()
        bar.addWidget(QLabel(" Show: "))
        for widget in (self.show_best, self.show_positives, self.show_cell, self.cell_level):
            bar.addWidget(widget)

    def _build_status_bar(self) -> None:
        self.progress_bar = QProgressBar()
        self.progress_bar.setMaximumWidth(240)
        self.cancel_button = QPushButton("Cancel")
        self.dataset_label = QElidingLabel("no dataset")  # a long spec must not push the rest
        self.dataset_label.setMinimumWidth(120)
        self.coverage_label = QLabel("")
        status = self.statusBar()
        status.addWidget(self.dataset_label, 1)
        status.addPermanentWidget(self.coverage_label)
        status.addPermanentWidget(self.progress_bar)
        status.addPermanentWidget(self.cancel_button)
        self._set_loading(False)

    def _action(self, menu, text: str, slot, shortcut=None) -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(shortcut)
        action.triggered.connect(slot)
        menu.addAction(action)
        return action

    def _build_menu(self) -> None:
        menu = self.menuBar().addMenu("&File")
        self._action(menu, "Open dataset…", self.ask_dataset, QKeySequence.StandardKey.Open)
        self.recent_menu = menu.addMenu("Recent datasets")
        self._fill_recent_menu()
        menu.addSeparator()
        self._action(menu, "Open config…", self.ask_open_config)
        self._action(menu, "Save config…", self.ask_save_config, QKeySequence.StandardKey.Save)
        self._action(menu, "Export…", self.show_export_dialog, QKeySequence("Ctrl+E"))
        menu.addSeparator()
        self._action(menu, "Save plots as PNG…", self.ask_save_plots)
        self._action(menu, "Save view as PNG…", self.ask_save_view)
        menu.addSeparator()
        self._action(menu, "Quit", self.close, QKeySequence.StandardKey.Quit)
        edit = self.menuBar().addMenu("&Edit")
        self.undo_action = self._action(edit, "Undo config change", self.state.undo,
                                        QKeySequence.StandardKey.Undo)
        self.redo_action = self._action(edit, "Redo config change", self.state.redo,
                                        QKeySequence.StandardKey.Redo)
        self.redo_action.setShortcuts([QKeySequence("Ctrl+Y"), QKeySequence("Ctrl+Shift+Z")])
        edit.addSeparator()
        self.pin_action = self._action(edit, "Compare with this config", self._toggle_pin,
                                       QKeySequence("Ctrl+B"))
        self.pin_action.setCheckable(True)
        self.pin_action.setToolTip("Keep the current config as the 'before' of the report's "
                                   "before → after until unchecked")
        tools = self.menuBar().addMenu("&Tools")
        self._action(tools, "Optimize anchors…", self.show_optimize_dialog,
                     QKeySequence("Ctrl+Shift+O"))
        self._action(tools, "Anchor budget…", self.show_anchor_budget_dialog)
        self._action(tools, "STFT sweep…", self.show_stft_sweep_dialog)
        self._action(tools, "Detector families…", self.show_family_window)

    def eventFilter(self, watched, event) -> bool:  # noqa: N802 - Qt's name
        """N / Shift+N in the image box: the box takes letters as input, the shortcut would
        never fire."""
        if (watched is self.image_spin and event.type() == QEvent.Type.KeyPress
                and event.key() == Qt.Key.Key_N):
            shift = event.modifiers() & Qt.KeyboardModifier.ShiftModifier
            self.jump_to_uncovered(-1 if shift else 1)
            return True
        return super().eventFilter(watched, event)

    def _toggle_pin(self) -> None:
        if self.pin_action.isChecked():
            self.state.pin_baseline()
        else:
            self.state.unpin_baseline()

    def _show_history(self) -> None:
        history = self.state.history
        self.undo_action.setEnabled(bool(history.undo_stack))
        self.redo_action.setEnabled(bool(history.redo_stack))
        self.pin_action.setChecked(history.pinned is not None)

    def _connect(self) -> None:
        state = self.state
        state.config_changed.connect(self._show_history)
        state.baseline_changed.connect(self._show_history)
        self.loader.progress.connect(self._on_progress)
        self.loader.loaded.connect(self._on_loaded)
        self.loader.preview.connect(self._on_preview)
        self.loader.failed.connect(self._on_load_failed)
        self.loader.cancelled.connect(self._on_load_ended)
        self.cancel_button.clicked.connect(self.loader.cancel)
        self.coverage.computed.connect(self._on_coverage_computed)
        state.coverage_changed.connect(self._show_coverage_status)
        self.coverage.failed.connect(
            lambda message: self.statusBar().showMessage(f"coverage: {message}", 8000))
        self.coverage.busy_changed.connect(self._on_coverage_busy)
        state.dataset_changed.connect(self._on_dataset_changed)
        state.image_changed.connect(self._show_image)
        # results arrive at the worker's pace: draw the newest at most once per frame
        self._redraw_overlays = Paced(self._draw_overlays, self, urgent=lambda: state.is_current)
        state.coverage_changed.connect(self._redraw_overlays)
        state.selection_changed.connect(lambda _row: self._draw_overlays())
        state.config_changed.connect(self._on_config_changed)
        state.config_changed.connect(self._show_coverage_status)
        state.model_input_changed.connect(self._show_coverage_status)
        state.model_input_changed.connect(self._draw_overlays)  # anchors in the new input
        self.image_spin.valueChanged.connect(state.set_image)
        self.previous_button.clicked.connect(lambda: self.image_spin.stepBy(-1))
        self.next_button.clicked.connect(lambda: self.image_spin.stepBy(1))
        self.next_uncovered_button.clicked.connect(lambda: self.jump_to_uncovered(1))
        self.previous_uncovered_button.clicked.connect(lambda: self.jump_to_uncovered(-1))
        for box in (self.show_best, self.show_positives, self.show_cell):
            box.toggled.connect(lambda _checked: self._draw_overlays())
        self.cell_level.currentIndexChanged.connect(lambda _i: self._draw_cell_anchors())
        self.view.mouse_moved.connect(self._on_mouse_moved)
        self.view.mouse_left.connect(self._forget_cursor)
        self.view.clicked.connect(self._on_view_clicked)

    # -- dataset loading --------------------------------------------------------------------------
    def open_dataset(self, spec: str) -> None:
        """Load `spec` in the background; the current dataset stays until the new one is ready."""
        self._set_loading(True)
        self._attempted_spec = spec
        self.statusBar().showMessage(f"loading {spec}…")
        # with nothing on screen yet, show the boxes as they stream in
        self._previewing = self.state.table is None
        self.loader.start(spec, self.state.model_input, previews=self._previewing)

    def ask_dataset(self) -> None:
        from gui.open_dataset_dialog import OpenDatasetDialog

        current = self.state.table.spec if self.state.table is not None else "demo"
        # after an error, the dialog comes back with what was typed, to be fixed
        dialog = OpenDatasetDialog(self._recent(), self._failed_spec or current, self)
        if dialog.exec():
            self.open_dataset(dialog.spec())

    def _recent(self) -> list[str]:
        value = self.settings.value("recent_datasets", [])
        return [value] if isinstance(value, str) else list(value or [])

    def _remember_dataset(self, spec: str) -> None:
        recent = [spec] + [s for s in self._recent() if s != spec]
        self.settings.setValue("recent_datasets", recent[:RECENT_LIMIT])
        self.settings.setValue("last_dataset", spec)
        self._fill_recent_menu()

    def _fill_recent_menu(self) -> None:
        self.recent_menu.clear()
        for spec in self._recent():
            action = self.recent_menu.addAction(spec)
            action.triggered.connect(lambda _checked=False, s=spec: self.open_dataset(s))

    def _set_loading(self, loading: bool) -> None:
        self.progress_bar.setVisible(loading)
        self.cancel_button.setVisible(loading)
        if loading:
            self.progress_bar.setRange(0, 0)

    def _on_progress(self, done: int, total: int) -> None:
        if total:
            self.progress_bar.setRange(0, total)
            self.progress_bar.setValue(done)

    def _on_load_ended(self) -> None:
        self._set_loading(False)
        self.statusBar().clearMessage()
        if self._previewing and self.state.table is not None:  # stopped with a preview shown
            self.dataset_label.setText(
                self.dataset_label.text().replace("(loading…)", "(partial: load stopped)"))
        self._previewing = False

    def _on_load_failed(self, message: str) -> None:
        self._failed_spec = self._attempted_spec
        self._on_load_ended()
        QMessageBox.warning(self, "Could not open dataset", message)

    def _on_preview(self, table: BoxTable, source: Source, views, _pixels) -> None:
        if self._previewing:
            self.state.set_dataset(table, source, views, partial=True)
            self.dataset_label.setText(f"{self.dataset_label.text()}  (loading…)")

    def _on_loaded(self, table: BoxTable, source: Source, views, first_pixels) -> None:
        self._previewing = False
        self._failed_spec = None
        self._on_load_ended()
        self._remember_dataset(table.spec)
        self.pixel_loader.set_source(source, table.image_count)
        if first_pixels is not None:  # rendered by the loader's worker
            self.pixel_loader.put(0, first_pixels)
        self.state.set_dataset(table, source, views)

    def _on_dataset_changed(self) -> None:
        table = self.state.table
        skipped = f", {table.skipped_total:,d} invalid skipped" if table.skipped_total else ""
        self.dataset_label.setText(
            f"{table.spec}: {table.image_count:,d} images, {len(table):,d} boxes{skipped}")
        self.image_spin.blockSignals(True)
        self.image_spin.setRange(0, max(table.image_count - 1, 0))
        self.image_spin.setSuffix(f" / {max(table.image_count - 1, 0)}")  # the limit, visible
        self.image_spin.setValue(0)
        self.image_spin.blockSignals(False)

    # -- config files -------------------------------------------------------------------------
    def _restore_config(self) -> None:
        text = self.settings.value("last_config", "")
        if text:
            try:
                self.state.set_config(config_from_dict(json.loads(text), "saved settings"))
            except (InputError, ValueError):
                pass

    def _on_config_changed(self) -> None:
        self._remember_config()
        names = [f"P{level}" for level in self.state.config.levels]
        if names != [self.cell_level.itemText(i) for i in range(self.cell_level.count())]:
            self.cell_level.blockSignals(True)
            current = self.cell_level.currentIndex()
            self.cell_level.clear()
            self.cell_level.addItems(names)
            self.cell_level.setCurrentIndex(min(max(current, 0), self.cell_level.count() - 1))
            self.cell_level.blockSignals(False)
            self.legend.setText(legend_html(len(names)))
        if self.show_cell.isChecked():
            self._cursor_timer.start()  # the cell's anchors follow the config, once per frame

    def _save_config_setting(self) -> None:
        self.settings.setValue("last_config", json.dumps(config_to_dict(self.state.config)))

    def open_config(self, path: str) -> None:
        try:
            self.state.set_config(load_config(path))
            self._save_config_setting()
            self.settings.setValue("last_config_path", path)
        except InputError as error:
            QMessageBox.warning(self, "Could not open config", str(error))

    def ask_open_config(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Open anchor config", self.settings.value("last_config_path", ""),
            "Anchor configs (*.json *.yaml *.yml);;All files (*)")
        if path:
            self.open_config(path)

    def ask_save_config(self) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self, "Save anchor config", self.settings.value("last_config_path", "anchors.json"),
            "JSON (*.json);;YAML (*.yaml *.yml)")
        if path:
            try:
                save_config(self.state.config, path)
                self.settings.setValue("last_config_path", path)
                self.statusBar().showMessage(f"config saved to {path}", 8000)
            except (InputError, OSError) as error:
                QMessageBox.warning(self, "Could not save config", str(error))

    def show_export_dialog(self) -> None:
        from gui.export_dialog import ExportDialog

        state = self.state
        dialog = ExportDialog(state.config, self, state.config.framework,
                              self.coverage.current_session)
        dialog.apply_requested.connect(state.set_config)
        dialog.saved.connect(
            lambda path: self.statusBar().showMessage(f"exported to {path}", 8000))
        dialog.exec()

    def show_optimize_dialog(self) -> None:
        from gui.optimize_dialog import OptimizeDialog

        OptimizeDialog(self.state, self).exec()

    def show_anchor_budget_dialog(self) -> None:
        from gui.anchor_budget_dialog import AnchorBudgetDialog

        AnchorBudgetDialog(self.state, self).exec()

    def show_stft_sweep_dialog(self) -> None:
        from gui.stft_sweep_dialog import StftSweepDialog

        StftSweepDialog(self.state, self.open_dataset, self).exec()

    def show_family_window(self) -> None:
        """YOLOv5 / FCOS / ATSS / YOLOv8 positives of the loaded dataset, in a window of its
        own that follows this one's image and selection."""
        from gui.family_window import FamilyWindow

        if self.family_window is None:
            self.family_window = FamilyWindow(self.state, self.pixel_loader, self)
        self.family_window.show()
        self.family_window.raise_()

    def ask_save_plots(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Save plots", "plots.png", "PNG (*.png)")
        if path:
            try:
                self.histograms.save_png(path)
            except OSError as error:
                QMessageBox.warning(self, "Could not save plots", str(error))

    def ask_save_view(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Save view", "view.png", "PNG (*.png)")
        if path:
            self.view.grab().save(path, "PNG")

    # -- display ---------------------------------------------------------------------------------
    def _on_coverage_computed(self, seconds: float) -> None:
        self._compute_seconds = seconds
        self._show_coverage_status()

    def _show_coverage_status(self) -> None:
        """The status bar's recall: exact with its compute time, or labelled as what it is."""
        result = self.state.result
        if result is None:
            return
        recall = f"{100 * result.report.recall:.1f} %"
        if result.estimate is not None:
            half = result.estimate.intervals["recall"]
            recall = f"≈ {recall} ± {100 * half:.1f} pp"
        status = status_text(self.state)
        detail = status or f"exact, computed in {1000 * self._compute_seconds:.0f} ms"
        self.coverage_label.setText(f"recall {recall}  ·  {detail}")

    def _on_coverage_busy(self, busy: bool) -> None:
        if busy and self.state.result is None:
            self.coverage_label.setText("computing coverage…")

    def jump_to_uncovered(self, step: int) -> None:
        target = self.state.next_image_with_uncovered_box(step)
        if target is not None:
            self.image_spin.setValue(target)

    def _show_image(self, index: int) -> None:
        state, table = self.state, self.state.table
        if table is None:
            return
        if self.image_spin.value() != index:
            self.image_spin.blockSignals(True)
            self.image_spin.setValue(index)
            self.image_spin.blockSignals(False)
        self._forget_cursor()  # the cell under the pointer belonged to the previous image
        # boxes at once; pixels now if cached, else a placeholder until `_on_pixels_ready`
        pixels = self.pixel_loader.request(state.source, index, table.image_count)
        pending = self.pixel_loader.pending(index)
        self.view.show_image(pixels, int(table.image_heights[index]),
                             int(table.image_widths[index]), pending=pending,
                             reason="" if pixels is not None or pending
                             else self._no_pixels_reason(index))
        self.view.set_physical_axes(table.physical_axes(index))  # s and Hz, when known
        rows = state.boxes_of_image(index)
        # on the image itself, so it never falls off a narrow toolbar
        self.view.set_caption(f"image {index} · id {table.image_ids[index]} · "
                              f"{table.image_widths[index]}×{table.image_heights[index]} px · "
                              f"{len(rows)} boxes")
        self._draw_overlays()

    def _on_pixels_ready(self, index: int, pixels) -> None:
        table = self.state.table
        if table is not None and index == self.state.image_index:
            reason = self._no_pixels_reason(index) if pixels is None else ""
            self.view.show_image(pixels, int(table.image_heights[index]),
                                 int(table.image_widths[index]), reset_zoom=False,
                                 reason=reason)

    def _no_pixels_reason(self, index: int) -> str:
        """Why image `index` has no pixels (shown on the image and in the status bar)."""
        source = self.state.source
        reason = source.no_pixels_reason(index) if source is not None else "no source"
        self.statusBar().showMessage(f"no pixels for image {index}: {reason}", 8000)
        return reason

    def _on_pixels_failed(self, index: int, message: str) -> None:
        table = self.state.table
        if table is not None and index == self.state.image_index:
            self.view.show_image(None, int(table.image_heights[index]),
                                 int(table.image_widths[index]), reset_zoom=False)
            self.statusBar().showMessage(f"no pixels: {message}", 8000)

    @property
    def anchors(self) -> ImageAnchors:
        """Anchor geometry of the loaded table under the current model input (core computes,
        the window draws)."""
        state = self.state
        if (self._anchors is None or self._anchors.table is not state.table
                or self._anchors.model_input != state.model_input):
            self._anchors = ImageAnchors(state.table, state.model_input)
        return self._anchors

    def _draw_overlays(self) -> None:
        state, table = self.state, self.state.table
        if table is None:
            return
        index = state.image_index
        rows = state.boxes_of_image(index)
        boxes = table.xyxy(rows)
        result = state.result
        # exact for this image even when the report is an estimate (docs/live-tuning.md)
        coverage = result.coverage_of(rows) if result is not None else None
        self.view.set_boxes(boxes, coverage.matched if coverage is not None else None,
                            coverage.low_quality_only if coverage is not None else None)
        selected = state.selected_box
        self.view.set_selected(table.xyxy(np.array([selected])) if selected >= 0 else None)
        if coverage is not None and self.show_best.isChecked():
            anchors = self.anchors.to_image(coverage.best_anchor, index)
            self.view.set_best_anchors(anchors, coverage.best_iou,
                                       result.config.negative_iou, result.config.positive_iou)
        else:
            self.view.set_best_anchors(np.zeros((0, 4)), np.zeros(0), 0.4, 0.5)
        positives = np.zeros((0, 4))
        if selected >= 0 and self.show_positives.isChecked():
            positives = self.anchors.positives_of_box(selected, state.config)
        self.view.set_positive_anchors(positives)
        self._draw_cell_anchors()

    def _forget_cursor(self) -> None:
        """No pointer over the image: no cell anchors (they would sit on unrelated boxes)."""
        if self._cursor is not None:
            self._cursor = None
            self._cursor_timer.stop()
            self.view.set_cell_anchors([])

    def _on_mouse_moved(self, x: float, y: float) -> None:
        self._cursor = (x, y)
        if self.show_cell.isChecked() and not self._cursor_timer.isActive():
            self._cursor_timer.start()

    def _draw_cell_anchors(self) -> None:
        state = self.state
        if state.table is None or self._cursor is None or not self.show_cell.isChecked():
            self.view.set_cell_anchors([])
            return
        level = self.cell_level.currentIndex()
        per_level = [np.zeros((0, 4))] * len(state.config.levels)
        if 0 <= level < len(per_level):
            per_level[level] = self.anchors.cell_anchors(state.image_index, state.config, level,
                                                         *self._cursor)
        self.view.set_cell_anchors(per_level)

    def _on_view_clicked(self, x: float, y: float) -> None:
        """Select the smallest box under the click (or none)."""
        state = self.state
        if state.table is not None:
            rows = state.boxes_of_image(state.image_index)
            state.select_box(state.table.smallest_box_at(rows, x, y))

    # -- lifetime --------------------------------------------------------------------------------
    def restore_layout(self) -> None:
        geometry = self.settings.value("window_geometry")
        layout = self.settings.value("window_state")
        if geometry is not None:
            self.restoreGeometry(geometry)
        if layout is not None:
            self.restoreState(layout)
        self._layout_restored = layout is not None

    def showEvent(self, event) -> None:  # noqa: N802 - Qt's name
        super().showEvent(event)
        if not getattr(self, "_layout_restored", False):
            self.share_space()

    def share_space(self) -> None:
        """Panels take their share of the window and the image keeps the rest (about 40 % of
        the width, 60 % of the height): a small window shrinks the panels, not the image."""
        width, height = self.width(), self.height()
        side = [self.findChild(QDockWidget, name) for name in ("anchors_dock", "shapes_dock")]
        self.resizeDocks(side, [max(SIDE_PANEL_MIN, int(LEFT_SHARE * width)),
                                max(SIDE_PANEL_MIN, int(RIGHT_SHARE * width))],
                         Qt.Orientation.Horizontal)
        self.resizeDocks([self.findChild(QDockWidget, "coverage_dock")],
                         [max(BOTTOM_PANEL_MIN, int(BOTTOM_SHARE * height))],
                         Qt.Orientation.Vertical)

    def closeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        self.loader.cancel()
        self.coverage.shutdown()
        if self.family_window is not None:
            self.family_window.close()
        self._remember_config.flush()
        self.pixel_loader.shutdown()
        self.settings.setValue("window_state", self.saveState())
        self.settings.setValue("window_geometry", self.saveGeometry())
        super().closeEvent(event)
