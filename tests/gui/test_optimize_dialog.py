"""Optimize runs in the background, can be cancelled, and Apply sets the found config."""

from gui.optimize_dialog import OptimizeDialog


def test_optimize_then_apply(window, load, qtbot):
    load(window, "demo?images=30&seed=1")
    window.coverage.wait(60)
    state = window.state
    before = state.result.report.recall
    dialog = OptimizeDialog(state, window)
    dialog.ratio_spin.setValue(4)
    dialog.scale_spin.setValue(2)
    dialog.budget_spin.setValue(3)
    dialog.start()
    assert dialog.running and not dialog.start_button.isEnabled()
    qtbot.waitUntil(lambda: dialog.result is not None, timeout=60_000)
    assert "before" in dialog.outcome.text() and dialog.apply_button.isEnabled()
    with qtbot.waitSignal(state.coverage_changed, timeout=30_000):
        dialog.apply_button.click()
    assert len(state.config.aspect_ratios) == 4 and len(state.config.scales) == 2
    assert state.result.report.recall >= before - 1e-12


def test_cancel_keeps_config(window, load, qtbot):
    load(window, "demo?images=30&seed=1")
    state = window.state
    config = state.config
    dialog = OptimizeDialog(state, window)
    dialog.budget_spin.setValue(60)
    assert not dialog.cancel_button.isVisibleTo(dialog)  # one pair: Start / Close
    assert dialog.discard_button.text() == "Close" and dialog.start_button.isDefault()
    dialog.start()
    assert dialog.cancel_button.isVisibleTo(dialog)  # while searching: Stop only
    assert not dialog.discard_button.isVisibleTo(dialog)
    dialog.cancel_button.click()
    qtbot.waitUntil(lambda: not dialog.running, timeout=30_000)
    assert dialog.result is not None and dialog.result.stopped == "cancelled"
    assert not dialog.cancel_button.isVisibleTo(dialog)
    assert dialog.apply_button.isDefault() and dialog.discard_button.isVisibleTo(dialog)
    dialog.discard_button.click()
    assert state.config == config
