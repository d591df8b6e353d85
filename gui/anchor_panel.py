"""The anchor tuning side panel: edits `AppState.config` and `AppState.model_input` live.

Every edit builds a new `AnchorConfig` with `config.replace(...)` (which validates) and hands it to
`state.set_config` at once; the coverage controller and the panels pace the work that follows
(docs/live-tuning.md). An edit the config refuses
is shown in red under its field while the last valid config stays. Configs set from elsewhere
(file, preset, optimizer) are shown without being sent back. When every image of the dataset has
the same physical units, each level's anchor size is also given in s and Hz under the levels.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from core.analysis import parse_input_size
from core.anchor_config import (
    AnchorConfig,
    effective_center_offset,
    effective_clip,
    effective_low_quality,
    head_compatibility,
    inexpressible_reasons,
    list_presets,
    load_preset,
    sizes_out_of_order,
    with_framework,
)
from core.errors import InputError
from core.frameworks import FRAMEWORKS, Framework
from core.input_mapping import RESIZE_MODES
from core.units import pixel_size
from gui.state import AppState
from gui.theme import ERROR, MUTED, TEXT, WARNING, dark_palette, set_text_colour
from gui.value_list import CompactSpinBox, FocusComboBox, ValueListEditor, ratio_note

SCALE_LIMITS = (0.01, 100.0)
SCALE_SLIDER = (0.25, 4.0)
RATIO_LIMITS = (0.001, 1000.0)
RATIO_SLIDER = (1 / 32, 32.0)
PRESET_PROMPT = "Load preset…"

LABEL_COLOURS = {"section": TEXT, "hint": MUTED, "note": MUTED, "fixed": MUTED, "error": ERROR,
                 "warning": WARNING, "summary": TEXT}


def tint(label: QLabel, name: str) -> QLabel:
    """Colour (and for section titles, embolden) a label by its role `name`. Palettes rather
    than a style sheet, which would override the panel's palette."""
    label.setObjectName(name)
    set_text_colour(label, LABEL_COLOURS[name])
    if name == "section":
        font = label.font()
        font.setBold(True)
        label.setFont(font)
        label.setContentsMargins(0, 4, 0, 0)
    return label


def _label(text: str, name: str, wrap: bool = False) -> QLabel:
    label = tint(QLabel(text), name)
    label.setWordWrap(wrap)
    return label


def fixed_options_text(fw: Framework) -> str:
    """What the framework fixes (options the panel therefore does not offer), in words."""
    facts = []
    if fw.center_offset_limits is None:
        facts.append(f"centres at {fw.center_offset:g} × stride")
    if not fw.clip_configurable:
        facts.append("anchors clipped to the image" if fw.clip else "anchors not clipped")
    if not fw.low_quality_configurable:
        facts.append("low-quality matches on" if fw.low_quality_matches
                     else "no low-quality matches")
    return f"Fixed by {fw.label}: " + "; ".join(facts) if facts else ""


def framework_summary(fw: Framework) -> str:
    """How the framework makes its anchors, from the framework table, with the files its facts
    were checked in (a tooltip of the framework list; docs/frameworks.md)."""
    rounding = "half-extents rounded to whole pixels" if fw.rounds_half_extents else "no rounding"
    return (f"{fw.label}: its aspect ratio means {fw.ratio_meaning}; anchor size = "
            f"{fw.size_rule}; shapes {fw.shape_order} per location; {rounding}.\n"
            f"Checked against: {', '.join(fw.sources)}")


def ratio_hint(fw: Framework) -> str:
    """The hint shown under the ratios when the framework's own ratio is h/w."""
    if fw.ratio_meaning == "w/h":
        return ""
    return f"{fw.label} reads {fw.ratio_meaning}; converted on export"


