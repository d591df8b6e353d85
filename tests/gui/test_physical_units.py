"""The window in seconds and hertz: spectrogram axes, unmatched-box columns, the histogram read-out
and the anchor sizes follow the dataset's physical units, and nothing changes without them."""

import numpy as np
import pytest

from core.analysis import ModelInput, analyze
from core.anchor_config import default_config
from core.sources import load_table
from core.units import PhysicalAxes, format_hertz, format_seconds
from gui.anchor_panel import AnchorPanel
from gui.app import create_application
from gui.histograms import HistogramPanel
from gui.report_panel import ReportPanel
from gui.spectrogram_view import SpectrogramView
from gui.state import AppState
from gui.uncovered_table import (
    BANDWIDTH,
    DURATION,
    F_CENTRE,
    FREQUENCY_COLUMNS,
    START,
    TIME_COLUMNS,
)
from tests.core.sources.writers.sigmf_writer import write_recording

FS, FC, NFFT, HOP = 2e6, 915e6, 256, 128  # a column is 64 µs, a row 7.8125 kHz
ANNOTATIONS = [
    {"core:sample_start": 1000, "core:sample_count": 400, "core:freq_lower_edge": 914.6e6,
     "core:freq_upper_edge": 914.8e6, "core:label": "burst"},
    {"core:sample_start": 5000, "core:sample_count": 20000, "core:freq_lower_edge": 915.3e6,
     "core:freq_upper_edge": 915.31e6, "core:label": "carrier"},
]


@pytest.fixture(scope="module")
def sigmf_spec(tmp_path_factory):
    directory = tmp_path_factory.mktemp("units")
    rng = np.random.default_rng(0)
    samples = ((rng.normal(size=32768) + 1j * rng.normal(size=32768)) / 2).astype(np.complex64)
    meta = {"global": {"core:sample_rate": FS},
            "captures": [{"core:sample_start": 0, "core:frequency": FC}],
            "annotations": ANNOTATIONS}
    path = write_recording(directory / "rec", samples, meta)
    return f"sigmf:{path}?nfft={NFFT}&hop={HOP}"


@pytest.fixture(scope="module")
def sigmf_table(sigmf_spec):
    return load_table(sigmf_spec)


@pytest.fixture
def view(qtbot):
    create_application()
    widget = SpectrogramView()
    widget.resize(700, 600)
    qtbot.addWidget(widget)
    widget.show()
    widget.show_image(np.zeros((512, 512), np.float32), 512, 512)
    return widget


def label_of(axis) -> str:
    return axis.labelString()


def ticks(axis, lo: float, hi: float, size: float = 500.0):
    """(pixel positions, strings) of the major ticks the axis draws for pixels lo..hi."""
    spacing, values = axis.tickValues(lo, hi, size)[0]
    return np.array(values), axis.tickStrings(values, 1.0, spacing)


# --- spectrogram axes ----------------------------------------------------------------------------

TORCHSIG = PhysicalAxes(seconds_per_column=5.12e-5, hertz_per_row=19531.25, time_of_column0=0.0,
                        frequency_of_row0=2.445e9)


def test_time_axis_reads_round_milliseconds(view):
    view.set_physical_axes(TORCHSIG)
    axis = view.time_axis
    axis.setRange(0, 512)
    assert "time (ms)" in label_of(axis)
    positions, strings = ticks(axis, 0, 512)
    seconds = positions * 5.12e-5
    assert [float(s) for s in strings] == pytest.approx(seconds * 1e3)
    steps = np.diff(seconds)
    assert np.allclose(steps, steps[0]) and round(steps[0] * 1e3, 9) in (1, 2, 5, 10)
    assert all(abs(s * 1e3 - round(s * 1e3)) < 1e-9 for s in seconds)  # on whole ms


def test_frequency_axis_reads_hertz_falling_down_the_image(view):
    view.set_physical_axes(TORCHSIG)
    axis = view.frequency_axis
    axis.setRange(512, 0)  # the view's y is inverted: row 0 at the top
    assert "frequency (GHz)" in label_of(axis)
    positions, strings = ticks(axis, 512, 0)
    hertz = 2.445e9 - positions * 19531.25
    assert [float(s) for s in strings] == pytest.approx(hertz / 1e9, abs=1e-12)
    assert all(len(s.split(".")[1]) == 3 for s in strings)  # MHz steps: 3 decimals of GHz
    order = np.argsort(positions)
    assert (np.diff(hertz[order]) < 0).all()  # lower rows, lower frequencies
    axis.setRange(300, 290)  # zoomed to ten rows: finer steps, more decimals
    _, strings = ticks(axis, 300, 290)
    assert len(strings[0].split(".")[1]) >= 5


