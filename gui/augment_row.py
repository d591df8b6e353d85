"""The report panel's "Under augmentation" row (docs/augmentation.md): pick a training
augmentation (a preset or a custom `--augment` SPEC) and see the expected recall over seeded
draws of it, the classes that lose coverage and the drops per reason.

It observes `AppState` only and computes at rest: when the main result is exact for the config
and model input on screen (`state.is_current`), `core.augmentation.augmented_coverage` runs in
a worker; a newer request replaces an older one (a generation counter drops stale results).
Off by default: then it computes nothing and shows only its switch.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QLineEdit, QVBoxLayout, QWidget
from superqt.utils import create_worker

from core.augmentation import (
    AUGMENT_KINDS,
    DEFAULT_DRAWS,
    augmentation_summary,
    augmented_coverage,
    parse_augment,
)
from core.errors import InputError
from gui.dataset_loader import retire
from gui.state import AppState
from gui.theme import ERROR, MUTED, TEXT, WARNING, set_text_colour

OFF = ""
CUSTOM = None
# the switch's choices: (label, SPEC as the CLI's --augment takes it)
PRESETS = (
    ("off", OFF),
    ("jitter 640×640 0.75–1.3", "jitter:640x640,0.75-1.3"),
    ("yolo 640 ±50 %", "yolo:640,0.5"),
    ("custom…", CUSTOM),
)
CUSTOM_PLACEHOLDER = "SPEC, e.g. crop:512x512,0.5"
WAITING = "waiting for the exact coverage…"
COMPUTING = "computing {draws} draws…"


def spec_error(error: InputError) -> str:
    """A parser error as the row shows it: without the CLI option's name."""
    text = str(error)
    for prefix in ("--augment: ", "--augment "):
        if text.startswith(prefix):
            return text[len(prefix):]
    return text


def _compute(table, config, augment, model_input, draws: int, seed: int, stored) -> dict:
    """Worker: `augmentation_summary` of `augmented_coverage` against the stored report."""
    result = augmented_coverage(table, config, augment, model_input, draws, seed)
    return augmentation_summary(table, stored.recall, stored.per_class, result)


def format_summary(summary: dict) -> tuple[str, str, str]:
    """(expected recall line, losing classes line, drops line) of an `augmentation_summary`."""
    expected = (f"Expected recall {100 * summary['recall_expected']:.1f} % "
                f"± {100 * summary['recall_expected_pm']:.2f} pp · 10th pct "
                f"{100 * summary['recall_p10']:.1f} % "
                f"(stored {100 * summary['recall_stored']:.1f} %)")
    losing = summary["losing_classes"]
    if losing:
        rows = summary["per_class"]
        changes = ", ".join(f"{name} {100 * rows[name]['stored_recall']:.1f} → "
                            f"{100 * rows[name]['expected_recall']:.1f} %" for name in losing)
        losses = f"Loses coverage: {changes}"
    else:
        losses = "No class loses coverage"
    drops = {reason: count for reason, count in summary["drops"].items() if count > 0}
    dropped = ", ".join(f"{count:,.1f} {reason.replace('_', ' ')}"
                        for reason, count in drops.items()) or "none"
    dropped = f"Dropped per draw: {dropped} · {summary['draws']} draws, seed {summary['seed']}"
    return expected, losses, dropped


