"""Anchor budget: the best exact recall for each count of ratios R and scales S, plotted against
anchors per location (R x S) up to the ceiling, so the head size is chosen before it is built;
clicking a grid point loads its config (`core.anchor_budget.sweep` does the work)."""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from core.anchor_budget import RATIO_COUNTS, SCALE_COUNTS, SWEEP_EFFORT, BudgetPoint, sweep
from core.frameworks import FRAMEWORKS
from core.optimizer import EFFORTS
from gui.background_run import BackgroundRun
from gui.formatting import config_numbers
from gui.point_plot import AXIS_PEN, SYMBOL_SIZE, PointPlot
from gui.state import AppState
from gui.theme import BACKGROUND, MUTED, TEXT, set_text_colour

MAX_RATIOS = 12  # the optimize dialog's limits
MAX_SCALES = 6
# One colour and symbol per scale count S, readable on the dark plot background and told apart
# by shape too (not the level colours of the theme: a scale count is not a pyramid level).
SCALE_COUNT_COLOURS = ("#5aa9ff", "#ffa04d", "#6fd08c", "#e77ee8", "#f2df5c", "#b4a7ff")
SCALE_COUNT_SYMBOLS = ("o", "s", "t", "d", "star", "h")
CEILING_PEN = pg.mkPen(TEXT, width=1.5, style=Qt.PenStyle.DashLine)
HINT = "Hover a point for its config; click it to load that config."


def point_summary(point: BudgetPoint, separator: str = ", ") -> str:
    """One grid point in words: its counts, what it reaches, and the config that reaches it."""
    config = point.config
    return (f"R × S = {point.ratios} × {point.scales} = {point.anchors_per_location}: "
            + separator.join((f"recall {100 * point.recall:.1f} %",
                              f"positives/box {point.mean_positives_per_box:.2f}",
                              f"ratios {config_numbers(config.aspect_ratios)}",
                              f"scales {config_numbers(config.scales)}",
                              f"sizes {config_numbers(config.sizes)}")))


def scale_count_style(scales: int) -> tuple[str, str]:
    """(colour, symbol) of the series of `scales` scales (cycling)."""
    index = (scales - 1) % len(SCALE_COUNT_COLOURS)
    return SCALE_COUNT_COLOURS[index], SCALE_COUNT_SYMBOLS[index % len(SCALE_COUNT_SYMBOLS)]


class CountRange(QHBoxLayout):
    """Two spin boxes `first … last` that cannot cross."""

    def __init__(self, maximum: int, first: int, last: int):
        super().__init__()
        self.first = QSpinBox(minimum=1, maximum=last, value=first)
        self.last = QSpinBox(minimum=first, maximum=maximum, value=last)
        self.first.valueChanged.connect(self.last.setMinimum)
        self.last.valueChanged.connect(self.first.setMaximum)
        self.addWidget(self.first)
        self.addWidget(QLabel("to"))
        self.addWidget(self.last)
        self.addStretch(1)

    def counts(self) -> list[int]:
        """Every count from first to last, inclusive."""
        return list(range(self.first.value(), self.last.value() + 1))

    def setEnabled(self, enabled: bool) -> None:  # noqa: N802 - Qt's name
        self.first.setEnabled(enabled)
        self.last.setEnabled(enabled)


