"""The family panel shows a family config without emitting, emits exactly one validated config
per edit with only that value changed, refuses bad edits inline, and fits the anchor panel."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from core.assigners.yolov5 import YOLOV5S_ANCHORS
from core.assigners.yolov8 import Yolov8Params
from core.family_config import FAMILIES, FamilyConfig, default_family_config, with_params
from gui.app import create_application
from gui.family_panel import YOLOV5_HINT, FamilyPanel

NARROWEST_CONTENT = 280 - 2 * 10  # the anchor panel's minimum width less its form margins


@pytest.fixture
def panel(qtbot):
    create_application()
    widget = FamilyPanel()
    widget.resize(330, 700)
    qtbot.addWidget(widget)
    widget.show()
    return widget


def record(panel: FamilyPanel) -> list[FamilyConfig]:
    configs: list[FamilyConfig] = []
    panel.config_edited.connect(configs.append)
    return configs


def shown(panel: FamilyPanel, config: FamilyConfig) -> list[FamilyConfig]:
    """Show `config` and start recording what the panel emits."""
    panel.set_config(config)
    return record(panel)


def plain(text: str) -> str:
    return text.replace("\u200b", "")  # the break hints in long source paths


# -- every family -------------------------------------------------------------------------------
@pytest.mark.parametrize("name", list(FAMILIES))
def test_header_names_the_real_code_and_what_a_positive_is(panel, name):
    configs = record(panel)
    config = default_family_config(name)
    panel.set_config(config)
    family = FAMILIES[name]
    assert panel.title_label.text() == family.label
    assert plain(panel.source_label.text()) == f"Real code: {family.sources[0]}"
    assert panel.positives_label.text() == f"Positives: {family.positives}"
    assert panel.note_label.isVisibleTo(panel) == bool(family.note)
    assert [n for n, e in panel.editors.items() if e.isVisibleTo(panel)] == [name]
    assert panel.config() is config and configs == []


@pytest.mark.parametrize("name", list(FAMILIES))
def test_every_family_fits_the_narrowest_anchor_panel(panel, name, tmp_path):
    panel.set_config(default_family_config(name))
    assert panel.minimumSizeHint().width() <= NARROWEST_CONTENT
    panel.grab().save(str(tmp_path / f"family_panel_{name}.png"))


def test_switching_family_voids_refused_edits(panel):
    configs = shown(panel, default_family_config("yolov5"))
    panel.editors["yolov5"].request("anchor_t", anchor_t=0.0)
    assert panel.editors["yolov5"].error_labels["anchor_t"].isVisibleTo(panel)
    panel.set_config(default_family_config("fcos"))
    panel.set_config(default_family_config("yolov5"))
    assert not panel.editors["yolov5"].error_labels["anchor_t"].isVisibleTo(panel)
    assert panel.editors["yolov5"].anchor_t_spin.text() == "4" and configs == []


# -- YOLOv5 -------------------------------------------------------------------------------------
def anchor_texts(panel: FamilyPanel) -> list[list[str]]:
    return [[spin.text() for pair in level for spin in pair]
            for level in panel.editors["yolov5"].anchor_spins]


def test_yolov5_default_is_shown(panel):
    configs = shown(panel, default_family_config("yolov5"))
    editor = panel.editors["yolov5"]
    assert [label.text() for label in editor.level_labels] == \
        ["P3 / stride 8", "P4 / stride 16", "P5 / stride 32"]
    assert anchor_texts(panel) == [["10", "13", "16", "30", "33", "23"],
                                   ["30", "61", "62", "45", "59", "119"],
                                   ["116", "90", "156", "198", "373", "326"]]
    assert editor.anchor_t_spin.text() == "4"
    assert editor.hint.text() == YOLOV5_HINT
    assert configs == []


def test_yolov5_anchors_show_four_significant_digits_and_stay_exact(panel):
    exact = ((12.345678, 0.123456), (1234.5, 99.99))
    config = FamilyConfig("yolov5", with_params(default_family_config("yolov5"),
                                                strides=(8,), anchors=(exact,)).params)
    configs = shown(panel, config)
    assert anchor_texts(panel) == [["12.35", "0.1235", "1235", "99.99"]]
    panel.editors["yolov5"].anchor_spins[0][1][1].setValue(50)
    assert len(configs) == 1
    assert configs[0].params.anchors == (((12.345678, 0.123456), (1234.5, 50.0)),)


def test_yolov5_anchor_edit_emits_one_config(panel):
    default = default_family_config("yolov5")
    configs = shown(panel, default)
    panel.editors["yolov5"].anchor_spins[1][2][1].setValue(100)  # P4, third anchor, height
    assert len(configs) == 1
    anchors = [list(level) for level in YOLOV5S_ANCHORS]
    anchors[1][2] = (59.0, 100.0)
    assert configs[0] == with_params(default, anchors=tuple(tuple(a) for a in anchors))
    assert panel.config() is configs[0]


def test_yolov5_typed_anchor_t_counts_once_on_enter(panel, qtbot):
    default = default_family_config("yolov5")
    configs = shown(panel, default)
    spin = panel.editors["yolov5"].anchor_t_spin
    spin.setFocus()
    spin.selectAll()
    qtbot.keyClicks(spin, "2.5")
    assert configs == []  # nothing while typing
    qtbot.keyClick(spin, Qt.Key.Key_Return)
    assert configs == [with_params(default, anchor_t=2.5)]


def test_yolov5_add_and_remove_an_anchor_on_every_level(panel):
    default = default_family_config("yolov5")
    configs = shown(panel, default)
    editor = panel.editors["yolov5"]
    editor.add_button.click()
    assert len(configs) == 1
    added = configs[0].params.anchors
    assert [len(level) for level in added] == [4, 4, 4]
    # each level's largest by area, 1.5 times larger
    assert [level[-1] for level in added] == [(49.5, 34.5), (88.5, 178.5), (559.5, 489.0)]
    assert [level[:3] for level in added] == list(YOLOV5S_ANCHORS)
    assert [len(level) for level in editor.anchor_spins] == [4, 4, 4]
    assert anchor_texts(panel)[2][-2:] == ["559.5", "489"]

    editor.remove_button.click()
    assert len(configs) == 2 and configs[1] == default
    editor.remove_button.click()
    editor.remove_button.click()
    assert [len(level) for level in configs[-1].params.anchors] == [1, 1, 1]
    assert not editor.remove_button.isEnabled()
    editor.remove_anchor()  # never below one anchor per level
    assert len(configs) == 4 and anchor_texts(panel)[0] == ["10", "13"]


def test_yolov5_refused_values_show_inline_and_emit_nothing(panel):
    default = default_family_config("yolov5")
    configs = shown(panel, default)
    editor = panel.editors["yolov5"]
    # what spin boxes with wider limits would send: the file rules refuse both
    editor.request("anchor_t", anchor_t=0.0)
    zero_width = ((0.0, 13.0), *YOLOV5S_ANCHORS[0][1:])
    editor.request("anchors", anchors=(zero_width, *YOLOV5S_ANCHORS[1:]))
    assert configs == [] and panel.config() == default
    for section in ("anchor_t", "anchors"):
        error = editor.error_labels[section]
        assert error.isVisibleTo(panel)
        assert error.text().startswith(f"{section}: must be a positive number")

    editor.anchor_spins[0][0][0].setValue(11)  # a valid anchor edit applies meanwhile
    assert len(configs) == 1 and configs[0].params.anchors[0][0] == (11.0, 13.0)
    assert configs[0].params.anchor_t == 4.0
    assert not editor.error_labels["anchors"].isVisibleTo(panel)
    assert editor.error_labels["anchor_t"].isVisibleTo(panel)

    editor.anchor_t_spin.setValue(3)
    assert configs[-1].params.anchor_t == 3.0 and len(configs) == 2
    assert not editor.error_labels["anchor_t"].isVisibleTo(panel)


def test_yolov5_echo_of_its_own_edit_keeps_a_refused_field(panel):
    """Wired to an app state that echoes every config back, a refused edit elsewhere stays."""
    configs = shown(panel, default_family_config("yolov5"))
    panel.config_edited.connect(panel.set_config)
    editor = panel.editors["yolov5"]
    editor.request("anchor_t", anchor_t=-1.0)  # refused by the file rules
    editor.anchor_spins[2][0][0].setValue(120)
    assert len(configs) == 1 and editor.error_labels["anchor_t"].isVisibleTo(panel)
    assert editor.anchor_spins[2][0][0].text() == "120"


# -- FCOS ---------------------------------------------------------------------------------------
def test_fcos_default_is_shown(panel):
    configs = shown(panel, default_family_config("fcos"))
    editor = panel.editors["fcos"]
    assert [label.text() for label in editor.level_labels] == \
        ["P3 / stride 8", "P4 / stride 16", "P5 / stride 32", "P6 / stride 64",
         "P7 / stride 128"]
    assert [spin.text() for spin in editor.size_spins] == ["8", "16", "32", "64", "128"]
    assert [label.text() for label in editor.range_labels] == \
        ["(0, 64)", "(64, 128)", "(128, 256)", "(256, 512)", "(512, ∞)"]
    assert editor.radius_spin.value() == 1.5
    assert configs == []


def test_fcos_ranges_follow_a_size_change(panel):
    default = default_family_config("fcos")
    configs = shown(panel, default)
    editor = panel.editors["fcos"]
    editor.size_spins[1].setValue(24)
    assert configs == [with_params(default, anchor_sizes=(8.0, 24.0, 32.0, 64.0, 128.0))]
    assert [label.text() for label in editor.range_labels][:3] == \
        ["(0, 64)", "(96, 192)", "(128, 256)"]
    editor.size_spins[4].setValue(11)  # torchvision rounds the half-side 5.5 to 6
    assert configs[-1].params.anchor_sizes[4] == 11.0
    assert editor.range_labels[4].text() == "(48, ∞)  side 12"


def test_fcos_radius_steps_by_a_quarter(panel):
    default = default_family_config("fcos")
    configs = shown(panel, default)
    panel.editors["fcos"].radius_spin.stepBy(1)
    assert configs == [with_params(default, center_sampling_radius=1.75)]


# -- ATSS ---------------------------------------------------------------------------------------
def test_atss_default_is_shown(panel):
    configs = shown(panel, default_family_config("atss"))
    editor = panel.editors["atss"]
    assert editor.scale_spin.value() == 8 and editor.topk_spin.text() == "9"
    assert [label.text() for label in editor.level_labels] == \
        ["P3 / stride 8", "P4 / stride 16", "P5 / stride 32", "P6 / stride 64",
         "P7 / stride 128"]
    assert [label.text() for label in editor.side_labels] == ["64", "128", "256", "512", "1024"]
    assert configs == []


def test_atss_scale_and_topk_edits(panel):
    default = default_family_config("atss")
    configs = shown(panel, default)
    editor = panel.editors["atss"]
    editor.scale_spin.setValue(4.5)
    assert configs == [with_params(default, octave_base_scale=4.5)]
    assert [label.text() for label in editor.side_labels] == ["36", "72", "144", "288", "576"]
    editor.topk_spin.setValue(12)
    assert len(configs) == 2 and configs[1].params.topk == 12
    assert type(configs[1].params.topk) is int
    assert configs[1] == with_params(default, octave_base_scale=4.5, topk=12)


# -- YOLOv8 -------------------------------------------------------------------------------------
def test_yolov8_default_is_shown(panel):
    configs = shown(panel, default_family_config("yolov8"))
    combo = panel.editors["yolov8"].semantics_combo
    assert [combo.itemText(i) for i in range(combo.count())] == [
        "≤ 8.3.x: strictly inside",
        "8.4.0 – 8.4.127: sides < 8 px widened to 16",
        "≥ 8.4.128: sides < 16 px widened to 16",
    ]
    assert combo.currentData() == "8.4.128"
    assert panel.editors["yolov8"].strides_label.text() == \
        "P3 / stride 8, P4 / stride 16, P5 / stride 32"
    assert "at least one candidate point" in panel.note_label.text()
    assert "not the full task-aligned assignment" in panel.note_label.text()
    assert configs == []


@pytest.mark.parametrize("semantics", ["8.3", "8.4.0"])
def test_yolov8_combo_emits_the_semantics_key(panel, semantics):
    default = default_family_config("yolov8")
    configs = shown(panel, default)
    combo = panel.editors["yolov8"].semantics_combo
    combo.setCurrentIndex(combo.findData(semantics))
    assert configs == [with_params(default, semantics=semantics)]


def test_yolov8_rule_the_strides_cannot_have_is_refused(panel):
    one_level = FamilyConfig("yolov8", Yolov8Params(strides=(8,), semantics="8.3"))
    configs = shown(panel, one_level)
    editor = panel.editors["yolov8"]
    combo = editor.semantics_combo
    assert combo.itemText(1) == "8.4.0 – 8.4.127: needs two levels"
    combo.setCurrentIndex(combo.findData("8.4.0"))
    assert configs == [] and panel.config() is one_level
    assert editor.error_labels["semantics"].text() == \
        "semantics: the 8.4.0 rule widens to strides[1]: it needs two levels"
    assert editor.error_labels["semantics"].isVisibleTo(panel)
    combo.setCurrentIndex(combo.findData("8.4.128"))
    assert configs == [FamilyConfig("yolov8", Yolov8Params(strides=(8,), semantics="8.4.128"))]
    assert not editor.error_labels["semantics"].isVisibleTo(panel)
