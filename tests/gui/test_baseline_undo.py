"""Before → after compares with the state before the gesture (a slider press → release, a burst
of spin-box steps), or with a pinned config; Ctrl+Z / Ctrl+Y undo and redo whole gestures."""

from __future__ import annotations

from PySide6.QtCore import Qt

from core.analysis import analyze

SPEC = "demo?images=40&seed=3"


def settle(window, qtbot) -> None:
    qtbot.waitUntil(lambda: window.state.is_current and not window.coverage.busy,
                    timeout=30_000)
    window.report.flush()


def recall_of(state, config) -> float:
    return analyze(state.table, config, state.model_input).report.recall


def test_a_drag_is_compared_with_where_it_started(window, load, qtbot):
    load(window, SPEC)
    settle(window, qtbot)
    state, report = window.state, window.report
    start = state.config
    slider = window.anchor_panel.ratio_list.rows[0].slider
    origin = slider.value()
    slider.setSliderDown(True)
    for step in range(1, 15):
        slider.setValue(origin - 25 * step)
        qtbot.wait(15)
    slider.setSliderDown(False)
    settle(window, qtbot)
    before, after = recall_of(state, start), recall_of(state, state.config)
    assert state.config != start and abs(after - before) >= 0.001
    assert state.previous_report.recall == before
    assert report.recall_before.text() == f"was {100 * before:.1f} %"
    assert report.recall_delta.text().replace("−", "-") == f"{100 * (after - before):+.1f} pp"
    # one gesture, one undo step: Ctrl+Z goes back to where the drag started
    qtbot.keyClick(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert state.config == start
    dragged = state.history.redo_stack[-1]
    qtbot.keyClick(window, Qt.Key.Key_Y, Qt.KeyboardModifier.ControlModifier)
    assert state.config == dragged


def test_a_burst_of_steps_is_one_gesture(window, load, qtbot):
    load(window, SPEC)
    settle(window, qtbot)
    state = window.state
    start = state.config
    spin = window.anchor_panel.ratio_list.rows[0].spin
    for _ in range(6):  # a spin box held down: steps closer than the gesture gap
        spin.stepBy(-1)
        qtbot.wait(20)
    settle(window, qtbot)
    assert state.config != start
    assert state.previous_report.recall == recall_of(state, start)
    assert state.history.undo_stack == [start]
    state.end_gesture()  # a pause: the next edit is a new gesture, compared with this state
    middle = state.config
    spin.stepBy(-1)
    settle(window, qtbot)
    assert state.previous_report.recall == recall_of(state, middle)
    assert state.history.undo_stack == [start, middle]
    assert state.undo() and state.config == middle
    assert state.undo() and state.config == start
    assert not state.undo() and window.undo_action.isEnabled() is False
    state.set_config(start.replace(aspect_ratios=(0.25, 1.0, 4.0)))  # a new change: no redo
    assert state.history.redo_stack == [] and not window.redo_action.isEnabled()


def test_a_pinned_config_stays_the_before(window, load, qtbot):
    load(window, SPEC)
    settle(window, qtbot)
    state, report = window.state, window.report
    pinned = state.config
    window.pin_action.trigger()
    assert window.pin_action.isChecked()
    for ratios in ((0.2, 1.0, 5.0), (0.1, 1.0, 10.0)):
        state.set_config(state.config.replace(aspect_ratios=ratios))
        state.end_gesture()
        settle(window, qtbot)
        assert state.previous_report.recall == recall_of(state, pinned)
        assert report.recall_before.text().startswith("vs pinned")
    window.pin_action.trigger()  # unpinned: compared with the state before the last change
    settle(window, qtbot)
    assert state.previous_report.recall == recall_of(
        state, pinned.replace(aspect_ratios=(0.2, 1.0, 5.0)))
    assert report.recall_before.text().startswith("was")


def test_a_baseline_nobody_computed_is_computed_at_rest(window, load, qtbot):
    load(window, SPEC)
    settle(window, qtbot)
    state = window.state
    first = state.config.replace(aspect_ratios=(0.3, 1.0, 3.0))
    state.set_config(first)
    state.end_gesture()  # the user moves on before `first` is computed
    state.set_config(first.replace(aspect_ratios=(0.15, 1.0, 6.0)))
    settle(window, qtbot)
    qtbot.waitUntil(lambda: state.previous_report is not None, timeout=30_000)
    assert state.previous_report.recall == recall_of(state, first)
