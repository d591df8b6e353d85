"""Editor for one detector family's config (YOLOv5, FCOS, ATSS, YOLOv8 candidates; see
docs/families.md): the family's own parameters as live spin boxes, with what they imply (FCOS size
ranges, ATSS anchor sides, the YOLOv8 rule per ultralytics version) shown read-only beside them.

Like the RetinaNet controls of the anchor panel, every edit is validated at once by the family's
own file-key parsers and dataclass, and a refused edit is shown in red under its section while the
last valid config stays. The panel knows no application state: it emits `config_edited` with each
new config and shows what `set_config` gives it without emitting.
"""

from __future__ import annotations

import math
from itertools import pairwise
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QPaintEvent
from PySide6.QtWidgets import (
    QAbstractSpinBox,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QStyle,
    QStyleOptionComboBox,
    QStylePainter,
    QVBoxLayout,
    QWidget,
)

from core.assigners.atss import AtssParams
from core.assigners.fcos import FcosParams, anchor_sizes, size_ranges
from core.assigners.yolov5 import Yolov5Params
from core.assigners.yolov8 import YOLOV8_SEMANTICS, Yolov8Params
from core.errors import InputError
from core.family_config import FamilyConfig, with_params
from gui.theme import ERROR, MUTED, TEXT, dark_palette, set_text_colour
from gui.value_list import CompactSpinBox, FocusComboBox

ANCHOR_LIMITS = (0.1, 4096.0)  # YOLOv5 anchor w, h in pixels
ANCHOR_DIGITS = 4  # significant digits shown for an anchor side
ANCHOR_GROWTH = 1.5  # a new anchor: the level's largest, this much larger
ANCHOR_T_LIMITS = (1.01, 20.0)
FCOS_SIZE_LIMITS = (2.0, 4096.0)  # below 2 px torchvision rounds the anchor's side to 0
RADIUS_LIMITS = (0.1, 10.0)
RADIUS_STEP = 0.25
OCTAVE_SCALE_LIMITS = (0.5, 64.0)
TOPK_LIMITS = (1, 100)
LONG_NAME = 30  # characters of a qualified name that may wrap at its dots
PAIRS_PER_LINE = 3  # YOLOv5 (w, h) pairs side by side before a level's row wraps

YOLOV5_HINT = ("a box gets positives when w and h are both within anchor_t× of some anchor "
               "(any level)")

LABEL_COLOURS = {"section": TEXT, "title": TEXT, "hint": MUTED, "value": TEXT, "error": ERROR}


def _label(text: str, role: str, wrap: bool = False) -> QLabel:
    """A label coloured (and for titles emboldened) by its `role`, through its palette so the
    panel's palette still applies to everything else."""
    label = QLabel(text)
    label.setObjectName(role)
    label.setWordWrap(wrap)
    set_text_colour(label, LABEL_COLOURS[role])
    if role in ("section", "title"):
        font = label.font()
        font.setBold(True)
        label.setFont(font)
        label.setContentsMargins(0, 4, 0, 0)
    return label


def _breakable(text: str) -> str:
    """`text` with a zero-width space after each '/' of a path and each '.' of a long qualified
    name (`Class.method`), so a source reference wraps in a narrow dock instead of widening it;
    a short name stays whole."""
    def word(part: str) -> str:
        if "/" in part:
            return part.replace("/", "/\u200b")
        return part.replace(".", ".\u200b") if len(part) > LONG_NAME else part

    return " ".join(word(part) for part in text.split(" "))


def number_text(value: float) -> str:
    """A derived pixel value as the panel shows it: 64, 12.5, ∞."""
    return "∞" if math.isinf(value) else f"{value:g}"


def level_name(stride: int, level: int | None = None) -> str:
    """'P3 / stride 8'; the P-level is log2 of the stride unless given, and left out for a
    stride that is no power of two."""
    if level is None and stride > 0 and stride & (stride - 1) == 0:
        level = stride.bit_length() - 1
    return f"stride {stride}" if level is None else f"P{level} / stride {stride}"


