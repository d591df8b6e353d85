"""The anchor panel edits the state's config live, refuses bad edits inline and mirrors configs
set elsewhere without sending them back."""

from __future__ import annotations

import math

import pytest

from core.analysis import ModelInput
from core.anchor_config import default_config, load_preset
from gui.anchor_panel import AnchorPanel
from gui.app import create_application
from gui.state import AppState

THIRDS = (1.0, 2 ** (1 / 3), 2 ** (2 / 3))


@pytest.fixture
def state():
    create_application()
    return AppState()


@pytest.fixture
def panel(qtbot, state):
    widget = AnchorPanel(state)
    widget.resize(330, 860)
    qtbot.addWidget(widget)
    widget.show()
    return widget


def record_configs(state: AppState) -> list:
    configs = []
    state.config_changed.connect(lambda: configs.append(state.config))
    return configs


def test_shows_the_default_config(panel, state):
    assert panel.framework_combo.currentData() == "keras-cv"
    assert panel.level_table.levels() == [(3, 8.0, 32.0), (4, 16.0, 64.0), (5, 32.0, 128.0),
                                          (6, 64.0, 128.0 * 2), (7, 128.0, 512.0)]
    assert [row[2].text() for row in panel.level_table.rows] == ["32", "64", "128", "256", "512"]
    assert [row.spin.text() for row in panel.ratio_list.rows] == ["0.5", "1", "2"]
    assert [row.note.text() for row in panel.ratio_list.rows] == ["1:2", "1:1", "2:1"]
    assert [row.spin.text() for row in panel.scale_list.rows] == ["1", "1.2599", "1.5874"]
    assert "3 scales × 3 ratios = <b>9</b>" in panel.anchors_label.text()
    assert panel.positive_spin.value() == 0.5 and panel.negative_spin.value() == 0.4
    assert panel.input_size_edit.text() == "" and not panel.resize_combo.isEnabled()


def test_change_a_ratio_sets_the_config(panel, state):
    configs = record_configs(state)
    panel.ratio_list.rows[0].spin.setValue(0.25)
    assert state.config.aspect_ratios == (0.25, 1.0, 2.0)
    assert len(configs) == 1
    assert panel.ratio_list.rows[0].note.text() == "1:4"
    slider = panel.ratio_list.rows[0].slider
    assert math.isclose(slider.value_at(slider.value()), 0.25, rel_tol=0.01)
    assert state.config.scales == THIRDS  # untouched values keep full precision


def test_dragging_a_scale_emits_many_configs_and_ends_on_the_shown_value(panel, state):
    configs = record_configs(state)
    row = panel.scale_list.rows[1]
    start = row.slider.value()
    for position in range(start, start + 200, 5):  # what a drag delivers: one position at a time
        row.slider.setValue(position)
        assert row.slider.value() == position  # the state's echo never moves the handle
    assert len(configs) >= 39
    assert len({c.scales[1] for c in configs}) == len(configs)  # each step a new scale
    last = state.config.scales
    assert last[1] == row.spin.value()
    assert math.isclose(last[1], row.slider.value_at(start + 195), rel_tol=1e-3)
    assert last[0] == THIRDS[0] and last[2] == THIRDS[2]
    row.spin.stepBy(2)  # arrow keys: adaptive steps, a tenth of the value's order of magnitude
    assert last[1] < state.config.scales[1] <= last[1] + 0.2
    assert state.config.scales[1] == row.spin.value() and len(configs) == 40
    assert row.slider.value() > start + 195


def test_ratio_slider_spans_1_32_to_32_on_a_log_scale(panel, state):
    slider = panel.ratio_list.rows[1].slider
    assert slider.value() == slider.maximum() // 2  # ratio 1 sits in the middle
    slider.setValue(slider.minimum())
    assert state.config.aspect_ratios[1] == pytest.approx(1 / 32, abs=1e-4)
    assert panel.ratio_list.rows[1].note.text() == "1:32"
    slider.setValue(slider.maximum())
    assert state.config.aspect_ratios[1] == 32.0
    slider.setValue(750)  # three quarters of 10 octaves: 2**2.5
    assert state.config.aspect_ratios[1] == pytest.approx(2**2.5, abs=1e-4)


