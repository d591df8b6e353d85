"""The histogram panel draws the dataset's box shapes, the config's anchors and the unmatched boxes
exactly, and a config change only moves existing items."""

import numpy as np
import pytest
from PySide6.QtGui import QImage

from core.analysis import ModelInput, analyze
from core.shape_regions import centred_iou
from core.sources import load_table
from gui.app import create_application
from gui.histograms import IOU_BINS, HistogramPanel
from gui.state import AppState


@pytest.fixture(scope="module")
def table():
    return load_table("demo?images=30")


@pytest.fixture
def panel(qtbot, table):
    create_application()
    state = AppState()
    widget = HistogramPanel(state)
    widget.resize(480, 880)
    qtbot.addWidget(widget)
    widget.show()
    state.set_dataset(table, None)
    state.set_result(analyze(table, state.config))
    widget.flush()
    return widget


def plot_items(panel):
    return [list(plot.getPlotItem().items) for plot in panel.plots()]


def unmatched_of(panel):
    return ~panel.state.result.coverage.matched


def test_lines_follow_the_config(panel):
    state = panel.state
    np.testing.assert_allclose(panel.aspect_plot.lines.positions(),
                               np.log10(state.config.aspect_ratios))
    assert panel.aspect_plot.lines.labels() == ["0.5", "1", "2"]
    sides = np.outer(state.config.sizes, state.config.scales).ravel()
    np.testing.assert_allclose(panel.side_plot.lines.positions(), np.log10(sides))
    assert [label for label in panel.side_plot.lines.labels() if label] == \
        ["P3", "P4", "P5", "P6", "P7"]
    np.testing.assert_allclose(panel.iou_thresholds.positions(), [0.4, 0.5])

    before = plot_items(panel)
    state.set_config(state.config.replace(aspect_ratios=[0.1, 1.0, 8.0], scales=[1.0, 1.5],
                                          positive_iou=0.6, negative_iou=0.3))
    panel.flush()  # drawn with the next frame
    np.testing.assert_allclose(panel.aspect_plot.lines.positions(), np.log10([0.1, 1.0, 8.0]))
    assert panel.aspect_plot.lines.labels() == ["0.1", "1", "8"]
    sides = np.outer(state.config.sizes, [1.0, 1.5]).ravel()
    np.testing.assert_allclose(panel.side_plot.lines.positions(), np.log10(sides))
    np.testing.assert_allclose(panel.iou_thresholds.positions(), [0.3, 0.6])
    assert "IoU ≥ 0.6 regions" in panel.density_plot.plot.titleLabel.text
    after = plot_items(panel)
    assert all(len(a) == len(b) and all(x is y for x, y in zip(a, b, strict=True))
               for a, b in zip(before, after, strict=True)), "a config change rebuilt items"


def test_more_ratios_add_lines_fewer_hide_them(panel):
    state = panel.state
    state.set_config(state.config.replace(aspect_ratios=[0.125, 0.25, 0.5, 1.0, 2.0]))
    panel.flush()  # drawn with the next frame
    assert len(panel.aspect_plot.lines.positions()) == 5
    lines = list(panel.aspect_plot.lines.lines)
    state.set_config(state.config.replace(aspect_ratios=[3.0]))
    panel.flush()  # a second change within one frame is drawn with the next frame
    np.testing.assert_allclose(panel.aspect_plot.lines.positions(), [np.log10(3.0)])
    assert panel.aspect_plot.lines.lines == lines  # the same five, four of them hidden


def test_histograms_count_all_and_unmatched_boxes(panel, table):
    unmatched = unmatched_of(panel)
    assert 0 < unmatched.sum() < len(table)
    for plot, values in ((panel.aspect_plot, table.widths / table.heights),
                         (panel.side_plot, np.sqrt(table.widths * table.heights))):
        x, _ = plot.all_curve.getData()
        edges = 10.0 ** x
        all_counts, unmatched_counts = plot.counts()
        np.testing.assert_array_equal(all_counts, np.histogram(values, edges)[0])
        np.testing.assert_array_equal(unmatched_counts,
                                      np.histogram(values[unmatched], edges)[0])
        assert unmatched_counts.sum() == panel.state.result.report.uncovered_boxes

    best_iou = panel.state.result.coverage.best_iou
    all_counts, unmatched_counts = panel.iou_plot.counts()
    edges = np.linspace(0, 1, IOU_BINS + 1)
    np.testing.assert_array_equal(all_counts, np.histogram(best_iou, edges)[0])
    np.testing.assert_array_equal(unmatched_counts, np.histogram(best_iou[unmatched], edges)[0])
    assert f"{unmatched.sum():,} unmatched" in panel.summary.text()