def semantics_label(semantics: str, strides: tuple[int, ...]) -> str:
    """The YOLOv8 candidate rule `semantics` for these strides, labelled by the ultralytics
    releases that have it (the widening thresholds come from the strides)."""
    if semantics == "8.3":
        return "≤ 8.3.x: strictly inside"
    if semantics == "8.4.0":
        if len(strides) < 2:
            return "8.4.0 – 8.4.127: needs two levels"
        return f"8.4.0 – 8.4.127: sides < {strides[0]} px widened to {strides[1]}"
    size = strides[1] if len(strides) > 1 else strides[0]
    return f"≥ 8.4.128: sides < {size} px widened to {size}"


def significant(value: float, digits: int = ANCHOR_DIGITS) -> float:
    """`value` rounded to `digits` significant digits (a seeded anchor is exactly what the spin
    box shows)."""
    if value == 0 or not math.isfinite(value):
        return value
    return round(value, max(0, digits - 1 - math.floor(math.log10(abs(value)))))


class SignificantSpinBox(CompactSpinBox):
    """A compact spin box without step buttons that shows a few significant digits (373, 12.35,
    0.1234): narrow enough for three (w, h) pairs in a row. Arrow keys and the focused wheel
    still step adaptively."""

    def __init__(self, minimum: float, maximum: float, digits: int = ANCHOR_DIGITS,
                 parent: QWidget | None = None):
        super().__init__(minimum, maximum, digits, parent)  # decimals = digits: 0.1234
        self.setButtonSymbols(QAbstractSpinBox.ButtonSymbols.NoButtons)

    def textFromValue(self, value: float) -> str:  # noqa: N802 (Qt override)
        if value == 0:
            return "0"
        digits = self.decimals()
        decimals = min(digits, max(0, digits - 1 - math.floor(math.log10(abs(value)))))
        text = self.locale().toString(value, "f", decimals)
        point = self.locale().decimalPoint()
        if point in text:
            text = text.rstrip("0").rstrip(point)
        return text


class ElidingComboBox(FocusComboBox):
    """A combo box whose closed face ends a too-long item in "…" rather than cutting it off
    mid-letter in a narrow dock; the list and the tooltip show the whole item."""

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 (Qt override)
        painter = QStylePainter(self)
        option = QStyleOptionComboBox()
        self.initStyleOption(option)
        painter.drawComplexControl(QStyle.ComplexControl.CC_ComboBox, option)
        field = self.style().subControlRect(QStyle.ComplexControl.CC_ComboBox, option,
                                            QStyle.SubControl.SC_ComboBoxEditField, self)
        option.currentText = self.fontMetrics().elidedText(
            option.currentText, Qt.TextElideMode.ElideRight, field.width())
        painter.drawControl(QStyle.ControlElement.CE_ComboBoxLabel, option)


def show_value(spin: CompactSpinBox, value: float, limits: tuple[float, float]) -> None:
    """Show `value` in `spin` without emitting. The range is `limits`, widened to hold a value
    from a file that lies outside them, so the field never shows a clamped number."""
    if spin.value() == round(value, spin.decimals()):
        return  # an unchanged field is not re-rendered (it may be mid-edit)
    spin.blockSignals(True)
    spin.setRange(min(limits[0], value), max(limits[1], value))
    spin.setValue(value)
    spin.blockSignals(False)


class FamilyEditor(QWidget):
    """The controls of one family. An edit asks for `changes` (file keys -> values) of one
    `section` through `edit_requested`; the panel validates it and answers with `show_params`
    or `show_error`."""

    edit_requested = Signal(str, dict)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.error_labels: dict[str, QLabel] = {}
        self.form = QVBoxLayout(self)
        self.form.setContentsMargins(0, 0, 0, 0)
        self.form.setSpacing(4)

    def section(self, title: str) -> None:
        """A rule and a bold title, as the anchor panel separates its sections."""
        rule = QFrame()
        rule.setObjectName("rule")
        rule.setFrameShape(QFrame.Shape.HLine)
        self.form.addSpacing(4)
        self.form.addWidget(rule)
        self.form.addWidget(_label(title, "section"))

    def error_label(self, section: str) -> None:
        """The hidden red line under `section` that says why an edit was refused."""
        label = _label("", "error", wrap=True)
        label.hide()
        self.error_labels[section] = label
        self.form.addWidget(label)

    def show_error(self, section: str, message: str) -> None:
        label = self.error_labels[section]
        label.setText(message)
        label.setVisible(bool(message))

    def request(self, section: str, **changes: Any) -> None:
        """Ask the panel to apply `changes` (file keys) of `section`; it validates them."""
        self.edit_requested.emit(section, changes)

    def show_params(self, params: Any, refused: set[str]) -> None:
        """Show `params` in every section not in `refused` (those keep the user's refused
        value), and the values derived from them."""
        raise NotImplementedError