class LevelTable(QWidget):
    """One row per pyramid level: level, stride, anchor size, remove; add a finer or coarser
    level. Keeps exact values so editing one cell never rounds the others."""

    def __init__(self, panel: AnchorPanel):
        super().__init__(panel)
        self._panel = panel
        self.rows: list[tuple[CompactSpinBox, CompactSpinBox, CompactSpinBox, QToolButton]] = []
        self._levels: list[tuple[int, float, float]] = []
        self._grid = QGridLayout()
        self._grid.setContentsMargins(0, 0, 0, 0)
        self._grid.setHorizontalSpacing(6)
        self._grid.setVerticalSpacing(2)
        for column, title in enumerate(("level", "stride", "size (px)")):
            header = _label(title, "hint")
            header.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            self._grid.addWidget(header, 0, column)
        self._grid.setColumnStretch(1, 1)
        self._grid.setColumnStretch(2, 1)
        self.finer_button = QPushButton("+ Finer level")
        self.finer_button.setToolTip("Add a level with half the finest stride and size")
        self.coarser_button = QPushButton("+ Coarser level")
        self.coarser_button.setToolTip("Add a level with twice the coarsest stride and size")
        self.finer_button.clicked.connect(self.add_finer)
        self.coarser_button.clicked.connect(self.add_coarser)
        buttons = QHBoxLayout()
        buttons.addWidget(self.finer_button)
        buttons.addWidget(self.coarser_button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        layout.addLayout(self._grid)
        layout.addLayout(buttons)

    def levels(self) -> list[tuple[int, float, float]]:
        """(level, stride, size) per row, top to bottom."""
        return list(self._levels)

    def set_levels(self, levels: list[tuple[int, float, float]]) -> None:
        """Show the levels without emitting; rows are reused when the count is unchanged."""
        self._levels = list(levels)
        while len(self.rows) > len(levels):
            for widget in self.rows.pop():
                self._grid.removeWidget(widget)
                widget.deleteLater()
        while len(self.rows) < len(levels):
            index = len(self.rows)
            level = CompactSpinBox(0, 16, 0)
            stride = CompactSpinBox(1, 4096, 2)
            size = CompactSpinBox(1, 8192, 2)
            remove = QToolButton()
            remove.setText("✕")
            remove.setAutoRaise(True)
            remove.setToolTip("Remove this level")
            level.setFixedWidth(52)
            for column, widget in enumerate((level, stride, size, remove)):
                self._grid.addWidget(widget, index + 1, column)
            for column, spin in enumerate((level, stride, size)):
                spin.valueChanged.connect(
                    lambda value, i=index, c=column: self._on_cell(i, c, value))
            remove.clicked.connect(lambda _=False, i=index: self.remove_level(i))
            self.rows.append((level, stride, size, remove))
        for row, values in zip(self.rows, self._levels, strict=True):
            for spin, value in zip(row[:3], values, strict=True):
                if spin.value() == round(value, spin.decimals()):
                    continue  # an unchanged field is not re-rendered (a drag elsewhere)
                spin.blockSignals(True)
                spin.setValue(value)
                spin.blockSignals(False)
            row[3].setEnabled(len(self._levels) > 1)
        self.finer_button.setEnabled(bool(levels) and min(levels)[0] > 0)

    def add_finer(self) -> None:
        level, stride, size = min(self._levels)
        if level == 0:
            return
        self._edit(sorted([*self._levels, (level - 1, stride / 2, size / 2)]))

    def add_coarser(self) -> None:
        level, stride, size = max(self._levels)
        self._edit(sorted([*self._levels, (level + 1, stride * 2, size * 2)]))

    def remove_level(self, index: int) -> None:
        if len(self._levels) > 1:
            self._edit(self._levels[:index] + self._levels[index + 1:])

    def _on_cell(self, index: int, column: int, value: float) -> None:
        row = list(self._levels[index])
        row[column] = int(round(value)) if column == 0 else float(value)
        self._levels[index] = (row[0], row[1], row[2])
        self._panel.edit_levels(self.levels())

    def _edit(self, levels: list[tuple[int, float, float]]) -> None:
        self.set_levels(levels)
        self._panel.edit_levels(self.levels())


class AnchorPanel(QWidget):
    """Framework, preset, levels, scales, aspect ratios (w/h), thresholds, framework options and
    model input of `state`, edited live. Dock it; it scrolls when taller than the dock."""

    def __init__(self, state: AppState, parent: QWidget | None = None):
        super().__init__(parent)
        self.state = state
        self._syncing = False  # showing the state: field signals are ignored
        self._emitting = False  # our own set_config / set_model_input is running
        self._invalid: dict[str, dict[str, Any]] = {}  # section -> refused changes
        self.error_labels: dict[str, QLabel] = {}
        self._pixel_size_for: tuple | None = None  # (table, model input) of _pixel_size
        self._pixel_size = None  # s and Hz of one anchor pixel, when every image agrees

        self.setPalette(dark_palette())
        self.setAutoFillBackground(True)
        self.setMinimumWidth(280)

        content = QWidget()
        content.setAutoFillBackground(True)
        form = QVBoxLayout(content)
        form.setContentsMargins(10, 6, 10, 10)
        form.setSpacing(4)
        self._build_framework(form)
        self._build_levels(form)
        self._build_scales(form)
        self._build_ratios(form)
        self._build_summary(form)
        self._build_matching(form)
        self._build_model_input(form)
        form.addStretch(1)

        self.scroll = QScrollArea()
        self.scroll.setWidget(content)
        self.scroll.setWidgetResizable(True)
        self.scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.scroll)

        state.config_changed.connect(self._on_state_changed)
        state.model_input_changed.connect(self._on_state_changed)
        state.dataset_changed.connect(self._show_physical_sizes)
        self.sync_from_state()

    # -- construction -----------------------------------------------------------------------
    def _section(self, form: QVBoxLayout, title: str, first: bool = False) -> None:
        if not first:
            rule = QFrame()
            rule.setObjectName("rule")
            rule.setFrameShape(QFrame.Shape.HLine)
            form.addSpacing(4)
            form.addWidget(rule)
        form.addWidget(_label(title, "section"))

    def _error_label(self, form: QVBoxLayout, section: str) -> None:
        label = _label("", "error", wrap=True)
        label.hide()
        self.error_labels[section] = label
        form.addWidget(label)

    def _build_framework(self, form: QVBoxLayout) -> None:
        self._section(form, "Framework", first=True)
        self.framework_combo = FocusComboBox()
        for name, fw in FRAMEWORKS.items():
            self.framework_combo.addItem(fw.label, name)
            self.framework_combo.setItemData(self.framework_combo.count() - 1,
                                             framework_summary(fw), Qt.ItemDataRole.ToolTipRole)
        self.framework_combo.setToolTip("How anchors are generated and matched; switching keeps "
                                        "the anchors and drops overrides it cannot do")
        self.preset_combo = FocusComboBox()
        self.preset_combo.addItem(PRESET_PROMPT)
        self.preset_combo.addItems(list_presets())
        self.preset_combo.setToolTip("Replace the whole config by a shipped preset")
        row = QHBoxLayout()
        row.addWidget(self.framework_combo, 3)
        row.addWidget(self.preset_combo, 2)
        form.addLayout(row)
        self.framework_combo.currentIndexChanged.connect(self._on_framework)
        self.preset_combo.activated.connect(self._on_preset)
        self._error_label(form, "framework")

    def _build_levels(self, form: QVBoxLayout) -> None:
        self._section(form, "Pyramid levels")
        self.level_table = LevelTable(self)
        form.addWidget(self.level_table)
        self.physical_sizes_label = _label("", "hint", wrap=True)
        self.physical_sizes_label.setToolTip(
            "Each level's anchor size (scale 1, ratio 1) as a duration × bandwidth, from the "
            "dataset's physical units (the same for every image)")
        self.physical_sizes_label.hide()
        form.addWidget(self.physical_sizes_label)
        self._error_label(form, "levels")

    def _build_scales(self, form: QVBoxLayout) -> None:
        self._section(form, "Scales (× level size)")
        self.scale_list = ValueListEditor(minimum=SCALE_LIMITS[0], maximum=SCALE_LIMITS[1],
                                          slider_range=SCALE_SLIDER, decimals=4,
                                          add_text="+ Add scale")
        self.scale_list.values_edited.connect(
            lambda values: self._apply("scales", scales=tuple(values)))
        self.scale_list.dragging.connect(self.state.set_dragging)
        form.addWidget(self.scale_list)
        self._error_label(form, "scales")

    def _build_ratios(self, form: QVBoxLayout) -> None:
        self._section(form, "Aspect ratios (w/h)")
        self.ratio_hint = _label("", "hint", wrap=True)
        form.addWidget(self.ratio_hint)
        self.ratio_list = ValueListEditor(minimum=RATIO_LIMITS[0], maximum=RATIO_LIMITS[1],
                                          slider_range=RATIO_SLIDER, decimals=4,
                                          describe=ratio_note, add_text="+ Add ratio")
        self.ratio_list.setToolTip("Aspect ratio = anchor width / height; the slider spans "
                                   "1/32 to 32 on a log scale")
        self.ratio_list.values_edited.connect(
            lambda values: self._apply("ratios", aspect_ratios=tuple(values)))
        self.ratio_list.dragging.connect(self.state.set_dragging)
        form.addWidget(self.ratio_list)
        self._error_label(form, "ratios")

    def _build_summary(self, form: QVBoxLayout) -> None:
        form.addSpacing(4)
        self.anchors_label = _label("", "summary", wrap=True)
        self.expressible_label = _label("", "warning", wrap=True)
        form.addWidget(self.anchors_label)
        form.addWidget(self.expressible_label)

    def _build_matching(self, form: QVBoxLayout) -> None:
        self._section(form, "Matching and grid")
        grid = QGridLayout()
        grid.setHorizontalSpacing(8)
        grid.setVerticalSpacing(3)
        self.positive_spin = CompactSpinBox(0.01, 1.0, 3)
        self.negative_spin = CompactSpinBox(0.01, 1.0, 3)
        self.positive_spin.setToolTip("An anchor with IoU ≥ this is a positive (positive_iou)")
        self.negative_spin.setToolTip("An anchor with IoU < this is background (negative_iou)")
        for spin in (self.positive_spin, self.negative_spin):
            spin.setStepType(CompactSpinBox.StepType.DefaultStepType)
            spin.setSingleStep(0.05)
            spin.setFixedWidth(74)
            spin.valueChanged.connect(self._on_thresholds)
        grid.addWidget(QLabel("Positive IoU ≥"), 0, 0)
        grid.addWidget(self.positive_spin, 0, 1)
        grid.addWidget(QLabel("Negative IoU <"), 1, 0)
        grid.addWidget(self.negative_spin, 1, 1)
        self.offset_label = QLabel("Centre offset")
        self.offset_spin = CompactSpinBox(0.0, 1.0, 3)
        self.offset_spin.setStepType(CompactSpinBox.StepType.DefaultStepType)
        self.offset_spin.setSingleStep(0.05)
        self.offset_spin.setSuffix(" × stride")
        self.offset_spin.setFixedWidth(110)
        self.offset_spin.setToolTip("Centre of the first anchor, as a fraction of the stride")
        self.offset_spin.valueChanged.connect(
            lambda value: self._apply("options", center_offset=float(value)))
        grid.addWidget(self.offset_label, 2, 0)
        grid.addWidget(self.offset_spin, 2, 1, 1, 2)
        grid.setColumnStretch(2, 1)
        form.addLayout(grid)
        self.clip_check = QCheckBox("Clip anchors to the image")
        self.clip_check.toggled.connect(lambda on: self._apply("options", clip=bool(on)))
        self.low_quality_check = QCheckBox("Low-quality matches")
        self.low_quality_check.setToolTip("Also assign each box its highest-IoU anchors when "
                                          "they are below the positive threshold")
        self.low_quality_check.toggled.connect(
            lambda on: self._apply("options", low_quality_matches=bool(on)))
        form.addWidget(self.clip_check)
        form.addWidget(self.low_quality_check)
        self.fixed_label = _label("", "fixed", wrap=True)
        form.addWidget(self.fixed_label)
        self._error_label(form, "thresholds")
        self._error_label(form, "options")

    def _build_model_input(self, form: QVBoxLayout) -> None:
        self._section(form, "Model input")
        self.input_size_edit = QLineEdit()
        self.input_size_edit.setPlaceholderText("native size (or HxW)")
        self.input_size_edit.setToolTip("The size the detector sees, HxW such as 512x512; empty "
                                        "for each image's own size. Enter to apply.")
        self.input_size_edit.setClearButtonEnabled(True)
        self.resize_combo = FocusComboBox()
        self.resize_combo.addItems(list(RESIZE_MODES))
        self.resize_combo.setToolTip("stretch: scale each axis; letterbox: keep the aspect "
                                     "ratio and pad")
        row = QHBoxLayout()
        row.addWidget(self.input_size_edit, 3)
        row.addWidget(self.resize_combo, 2)
        form.addLayout(row)
        self.input_size_edit.editingFinished.connect(self._on_model_input)
        self.resize_combo.currentIndexChanged.connect(self._on_model_input)
        self._error_label(form, "input")

    # -- showing the state --------------------------------------------------------------------
    def sync_from_state(self) -> None:
        """Show `state.config` and `state.model_input` in every field that holds no refused
        edit, without emitting anything."""
        config, fw = self.state.config, FRAMEWORKS[self.state.config.framework]
        self._syncing = True
        try:
            self.framework_combo.setCurrentIndex(self.framework_combo.findData(config.framework))
            if "levels" not in self._invalid:
                self.level_table.set_levels(
                    list(zip(config.levels, config.strides, config.sizes, strict=True)))
            if "scales" not in self._invalid:
                self.scale_list.set_values(config.scales)
            if "ratios" not in self._invalid:
                self.ratio_list.set_values(config.aspect_ratios)
            if "thresholds" not in self._invalid:
                self.positive_spin.setValue(config.positive_iou)
                self.negative_spin.setValue(config.negative_iou)
            self._show_options(config, fw)
            if "input" not in self._invalid:
                size = self.state.model_input.size
                self.input_size_edit.setText("" if size is None else f"{size[0]}x{size[1]}")
                self.resize_combo.setCurrentText(self.state.model_input.resize)
                self.resize_combo.setEnabled(size is not None)
        finally:
            self._syncing = False
        self.ratio_hint.setText(ratio_hint(fw))
        self.ratio_hint.setVisible(bool(self.ratio_hint.text()))
        self._show_summary(config, fw)
        self._show_physical_sizes()

    def _show_physical_sizes(self) -> None:
        """'P3 32 px = 16 µs × 62.5 kHz' per level, when one pixel is the same time and
        bandwidth in every image (sizes are model-input pixels when a model input is set)."""
        table, model_input, config = self.state.table, self.state.model_input, self.state.config
        done_for = self._pixel_size_for
        if done_for is None or done_for[0] is not table or done_for[1] != model_input:
            self._pixel_size_for = (table, model_input)  # not again for every config step
            self._pixel_size = None if table is None else pixel_size(
                table.units, table.image_heights, table.image_widths, model_input.size,
                model_input.resize)
        size = self._pixel_size
        text = "" if size is None else "<br>".join(
            f"P{level} {size.describe(side)}"
            for level, side in zip(config.levels, config.sizes, strict=True))
        if text != self.physical_sizes_label.text():
            self.physical_sizes_label.setText(text)
        self.physical_sizes_label.setVisible(bool(text))

    def _show_options(self, config: AnchorConfig, fw: Framework) -> None:
        limits = fw.center_offset_limits
        self.offset_label.setVisible(limits is not None)
        self.offset_spin.setVisible(limits is not None)
        if limits is not None and "options" not in self._invalid:
            low, high, inclusive = limits
            self.offset_spin.setRange(low, high if inclusive else high - 0.001)
            self.offset_spin.setValue(effective_center_offset(config))
        self.clip_check.setVisible(fw.clip_configurable)
        self.low_quality_check.setVisible(fw.low_quality_configurable)
        if "options" not in self._invalid:
            self.clip_check.setChecked(effective_clip(config))
            self.low_quality_check.setChecked(effective_low_quality(config))
        self.fixed_label.setText(fixed_options_text(fw))
        self.fixed_label.setVisible(bool(self.fixed_label.text()))

    def _show_summary(self, config: AnchorConfig, fw: Framework) -> None:
        scales, ratios = len(config.scales), len(config.aspect_ratios)
        self.anchors_label.setText(
            f"Anchors per location: {scales} scale{'s' * (scales != 1)} × {ratios} "
            f"ratio{'s' * (ratios != 1)} = <b>{config.anchors_per_location}</b>")
        reasons = inexpressible_reasons(config)
        notes = [f"⚠ Not expressible in {fw.label}: {'; '.join(reasons)}"] if reasons else []
        band_note = sizes_out_of_order(config)
        if band_note is not None:
            notes.append(f"ⓘ {band_note[0].upper()}{band_note[1:]}.")
        fits, head = head_compatibility(config)
        if not fits:
            notes.append(f"ⓘ {head}")
        self.expressible_label.setText("<br>".join(notes))
        self.expressible_label.setVisible(bool(notes))

    def _show_error(self, section: str, message: str) -> None:
        label = self.error_labels[section]
        label.setText(message)
        label.setVisible(bool(message))

    def _on_state_changed(self) -> None:
        if not self._emitting:  # set elsewhere: whatever was refused here is void
            self._invalid.clear()
            for section in self.error_labels:
                self._show_error(section, "")
        self.sync_from_state()

    # -- edits ----------------------------------------------------------------------------------
    def _apply(self, section: str, **changes: Any) -> None:
        """Validate `changes` (this section's field values) against the config and apply them;
        a refused edit is shown under the section and the last valid config stays. Earlier
        refused edits of other sections are retried alongside."""
        if self._syncing:
            return
        others = {k: v for s, c in self._invalid.items() if s != section for k, v in c.items()}
        try:
            config = self.state.config.replace(**changes, **others)
            resolved = list(self._invalid)
        except InputError:
            try:
                config = self.state.config.replace(**changes)
            except InputError as error:
                self._invalid[section] = changes
                self._show_error(section, _message(error))
                return
            resolved = [section]
        for done in resolved:
            self._invalid.pop(done, None)
            self._show_error(done, "")
        self._set_config(config)

    def _set_config(self, config: AnchorConfig) -> None:
        self._emitting = True
        try:
            self.state.set_config(config)
        finally:
            self._emitting = False

    def edit_levels(self, levels: list[tuple[int, float, float]]) -> None:
        """Called by the level table after each edit of a level, stride or size."""
        self._apply("levels", levels=tuple(lv for lv, _, _ in levels),
                    strides=tuple(s for _, s, _ in levels), sizes=tuple(z for _, _, z in levels))

    def _on_thresholds(self, _value: float = 0.0) -> None:
        self._apply("thresholds", positive_iou=float(self.positive_spin.value()),
                    negative_iou=float(self.negative_spin.value()))

    def _on_framework(self, index: int) -> None:
        if self._syncing or index < 0:
            return
        name = self.framework_combo.itemData(index)
        self.state.set_config(with_framework(self.state.config, name))  # shown as external

    def _on_preset(self, index: int) -> None:
        name = self.preset_combo.itemText(index)
        self.preset_combo.setCurrentIndex(0)
        if index <= 0:
            return
        try:
            config = load_preset(name)
        except InputError as error:
            self._show_error("framework", _message(error))
            return
        self._show_error("framework", "")
        self.state.set_config(config)

    def _on_model_input(self, *_args: Any) -> None:
        if self._syncing:
            return
        text = self.input_size_edit.text().strip()
        try:
            model_input = parse_input_size(text or None, self.resize_combo.currentText())
        except InputError as error:
            self._invalid["input"] = {}
            self._show_error("input", _message(error).replace("--input-size", "input size"))
            return
        self._invalid.pop("input", None)
        self._show_error("input", "")
        self.resize_combo.setEnabled(model_input.size is not None)
        self._emitting = True
        try:
            self.state.set_model_input(model_input)
        finally:
            self._emitting = False


def _message(error: InputError) -> str:
    """'key: problem' for a refused edit (the config's own error names the key)."""
    if error.record and error.record.startswith("key '"):
        return f"{error.record[5:-1]}: {error.problem}"
    return error.problem