class AugmentRow(QWidget):
    """ "Under augmentation: [off / presets / custom…]" and, when on, the expected coverage."""

    computed = Signal(dict)  # a summary shown (`augmentation_summary`'s block)
    content_changed = Signal()  # lines shown or hidden: the panel re-fits its summary

    def __init__(self, state: AppState, draws: int = DEFAULT_DRAWS, seed: int = 0,
                 parent=None):
        super().__init__(parent)
        self.state = state
        self.draws, self.seed = draws, seed
        self.summary: dict | None = None  # the shown result
        self._shown_key = None  # what `summary` was computed for
        self._pending_key = None  # what the running worker computes
        self._generation = 0
        self._worker = None

        caption = QLabel("Under augmentation:")
        caption.setToolTip("coverage as a distribution over seeded random draws of a training "
                           "augmentation (docs/augmentation.md)")
        self.choice = QComboBox()
        for label, spec in PRESETS:
            self.choice.addItem(label, spec)
            if spec:
                self.choice.setItemData(self.choice.count() - 1, spec, Qt.ItemDataRole.ToolTipRole)
        self.custom = QLineEdit()
        self.custom.setPlaceholderText(CUSTOM_PLACEHOLDER)
        self.custom.setToolTip("--augment SPEC: " + " | ".join(AUGMENT_KINDS.values()))
        self.custom.setClearButtonEnabled(True)
        self.custom.setVisible(False)
        switch = QHBoxLayout()
        switch.setContentsMargins(0, 0, 0, 0)
        switch.setSpacing(6)
        switch.addWidget(caption)
        switch.addWidget(self.choice)
        switch.addStretch(1)

        self.message = QLabel("")  # an invalid SPEC, waiting, computing, a failure
        self.message.setWordWrap(True)
        self.expected = QLabel("")
        self.losses = QLabel("")
        self.drops = QLabel("")
        set_text_colour(self.drops, MUTED)
        for label in (self.expected, self.losses, self.drops):
            label.setWordWrap(True)
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.result_labels = (self.expected, self.losses, self.drops)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(3)
        layout.addLayout(switch)
        layout.addWidget(self.custom)
        layout.addWidget(self.message)
        for label in self.result_labels:
            layout.addWidget(label)
        self._show_result(None)
        self._show_message("", MUTED)

        self.choice.currentIndexChanged.connect(self._choice_changed)
        self.custom.editingFinished.connect(self.request)
        for signal in (state.coverage_changed, state.config_changed, state.model_input_changed,
                       state.dataset_changed):
            signal.connect(self.request)

    # -- what is asked for ------------------------------------------------------------------------
    @property
    def spec(self) -> str:
        """The SPEC switched on ('' when off)."""
        spec = self.choice.currentData()
        return self.custom.text().strip() if spec is CUSTOM else spec

    @property
    def running(self) -> bool:
        return self._worker is not None

    def set_spec(self, spec: str) -> None:
        """Switch to `spec` (a preset's, '' for off, or any other as custom)."""
        specs = [preset for _, preset in PRESETS]
        if spec in specs:
            self.choice.setCurrentIndex(specs.index(spec))
        else:
            self.custom.setText(spec)
            self.choice.setCurrentIndex(specs.index(CUSTOM))
        self.request()

    def _choice_changed(self) -> None:
        custom = self.choice.currentData() is CUSTOM
        self.custom.setVisible(custom)
        if custom:
            self.custom.setFocus()
        self.request()

    # -- state -> computation ---------------------------------------------------------------------
    def request(self) -> None:
        """Compute for the state now, if switched on, the SPEC is valid and the main result is
        exact for the config on screen; otherwise drop whatever runs."""
        spec, state = self.spec, self.state
        if not spec:
            self._cancel()
            self._show_result(None)
            self._show_message("" if self.choice.currentData() is OFF
                               else "type a SPEC: " + " | ".join(AUGMENT_KINDS.values()), MUTED)
            return
        try:
            augment = parse_augment(spec)
        except InputError as error:
            self._cancel()
            self._show_result(None)
            self._show_message(spec_error(error), ERROR)
            return
        if state.table is None or not state.is_current:
            self._cancel()  # at rest only: the exact result brings a new request
            self._show_message(WAITING if state.table is not None else "no dataset loaded",
                               MUTED)
            self._set_stale(True)
            return
        key = (id(state.table), state.config, state.model_input, augment, self.draws, self.seed)
        if key == self._shown_key:
            self._cancel()
            self._show_message("", MUTED)
            self._set_stale(False)
            return
        if key == self._pending_key and self.running:
            return
        self._start(key, augment)

    def _start(self, key, augment) -> None:
        self._cancel()
        self._generation += 1
        generation = self._generation
        state = self.state
        worker = create_worker(_compute, state.table, state.config, augment, state.model_input,
                               self.draws, self.seed, state.exact_result.report,
                               _start_thread=False, _ignore_errors=True)
        worker.returned.connect(lambda summary: self._returned(generation, key, summary))
        worker.errored.connect(lambda error: self._failed(generation, error))
        self._worker, self._pending_key = worker, key
        self._show_message(COMPUTING.format(draws=self.draws), WARNING)
        self._set_stale(True)
        worker.start()

    def _cancel(self) -> None:
        """Forget the running computation (it ends on its own; its result is dropped)."""
        self._generation += 1
        if self._worker is not None:
            retire(self._worker)
        self._worker, self._pending_key = None, None

    def _returned(self, generation: int, key, summary: dict) -> None:
        if generation != self._generation:
            return
        self._worker, self._pending_key = None, None
        self._shown_key = key
        self._show_message("", MUTED)
        self._show_result(summary)
        self.computed.emit(summary)

    def _failed(self, generation: int, error: Exception) -> None:
        if generation != self._generation:
            return
        self._worker, self._pending_key = None, None
        self._show_result(None)
        self._show_message(f"augmented coverage failed: {error}", ERROR)

    # -- view -------------------------------------------------------------------------------------
    def _show_message(self, text: str, colour: str) -> None:
        self.message.setText(text)
        set_text_colour(self.message, colour)
        self.message.setVisible(bool(text))
        self.content_changed.emit()

    def _set_stale(self, stale: bool) -> None:
        """A shown result of an older request stays, greyed, until the new one arrives."""
        losing = bool(self.summary and self.summary["losing_classes"])
        set_text_colour(self.expected, MUTED if stale else TEXT)
        set_text_colour(self.losses, MUTED if stale or not losing else WARNING)

    def _show_result(self, summary: dict | None) -> None:
        self.summary = summary
        if summary is None:
            self._shown_key = None
            for label in self.result_labels:
                label.setText("")
                label.setVisible(False)
        else:
            for label, text in zip(self.result_labels, format_summary(summary), strict=True):
                label.setText(text)
                label.setVisible(True)
            self._set_stale(False)
        self.content_changed.emit()