def _spin_row(grid: QGridLayout, row: int, caption: str, spin: QWidget,
              note: QLabel | None = None) -> None:
    grid.addWidget(QLabel(caption), row, 0)
    grid.addWidget(spin, row, 1)
    if note is not None:
        grid.addWidget(note, row, 2)


def _grid() -> QGridLayout:
    grid = QGridLayout()
    grid.setContentsMargins(0, 0, 0, 0)
    grid.setHorizontalSpacing(8)
    grid.setVerticalSpacing(3)
    return grid


class Yolov5Editor(FamilyEditor):
    """Per level a row of (w, h) anchors in pixels, the same count on every level (YOLOv5's
    head), and `anchor_t`. Keeps the exact anchors so editing one never rounds the others."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._anchors: list[list[tuple[float, float]]] = []
        self._strides: tuple[int, ...] = ()
        self.level_labels: list[QLabel] = []
        self.anchor_spins: list[list[tuple[SignificantSpinBox, SignificantSpinBox]]] = []

        self.section("Anchors (w × h px)")
        self._levels = QVBoxLayout()
        self._levels.setContentsMargins(0, 0, 0, 0)
        self._levels.setSpacing(2)
        self.form.addLayout(self._levels)
        self.add_button = QPushButton("+ Add anchor")
        self.add_button.setToolTip("Add one anchor to every level: the level's largest × "
                                   f"{ANCHOR_GROWTH:g}")
        self.remove_button = QPushButton("− Remove anchor")
        self.remove_button.setToolTip("Remove the last anchor of every level (YOLOv5's head "
                                      "has the same count on each)")
        self.add_button.clicked.connect(self.add_anchor)
        self.remove_button.clicked.connect(self.remove_anchor)
        buttons = QHBoxLayout()
        buttons.addWidget(self.add_button)
        buttons.addWidget(self.remove_button)
        buttons.addStretch(1)
        self.form.addLayout(buttons)
        self.error_label("anchors")

        self.section("Ratio test")
        self.anchor_t_spin = CompactSpinBox(*ANCHOR_T_LIMITS, 2)
        self.anchor_t_spin.setStepType(CompactSpinBox.StepType.DefaultStepType)
        self.anchor_t_spin.setSingleStep(0.1)
        self.anchor_t_spin.setFixedWidth(74)
        self.anchor_t_spin.setToolTip("hyp anchor_t: an anchor takes a box when max(r, 1/r) of "
                                      "both its width and height ratio is below this")
        self.anchor_t_spin.valueChanged.connect(
            lambda value: self.request("anchor_t", anchor_t=float(value)))
        grid = _grid()
        _spin_row(grid, 0, "anchor_t", self.anchor_t_spin)
        grid.setColumnStretch(2, 1)
        self.form.addLayout(grid)
        self.hint = _label(YOLOV5_HINT, "hint", wrap=True)
        self.form.addWidget(self.hint)
        self.error_label("anchor_t")

    def anchors(self) -> tuple[tuple[tuple[float, float], ...], ...]:
        """The exact anchors shown (w, h) per level, including an edit not yet accepted."""
        return tuple(tuple(level) for level in self._anchors)

    def show_params(self, params: Yolov5Params, refused: set[str]) -> None:
        if "anchors" not in refused:
            self._show_anchors(params.strides, params.anchors)
        if "anchor_t" not in refused:
            show_value(self.anchor_t_spin, params.anchor_t, ANCHOR_T_LIMITS)

    def _show_anchors(self, strides: tuple[int, ...],
                      anchors: tuple[tuple[tuple[float, float], ...], ...]) -> None:
        shape = [len(level) for level in anchors]
        if strides != self._strides or shape != [len(level) for level in self.anchor_spins]:
            self._build_rows(strides, shape)
        self._anchors = [list(level) for level in anchors]
        for spins, level in zip(self.anchor_spins, anchors, strict=True):
            for (w_spin, h_spin), (w, h) in zip(spins, level, strict=True):
                show_value(w_spin, w, ANCHOR_LIMITS)
                show_value(h_spin, h, ANCHOR_LIMITS)
        self.remove_button.setEnabled(min(shape, default=0) > 1)

    def _build_rows(self, strides: tuple[int, ...], shape: list[int]) -> None:
        """One block per level: its name, then its (w, h) pairs, `PAIRS_PER_LINE` to a line."""
        while self._levels.count():
            item = self._levels.takeAt(0)
            if item.widget() is not None:
                item.widget().deleteLater()
        self._strides = strides
        self.level_labels, self.anchor_spins = [], []
        for level, (stride, count) in enumerate(zip(strides, shape, strict=True)):
            block = QWidget()
            grid = QGridLayout(block)
            grid.setContentsMargins(0, 0, 0, 2)
            grid.setHorizontalSpacing(2)
            grid.setVerticalSpacing(2)
            name = _label(level_name(stride), "hint")
            grid.addWidget(name, 0, 0, 1, 3 * PAIRS_PER_LINE)
            spins = []
            for index in range(count):
                row, column = 1 + index // PAIRS_PER_LINE, 3 * (index % PAIRS_PER_LINE)
                w_spin, h_spin = SignificantSpinBox(*ANCHOR_LIMITS), SignificantSpinBox(
                    *ANCHOR_LIMITS)
                cross = _label("×", "hint")
                cross.setAlignment(Qt.AlignmentFlag.AlignCenter)
                for side, spin in (("width", w_spin), ("height", h_spin)):
                    spin.setToolTip(f"{level_name(stride)}, anchor {index + 1}: {side} in "
                                    "pixels of the model input")
                    spin.setMinimumWidth(34)
                grid.addWidget(w_spin, row, column)
                grid.addWidget(cross, row, column + 1)
                grid.addWidget(h_spin, row, column + 2)
                w_spin.valueChanged.connect(
                    lambda v, lv=level, i=index: self._on_side(lv, i, 0, v))
                h_spin.valueChanged.connect(
                    lambda v, lv=level, i=index: self._on_side(lv, i, 1, v))
                spins.append((w_spin, h_spin))
            for column in range(3 * PAIRS_PER_LINE):
                grid.setColumnStretch(column, 0 if column % 3 == 1 else 1)
            self.level_labels.append(name)
            self.anchor_spins.append(spins)
            self._levels.addWidget(block)
        chain = [spin for level in self.anchor_spins for pair in level for spin in pair]
        chain += [self.add_button, self.remove_button, self.anchor_t_spin]
        for first, second in pairwise(chain):  # Tab follows reading order
            QWidget.setTabOrder(first, second)

    def _on_side(self, level: int, index: int, side: int, value: float) -> None:
        pair = list(self._anchors[level][index])
        pair[side] = float(value)
        self._anchors[level][index] = (pair[0], pair[1])
        self.request("anchors", anchors=self.anchors())

    def add_anchor(self) -> None:
        """One more anchor on every level: the level's largest (by area) × ANCHOR_GROWTH."""
        grown = []
        for level in self._anchors:
            w, h = max(level, key=lambda pair: pair[0] * pair[1])
            new = tuple(significant(min(side * ANCHOR_GROWTH, ANCHOR_LIMITS[1])) for side in (w, h))
            grown.append((*level, new))
        self._show_anchors(self._strides, tuple(grown))
        self.request("anchors", anchors=self.anchors())

    def remove_anchor(self) -> None:
        """Drop the last anchor of every level (never the only one)."""
        if min((len(level) for level in self._anchors), default=0) <= 1:
            return
        self._show_anchors(self._strides, tuple(tuple(level[:-1]) for level in self._anchors))
        self.request("anchors", anchors=self.anchors())


