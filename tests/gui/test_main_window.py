"""The real main window, driven like a user: load, retune, jump to an unmatched box, export,
survive bad input, cancel a load, render offscreen."""

import json
import subprocess
import sys

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox

from core.anchor_config import load_config
from tests.conftest import REPO_ROOT

ROOT = REPO_ROOT


def loaded_with_coverage(window, load, spec="demo?images=40&seed=3"):
    load(window, spec)
    window.coverage.wait(60)
    assert window.state.result is not None
    return window.state


def test_loads_demo_and_navigates(window, load):
    state = loaded_with_coverage(window, load)
    table = state.table
    assert table.image_count == 40 and window.image_spin.maximum() == 39
    assert "40 images" in window.dataset_label.text()
    window.next_button.click()
    assert state.image_index == 1
    rows = state.boxes_of_image(1)
    assert (table.image[rows] == 1).all() and len(rows) == (table.image == 1).sum()
    matched = state.result.coverage.matched[rows]
    xs, _ = window.view.matched_item.getData()
    xs_unmatched, _ = window.view.unmatched_item.getData()
    assert len(xs) == 6 * matched.sum() and len(xs_unmatched) == 6 * (~matched).sum()
    image = window.view.image_item.image
    assert image.shape == (table.image_heights[1], table.image_widths[1])


def test_ratio_change_updates_recall(window, load, qtbot):
    state = loaded_with_coverage(window, load)
    before = state.result.report.recall
    panel = window.anchor_panel
    with qtbot.waitSignal(state.coverage_changed, timeout=30_000):
        state.set_config(state.config.replace(aspect_ratios=(0.08, 0.5, 1.0, 2.0, 8.0)))
    after = state.result.report.recall
    assert after != before
    assert state.previous_report.recall == before
    assert panel.ratio_list is not None
    assert f"{100 * after:.1f}" in window.report.recall_value.text()
    assert f"{100 * after:.1f}" in window.coverage_label.text()


def test_unmatched_table_jumps_to_box(window, load, qtbot):
    state = loaded_with_coverage(window, load)
    view = window.report.uncovered.view
    model = view.model()
    assert model.rowCount() == int((~state.result.coverage.matched).sum())
    target_index = model.index(model.rowCount() - 1, 0)
    view.scrollTo(target_index)
    rect = view.visualRect(target_index)
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    row = state.selected_box
    assert row >= 0 and not state.result.coverage.matched[row]
    assert state.image_index == state.table.image[row]
    assert window.image_spin.value() == state.image_index
    xs, ys = window.view.selected_item.getData()
    box = state.table.xyxy(np.array([row]))[0]
    assert np.nanmin(xs) == box[0] and np.nanmax(ys) == box[3]


def test_next_unmatched_image(window, load):
    state = loaded_with_coverage(window, load)
    window.next_uncovered_button.click()
    index = state.image_index
    rows = state.boxes_of_image(index)
    assert (~state.result.coverage.matched[rows]).any()


def test_export_and_read_back(window, load, tmp_path):
    from gui.export_dialog import ExportDialog

    loaded_with_coverage(window, load)
    config = window.state.config.replace(aspect_ratios=(0.1, 1.0, 9.5))
    dialog = ExportDialog(config, window, "json")
    path = tmp_path / "exported.json"
    dialog.save_to(str(path))
    assert load_config(path) == config
    dialog.format_combo.setCurrentText("keras-cv")
    assert "keras_cv.layers.AnchorGenerator" in dialog.preview.toPlainText()
    assert "9.5" in dialog.preview.toPlainText()
    dialog.format_combo.setCurrentText("keras-hub")  # sizes/scales not 2**(i/n): refused
    assert dialog.problem_label.isVisibleTo(dialog) or dialog.preview.toPlainText()