def test_add_and_remove_ratios(panel, state):
    panel.ratio_list.add_button.click()
    assert state.config.aspect_ratios == (0.5, 1.0, 2.0, 4.0)
    assert len(panel.ratio_list.rows) == 4
    assert "3 scales × 4 ratios = <b>12</b>" in panel.anchors_label.text()
    panel.ratio_list.rows[1].remove_button.click()
    assert state.config.aspect_ratios == (0.5, 2.0, 4.0)
    assert [row.spin.text() for row in panel.ratio_list.rows] == ["0.5", "2", "4"]
    panel.ratio_list.rows[0].remove_button.click()
    panel.ratio_list.rows[0].remove_button.click()
    assert state.config.aspect_ratios == (4.0,)
    assert not panel.ratio_list.rows[0].remove_button.isEnabled()  # the list never empties
    panel.ratio_list.add_button.click()
    assert state.config.aspect_ratios == (4.0, 8.0)


def test_levels_add_remove_and_edit(panel, state):
    panel.level_table.finer_button.click()
    assert state.config.levels == (2, 3, 4, 5, 6, 7)
    assert state.config.strides[0] == 4.0 and state.config.sizes[0] == 16.0
    panel.level_table.rows[-1][3].click()  # remove the coarsest
    assert state.config.levels == (2, 3, 4, 5, 6)
    panel.level_table.rows[0][2].setValue(12)
    assert state.config.sizes == (12.0, 32.0, 64.0, 128.0, 256.0)
    panel.level_table.coarser_button.click()
    assert state.config.levels[-1] == 7 and state.config.strides[-1] == 128.0
    panel.level_table.coarser_button.click()
    panel.level_table.coarser_button.click()
    assert state.config.sizes[-1] == 2048.0
    assert panel.level_table.rows[-1][2].text() == "2048"  # no group separator to trip on


def test_invalid_edit_shows_message_and_keeps_config(panel, state):
    before = state.config
    configs = record_configs(state)
    panel.negative_spin.setValue(0.7)  # above positive_iou 0.5
    error = panel.error_labels["thresholds"]
    assert error.isVisibleTo(panel)
    assert "negative_iou" in error.text() and "must not exceed positive_iou" in error.text()
    assert state.config == before and configs == []
    assert panel.negative_spin.value() == 0.7  # the field keeps what the user asked for

    panel.ratio_list.rows[2].spin.setValue(3.0)  # other edits still apply meanwhile
    assert state.config.aspect_ratios == (0.5, 1.0, 3.0) and state.config.negative_iou == 0.4
    assert error.isVisibleTo(panel)

    panel.positive_spin.setValue(0.8)  # now the pair is valid
    assert (state.config.positive_iou, state.config.negative_iou) == (0.8, 0.7)
    assert not error.isVisibleTo(panel)

    panel.level_table.rows[1][0].setValue(3)  # two levels 3
    assert "levels" in panel.error_labels["levels"].text()
    assert state.config.levels == (3, 4, 5, 6, 7)
    panel.level_table.rows[1][0].setValue(4)
    assert not panel.error_labels["levels"].isVisibleTo(panel)


def test_model_input(panel, state):
    panel.input_size_edit.setText("384x640")
    panel.input_size_edit.editingFinished.emit()
    assert state.model_input == ModelInput((384, 640), "stretch")
    assert panel.resize_combo.isEnabled()
    panel.resize_combo.setCurrentText("letterbox")
    assert state.model_input == ModelInput((384, 640), "letterbox")
    panel.input_size_edit.setText("512 by 512")
    panel.input_size_edit.editingFinished.emit()
    assert "input size must be HxW" in panel.error_labels["input"].text()
    assert state.model_input == ModelInput((384, 640), "letterbox")
    panel.input_size_edit.setText("")
    panel.input_size_edit.editingFinished.emit()
    assert state.model_input.size is None
    assert not panel.error_labels["input"].isVisibleTo(panel)


def test_external_config_is_shown_without_being_sent_back(panel, state):
    panel.negative_spin.setValue(0.9)  # a refused edit, void once a config arrives
    emitted = []
    state.config_changed.connect(lambda: emitted.append(state.config))
    seed = load_preset("seed-notebook")
    state.set_config(seed)
    assert emitted == [seed] and state.config is seed
    assert [row.spin.text() for row in panel.ratio_list.rows] == \
        ["0.0989", "0.376", "0.844", "1.9752", "3.0362", "9.5392"]
    assert [row.note.text() for row in panel.ratio_list.rows][0] == "1:10"
    assert [row.spin.text() for row in panel.scale_list.rows] == ["1", "1.1892", "1.4142"]
    assert panel.negative_spin.value() == 0.4
    assert not panel.error_labels["thresholds"].isVisibleTo(panel)
    assert "3 scales × 6 ratios = <b>18</b>" in panel.anchors_label.text()
    inputs = []
    state.model_input_changed.connect(lambda: inputs.append(state.model_input))
    state.set_model_input(ModelInput((256, 256), "letterbox"))
    assert panel.input_size_edit.text() == "256x256"
    assert panel.resize_combo.currentText() == "letterbox"
    assert len(emitted) == 1 and inputs == [ModelInput((256, 256), "letterbox")]  # its own
    # editing after a sync builds on the new config, with its exact values
    panel.ratio_list.rows[0].spin.setValue(0.1)
    assert state.config.aspect_ratios[1:] == seed.aspect_ratios[1:]
    assert state.config.scales == seed.scales


