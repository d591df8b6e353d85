"""The inspector's main window: spectrogram view, shape histograms, navigation, loading."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QSettings, Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QDockWidget,
    QInputDialog,
    QLabel,
    QMainWindow,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QToolBar,
)

from core.boxes import BoxTable
from core.sources import Source
from gui.dataset_loader import DatasetLoader
from gui.histograms import HistogramPanel
from gui.spectrogram_view import SpectrogramView


class MainWindow(QMainWindow):
    """Shows one image of the loaded dataset at a time, with dataset-wide histograms beside it."""

    def __init__(self, settings: QSettings | None = None):
        super().__init__()
        self.setWindowTitle("Anchor Inspector")
        self.settings = settings or QSettings("AnchorInspector", "AnchorInspector")
        self.table: BoxTable | None = None
        self.source: Source | None = None
        self._box_order: np.ndarray | None = None  # boxes sorted by image, for fast lookup
        self._image_starts: np.ndarray | None = None

        self.view = SpectrogramView()
        self.setCentralWidget(self.view)
        self.histograms = HistogramPanel()
        dock = QDockWidget("Box shapes", self)
        dock.setObjectName("box_shapes_dock")
        dock.setWidget(self.histograms)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, dock)
        self.resizeDocks([dock], [520], Qt.Orientation.Horizontal)

        self._build_navigation()
        self._build_status_bar()
        self._build_menu()

        self.loader = DatasetLoader(self)
        self.loader.progress.connect(self._on_progress)
        self.loader.loaded.connect(self._on_loaded)
        self.loader.failed.connect(self._on_failed)
        self.loader.cancelled.connect(self._on_load_ended)

    # -- construction ---------------------------------------------------------------------
    def _build_navigation(self) -> None:
        bar = QToolBar("Navigation", self)
        bar.setObjectName("navigation")
        bar.setMovable(False)
        self.addToolBar(bar)
        self.previous_button = QPushButton("◀ Previous")
        self.next_button = QPushButton("Next ▶")
        self.image_spin = QSpinBox()
        self.image_spin.setMinimumWidth(90)
        self.image_spin.setKeyboardTracking(False)
        self.image_info = QLabel("")
        bar.addWidget(QLabel(" Image "))
        bar.addWidget(self.image_spin)
        bar.addWidget(self.previous_button)
        bar.addWidget(self.next_button)
        bar.addSeparator()
        bar.addWidget(self.image_info)
        self.previous_button.clicked.connect(lambda: self.image_spin.stepBy(-1))
        self.next_button.clicked.connect(lambda: self.image_spin.stepBy(1))
        self.image_spin.valueChanged.connect(self.show_image)

    def _build_status_bar(self) -> None:
        self.progress_bar = QProgressBar()
        self.progress_bar.setMaximumWidth(240)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(lambda: self.loader.cancel())
        self.dataset_label = QLabel("no dataset")
        status = self.statusBar()
        status.addWidget(self.dataset_label, 1)
        status.addPermanentWidget(self.progress_bar)
        status.addPermanentWidget(self.cancel_button)
        self._set_loading(False)

    def _build_menu(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        open_action = QAction("Open dataset…", self)
        open_action.setShortcut(QKeySequence.StandardKey.Open)
        open_action.triggered.connect(self._ask_dataset)
        file_menu.addAction(open_action)
        file_menu.addSeparator()
        quit_action = QAction("Quit", self)
        quit_action.setShortcut(QKeySequence.StandardKey.Quit)
        quit_action.triggered.connect(self.close)
        file_menu.addAction(quit_action)

    # -- loading ----------------------------------------------------------------------------
    def open_dataset(self, spec: str) -> None:
        """Start loading `spec` in the background; the current dataset stays until it is done."""
        self._set_loading(True)
        self.statusBar().showMessage(f"loading {spec}…")
        self.loader.start(spec)

    def _ask_dataset(self) -> None:
        current = self.table.spec if self.table is not None else "demo"
        spec, accepted = QInputDialog.getText(self, "Open dataset",
                                              "Dataset (KIND:PATH?key=value):", text=current)
        if accepted and spec.strip():
            self.open_dataset(spec.strip())

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

    def _on_failed(self, message: str) -> None:
        self._on_load_ended()
        QMessageBox.warning(self, "Could not open dataset", message)

    def _on_loaded(self, table: BoxTable, source: Source) -> None:
        self._on_load_ended()
        self.table, self.source = table, source
        self.settings.setValue("last_dataset", table.spec)
        self._box_order = np.argsort(table.image, kind="stable")
        self._image_starts = np.searchsorted(table.image[self._box_order],
                                             np.arange(table.image_count + 1))
        skipped = f", {table.skipped_total:,d} skipped" if table.skipped_total else ""
        self.dataset_label.setText(
            f"{table.spec}: {table.image_count:,d} images, {len(table):,d} boxes{skipped}")
        self.histograms.set_table(table)
        self.image_spin.blockSignals(True)
        self.image_spin.setRange(0, max(table.image_count - 1, 0))
        self.image_spin.setValue(0)
        self.image_spin.blockSignals(False)
        self.show_image(0)

    # -- display ----------------------------------------------------------------------------
    def boxes_of_image(self, index: int) -> np.ndarray:
        """Indices into the table of the boxes of image `index`."""
        start, stop = self._image_starts[index], self._image_starts[index + 1]
        return self._box_order[start:stop]

    def show_image(self, index: int) -> None:
        table = self.table
        if table is None or not 0 <= index < table.image_count:
            return
        rows = self.boxes_of_image(index)
        pixels = self.source.pixels(index) if self.source is not None else None
        self.view.show_image(pixels, int(table.image_heights[index]),
                             int(table.image_widths[index]), table.xyxy(rows))
        self.image_info.setText(
            f"  id {table.image_ids[index]}  ·  {table.image_widths[index]}×"
            f"{table.image_heights[index]} px  ·  {len(rows)} boxes")

    def closeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        self.loader.cancel()
        self.settings.setValue("window_state", self.saveState())
        self.settings.setValue("window_geometry", self.saveGeometry())
        super().closeEvent(event)
