"""Export the anchor config to any framework: pick a format, preview the text, save or copy it.

The dialog always exports the current config. A format that cannot express it offers the nearest
config it can: that substitute belongs to that one format, is labelled as such with the recall it
would give (computed on the loaded dataset, not guessed), and can be applied in the main window;
other formats keep exporting the current config.
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtGui import QFontDatabase, QGuiApplication
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
)
from superqt.utils import create_worker

from core.analysis import CoverageSession
from core.anchor_config import AnchorConfig, write_atomic
from core.errors import InputError
from core.exports import EXPORTERS, SUFFIXES, export_problems, export_text, nearest_expressible
from gui.dataset_loader import retire
from gui.theme import ERROR, WARNING, set_text_colour


class ExportDialog(QDialog):
    """Shows the exported text of the current config; refusals show why and offer the nearest
    config the format can express, for that format only."""

    apply_requested = Signal(object)  # AnchorConfig: make this the main window's config
    saved = Signal(str)  # the path an export was written to

    def __init__(self, config: AnchorConfig, parent=None, initial_format: str | None = None,
                 session: CoverageSession | None = None):
        super().__init__(parent)
        self.setWindowTitle("Export anchor configuration")
        self.resize(760, 620)
        self.config = config  # the main window's config: what every format exports by default
        self.substitutes: dict[str, AnchorConfig] = {}  # format -> nearest config chosen for it
        self.session = session  # recall of a substitute, on the loaded dataset
        self.recalls: dict[AnchorConfig, float] = {}
        self._workers: list = []
        self.format_combo = QComboBox()
        self.format_combo.addItems(list(EXPORTERS))
        self.preview = QPlainTextEdit(readOnly=True)
        self.preview.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.problem_label = QLabel(wordWrap=True)
        set_text_colour(self.problem_label, ERROR)
        self.substitute_label = QLabel(wordWrap=True)
        set_text_colour(self.substitute_label, WARNING)
        self.nearest_button = QPushButton("Use the nearest expressible config for this format")
        self.current_button = QPushButton("Back to the current config")
        self.apply_button = QPushButton("Apply in the main window")
        self.apply_button.setToolTip("Make this format's nearest config the config being tuned")
        self.save_button = QPushButton("Save…")
        self.copy_button = QPushButton("Copy")
        close_button = QPushButton("Close")

        top = QHBoxLayout()
        top.addWidget(QLabel("Format:"))
        top.addWidget(self.format_combo, 1)
        buttons = QHBoxLayout()
        for button in (self.nearest_button, self.current_button, self.apply_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        buttons.addWidget(self.copy_button)
        buttons.addWidget(self.save_button)
        buttons.addWidget(close_button)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.problem_label)
        layout.addWidget(self.substitute_label)
        layout.addWidget(self.preview, 1)
        layout.addLayout(buttons)

        self.format_combo.currentTextChanged.connect(self.refresh)
        self.nearest_button.clicked.connect(self.use_nearest)
        self.current_button.clicked.connect(self.use_current)
        self.apply_button.clicked.connect(self.apply_substitute)
        self.save_button.clicked.connect(self._save)
        self.copy_button.clicked.connect(
            lambda: QGuiApplication.clipboard().setText(self.preview.toPlainText()))
        close_button.clicked.connect(self.accept)
        self.finished.connect(lambda _result: self._forget_workers())
        if initial_format in EXPORTERS:
            self.format_combo.setCurrentText(initial_format)
        self.refresh()

    @property
    def fmt(self) -> str:
        return self.format_combo.currentText()

    def exported_config(self) -> AnchorConfig:
        """The config the current format exports: its substitute if one was chosen, else the
        current config."""
        return self.substitutes.get(self.fmt, self.config)

    def refresh(self) -> None:
        substitute = self.substitutes.get(self.fmt)
        problems = export_problems(self.config, self.fmt)
        self.problem_label.setText("Cannot export the current config as is: "
                                   + "; ".join(problems))
        self.problem_label.setVisible(bool(problems) and substitute is None)
        self.nearest_button.setVisible(bool(problems) and substitute is None)
        self.current_button.setVisible(substitute is not None)
        self.apply_button.setVisible(substitute is not None)
        self.substitute_label.setVisible(substitute is not None)
        if substitute is not None:
            self.substitute_label.setText(self._substitute_text(substitute))
        try:
            text = export_text(self.exported_config(), self.fmt)
        except InputError as error:
            text = ""
            self.problem_label.setText(str(error))
            self.problem_label.setVisible(True)
        self.preview.setPlainText(text)
        self.save_button.setEnabled(bool(text))
        self.copy_button.setEnabled(bool(text))

    def _substitute_text(self, substitute: AnchorConfig) -> str:
        text = (f"Exporting the nearest config {self.fmt} can express, not the current one "
                "(other formats export the current config).")
        if self.session is None:
            return text + " Load a dataset to see the recall it gives."
        current, nearest = self.recalls.get(self.config), self.recalls.get(substitute)
        if current is None or nearest is None:
            return text + " Recall: computing…"
        return (text + f" Recall on the loaded dataset: {100 * nearest:.1f} % with it, "
                f"{100 * current:.1f} % with the current config.")

    # -- substitutes ---------------------------------------------------------------------------
    def use_nearest(self) -> None:
        """Export this format's nearest expressible config (this format only)."""
        substitute = nearest_expressible(self.config, self.fmt)
        self.substitutes[self.fmt] = substitute
        for config in (self.config, substitute):
            self._compute_recall(config)
        self.refresh()

    def use_current(self) -> None:
        self.substitutes.pop(self.fmt, None)
        self.refresh()

    def apply_substitute(self) -> None:
        """Make this format's substitute the main window's config; it is then the current one."""
        substitute = self.substitutes.pop(self.fmt, None)
        if substitute is None:
            return
        self.config = substitute
        self.substitutes.clear()  # chosen for the old current config
        self.apply_requested.emit(substitute)
        self.refresh()

    def _compute_recall(self, config: AnchorConfig) -> None:
        if self.session is None or config in self.recalls:
            return
        worker = create_worker(lambda: self.session.compute(config).report.recall,
                               _start_thread=False, _ignore_errors=True)
        worker.returned.connect(lambda recall, c=config: self._on_recall(c, recall))
        worker.finished.connect(lambda w=worker: self._workers.remove(w)
                                if w in self._workers else None)
        self._workers.append(worker)
        worker.start()

    def _on_recall(self, config: AnchorConfig, recall: float) -> None:
        self.recalls[config] = recall
        self.refresh()

    def _forget_workers(self) -> None:
        for worker in list(self._workers):
            retire(worker)
        self._workers.clear()

    # -- output --------------------------------------------------------------------------------
    def save_to(self, path: str) -> None:
        write_atomic(path, self.preview.toPlainText().encode())
        self.saved.emit(path)

    def _save(self) -> None:
        suffix = SUFFIXES[self.fmt]
        path, _ = QFileDialog.getSaveFileName(self, "Save export", f"anchors{suffix}",
                                              f"*{suffix};;All files (*)")
        if path:
            self.save_to(path)
