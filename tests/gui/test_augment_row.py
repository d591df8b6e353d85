"""The report panel's "Under augmentation" switch: off by default, computes the expected recall
of `augmented_coverage` for the config on screen, recomputes on a change, refuses a bad SPEC."""

from __future__ import annotations

import pytest

from core.analysis import analyze
from core.anchor_config import default_config
from core.augmentation import augmented_coverage, parse_augment
from core.sources import load_table
from gui.app import create_application
from gui.augment_row import PRESETS, format_summary
from gui.report_panel import ReportPanel
from gui.screenshot import render_window_png
from gui.state import AppState

DRAWS, SEED = 3, 2  # small for speed; not the row's defaults, so they must be passed through
JITTER = PRESETS[1][1]
TUNED_RATIOS = (0.15, 1.0, 8.0)


@pytest.fixture(scope="module")
def table():
    return load_table("demo?images=20&seed=4")


@pytest.fixture
def panel(qtbot, table):
    create_application()
    state = AppState()
    state.set_dataset(table, None)
    config = default_config("keras-cv")
    state.set_config(config)
    state.set_result(analyze(table, config))
    widget = ReportPanel(state)
    widget.augment_row.draws, widget.augment_row.seed = DRAWS, SEED
    widget.resize(480, 980)
    qtbot.addWidget(widget)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


def expected_line(table, state, spec: str) -> str:
    result = augmented_coverage(table, state.config, parse_augment(spec), state.model_input,
                                DRAWS, SEED)
    return f"Expected recall {100 * result.recall_mean:.1f} % ± {100 * result.recall_pm:.2f} pp"


def switch_on(qtbot, row, spec: str) -> dict:
    with qtbot.waitSignal(row.computed, timeout=30_000) as blocker:
        row.set_spec(spec)
    return blocker.args[0]


def test_off_by_default_computes_nothing(panel):
    row = panel.augment_row
    assert row.spec == ""
    assert not row.running
    assert row.summary is None
    assert not any(label.isVisible() for label in row.result_labels)
    assert not row.message.isVisible()


def test_switching_on_shows_augmented_coverage_of_the_config(qtbot, panel, table):
    row, state = panel.augment_row, panel.state
    summary = switch_on(qtbot, row, JITTER)
    result = augmented_coverage(table, state.config, parse_augment(JITTER), state.model_input,
                                DRAWS, SEED)
    assert summary["recall_expected"] == pytest.approx(result.recall_mean, abs=1e-12)
    assert summary["recall_p10"] == pytest.approx(result.recall_p10, abs=1e-12)
    assert summary["draws"] == DRAWS and summary["seed"] == SEED
    assert row.expected.isVisible()
    assert row.expected.text().startswith(expected_line(table, state, JITTER))
    assert "10th pct" in row.expected.text()
    expected, losses, drops = format_summary(summary)
    assert (row.losses.text(), row.drops.text()) == (losses, drops)
    assert drops.startswith("Dropped per draw") and f"{DRAWS} draws, seed {SEED}" in drops
    for name in summary["losing_classes"]:  # stored -> expected of each losing class
        assert name in losses


def test_config_change_recomputes_at_rest(qtbot, panel, table):
    row, state = panel.augment_row, panel.state
    first = switch_on(qtbot, row, JITTER)
    tuned = state.config.replace(aspect_ratios=TUNED_RATIOS)
    state.set_config(tuned)  # not at rest yet: nothing starts until the exact result is in
    assert not row.running
    assert row.message.text() == "waiting for the exact coverage…"
    with qtbot.waitSignal(row.computed, timeout=30_000) as blocker:
        state.set_result(analyze(table, tuned))
    second = blocker.args[0]
    assert second["recall_expected"] != first["recall_expected"]
    assert row.expected.text().startswith(expected_line(table, state, JITTER))


def test_newer_request_replaces_older(qtbot, panel, table):
    row, state = panel.augment_row, panel.state
    row.set_spec(JITTER)
    with qtbot.waitSignal(row.computed, timeout=30_000) as blocker:
        row.set_spec(PRESETS[2][1])  # yolo, while the jitter runs
    assert blocker.args[0]["spec"].startswith("yolo:640,0.5")
    qtbot.wait(300)  # the jitter's result, if it still arrives, is dropped
    assert row.summary["spec"].startswith("yolo:640,0.5")
    assert row.expected.text().startswith(expected_line(table, state, PRESETS[2][1]))


def test_invalid_custom_spec_shows_message_and_computes_nothing(qtbot, panel):
    row = panel.augment_row
    seen = []
    row.computed.connect(seen.append)
    row.set_spec("jitter:640x640,1.3-0.75")
    assert row.choice.currentText() == "custom…"
    assert row.custom.isVisible()
    assert row.message.isVisible()
    assert "LO <= HI" in row.message.text()
    assert not row.running
    qtbot.wait(200)
    assert seen == [] and row.summary is None
    assert not row.expected.isVisible()


def test_switching_off_hides_the_result(qtbot, panel):
    row = panel.augment_row
    switch_on(qtbot, row, JITTER)
    row.set_spec("")
    assert row.choice.currentText() == "off"
    assert not any(label.isVisible() for label in row.result_labels)
    assert not row.message.isVisible() and not row.running and row.summary is None


def test_screenshot(qtbot, panel):
    row = panel.augment_row
    summary = switch_on(qtbot, row, PRESETS[2][1])  # yolo: drops boxes, classes lose
    assert summary["losing_classes"] and row.losses.text().startswith("Loses coverage: ")
    panel.flush()
    qtbot.wait(50)  # the summary re-fits to the new lines
    assert not panel.summary_scroll.verticalScrollBar().isVisible()  # all of it in sight
    render_window_png(panel, "/tmp/augment_row.png")