def test_density_shows_boxes_unmatched_dots_and_iou_regions(panel, table):
    density = panel.density_plot
    bins = panel.bins
    shown = density.image.image  # row-major: rows are height bins
    expected, _, _ = np.histogram2d(table.widths, table.heights,
                                    [bins.width.edges, bins.height.edges])
    np.testing.assert_array_equal(shown.T > 0, expected > 0)
    filled = expected > 0
    np.testing.assert_allclose(shown.T[filled], np.log10(expected[filled]) + 1, rtol=1e-6)

    x, y = density.unmatched.getData()
    unmatched = unmatched_of(panel)
    # one dot per 1/16-octave (w, h) cell holding an unmatched box, at the cell's centre
    cells = {(int(np.floor(np.log2(w) * 16)), int(np.floor(np.log2(h) * 16)))
             for w, h in zip(table.widths[unmatched], table.heights[unmatched], strict=True)}
    dots = {(int(np.floor(np.log2(10.0**a) * 16)), int(np.floor(np.log2(10.0**b) * 16)))
            for a, b in zip(x, y, strict=True)}
    assert len(x) == len(cells) and dots == cells

    config = panel.state.config
    visible = [item for item in density.regions if item.isVisible()]
    assert len(visible) == len(config.levels)
    for index, item in enumerate(visible):
        x, y = item.getData()
        finite = np.isfinite(x)
        w, h = 10.0 ** x[finite], 10.0 ** y[finite]
        sizes = config.sizes[index] * np.asarray(config.scales)
        root = np.sqrt(np.asarray(config.aspect_ratios))
        aw, ah = (sizes[:, None] * root).ravel(), (sizes[:, None] / root).ravel()
        # every outline point lies on the IoU = t boundary of one of this level's anchors
        iou = centred_iou(w[:, None], h[:, None], aw[None, :], ah[None, :])
        assert np.abs(iou - config.positive_iou).min(axis=1).max() < 1e-6
        assert np.isnan(x).sum() == len(aw)  # one outline per anchor shape


def test_coverage_change_recounts_without_rebuilding(panel, table):
    before = plot_items(panel)
    state = panel.state
    state.set_config(state.config.replace(aspect_ratios=[0.1, 0.5, 1.0, 2.0, 8.0]))
    state.set_result(analyze(table, state.config))
    panel.flush()
    after = plot_items(panel)
    assert all(all(x is y for x, y in zip(a, b, strict=False)) for a, b in zip(before, after,
                                                                               strict=True))
    unmatched = unmatched_of(panel)
    ratios = table.widths / table.heights
    edges = 10.0 ** panel.aspect_plot.all_curve.getData()[0]
    np.testing.assert_array_equal(panel.aspect_plot.counts()[1],
                                  np.histogram(ratios[unmatched], edges)[0])


def test_model_input_size_rebins_in_model_pixels(panel, table):
    assert set(table.image_widths) == {512} and set(table.image_heights) == {512}
    panel.state.set_model_input(ModelInput((256, 1024), "stretch"))
    panel.flush()  # drawn with the next frame
    widths, heights = table.widths * 2.0, table.heights * 0.5
    x, _ = panel.side_plot.all_curve.getData()
    sides = np.sqrt(widths * heights)
    np.testing.assert_array_equal(panel.side_plot.counts()[0], np.histogram(sides, 10.0 ** x)[0])
    x, _ = panel.aspect_plot.all_curve.getData()
    np.testing.assert_array_equal(panel.aspect_plot.counts()[0],
                                  np.histogram(widths / heights, 10.0 ** x)[0])
    assert "model-input px" in panel.density_plot.plot.getAxis("bottom").labelText
    # the old result belongs to the old boxes: it is still drawn until coverage is recomputed
    assert panel.aspect_plot.counts()[1].sum() == unmatched_of(panel).sum()