def test_prefix_follows_the_zoom(view):
    axis = view.time_axis
    view.set_physical_axes(PhysicalAxes(seconds_per_column=1e-6))
    axis.setRange(0, 512)
    assert "time (µs)" in label_of(axis)
    view.set_physical_axes(PhysicalAxes(seconds_per_column=0.01))
    axis.setRange(0, 512)
    assert "time (s)" in label_of(axis)


def test_without_units_the_axes_stay_in_pixels(view):
    plain_time = ticks(view.time_axis, 0, 512)
    view.set_physical_axes(TORCHSIG)
    view.set_physical_axes(None)
    for axis, text in ((view.time_axis, "time (px)"), (view.frequency_axis, "frequency (row)")):
        assert axis.mapping is None and text in label_of(axis)
    positions, strings = ticks(view.time_axis, 0, 512)
    assert strings == plain_time[1] and strings[:3] == ["0", "100", "200"]


def test_retuned_recording_reads_frequency_offsets(view):
    view.set_physical_axes(PhysicalAxes(5.12e-5, 19531.25))  # no frequency origin
    axis = view.frequency_axis
    axis.setRange(512, 0)
    assert "frequency offset (MHz)" in label_of(axis)
    positions, strings = ticks(axis, 512, 0)
    # the centre row is the tuned frequency: offsets run from +5 MHz (top) to -5 MHz
    assert [float(s) for s in strings] == pytest.approx((256 - positions) * 19531.25 / 1e6)
    assert "0" in strings and float(strings[list(positions).index(256)]) == 0.0


def test_only_time_known(view):
    view.set_physical_axes(PhysicalAxes(seconds_per_column=1e-3))
    assert view.time_axis.mapping is not None and view.frequency_axis.mapping is None


# --- unmatched boxes table -----------------------------------------------------------------------


def report_panel(qtbot, table) -> ReportPanel:
    create_application()
    state = AppState()
    state.set_dataset(table, None)
    state.set_result(analyze(table, default_config("keras-cv")))
    panel = ReportPanel(state)
    panel.resize(900, 600)
    qtbot.addWidget(panel)
    panel.show()
    return panel


def test_unmatched_table_gains_physical_columns(qtbot, sigmf_table):
    panel = report_panel(qtbot, sigmf_table)
    widget = panel.uncovered
    model = widget.model
    for column in TIME_COLUMNS + FREQUENCY_COLUMNS:
        assert not widget.view.isColumnHidden(column)
    rows = {model.table_row(r): r for r in range(model.rowCount())}
    assert set(rows) == {0, 1}  # both boxes are unmatched under the default anchors

    def cell(box, column):
        return model.index(rows[box], column).data()

    assert cell(0, DURATION) == "200 µs" and cell(0, BANDWIDTH) == "200 kHz"
    assert cell(0, START) == "500 µs" and cell(0, F_CENTRE) == "914.7 MHz"
    assert cell(1, DURATION) == "10 ms" and cell(1, BANDWIDTH) == "10 kHz"
    assert cell(1, START) == "2.5 ms" and cell(1, F_CENTRE) == "915.305 MHz"
    assert [model.headerData(c, _horizontal()) for c in (START, DURATION, F_CENTRE,
                                                          BANDWIDTH)] == \
        ["start", "duration", "f centre", "bandwidth"]
    model.sort(DURATION)
    assert [model.table_row(r) for r in range(2)] == [0, 1]
    model.sort(BANDWIDTH)
    assert [model.table_row(r) for r in range(2)] == [1, 0]


def test_unmatched_table_without_units_hides_them(qtbot):
    panel = report_panel(qtbot, load_table("demo?images=5"))
    widget = panel.uncovered
    for column in TIME_COLUMNS + FREQUENCY_COLUMNS:
        assert widget.view.isColumnHidden(column)
    assert widget.model.index(0, DURATION).data() == "—"


