"""An editable list of positive numbers for live tuning: one row per value with a spin box for
exact entry and fine steps, a log-scaled slider to drag, and a remove button; plus "Add".

Used by the anchor panel for scales and aspect ratios. The editor keeps the exact values it was
given, so editing one row never rounds the others to the spin boxes' display precision.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

from PySide6.QtCore import QLocale, Qt, Signal
from PySide6.QtGui import QPalette, QWheelEvent
from PySide6.QtWidgets import (
    QAbstractSpinBox,
    QComboBox,
    QDoubleSpinBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSlider,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

SLIDER_STEPS = 1000  # positions of a log slider between its minimum and maximum


class CompactSpinBox(QDoubleSpinBox):
    """A double spin box that shows 0.5 rather than 0.5000, steps adaptively (by a tenth of the
    value's order of magnitude) and ignores the mouse wheel unless focused, so scrolling the
    panel never changes a value by accident."""

    def __init__(self, minimum: float, maximum: float, decimals: int, parent=None):
        super().__init__(parent)
        locale = self.locale()
        locale.setNumberOptions(QLocale.NumberOption.OmitGroupSeparator)  # 2048, not 2,048
        self.setLocale(locale)
        self.setDecimals(decimals)
        self.setRange(minimum, maximum)
        self.setStepType(QAbstractSpinBox.StepType.AdaptiveDecimalStepType)
        self.setKeyboardTracking(False)  # typed values count on Enter / focus out; steps at once
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setAlignment(Qt.AlignmentFlag.AlignRight)

    def textFromValue(self, value: float) -> str:  # noqa: N802 (Qt override)
        text = self.locale().toString(value, "f", self.decimals())
        point = self.locale().decimalPoint()
        if point in text:
            text = text.rstrip("0").rstrip(point)
        return text

    def wheelEvent(self, event: QWheelEvent) -> None:  # noqa: N802 (Qt override)
        if self.hasFocus():
            super().wheelEvent(event)
        else:
            event.ignore()


class FocusComboBox(QComboBox):
    """A combo box that leaves the mouse wheel to the scroll area unless focused."""

    def __init__(self, parent=None, minimum_characters: int = 8):
        super().__init__(parent)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        # size by a few characters, not the longest item, so narrow docks never clip
        self.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.setMinimumContentsLength(minimum_characters)

    def wheelEvent(self, event: QWheelEvent) -> None:  # noqa: N802 (Qt override)
        if self.hasFocus():
            super().wheelEvent(event)
        else:
            event.ignore()


class LogSlider(QSlider):
    """A horizontal slider whose integer positions map to values on a log scale."""

    def __init__(self, minimum: float, maximum: float, parent=None):
        super().__init__(Qt.Orientation.Horizontal, parent)
        self.setRange(0, SLIDER_STEPS)
        self.setSingleStep(5)
        self.setPageStep(50)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self._log_min = math.log(minimum)
        self._log_span = math.log(maximum) - self._log_min

    def position_of(self, value: float) -> int:
        """The slider position of `value` (clamped to the slider's range)."""
        fraction = (math.log(value) - self._log_min) / self._log_span
        return int(round(min(max(fraction, 0.0), 1.0) * SLIDER_STEPS))

    def value_at(self, position: int) -> float:
        return math.exp(self._log_min + position / SLIDER_STEPS * self._log_span)

    def wheelEvent(self, event: QWheelEvent) -> None:  # noqa: N802 (Qt override)
        if self.hasFocus():
            super().wheelEvent(event)
        else:
            event.ignore()


class ValueRow(QWidget):
    """One value: spin box, log slider, optional note (e.g. "1:4"), remove button."""

    edited = Signal(float)
    remove_requested = Signal()

    def __init__(self, editor: ValueListEditor):
        super().__init__(editor)
        self.spin = CompactSpinBox(editor.minimum, editor.maximum, editor.decimals)
        self.spin.setFixedWidth(editor.spin_width)
        self.slider = LogSlider(*editor.slider_range)
        self.note = QLabel("")
        self.note.setObjectName("note")
        self.note.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        self.note.setFixedWidth(44)
        self.note.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.note.setVisible(editor.describe is not None)
        self.remove_button = QToolButton()
        self.remove_button.setText("✕")
        self.remove_button.setAutoRaise(True)
        self.remove_button.setToolTip("Remove this value")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        layout.addWidget(self.spin)
        layout.addWidget(self.slider, 1)
        layout.addWidget(self.note)
        layout.addWidget(self.remove_button)
        self._describe = editor.describe
        self.spin.valueChanged.connect(self._on_spin)
        self.slider.valueChanged.connect(self._on_slider)
        self.remove_button.clicked.connect(self.remove_requested)

    def show_value(self, value: float) -> None:
        """Display `value` without emitting `edited`."""
        self.spin.blockSignals(True)
        self.slider.blockSignals(True)
        self.spin.setValue(value)
        if round(self.slider.value_at(self.slider.value()), self.spin.decimals()) != \
                round(value, self.spin.decimals()):  # a slider on this value stays put
            self.slider.setValue(self.slider.position_of(value))
        self.spin.blockSignals(False)
        self.slider.blockSignals(False)
        self._show_note(value)

    def _show_note(self, value: float) -> None:
        if self._describe is not None:
            self.note.setText(self._describe(value))

    def _on_spin(self, value: float) -> None:
        self.slider.blockSignals(True)
        self.slider.setValue(self.slider.position_of(value))
        self.slider.blockSignals(False)
        self._show_note(value)
        self.edited.emit(value)

    def _on_slider(self, position: int) -> None:
        self.spin.blockSignals(True)
        self.spin.setValue(self.slider.value_at(position))  # rounded to the shown decimals
        self.spin.blockSignals(False)
        value = self.spin.value()
        self._show_note(value)
        self.edited.emit(value)


class ValueListEditor(QWidget):
    """Edit a non-empty list of positive numbers; `values_edited` carries the whole list after
    every single edit (typing, stepping, each slider position while dragging, add, remove)."""

    values_edited = Signal(tuple)
    dragging = Signal(bool)  # a slider of this list is held (True) or let go (False)

    def __init__(self, *, minimum: float, maximum: float, slider_range: tuple[float, float],
                 decimals: int = 4, describe: Callable[[float], str] | None = None,
                 add_text: str = "+ Add", spin_width: int = 74, parent=None):
        super().__init__(parent)
        self.minimum, self.maximum = minimum, maximum
        self.slider_range = slider_range
        self.decimals = decimals
        self.describe = describe
        self.spin_width = spin_width
        self.rows: list[ValueRow] = []
        self._values: list[float] = []
        self._rows_layout = QVBoxLayout()
        self._rows_layout.setContentsMargins(0, 0, 0, 0)
        self._rows_layout.setSpacing(2)
        self.add_button = QPushButton(add_text)
        self.add_button.setToolTip("Append a value (double the largest, or half the smallest)")
        self.add_button.clicked.connect(lambda: self.add_value())
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(3)
        layout.addLayout(self._rows_layout)
        footer = QHBoxLayout()
        footer.addWidget(self.add_button)
        footer.addStretch(1)
        layout.addLayout(footer)

    # -- reading and showing -------------------------------------------------------------------
    def values(self) -> tuple[float, ...]:
        return tuple(self._values)

    def set_values(self, values: Sequence[float]) -> None:
        """Show `values` without emitting; rows are reused (a slider being dragged survives)."""
        self._values = [float(v) for v in values]
        while len(self.rows) > len(self._values):
            row = self.rows.pop()
            self._rows_layout.removeWidget(row)
            row.deleteLater()
        while len(self.rows) < len(self._values):
            row = ValueRow(self)
            index = len(self.rows)
            row.edited.connect(lambda value, row=row: self._on_row_edited(row, value))
            row.remove_requested.connect(lambda row=row: self.remove_value(self.rows.index(row)))
            row.slider.sliderPressed.connect(lambda: self.dragging.emit(True))
            row.slider.sliderReleased.connect(lambda: self.dragging.emit(False))
            self.rows.append(row)
            self._rows_layout.insertWidget(index, row)
        for row, value in zip(self.rows, self._values, strict=True):
            if row.spin.value() != round(value, row.spin.decimals()):
                row.show_value(value)  # unchanged rows are not re-rendered (a drag elsewhere)
        for row in self.rows:
            row.remove_button.setEnabled(len(self.rows) > 1)

    # -- edits ---------------------------------------------------------------------------------
    def add_value(self, value: float | None = None) -> None:
        """Append `value` (default: a suggestion outside the current values) and emit."""
        if value is None:
            value = self.suggest_value()
        self.set_values([*self._values, value])
        self.values_edited.emit(self.values())

    def remove_value(self, index: int) -> None:
        """Remove the value at `index` (never the last one) and emit."""
        if len(self._values) <= 1 or not 0 <= index < len(self._values):
            return
        self.set_values(self._values[:index] + self._values[index + 1:])
        self.values_edited.emit(self.values())

    def suggest_value(self) -> float:
        """Twice the largest value if the slider reaches it, else half the smallest."""
        if not self._values:
            return 1.0
        high = max(self._values) * 2.0
        if high <= self.slider_range[1]:
            return high
        return max(min(self._values) / 2.0, self.minimum)

    def _on_row_edited(self, row: ValueRow, value: float) -> None:
        self._values[self.rows.index(row)] = value
        self.values_edited.emit(self.values())


def ratio_note(ratio: float) -> str:
    """A width/height ratio as 'w:h' with the smaller side 1: 0.25 -> '1:4', 3 -> '3:1'."""
    if ratio >= 1.0:
        return f"{ratio:.2g}:1" if ratio < 10 else f"{ratio:.0f}:1"
    inverse = 1.0 / ratio
    return f"1:{inverse:.2g}" if inverse < 10 else f"1:{inverse:.0f}"
