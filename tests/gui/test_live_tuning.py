"""Results follow the hand: during a slider drag with a slow engine, results for intermediate
configs are shown, each labelled as what it is, and at rest the window shows the exact result of
the final config (docs/live-tuning.md)."""

from __future__ import annotations

import time

import pytest

from core.analysis import CoverageSession, analyze

SLOW_SECONDS = 0.06  # each computation, so that the drag outruns the engine


@pytest.fixture
def slow_engine(monkeypatch):
    """Estimates on a 12-image sample and every computation slowed down."""
    compute, estimate = CoverageSession.compute, CoverageSession.estimate

    def slow_compute(self, config):
        time.sleep(SLOW_SECONDS)
        return compute(self, config)

    def slow_estimate(self, config, image_index=None):
        time.sleep(SLOW_SECONDS / 2)
        return estimate(self, config, image_index)

    monkeypatch.setattr(CoverageSession, "compute", slow_compute)
    monkeypatch.setattr(CoverageSession, "estimate", slow_estimate)
    monkeypatch.setattr(CoverageSession, "sample_boxes", 100)


def test_drag_shows_labelled_intermediate_results_then_the_exact_one(window, load, qtbot,
                                                                     slow_engine):
    load(window, "demo?images=60&seed=5")
    window.coverage.wait(60)
    state, report = window.state, window.report
    assert state.is_current and len(state.table) > 2 * CoverageSession.sample_boxes

    emitted, shown = [], []
    state.coverage_changed.connect(lambda: emitted.append(state.result))
    set_result = state.set_result

    def counting_set_result(result, *args):
        shown.append(result)
        set_result(result, *args)

    state.set_result = counting_set_result
    slider = window.anchor_panel.ratio_list.rows[0].slider
    origin = slider.value()
    seen = []  # what the report said at each step: (config of result, exact, status, recall)
    slider.setSliderDown(True)  # the hand takes the slider
    assert state.dragging
    for step in range(1, 25):
        slider.setValue(origin - 12 * step)
        qtbot.wait(25)
        report.flush()
        if state.result is not None:
            seen.append((state.result.config, state.result.exact, state.is_current,
                         report.live_status.text(), report.recall_value.text()))
    slider.setSliderDown(False)  # ... and lets go
    assert not state.dragging
    final = state.config
    qtbot.waitUntil(lambda: state.is_current, timeout=10_000)
    report.flush()
    window.histograms.flush()

    # results for configs the hand had already left were shown during the drag, labelled
    intermediate = [s for s in seen if s[0] != final and s[0] != seen[0][0]]
    assert len({s[0] for s in intermediate}) >= 2, "the report did not follow the drag"
    assert any(not exact for _, exact, _, _, _ in seen), "no estimate while the slider moved"
    for _, exact, current, status, recall in seen:
        if not current:  # never a number for an older config as if it were current
            assert status, "a result that is not the exact current one shown unlabelled"
        if not exact:
            assert recall.startswith("≈") and "estimate from" in status

    # every result shown was announced
    assert emitted == shown and len(shown) >= 3

    # at rest: the exact result of the final config, shown as such
    assert state.result.exact and state.result.config == final
    exact = analyze(state.table, final, state.model_input).report
    assert state.result.report.recall == exact.recall
    assert report.recall_value.text() == f"{100 * exact.recall:.1f} %"
    assert report.live_status.text() == "" and not report.live_status.isVisible()
    assert report.uncovered.view.isEnabled()
    assert report.uncovered.model.unmatched_count() == exact.uncovered_boxes
    assert "exact" in window.coverage_label.text() and "≈" not in window.coverage_label.text()
    unmatched = window.histograms.aspect_plot.counts()[1].sum()
    assert unmatched == exact.uncovered_boxes


def test_a_single_edit_goes_straight_to_the_exact_result(window, load, qtbot, slow_engine):
    load(window, "demo?images=60&seed=5")
    window.coverage.wait(60)
    state = window.state
    kinds = []
    state.coverage_changed.connect(lambda: kinds.append(state.result.exact))
    with qtbot.waitSignal(state.coverage_changed, timeout=10_000):
        state.set_config(state.config.replace(aspect_ratios=(0.2, 1.0, 4.0)))
    qtbot.waitUntil(lambda: state.is_current, timeout=10_000)
    assert kinds == [True]  # no slider held: no estimate first
