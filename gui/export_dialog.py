"""Export the anchor config to any framework: pick a format, preview the text, save or copy it."""

from __future__ import annotations

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

from core.anchor_config import AnchorConfig, write_atomic
from core.errors import InputError
from core.exports import EXPORTERS, SUFFIXES, export_problems, export_text, nearest_expressible


class ExportDialog(QDialog):
    """Shows the exported text of the current config; refusals show why and the nearest config."""

    def __init__(self, config: AnchorConfig, parent=None, initial_format: str | None = None):
        super().__init__(parent)
        self.setWindowTitle("Export anchor configuration")
        self.resize(760, 620)
        self.config = config
        self.format_combo = QComboBox()
        self.format_combo.addItems(list(EXPORTERS))
        self.preview = QPlainTextEdit(readOnly=True)
        self.preview.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.problem_label = QLabel(wordWrap=True)
        self.problem_label.setStyleSheet("color: #ff8080;")
        self.nearest_button = QPushButton("Export the nearest expressible config")
        self.save_button = QPushButton("Save…")
        self.copy_button = QPushButton("Copy")
        close_button = QPushButton("Close")

        top = QHBoxLayout()
        top.addWidget(QLabel("Format:"))
        top.addWidget(self.format_combo, 1)
        buttons = QHBoxLayout()
        buttons.addWidget(self.nearest_button)
        buttons.addStretch(1)
        buttons.addWidget(self.copy_button)
        buttons.addWidget(self.save_button)
        buttons.addWidget(close_button)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.problem_label)
        layout.addWidget(self.preview, 1)
        layout.addLayout(buttons)

        self.format_combo.currentTextChanged.connect(self.refresh)
        self.nearest_button.clicked.connect(self._use_nearest)
        self.save_button.clicked.connect(self._save)
        self.copy_button.clicked.connect(
            lambda: QGuiApplication.clipboard().setText(self.preview.toPlainText()))
        close_button.clicked.connect(self.accept)
        if initial_format in EXPORTERS:
            self.format_combo.setCurrentText(initial_format)
        self.refresh()

    @property
    def fmt(self) -> str:
        return self.format_combo.currentText()

    def refresh(self) -> None:
        problems = export_problems(self.config, self.fmt)
        self.problem_label.setVisible(bool(problems))
        self.nearest_button.setVisible(bool(problems))
        self.problem_label.setText("Cannot export as is: " + "; ".join(problems))
        try:
            text = export_text(self.config, self.fmt)
        except InputError as error:
            text = ""
            self.problem_label.setText(str(error))
            self.problem_label.setVisible(True)
        self.preview.setPlainText(text)
        self.save_button.setEnabled(bool(text))
        self.copy_button.setEnabled(bool(text))

    def _use_nearest(self) -> None:
        self.config = nearest_expressible(self.config, self.fmt)
        self.refresh()

    def save_to(self, path: str) -> None:
        write_atomic(path, self.preview.toPlainText().encode())

    def _save(self) -> None:
        suffix = SUFFIXES[self.fmt]
        path, _ = QFileDialog.getSaveFileName(self, "Save export", f"anchors{suffix}",
                                              f"*{suffix};;All files (*)")
        if path:
            self.save_to(path)