def test_framework_switch_changes_hint_and_options(panel, state):
    assert not panel.ratio_hint.isVisibleTo(panel)
    assert panel.clip_check.isVisibleTo(panel) and panel.clip_check.isChecked()
    assert not panel.low_quality_check.isVisibleTo(panel)
    assert not panel.offset_spin.isVisibleTo(panel)
    panel.clip_check.setChecked(False)
    assert state.config.clip is False

    panel.framework_combo.setCurrentIndex(panel.framework_combo.findData("torchvision"))
    assert state.config.framework == "torchvision"
    assert state.config.clip is not True  # torchvision never clips
    assert state.config.aspect_ratios == (0.5, 1.0, 2.0)  # same anchors, still w/h
    assert panel.ratio_hint.isVisibleTo(panel)
    assert panel.ratio_hint.text() == "torchvision reads h/w; converted on export"
    assert not panel.clip_check.isVisibleTo(panel)
    assert panel.low_quality_check.isVisibleTo(panel) and panel.low_quality_check.isChecked()
    assert "anchors not clipped" in panel.fixed_label.text()
    panel.low_quality_check.setChecked(False)
    assert state.config.low_quality_matches is False

    panel.framework_combo.setCurrentIndex(panel.framework_combo.findData("detectron2"))
    assert panel.offset_spin.isVisibleTo(panel)
    panel.offset_spin.setValue(0.5)
    assert state.config.center_offset == 0.5

    panel.framework_combo.setCurrentIndex(panel.framework_combo.findData("keras-hub"))
    assert state.config.center_offset is None
    assert not panel.offset_spin.isVisibleTo(panel)
    assert not panel.expressible_label.isVisibleTo(panel)
    panel.scale_list.rows[1].spin.setValue(1.3)
    assert panel.expressible_label.isVisibleTo(panel)
    assert "KerasHub" in panel.expressible_label.text()
    assert "scales must be 2**(i/3)" in panel.expressible_label.text()


def test_preset_replaces_the_config(panel, state):
    index = panel.preset_combo.findText("torchvision-retinanet")
    panel.preset_combo.activated.emit(index)
    assert state.config == load_preset("torchvision-retinanet")
    assert panel.framework_combo.currentData() == "torchvision"
    assert panel.preset_combo.currentIndex() == 0  # back to the prompt
    assert state.config != default_config("keras-cv")


def test_fits_its_dock_and_renders(panel, state, tmp_path):
    content = panel.scroll.widget()
    for framework in ("torchvision", "detectron2", "keras-retinanet"):  # widest option sets
        panel.framework_combo.setCurrentIndex(panel.framework_combo.findData(framework))
        assert content.minimumSizeHint().width() <= 330 - 16  # no clipping beside a scroll bar
    state.set_config(load_preset("seed-notebook"))
    image = panel.grab()
    path = tmp_path / "anchor_panel.png"
    assert image.save(str(path))
    assert (image.width(), image.height()) == (330, 860)
    colour = image.toImage().pixelColor(2, image.height() - 3)
    assert colour.lightness() < 60  # the dark theme, not the default light grey


def test_each_framework_item_says_how_it_makes_anchors(panel):
    from PySide6.QtCore import Qt

    from core.frameworks import FRAMEWORKS

    combo = panel.framework_combo
    for index in range(combo.count()):
        fw = FRAMEWORKS[combo.itemData(index)]
        tip = combo.itemData(index, Qt.ItemDataRole.ToolTipRole)
        assert fw.ratio_meaning in tip and fw.size_rule in tip and fw.shape_order in tip
        assert ("rounded" in tip) == fw.rounds_half_extents
        assert fw.sources and all(source in tip for source in fw.sources)


def test_head_and_size_band_notes(panel, state):
    assert "pretrained" not in panel.expressible_label.text()
    state.set_config(load_preset("seed-notebook"))  # 18 anchors per location
    text = panel.expressible_label.text()
    assert panel.expressible_label.isVisibleTo(panel)
    assert "18 anchors per location" in text and "pretrained" in text
    assert "prediction_layer" in text  # the layers that are re-initialised, by name
    state.set_config(default_config().replace(sizes=(32, 30, 128, 256, 512)))
    text = panel.expressible_label.text()
    assert "size bands" in text and "pretrained" not in text