class AnchorBudgetDialog(QDialog):
    """Runs the anchor-budget sweep on the loaded dataset in the background and plots recall
    against anchors per location; a click on a point sets that point's config."""

    def __init__(self, state: AppState, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Anchor budget")
        self.setMinimumSize(720, 640)
        self.state = state
        self.points: list[BudgetPoint] = []
        self.series: dict[int, pg.PlotDataItem] = {}  # scale count S -> its line and symbols
        self.background = BackgroundRun(self)

        self.ratio_range = CountRange(MAX_RATIOS, min(RATIO_COUNTS), max(RATIO_COUNTS))
        self.scale_range = CountRange(MAX_SCALES, min(SCALE_COUNTS), max(SCALE_COUNTS))
        self.effort_combo = QComboBox()
        for name, effort in EFFORTS.items():
            self.effort_combo.addItem(name)
            self.effort_combo.setItemData(
                self.effort_combo.count() - 1,
                f"per grid point: up to {effort.max_evaluations} evaluations on about "
                f"{effort.sample_boxes:,d} boxes", Qt.ItemDataRole.ToolTipRole)
        self.effort_combo.setCurrentText(SWEEP_EFFORT)
        self.grid_label = QLabel("")
        set_text_colour(self.grid_label, MUTED)
        controls = QGridLayout()
        controls.addWidget(QLabel("Aspect ratios R"), 0, 0)
        controls.addLayout(self.ratio_range, 0, 1)
        controls.addWidget(QLabel("Scales S"), 1, 0)
        controls.addLayout(self.scale_range, 1, 1)
        controls.addWidget(QLabel("Effort"), 2, 0)
        effort_row = QHBoxLayout()
        effort_row.addWidget(self.effort_combo)
        effort_row.addWidget(self.grid_label, 1)
        controls.addLayout(effort_row, 2, 1)
        controls.setColumnStretch(1, 1)

        self.note = QLabel(self._note_text(), wordWrap=True)
        set_text_colour(self.note, MUTED)
        self.plot_widget = PointPlot("anchors per location (R × S)", "recall (%)",
                                     lambda point: point_summary(point, "\n"))
        self.plot_widget.setMinimumHeight(340)
        self._build_plot()
        self.info = QLabel(HINT, wordWrap=True)
        self.info.setMinimumHeight(2 * self.info.fontMetrics().height())
        self.progress_bar = QProgressBar(maximum=1000)
        self.status = QLabel("", wordWrap=True)
        self.run_button = QPushButton("Run")
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setToolTip("Stop the sweep; the points finished so far are shown")
        self.close_button = QPushButton("Close")
        self.run_button.setDefault(True)
        buttons = QHBoxLayout()
        buttons.addWidget(self.status, 1)
        for button in (self.run_button, self.cancel_button, self.close_button):
            buttons.addWidget(button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.note)
        layout.addLayout(controls)
        layout.addWidget(self.plot_widget, 1)
        layout.addWidget(self.info)
        layout.addWidget(self.progress_bar)
        layout.addLayout(buttons)

        self.run_button.clicked.connect(self.run)
        self.close_button.clicked.connect(self.reject)
        self.plot_widget.point_clicked.connect(self.choose)
        self.plot_widget.point_hovered.connect(self._on_point_hovered)
        for spin in (self.ratio_range.first, self.ratio_range.last, self.scale_range.first,
                     self.scale_range.last):
            spin.valueChanged.connect(self._show_grid_size)
        state.config_changed.connect(self._show_current)
        state.dataset_changed.connect(self._show_readiness)
        self.background.connect_controls(self.progress_bar, self.status, self.cancel_button,
                                         self.close_button, failure="sweep failed")
        self.background.running_changed.connect(self._set_running)
        self.background.returned.connect(self._on_returned)
        self._set_running(False)
        self._show_grid_size()
        self._show_current()

    # -- building -------------------------------------------------------------------------------
    def _note_text(self) -> str:
        framework = FRAMEWORKS[self.state.config.framework]
        return ("Anchors per location (R ratios × S scales) fix the detection head. More anchors "
                "raise recall towards the ceiling, which the strides set, not the anchor shapes. "
                "Each point is the best config found for its R × S. A count other than the "
                f"pretrained {framework.label} head's {framework.pretrained_anchors_per_location} "
                "re-initialises the head's classification and box-regression output convolutions.")

    def _build_plot(self) -> None:
        """A legend of the scale counts and the ceiling's line, on the point plot."""
        plot = self.plot_widget.getPlotItem()
        self.current_line = self.plot_widget.current_line
        self.selected_ring = self.plot_widget.selected_ring
        self.legend = plot.addLegend(offset=(-10, -10), labelTextColor=TEXT,
                                     brush=pg.mkBrush(30, 31, 34, 220), pen=AXIS_PEN)
        self.ceiling_line = self.plot_widget.add_line(0, CEILING_PEN, TEXT, 0.06, (0.0, 1.0),
                                                      (0.0, 1.0))
        self._set_ranges()

    # -- running --------------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        """A sweep is under way (and its result still wanted)."""
        return self.background.running

    def run(self) -> None:
        """Start the sweep over the chosen grid; the points replace the previous ones when it
        returns (also when cancelled)."""
        state = self.state
        if state.table is None or self.running:
            return
        self._show_points([])
        self.info.setText(HINT)
        self.background.start(
            sweep, state.table, state.config, self.ratio_range.counts(),
            self.scale_range.counts(), effort=self.effort_combo.currentText(),
            model_input=state.model_input)

    def _set_running(self, running: bool) -> None:
        for control in (self.ratio_range, self.scale_range, self.effort_combo):
            control.setEnabled(not running)
        self._show_readiness()

    def _ready(self) -> bool:
        return self.state.table is not None and not self.state.partial

    def _show_readiness(self) -> None:
        self.run_button.setEnabled(self._ready() and not self.running)
        if self.running:
            return
        if self.state.table is None:
            self.status.setText("Load a dataset first.")
        elif self.state.partial:
            self.status.setText("The dataset is still loading.")

    def _show_grid_size(self) -> None:
        count = len(self.ratio_range.counts()) * len(self.scale_range.counts())
        self.grid_label.setText(f"{count} grid point{'s' * (count != 1)}, one optimisation "
                                "each")

    def _on_returned(self, points: list[BudgetPoint]) -> None:
        self._show_points(points)
        seconds = sum(point.seconds for point in points)
        if self.background.cancel_requested:
            self.status.setText(f"cancelled after {len(points)} grid point"
                                f"{'s' * (len(points) != 1)} ({seconds:.1f} s); the last one "
                                "only as far as it got")
        else:
            self.status.setText(f"{len(points)} grid points in {seconds:.1f} s — click a point "
                                "to load its config")

    # -- drawing --------------------------------------------------------------------------------
    def _show_points(self, points: list[BudgetPoint]) -> None:
        """One line per scale count, the ceiling, and the hover / click targets."""
        self.points = list(points)
        plot = self.plot_widget.getPlotItem()
        for item in self.series.values():
            plot.removeItem(item)  # also from the legend
        self.series = {}
        for scales in sorted({point.scales for point in points}):
            row = sorted((p for p in points if p.scales == scales),
                         key=lambda p: p.anchors_per_location)
            colour, symbol = scale_count_style(scales)
            item = pg.PlotDataItem(
                [p.anchors_per_location for p in row], [100 * p.recall for p in row],
                pen=pg.mkPen(colour, width=2), symbol=symbol, symbolSize=SYMBOL_SIZE,
                symbolBrush=colour, symbolPen=pg.mkPen(BACKGROUND, width=1),
                name=f"S = {scales}")
            plot.addItem(item)
            self.series[scales] = item
        self.plot_widget.set_points([p.anchors_per_location for p in points],
                                    [100 * p.recall for p in points], points)
        # visible first: a hidden line's label ignores new text
        self.ceiling_line.setVisible(bool(points))
        if points:
            self.ceiling_line.setPos(100 * points[0].ceiling_recall)
            self.ceiling_line.label.setFormat("ceiling {value:.1f} %")
        self._show_current()

    def _show_current(self) -> None:
        """Mark the current config's anchors per location, and ring its grid point if it is
        one; follows config changes from anywhere."""
        count = self.state.config.anchors_per_location
        self.current_line.setVisible(True)
        self.current_line.setPos(count)
        self.current_line.label.setFormat("current: {value:.0f}")
        chosen = self.chosen_point
        self.plot_widget.ring(None if chosen is None
                              else (chosen.anchors_per_location, 100 * chosen.recall))
        self._set_ranges()

    @property
    def chosen_point(self) -> BudgetPoint | None:
        """The grid point whose config is the current one, if any."""
        return next((p for p in self.points if p.config == self.state.config), None)

    def _set_ranges(self) -> None:
        counts = [p.anchors_per_location for p in self.points]
        counts.append(self.state.config.anchors_per_location)
        self.plot_widget.set_x_range(0, max(counts) + 1)

    # -- choosing -------------------------------------------------------------------------------
    def choose(self, point: BudgetPoint) -> None:
        """Load the grid point's config into the app; each click is its own undo step, however
        quickly the next one follows (no slider gesture to merge into)."""
        self.state.set_config(point.config)
        self.state.end_gesture()
        self.info.setText(point_summary(point))
        self.status.setText(f"loaded {point.ratios} × {point.scales} config "
                            f"({100 * point.recall:.1f} % recall on all boxes)")

    def _on_point_hovered(self, point: BudgetPoint | None) -> None:
        """The hovered point in words; once the mouse leaves, the chosen one's (or the hint)."""
        shown = point if point is not None else self.chosen_point
        self.info.setText(HINT if shown is None else point_summary(shown))