class FcosEditor(FamilyEditor):
    """Per level the anchor size, with the size range it implies (read-only), and the
    centre-sampling radius. Keeps the exact sizes."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._sizes: list[float] = []
        self._levels: tuple[int, ...] = ()
        self.level_labels: list[QLabel] = []
        self.size_spins: list[CompactSpinBox] = []
        self.range_labels: list[QLabel] = []

        self.section("Anchor size per level")
        self._table = QWidget()
        self._grid = _grid()
        self._table.setLayout(self._grid)
        self.form.addWidget(self._table)
        self.range_hint = _label("A point is trained on a box when its largest side distance "
                                 "lies in the level's open range (px)", "hint", wrap=True)
        self.form.addWidget(self.range_hint)
        self.error_label("anchor_sizes")

        self.section("Centre sampling")
        self.radius_spin = CompactSpinBox(*RADIUS_LIMITS, 2)
        self.radius_spin.setStepType(CompactSpinBox.StepType.DefaultStepType)
        self.radius_spin.setSingleStep(RADIUS_STEP)
        self.radius_spin.setSuffix(" × size")
        self.radius_spin.setFixedWidth(96)
        self.radius_spin.setToolTip("center_sampling_radius: a point counts only within this "
                                    "many anchor sizes of the box centre (Chebyshev, strict)")
        self.radius_spin.valueChanged.connect(
            lambda value: self.request("center_sampling_radius",
                                       center_sampling_radius=float(value)))
        grid = _grid()
        _spin_row(grid, 0, "Radius", self.radius_spin)
        grid.setColumnStretch(2, 1)
        self.form.addLayout(grid)
        self.error_label("center_sampling_radius")

    def show_params(self, params: FcosParams, refused: set[str]) -> None:
        if params.levels != self._levels:
            self._build_rows(params.levels)
        if "anchor_sizes" not in refused:
            self._sizes = [float(size) for size in params.anchor_sizes]
            for spin, size in zip(self.size_spins, self._sizes, strict=True):
                show_value(spin, size, FCOS_SIZE_LIMITS)
        if "center_sampling_radius" not in refused:
            show_value(self.radius_spin, params.center_sampling_radius,
                       RADIUS_LIMITS)
        sides = anchor_sizes(params)
        for label, (low, high), size, side in zip(self.range_labels, size_ranges(params),
                                                  params.anchor_sizes, sides, strict=True):
            text = f"({number_text(low)}, {number_text(high)})"
            rounded = float(side) != float(size)
            label.setText(f"{text}  side {number_text(float(side))}" if rounded else text)
            label.setToolTip("torchvision rounds the half-side: the anchor is "
                             f"{number_text(float(side))} px" if rounded else "")

    def _build_rows(self, levels: tuple[int, ...]) -> None:
        for widget in (*self.level_labels, *self.size_spins, *self.range_labels):
            self._grid.removeWidget(widget)
            widget.deleteLater()
        self._levels = levels
        self.level_labels, self.size_spins, self.range_labels = [], [], []
        for column, title in enumerate(("level", "size (px)", "range (px)")):
            header = _label(title, "hint")
            if column == 1:
                header.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            self._grid.addWidget(header, 0, column)
        for index, level in enumerate(levels):
            name = _label(level_name(2**level, level), "value")
            spin = CompactSpinBox(*FCOS_SIZE_LIMITS, 2)
            spin.setFixedWidth(74)
            spin.setToolTip("Side of the level's square anchor in pixels (torchvision "
                            "AnchorGenerator sizes)")
            spin.valueChanged.connect(lambda value, i=index: self._on_size(i, value))
            size_range = _label("", "value")
            for column, widget in enumerate((name, spin, size_range)):
                self._grid.addWidget(widget, index + 1, column)
            self.level_labels.append(name)
            self.size_spins.append(spin)
            self.range_labels.append(size_range)
        self._grid.setColumnStretch(2, 1)
        chain = [*self.size_spins, self.radius_spin]
        for first, second in pairwise(chain):  # Tab follows reading order
            QWidget.setTabOrder(first, second)

    def _on_size(self, index: int, value: float) -> None:
        self._sizes[index] = float(value)
        self.request("anchor_sizes", anchor_sizes=tuple(self._sizes))


class AtssEditor(FamilyEditor):
    """`octave_base_scale` with the anchor side it gives per level (read-only), and `topk`."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._strides: tuple[int, ...] = ()
        self.level_labels: list[QLabel] = []
        self.side_labels: list[QLabel] = []

        self.section("Anchors")
        self.scale_spin = CompactSpinBox(*OCTAVE_SCALE_LIMITS, 3)
        self.scale_spin.setSuffix(" × stride")
        self.scale_spin.setFixedWidth(110)
        self.scale_spin.setToolTip("octave_base_scale: one square anchor per location, side = "
                                   "this × the level's stride")
        self.scale_spin.valueChanged.connect(
            lambda value: self.request("octave_base_scale", octave_base_scale=float(value)))
        grid = _grid()
        _spin_row(grid, 0, "Anchor side", self.scale_spin)
        grid.setColumnStretch(2, 1)
        self.form.addLayout(grid)
        self._table = QWidget()
        self._grid = _grid()
        self._table.setLayout(self._grid)
        self.form.addWidget(self._table)
        self.error_label("octave_base_scale")

        self.section("Candidates")
        self.topk_spin = CompactSpinBox(*TOPK_LIMITS, 0)
        self.topk_spin.setStepType(CompactSpinBox.StepType.DefaultStepType)
        self.topk_spin.setSingleStep(1)
        self.topk_spin.setFixedWidth(74)
        self.topk_spin.setToolTip("topk: per level, the anchors whose centres are nearest the "
                                  "box centre; positives are those of them with IoU ≥ mean + std")
        self.topk_spin.valueChanged.connect(
            lambda value: self.request("topk", topk=int(round(value))))
        grid = _grid()
        _spin_row(grid, 0, "topk per level", self.topk_spin)
        grid.setColumnStretch(2, 1)
        self.form.addLayout(grid)
        self.error_label("topk")

    def show_params(self, params: AtssParams, refused: set[str]) -> None:
        if params.strides != self._strides:
            self._build_rows(params.strides)
        if "octave_base_scale" not in refused:
            show_value(self.scale_spin, params.octave_base_scale, OCTAVE_SCALE_LIMITS)
        if "topk" not in refused:
            show_value(self.topk_spin, params.topk, TOPK_LIMITS)
        for label, stride in zip(self.side_labels, params.strides, strict=True):
            label.setText(number_text(stride * params.octave_base_scale))

    def _build_rows(self, strides: tuple[int, ...]) -> None:
        for widget in (*self.level_labels, *self.side_labels):
            self._grid.removeWidget(widget)
            widget.deleteLater()
        self._strides = strides
        self.level_labels, self.side_labels = [], []
        for column, title in enumerate(("level", "anchor side (px)")):
            header = _label(title, "hint")
            header.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
                                if column else Qt.AlignmentFlag.AlignLeft)
            self._grid.addWidget(header, 0, column)
        for index, stride in enumerate(strides):
            name = _label(level_name(stride), "value")
            side = _label("", "value")
            side.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            self._grid.addWidget(name, index + 1, 0)
            self._grid.addWidget(side, index + 1, 1)
            self.level_labels.append(name)
            self.side_labels.append(side)
        self._grid.setColumnStretch(2, 1)


