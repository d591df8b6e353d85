"""Tools ▸ STFT sweep: sweeps the loaded sigmf: dataset in the background, plots recall and
ceiling against log2(nfft) as the core computes them, reopens the dataset at a clicked FFT size,
and refuses other kinds of datasets."""

import math
import os
from pathlib import Path

import pytest
from PySide6.QtCore import Qt, QThreadPool

from core.stft_sweep import stft_sweep
from gui.stft_sweep_dialog import StftSweepDialog
from tests.core.test_stft_sweep import carriers_and_bursts
from tests.gui.test_anchor_budget_dialog import _hover, _plot_pos

SWEPT = [16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192]


def _dialog(qtbot, window, first=16, last=8192):
    dialog = StftSweepDialog(window.state, window.open_dataset, window)
    dialog.first_combo.setCurrentText(str(first))
    dialog.last_combo.setCurrentText(str(last))
    dialog.resize(820, 620)
    dialog.show()
    qtbot.waitExposed(dialog)
    return dialog


def _screenshot(widget, tmp_path, name):
    """Saved for a person to look at (STFT_SWEEP_SHOTS=DIR keeps them outside tmp_path)."""
    folder = Path(os.environ.get("STFT_SWEEP_SHOTS", tmp_path))
    folder.mkdir(parents=True, exist_ok=True)
    assert widget.grab().save(str(folder / name))


def test_sweep_plots_recall_and_ceiling_and_click_reopens(window, load, qtbot, tmp_path):
    spec = f"sigmf:{carriers_and_bursts(tmp_path / 'rec')}?nfft=256"
    load(window, spec)
    state = window.state
    dialog = _dialog(qtbot, window)
    assert dialog.nffts() == SWEPT and dialog.hop_ratio() is None
    assert dialog.hop_spin.text() == "as the dataset (1)"
    assert dialog.run_button.isEnabled()
    dialog.run_button.click()
    qtbot.waitUntil(lambda: not dialog.running, timeout=60_000)

    expected = stft_sweep(spec, state.config, SWEPT, model_input=state.model_input)
    assert [p.nfft for p in dialog.points] == SWEPT
    x, y = dialog.recall_curve.getData()
    assert list(x) == [math.log2(n) for n in SWEPT]
    assert list(y) == pytest.approx([100 * p.recall for p in expected])
    _, ceiling = dialog.ceiling_curve.getData()
    assert list(ceiling) == pytest.approx([100 * p.ceiling_recall for p in expected])
    ticks = dialog.plot_widget.getPlotItem().getAxis("bottom")._tickLevels[0]
    assert [label for _, label in ticks] == [str(n) for n in SWEPT]
    assert dialog.current_line.value() == 8  # log2(256): the FFT size on screen
    assert dialog.current_line.label.toPlainText() == "on screen: 256"
    assert dialog.chosen_point.nfft == 256
    assert list(dialog.selected_ring.getData()[0]) == [8]
    assert dialog.status.text().startswith("10 FFT sizes in ")
    assert "best recall at nfft 32 (50.0 %)" in dialog.status.text()
    _screenshot(dialog, tmp_path, "stft_sweep_dialog.png")

    carrier = dialog.points[SWEPT.index(4096)]  # carriers become coverable at 4096
    pos = _plot_pos(dialog, 12, 100 * carrier.recall)
    viewport = dialog.plot_widget.viewport()
    _hover(viewport, pos)
    assert dialog.info.text().startswith(
        "nfft 4096, hop 4096 (244.1 Hz/row, 4.096 ms/column): recall 50.0 %, ceiling 50.0 %")
    assert "carrier 100 %, burst 0 %" in dialog.info.text()
    with qtbot.waitSignal(window.loader.loaded, timeout=60_000):
        qtbot.mouseClick(viewport, Qt.MouseButton.LeftButton, pos=pos)
    qtbot.waitUntil(lambda: not state.partial, timeout=60_000)
    assert state.table.spec == carrier.spec
    assert "nfft=4096" in carrier.spec and "hop=4096" in carrier.spec
    assert (state.table.image_heights == 4096).all()
    assert [p.nfft for p in dialog.points] == SWEPT  # same recordings: the sweep stays
    assert dialog.current_line.value() == 12 and dialog.chosen_point is carrier
    assert dialog.status.text() == "on screen: nfft 4096, hop 4096 (50.0 % recall)"
    assert list(dialog.selected_ring.getData()[0]) == [12]
    _screenshot(dialog, tmp_path, "stft_sweep_dialog_reopened.png")

    load(window, "demo?images=5")  # other recordings: the points go, the sweep is refused
    assert dialog.points == [] and not dialog.run_button.isEnabled()
    assert dialog.status.text() == "The STFT sweep needs a sigmf: dataset; this one is demo:."
    dialog.close_button.click()


def test_hop_ratio_and_range(window, load, qtbot, tmp_path):
    spec = f"sigmf:{carriers_and_bursts(tmp_path / 'rec')}?nfft=512&hop=128"
    load(window, spec)
    dialog = _dialog(qtbot, window, first=64, last=256)
    assert dialog.hop_spin.text() == "as the dataset (0.25)"
    dialog.last_combo.setCurrentText("32")  # cannot cross the first
    assert dialog.nffts() == [32]
    dialog.last_combo.setCurrentText("256")
    dialog.first_combo.setCurrentText("64")
    dialog.hop_spin.setValue(0.5)
    assert dialog.hop_ratio() == 0.5
    dialog.run()
    qtbot.waitUntil(lambda: not dialog.running, timeout=60_000)
    assert [(p.nfft, p.hop) for p in dialog.points] == [(64, 32), (128, 64), (256, 128)]
    dialog.hop_spin.setValue(0.0)
    assert dialog.hop_ratio() is None
    dialog.run()
    qtbot.waitUntil(lambda: not dialog.running, timeout=60_000)
    assert [(p.nfft, p.hop) for p in dialog.points] == [(64, 16), (128, 32), (256, 64)]
    assert dialog.chosen_point is None  # 512 / 128 on screen was not swept
    assert dialog.current_line.value() == 9


def test_closing_cancels_the_sweep(window, load, qtbot, tmp_path):
    load(window, f"sigmf:{carriers_and_bursts(tmp_path / 'rec')}")
    dialog = _dialog(qtbot, window)
    dialog.run()
    dialog.reject()
    assert dialog.background.cancel_requested and not dialog.running and not dialog.isVisible()
    assert QThreadPool.globalInstance().waitForDone(30_000)
    assert dialog.points == []


def test_needs_a_sigmf_dataset(window, load, qtbot):
    dialog = StftSweepDialog(window.state, window.open_dataset, window)
    assert not dialog.run_button.isEnabled()
    assert dialog.status.text() == "Load a sigmf: dataset first."
    load(window, "demo?images=3")
    assert not dialog.run_button.isEnabled()
    assert "needs a sigmf: dataset" in dialog.status.text()
    dialog.run()  # refused without a sweep
    assert not dialog.running and dialog.points == []


def test_tools_menu_has_stft_sweep(window):
    tools = next(action.menu() for action in window.menuBar().actions()
                 if action.text() == "&Tools")
    texts = [action.text() for action in tools.actions()]
    assert texts.index("STFT sweep…") == texts.index("Anchor budget…") + 1
