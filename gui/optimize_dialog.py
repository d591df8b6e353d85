"""Optimize: search the best ratios and scales in the background, then accept or discard them."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
)

from core.anchor_config import head_compatibility
from core.optimizer import DEFAULT_EFFORT, EFFORTS, OptimizeResult, optimize
from gui.background_run import BackgroundRun
from gui.formatting import config_numbers
from gui.state import AppState


class OptimizeDialog(QDialog):
    """Runs `core.optimizer.optimize` on the loaded dataset; Apply sets the found config."""

    def __init__(self, state: AppState, parent=None):
        super().__init__(parent)
        self.setWindowTitle("Optimize anchors")
        self.setMinimumWidth(560)
        self.state = state
        config = state.config
        self.result: OptimizeResult | None = None
        self.background = BackgroundRun(self)

        self.ratio_spin = QSpinBox(minimum=1, maximum=12, value=len(config.aspect_ratios))
        self.scale_spin = QSpinBox(minimum=1, maximum=6, value=len(config.scales))
        self.effort_combo = QComboBox()
        self.effort_combo.addItems(list(EFFORTS))
        self.effort_combo.setCurrentText(DEFAULT_EFFORT)
        self.effort_combo.setToolTip("quick: seconds; normal: up to ~30 s on 20k boxes; "
                                     "thorough: minutes (docs/optimizer.md)")
        self.budget_spin = QSpinBox(minimum=2, maximum=3600, value=120, suffix=" s")
        self.budget_spin.setToolTip("Stop at the latest after this long (best so far)")
        self.seed_spin = QSpinBox(minimum=0, maximum=2**31 - 1, value=0)
        self.size_check = QCheckBox("move the anchor sizes too", checked=True)
        self.monotonic_check = QCheckBox("keep the sizes increasing with the level")
        self.monotonic_check.setToolTip("Each level keeps its usual size band (small anchors "
                                        "on fine levels)")
        form = QFormLayout()
        form.addRow("Aspect ratios (w/h)", self.ratio_spin)
        form.addRow("Scales", self.scale_spin)
        form.addRow("Effort", self.effort_combo)
        form.addRow("At most", self.budget_spin)
        form.addRow("Seed", self.seed_spin)
        form.addRow("", self.size_check)
        form.addRow("", self.monotonic_check)
        self.size_check.toggled.connect(self.monotonic_check.setEnabled)
        note = QLabel("The counts fix the detection head (anchors per location = ratios × "
                      "scales). Recall is exact, under the framework's own matcher.",
                      wordWrap=True)
        note.setStyleSheet("color: #9da0a8;")
        self.progress_bar = QProgressBar(maximum=1000)
        self.status = QLabel("", wordWrap=True)
        self.outcome = QLabel("", wordWrap=True, textFormat=Qt.TextFormat.RichText)
        self.start_button = QPushButton("Start")
        # one clear pair at a time: Stop while searching; Apply / Close (discard) after
        self.cancel_button = QPushButton("Stop")
        self.cancel_button.setToolTip("Stop the search; the best config so far is offered")
        self.apply_button = QPushButton("Apply")
        self.apply_button.setToolTip("Use the optimized config in the main window")
        self.discard_button = QPushButton("Close")
        self.discard_button.setToolTip("Close without changing the config")
        self.start_button.setDefault(True)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        for button in (self.start_button, self.cancel_button, self.apply_button,
                       self.discard_button):
            buttons.addWidget(button)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(note)
        layout.addWidget(self.progress_bar)
        layout.addWidget(self.status)
        layout.addWidget(self.outcome)
        layout.addLayout(buttons)

        self.start_button.clicked.connect(self.start)
        self.apply_button.clicked.connect(self.apply)
        self.discard_button.clicked.connect(self.reject)
        self.background.connect_controls(self.progress_bar, self.status, self.cancel_button,
                                         self.discard_button, failure="optimisation failed")
        self.background.running_changed.connect(self._set_running)
        self.background.returned.connect(self._on_returned)
        self._set_running(False)
        self.apply_button.setEnabled(False)
        if state.table is None:
            self.start_button.setEnabled(False)
            self.status.setText("Load a dataset first.")

    @property
    def running(self) -> bool:
        return self.background.running

    def start(self) -> None:
        state = self.state
        self.result = None
        self.apply_button.setEnabled(False)
        self.outcome.setText("")
        self.background.start(
            optimize, state.table, state.config, self.ratio_spin.value(),
            self.scale_spin.value(), seed=self.seed_spin.value(),
            effort=self.effort_combo.currentText(),
            max_evaluations=EFFORTS[self.effort_combo.currentText()].max_evaluations,
            optimize_size=self.size_check.isChecked(),
            monotonic_sizes=self.monotonic_check.isChecked(), model_input=state.model_input,
            time_budget=float(self.budget_spin.value()))

    def apply(self) -> None:
        if self.result is not None:
            self.state.set_config(self.result.config)
        self.accept()

    def _set_running(self, running: bool) -> None:
        self.start_button.setEnabled(not running)
        for control in (self.ratio_spin, self.scale_spin, self.effort_combo, self.budget_spin,
                        self.seed_spin, self.size_check):
            control.setEnabled(not running)
        self.monotonic_check.setEnabled(not running and self.size_check.isChecked())

    def _on_returned(self, result: OptimizeResult) -> None:
        self.result = result
        before, after = result.before, result.report
        stopped = " (cancelled: best so far)" if result.stopped == "cancelled" else ""
        self.status.setText(f"{result.evaluations} evaluations in {result.seconds:.1f} s"
                            f"{stopped}")
        rows = "".join(
            f"<tr><td>{label}</td><td align=right>{100 * getattr(before, key):.1f} %</td>"
            f"<td align=right><b>{100 * getattr(after, key):.1f} %</b></td></tr>"
            for label, key in (("recall", "recall"),
                               ("best possible recall", "best_possible_recall"),
                               ("ceiling recall", "ceiling_recall")))
        config = result.config
        notes = "".join(f"<br>{note}" for note in result.notes)
        self.outcome.setText(
            f"<table cellspacing=6><tr><th></th><th>before</th><th>after</th></tr>{rows}</table>"
            f"ratios w/h: {config_numbers(config.aspect_ratios)}<br>scales: "
            f"{config_numbers(config.scales)}<br>sizes: {config_numbers(config.sizes)}{notes}"
            f"<br>{head_compatibility(config)[1]}")
        self.apply_button.setEnabled(True)
        self.apply_button.setDefault(True)
        self.apply_button.setFocus()
