"""Open a dataset of any source kind: kind, path (browse), options; or pick a recent one."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from core.sources import SOURCE_KINDS, parse_spec

# kind -> (what PATH is, whether to browse for a folder, file filter, example options)
KIND_HELP = {
    "demo": ("no path", None, "", "images=3000&seed=0"),
    "coco": ("annotations JSON", False, "COCO JSON (*.json)", "images=DIR"),
    "yolo": ("data.yaml or labels folder", False, "YOLO data (*.yaml *.yml)",
             "split=train or images=DIR&size=WxH"),
    "voc": ("folder with Annotations/", True, "", "classes=a,b,c"),
    "tfrecord": ("TFRecord file or glob", False, "TFRecord (*.tfrecord *.record*)", ""),
    "sigmf": (".sigmf-meta file or folder", False, "SigMF (*.sigmf-meta *.sigmf)",
              "nfft=512&hop=512&window=hann"),
    "python": ("module:function", None, "",
               "split=train&bounding_box_format=xywh&batch_size=9"),
}


def build_spec(kind: str, path: str, options: str) -> str:
    """`KIND:PATH?OPTIONS`, leaving out the empty parts."""
    spec = kind if not path else f"{kind}:{path}"
    options = options.strip().lstrip("?")
    return f"{spec}?{options}" if options else spec


class OpenDatasetDialog(QDialog):
    """Builds a dataset SPEC string; `spec()` after `exec()` returns it."""

    def __init__(self, recent: list[str], current: str = "demo", parent=None):
        super().__init__(parent)
        self.setWindowTitle("Open dataset")
        self.resize(640, 420)
        self.kind_combo = QComboBox()
        self.kind_combo.addItems([kind for kind in KIND_HELP if kind in SOURCE_KINDS])
        self.path_edit = QLineEdit()
        self.browse_button = QPushButton("Browse…")
        self.options_edit = QLineEdit()
        self.hint_label = QLabel()
        self.hint_label.setStyleSheet("color: #9aa0a6;")
        self.recent_list = QListWidget()
        self.recent_list.addItems(recent)

        path_row = QWidget()
        path_layout = QHBoxLayout(path_row)
        path_layout.setContentsMargins(0, 0, 0, 0)
        path_layout.addWidget(self.path_edit, 1)
        path_layout.addWidget(self.browse_button)
        form = QFormLayout()
        form.addRow("Kind", self.kind_combo)
        form.addRow("Path", path_row)
        form.addRow("Options", self.options_edit)
        form.addRow("", self.hint_label)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Open
                                   | QDialogButtonBox.StandardButton.Cancel)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(QLabel("Recent datasets"))
        layout.addWidget(self.recent_list, 1)
        layout.addWidget(buttons)

        self.kind_combo.currentTextChanged.connect(self._on_kind)
        self.browse_button.clicked.connect(self._browse)
        self.recent_list.itemClicked.connect(lambda item: self.set_spec(item.text()))
        self.recent_list.itemDoubleClicked.connect(lambda _item: self.accept())
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        self.set_spec(current)

    def set_spec(self, spec: str) -> None:
        try:
            parsed = parse_spec(spec)
        except Exception:  # noqa: BLE001 - a malformed recent entry just is not shown
            return
        if parsed.kind in KIND_HELP:
            self.kind_combo.setCurrentText(parsed.kind)
        self.path_edit.setText(parsed.path)
        self.options_edit.setText(spec.partition("?")[2])
        self._on_kind(self.kind_combo.currentText())

    def spec(self) -> str:
        return build_spec(self.kind_combo.currentText(), self.path_edit.text().strip(),
                          self.options_edit.text())

    def _on_kind(self, kind: str) -> None:
        what, folder, _filter, example = KIND_HELP.get(kind, ("", None, "", ""))
        self.browse_button.setEnabled(folder is not None)
        self.path_edit.setEnabled(kind != "demo")
        self.path_edit.setPlaceholderText(what)
        self.options_edit.setPlaceholderText(example)
        self.hint_label.setText(f"PATH: {what}" + (f"   options e.g. {example}" if example else ""))

    def _browse(self) -> None:
        _what, folder, file_filter, _example = KIND_HELP[self.kind_combo.currentText()]
        if folder:
            path = QFileDialog.getExistingDirectory(self, "Dataset folder")
        else:
            path, _ = QFileDialog.getOpenFileName(self, "Dataset file", "",
                                                  f"{file_filter};;All files (*)")
        if path:
            self.path_edit.setText(path)