class Yolov8Editor(FamilyEditor):
    """The candidate rule, by ultralytics version, and the strides (read-only)."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.section("Candidate rule (ultralytics version)")
        self.semantics_combo = ElidingComboBox(minimum_characters=12)
        for key in YOLOV8_SEMANTICS:
            self.semantics_combo.addItem(semantics_label(key, (8, 16, 32)), key)
        self.semantics_combo.currentIndexChanged.connect(self._on_semantics)
        self.form.addWidget(self.semantics_combo)
        self.error_label("semantics")
        self.section("Levels")
        self.strides_label = _label("", "value", wrap=True)
        self.form.addWidget(self.strides_label)
        self.points_hint = _label("Points at (i + 0.5) × stride; a point is a candidate when "
                                  "strictly inside the (widened) box", "hint", wrap=True)
        self.form.addWidget(self.points_hint)

    def show_params(self, params: Yolov8Params, refused: set[str]) -> None:
        self.semantics_combo.blockSignals(True)
        for index, key in enumerate(YOLOV8_SEMANTICS):
            self.semantics_combo.setItemText(index, semantics_label(key, params.strides))
        if "semantics" not in refused:
            self.semantics_combo.setCurrentIndex(self.semantics_combo.findData(params.semantics))
        self.semantics_combo.blockSignals(False)
        self._show_tooltip()
        self.strides_label.setText(", ".join(level_name(s) for s in params.strides))

    def _show_tooltip(self) -> None:
        self.semantics_combo.setToolTip(
            f"{self.semantics_combo.currentText()}\nThe select_candidates_in_gts of your "
            "ultralytics release: from 8.4 small boxes are widened about their centre first")

    def _on_semantics(self, index: int) -> None:
        self._show_tooltip()
        if index >= 0:
            self.request("semantics", semantics=self.semantics_combo.itemData(index))


EDITORS: dict[str, type[FamilyEditor]] = {
    "yolov5": Yolov5Editor, "fcos": FcosEditor, "atss": AtssEditor, "yolov8": Yolov8Editor,
}


def validated(config: FamilyConfig, changes: dict[str, Any]) -> FamilyConfig:
    """`config` with `changes` (file keys -> values), checked by the same parsers and dataclass
    as a config file, so the panel accepts exactly what a file may hold. Fields that are not
    file keys keep their values. InputError 'key: problem' when refused."""
    keys = config.family.keys
    parsed = {key: keys[key](value, key, None) for key, value in changes.items()}
    try:
        return with_params(config, **parsed)
    except (TypeError, ValueError) as error:
        raise InputError(str(error)) from None


class FamilyPanel(QWidget):
    """The parameters of one detector family's config, edited live: a header naming the real
    code and what a positive is, then that family's editor. Emits `config_edited` with every
    valid edit; `set_config` shows a config without emitting."""

    config_edited = Signal(object)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._config: FamilyConfig | None = None
        self._invalid: dict[str, dict[str, Any]] = {}  # section -> refused changes
        self._emitting = False  # inside our own config_edited: an echo keeps refused edits

        self.setPalette(dark_palette())
        self.setAutoFillBackground(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        self.title_label = _label("", "title")
        self.title_label.setContentsMargins(0, 0, 0, 0)
        self.source_label = _label("", "hint", wrap=True)
        self.positives_label = _label("", "hint", wrap=True)
        self.note_label = _label("", "hint", wrap=True)
        for label in (self.title_label, self.source_label, self.positives_label,
                      self.note_label):
            layout.addWidget(label)
        self.editors: dict[str, FamilyEditor] = {}
        for name, editor_type in EDITORS.items():
            editor = editor_type(self)
            editor.hide()
            editor.edit_requested.connect(self._apply)
            self.editors[name] = editor
            layout.addWidget(editor)
        layout.addStretch(1)

    @property
    def editor(self) -> FamilyEditor | None:
        """The editor of the family shown, if any."""
        return None if self._config is None else self.editors[self._config.framework]

    def config(self) -> FamilyConfig | None:
        """The last valid config: the one set or last emitted (refused edits not included)."""
        return self._config

    def set_config(self, config: FamilyConfig) -> None:
        """Show `config` without emitting. Set from elsewhere it voids refused edits; the echo
        of our own `config_edited` keeps them in their fields."""
        switched = self._config is None or self._config.framework != config.framework
        if switched or not self._emitting:
            self._invalid.clear()
            for editor in self.editors.values():
                for section in editor.error_labels:
                    editor.show_error(section, "")
        self._config = config
        family = config.family
        self.title_label.setText(family.label)
        self.source_label.setText(_breakable(f"Real code: {family.sources[0]}"))
        self.source_label.setToolTip("Checked against:\n" + "\n".join(family.sources))
        self.positives_label.setText(f"Positives: {family.positives}")
        self.note_label.setText(f"{family.note[:1].upper()}{family.note[1:]}")
        self.note_label.setVisible(bool(family.note))
        for name, editor in self.editors.items():
            editor.setVisible(name == config.framework)
        self.editors[config.framework].show_params(config.params, set(self._invalid))

    def _apply(self, section: str, changes: dict[str, Any]) -> None:
        """Validate this section's `changes` together with the other sections' refused ones
        (retried, as the anchor panel does); emit the new config, or show why it is refused
        and keep the last valid one."""
        if self._config is None:
            return
        editor = self.editors[self._config.framework]
        others = {k: v for s, c in self._invalid.items() if s != section for k, v in c.items()}
        try:
            config = validated(self._config, {**others, **changes})
            resolved = list(self._invalid)
        except InputError:
            try:
                config = validated(self._config, changes)
            except InputError as error:
                self._invalid[section] = changes
                message = error.problem  # 'key: problem' from a file rule, else the dataclass's
                if not message.startswith(f"{section}:"):
                    message = f"{section}: {message}"
                editor.show_error(section, message)
                return
            resolved = [section]
        for done in resolved:
            self._invalid.pop(done, None)
            editor.show_error(done, "")
        self._config = config
        editor.show_params(config.params, set(self._invalid))
        self._emitting = True
        try:
            self.config_edited.emit(config)
        finally:
            self._emitting = False