def _horizontal():
    from PySide6.QtCore import Qt

    return Qt.Orientation.Horizontal


# --- anchor sizes and histogram read-out ---------------------------------------------------------


@pytest.fixture
def state():
    create_application()
    return AppState()


def test_anchor_panel_gives_each_level_in_seconds_and_hertz(qtbot, state, sigmf_table):
    panel = AnchorPanel(state)
    qtbot.addWidget(panel)
    panel.show()
    assert panel.physical_sizes_label.isHidden()
    state.set_dataset(sigmf_table, None)
    lines = panel.physical_sizes_label.text().split("<br>")
    assert lines[0] == "P3 32 px = 2.05 ms × 250 kHz"  # 32 × 64 µs, 32 × 7.8125 kHz
    assert lines[-1] == "P7 512 px = 32.8 ms × 4 MHz"
    assert not panel.physical_sizes_label.isHidden()
    state.set_config(state.config.replace(sizes=(16.0, 64.0, 128.0, 256.0, 512.0)))
    assert panel.physical_sizes_label.text().startswith("P3 16 px = 1.02 ms × 125 kHz")
    state.set_model_input(ModelInput((512, 512)))  # a model pixel is half an image pixel here
    assert panel.physical_sizes_label.text().startswith("P3 16 px = 512 µs × 62.5 kHz")
    state.set_dataset(load_table("demo?images=3"), None)
    assert panel.physical_sizes_label.isHidden()


def test_histogram_read_out(qtbot, state, sigmf_table):
    panel = HistogramPanel(state)
    panel.resize(480, 880)
    qtbot.addWidget(panel)
    panel.show()
    qtbot.waitExposed(panel)
    assert panel.readout.isHidden()
    state.set_dataset(sigmf_table, None)
    panel.flush()
    qtbot.wait(10)  # the dataset redraw runs in an event of its own
    panel.flush()
    assert panel.readout.text().startswith("1 px = 64 µs × 7.81 kHz")
    assert not panel.readout.isHidden()
    view_box = panel.side_plot.plot.getViewBox()
    view_box.setRange(xRange=(0, 3), padding=0)
    scene_point = view_box.mapViewToScene(view_box.viewRect().center())
    panel.side_plot.scene().sigMouseMoved.emit(scene_point)
    side = 10.0 ** view_box.mapSceneToView(scene_point).x()
    expected = f"{side:.3g} px = {format_seconds(side * 64e-6)} × {format_hertz(side * 7812.5)}"
    assert panel.readout.text() == f"side √(w·h) {expected} (a square box)"
    assert "2.02 ms × 247 kHz" in panel.readout.text()  # the middle of 1 .. 1000 px
    view_box = panel.density_plot.plot.getViewBox()
    scene_point = view_box.mapViewToScene(view_box.viewRect().center())
    panel.density_plot.scene().sigMouseMoved.emit(scene_point)
    point = view_box.mapSceneToView(scene_point)
    width, height = 10.0 ** point.x(), 10.0 ** point.y()
    assert panel.readout.text() == (
        f"w × h {width:.3g} × {height:.3g} px = {format_seconds(width * 64e-6)} × "
        f"{format_hertz(height * 7812.5)}")
    panel.aspect_plot.scene().sigMouseMoved.emit(scene_point)  # not a size plot: the note
    assert panel.readout.text().startswith("1 px = ")
    state.set_dataset(load_table("demo?images=3"), None)
    panel.flush()
    qtbot.wait(10)
    panel.flush()
    assert panel.readout.isHidden()


# --- the window ----------------------------------------------------------------------------------


def test_window_labels_a_sigmf_recording_in_seconds_and_hertz(window, load, sigmf_spec,
                                                              tmp_path):
    load(window, sigmf_spec)
    window.coverage.wait()
    view = window.view
    assert view.physical_axes == load_table(sigmf_spec).physical_axes(0)
    assert "time (ms)" in view.time_axis.labelString()
    assert "frequency (MHz)" in view.frequency_axis.labelString()
    window.grab().save(str(tmp_path / "units_window.png"), "PNG")
    load(window, "demo?images=3")
    assert view.time_axis.mapping is None and "time (px)" in view.time_axis.labelString()