def test_without_coverage_nothing_is_unmatched(qtbot, table):
    create_application()
    state = AppState()
    widget = HistogramPanel(state)
    qtbot.addWidget(widget)
    assert widget.summary.text() == "No dataset loaded."
    state.set_dataset(table, None)
    qtbot.waitUntil(lambda: widget.aspect_plot.counts()[0].sum() > 0)  # its own event
    assert widget.aspect_plot.counts()[0].sum() == len(table)
    assert widget.aspect_plot.counts()[1].sum() == 0
    assert len(widget.density_plot.unmatched.getData()[0]) == 0
    assert "not computed" in widget.summary.text()


def test_save_png_writes_the_panel_and_single_plots(panel, tmp_path):
    path = panel.save_png(tmp_path / "histograms.png")
    image = QImage(str(path))
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (image.width(), image.height()) == (panel.width(), panel.height())
    # not a blank render: the dark background and drawn colours both occur
    colours = {image.pixel(x, y) for x in range(0, image.width(), 7)
               for y in range(0, image.height(), 7)}
    assert len(colours) > 20
    single = panel.save_png(tmp_path / "density.png", plot="width_height")
    assert QImage(str(single)).width() == panel.density_plot.width()
    with pytest.raises(ValueError, match="plot must be"):
        panel.save_png(tmp_path / "x.png", plot="nope")


def test_tall_panel_stacks_squat_panel_shows_a_grid(panel, qtbot):
    def cells():
        return [panel.grid.getItemPosition(panel.grid.indexOf(plot))[:2] for plot in panel.plots()]

    panel.resize(480, 880)
    qtbot.waitUntil(lambda: panel.arrangement == "stack")
    assert cells() == [(0, 0), (1, 0), (2, 0), (3, 0)]
    panel.resize(480, 520)
    qtbot.waitUntil(lambda: panel.arrangement == "grid")
    assert cells() == [(0, 0), (0, 1), (1, 0), (1, 1)]


def test_log_axis_labels_1_2_5_when_there_is_room():
    from gui.histograms import LogAxisItem, log_ticks

    (_, majors), (_, minors) = log_ticks(np.log10(0.05), np.log10(80), 400)
    labels = LogAxisItem("bottom").tickStrings(majors, 1.0, 1.0)
    assert labels == ["0.05", "0.1", "0.2", "0.5", "1", "2", "5", "10", "20", "50"]
    assert not set(np.round(majors, 9)) & set(np.round(minors, 9))
    (_, majors), _ = log_ticks(0.0, 6.0, 200)  # 33 px per decade: every other decade
    assert LogAxisItem("bottom").tickStrings(majors, 1.0, 1.0) == ["1", "100", "10000", "1e6"]


def test_count_axis_labels_stay_short():
    from gui.histograms import format_count

    assert [format_count(v) for v in (0, 950, 5000, 20000, 150000, 1.5e6)] == \
        ["0", "950", "5000", "20k", "150k", "1.5M"]


def test_line_labels_never_overlap_and_stay_inside(panel, qtbot):
    state = panel.state
    ratios = (0.0427, 0.1082, 0.3035, 0.883, 1.364, 4.125)  # close pairs, one at the edge
    state.set_config(state.config.replace(aspect_ratios=ratios, scales=(1.0, 1.1, 1.2)))
    panel.flush()
    qtbot.wait(20)
    for plot in (panel.aspect_plot, panel.side_plot):
        box = plot.plot.getViewBox().sceneBoundingRect()
        rects = [line.label.sceneBoundingRect() for line in plot.lines.lines
                 if line.isVisible() and line.label.isVisible() and line.label.format]
        assert len(rects) >= 5
        for k, a in enumerate(rects):
            assert box.left() - 1 <= a.left() and a.right() <= box.right() + 1
            assert all(not a.intersects(b) for b in rects[k + 1:]), "labels overlap"