def test_save_and_open_config(window, tmp_path, monkeypatch):
    path = tmp_path / "tuned.yaml"
    config = window.state.config.replace(scales=(1.0, 1.5))
    window.state.set_config(config)
    monkeypatch.setattr("gui.main_window.QFileDialog.getSaveFileName",
                        lambda *a, **k: (str(path), ""))
    window.ask_save_config()
    window.state.set_config(config.replace(scales=(2.0,)))
    window.open_config(str(path))
    assert window.state.config == config
    saved = json.loads(window.settings.value("last_config"))
    assert saved["scales"] == [1.0, 1.5]


def test_bad_dataset_keeps_previous(window, load, qtbot, monkeypatch):
    load(window, "demo?images=5")
    messages = []
    monkeypatch.setattr(QMessageBox, "warning", lambda *args: messages.append(args[2]))
    with qtbot.waitSignal(window.loader.failed, timeout=10_000):
        window.open_dataset("coco:/nonexistent/annotations.json")
    assert messages and "annotations.json" in messages[0]
    assert window.state.table.image_count == 5


def test_cancel_keeps_previous(window, load, qtbot):
    load(window, "demo?images=5")
    window.open_dataset("demo?images=300000")
    with qtbot.waitSignal(window.loader.cancelled, timeout=5_000):
        window.cancel_button.click()
    assert window.state.table.image_count == 5
    assert not window.cancel_button.isVisible()


def test_click_selects_box_and_shows_positives(window, load, qtbot):
    state = loaded_with_coverage(window, load)
    coverage = state.result.coverage
    row = int(np.flatnonzero(coverage.positives > 0)[0])
    state.select_box(row)
    x1, y1, x2, y2 = state.table.xyxy(np.array([row]))[0]
    window._on_view_clicked((x1 + x2) / 2, (y1 + y2) / 2)
    assert state.selected_box >= 0
    xs, _ = window.view.positive_item.getData()
    assert len(xs) == 6 * coverage.positives[state.selected_box]


def test_screenshot_command(tmp_path):
    out = tmp_path / "window.png"
    result = subprocess.run(
        [sys.executable, "main.py", "screenshot", "--dataset", "demo?images=4", "--out", str(out),
         "--size", "1400x900"], cwd=ROOT, capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stderr
    from PySide6.QtGui import QImage

    image = QImage(str(out))
    assert (image.width(), image.height()) == (1400, 900)


def boxes_of(result) -> int:
    """The size of the table a result (exact or estimated) was computed for."""
    return result.estimate.total_boxes if result.estimate else len(result.coverage)


def test_first_load_shows_boxes_as_they_stream_in(window, qtbot):
    previews = []
    window.loader.preview.connect(lambda table, *_: previews.append(len(table)))
    computed_on = []
    window.state.coverage_changed.connect(
        lambda: computed_on.append(boxes_of(window.state.result)))
    with qtbot.waitSignal(window.loader.loaded, timeout=120_000):
        window.open_dataset("demo?images=150000")
    assert previews, "a long first load should show partial tables"
    assert previews == sorted(previews) and previews[-1] <= len(window.state.table)
    assert "(loading…)" not in window.dataset_label.text()
    window.coverage.wait(120)
    assert computed_on and set(computed_on) == {len(window.state.table)}  # never on a preview


def test_model_input_has_its_own_signal_and_recomputes(window, load, qtbot):
    from core.analysis import ModelInput, analyze

    state = loaded_with_coverage(window, load)
    configs = []
    state.config_changed.connect(lambda: configs.append(state.config))
    model_input = ModelInput((256, 1024), "stretch")
    with qtbot.waitSignal(state.model_input_changed, timeout=5_000):
        state.set_model_input(model_input)
    qtbot.waitUntil(lambda: state.is_current, timeout=30_000)
    assert configs == [] and state.result.model_input == model_input
    expected = analyze(state.table, state.config, model_input).report.recall
    assert state.result.report.recall == expected
    window.histograms.flush()
    assert "model-input px" in window.histograms.density_plot.plot.getAxis("bottom").labelText
