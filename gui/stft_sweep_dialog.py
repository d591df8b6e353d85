"""STFT sweep: recall and ceiling of the loaded `sigmf:` dataset under the current anchors at
each FFT size (log2 axis), computed in the background by `core.stft_sweep.stft_sweep`; clicking a
point reopens the dataset at that FFT size and hop."""

from __future__ import annotations

import math
from collections.abc import Callable

import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDoubleSpinBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from core.sources import parse_spec
from core.sources.sigmf_source import DEFAULT_NFFT, MAX_NFFT
from core.stft_sweep import (
    DEFAULT_NFFTS,
    SIGMF_KIND,
    StftPoint,
    spec_at,
    spec_hop_ratio,
    stft_sweep,
)
from core.units import format_quantity
from gui.background_run import BackgroundRun
from gui.point_plot import SYMBOL_SIZE, PointPlot
from gui.state import AppState
from gui.theme import BACKGROUND, MUTED, TEXT, set_text_colour

NFFT_CHOICES = tuple(2 ** k for k in range(4, int(math.log2(MAX_NFFT)) + 1))  # 16 .. 65536
RECALL_COLOUR = "#5aa9ff"
CEILING_COLOUR = "#ffa04d"
HINT = "Hover a point for its numbers; click it to reopen the dataset at that FFT size."


def point_summary(point: StftPoint, separator: str = ", ") -> str:
    """One FFT size in words: its geometry in pixels and physical units, and its coverage."""
    units = ("" if point.hz_per_row is None else
             f" ({format_quantity(point.hz_per_row, 'Hz', 4)}/row, "
             f"{format_quantity(point.seconds_per_column, 's', 4)}/column)")
    classes = ", ".join(f"{name} {100 * recall:.0f} %"
                        for name, recall in point.per_class_recall.items())
    return (f"nfft {point.nfft}, hop {point.hop}{units}: "
            + separator.join((f"recall {100 * point.recall:.1f} %",
                              f"ceiling {100 * point.ceiling_recall:.1f} %",
                              f"positives/box {point.mean_positives_per_box:.2f}",
                              f"per class: {classes or '-'}")))


def recordings_of(spec: str) -> str:
    """`spec` without its geometry: two specs of the same recordings and options agree."""
    return spec_at(spec, 0, 0)


def spec_nfft(spec: str) -> int:
    return int(parse_spec(spec).options.get("nfft", DEFAULT_NFFT))


class StftSweepDialog(QDialog):
    """Runs the STFT sweep of the loaded `sigmf:` dataset in the background and plots recall and
    ceiling against the FFT size; a click on a point calls `open_dataset` with its spec."""

    def __init__(self, state: AppState, open_dataset: Callable[[str], None],
                 parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("STFT sweep")
        self.setMinimumSize(720, 600)
        self.state = state
        self.open_dataset = open_dataset
        self.points: list[StftPoint] = []
        self.swept_spec: str | None = None  # the spec the points belong to
        self.background = BackgroundRun(self)

        self.first_combo, self.last_combo = QComboBox(), QComboBox()
        for combo, value in ((self.first_combo, DEFAULT_NFFTS[0]),
                             (self.last_combo, DEFAULT_NFFTS[-1])):
            for nfft in NFFT_CHOICES:
                combo.addItem(str(nfft), nfft)
            combo.setCurrentIndex(NFFT_CHOICES.index(value))
        self.hop_spin = QDoubleSpinBox(minimum=0.0, maximum=1.0, singleStep=0.125, decimals=4)
        self.hop_spin.setSpecialValueText("as the dataset")  # at 0: the dataset's hop / nfft
        self.hop_spin.setToolTip("hop = ratio × nfft, rounded, at least 1 sample")
        nfft_row = QHBoxLayout()
        nfft_row.addWidget(self.first_combo)
        nfft_row.addWidget(QLabel("to"))
        nfft_row.addWidget(self.last_combo)
        nfft_row.addWidget(QLabel("(powers of two)"))
        nfft_row.addStretch(1)
        controls = QGridLayout()
        controls.addWidget(QLabel("FFT sizes"), 0, 0)
        controls.addLayout(nfft_row, 0, 1)
        controls.addWidget(QLabel("Hop / nfft"), 1, 0)
        controls.addWidget(self.hop_spin, 1, 1, Qt.AlignmentFlag.AlignLeft)
        controls.setColumnStretch(1, 1)

        self.note = QLabel(
            "Exact coverage under the current anchors when the spectrogram is computed with "
            "each FFT size: nfft rows of fs / nfft Hz, columns of hop samples. The recordings, "
            "window, anchors and model input stay as they are.", wordWrap=True)
        set_text_colour(self.note, MUTED)
        # the legend above the plot, where no point or label can hide it
        self.legend = QLabel(
            f'<span style="color:{RECALL_COLOUR}">━━ ● recall</span> with the current anchors'
            f'&nbsp;&nbsp;&nbsp;<span style="color:{CEILING_COLOUR}">╍╍ ■ ceiling</span> '
            "(any anchor shape on the grid)")
        set_text_colour(self.legend, TEXT)
        self.plot_widget = PointPlot("FFT size nfft (log2 scale)", "share of boxes (%)",
                                     lambda point: point_summary(point, "\n"))
        self.plot_widget.setMinimumHeight(320)
        self._build_plot()
        self.info = QLabel(HINT, wordWrap=True)
        self.info.setMinimumHeight(2 * self.info.fontMetrics().height())
        self.progress_bar = QProgressBar(maximum=1000)
        self.status = QLabel("", wordWrap=True)
        self.run_button = QPushButton("Run")
        self.cancel_button = QPushButton("Cancel")
        self.close_button = QPushButton("Close")
        self.run_button.setDefault(True)
        buttons = QHBoxLayout()
        buttons.addWidget(self.status, 1)
        for button in (self.run_button, self.cancel_button, self.close_button):
            buttons.addWidget(button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.note)
        layout.addLayout(controls)
        layout.addWidget(self.legend)
        layout.addWidget(self.plot_widget, 1)
        layout.addWidget(self.info)
        layout.addWidget(self.progress_bar)
        layout.addLayout(buttons)

        self.run_button.clicked.connect(self.run)
        self.close_button.clicked.connect(self.reject)
        self.plot_widget.point_clicked.connect(self.choose)
        self.plot_widget.point_hovered.connect(self._on_point_hovered)
        self.first_combo.currentIndexChanged.connect(self._keep_order)
        self.last_combo.currentIndexChanged.connect(self._keep_order)
        state.dataset_changed.connect(self._on_dataset_changed)
        self.background.connect_controls(self.progress_bar, self.status, self.cancel_button,
                                         self.close_button, failure="sweep failed")
        self.background.running_changed.connect(self._set_running)
        self.background.returned.connect(self._on_returned)
        self._set_running(False)
        self._on_dataset_changed()

    # -- building -------------------------------------------------------------------------------
    def _build_plot(self) -> None:
        """The recall and ceiling curves, on the point plot (the targets are the recall points)."""
        plot = self.plot_widget.getPlotItem()
        self.current_line = self.plot_widget.current_line
        self.selected_ring = self.plot_widget.selected_ring
        self.ceiling_curve = pg.PlotDataItem(
            [], [], pen=pg.mkPen(CEILING_COLOUR, width=2, style=Qt.PenStyle.DashLine),
            symbol="s", symbolSize=SYMBOL_SIZE - 2, symbolBrush=CEILING_COLOUR,
            symbolPen=pg.mkPen(BACKGROUND, width=1))
        self.recall_curve = pg.PlotDataItem(
            [], [], pen=pg.mkPen(RECALL_COLOUR, width=2), symbol="o", symbolSize=SYMBOL_SIZE,
            symbolBrush=RECALL_COLOUR, symbolPen=pg.mkPen(BACKGROUND, width=1))
        plot.addItem(self.ceiling_curve)
        plot.addItem(self.recall_curve)
        self._set_ranges()

    # -- the loaded dataset ---------------------------------------------------------------------
    @property
    def spec(self) -> str | None:
        """The loaded dataset's spec, if it is a fully loaded `sigmf:` one."""
        table = self.state.table
        if table is None or self.state.partial or parse_spec(table.spec).kind != SIGMF_KIND:
            return None
        return table.spec

    def _on_dataset_changed(self) -> None:
        """Keep the points while the same recordings are loaded (at any FFT size); mark the
        FFT size on screen."""
        table = self.state.table
        if self.swept_spec is not None and (table is None or recordings_of(table.spec)
                                            != recordings_of(self.swept_spec)):
            self.swept_spec = None
            self._show_points([])
        spec = self.spec
        if spec is not None:
            self.hop_spin.setSpecialValueText(f"as the dataset ({spec_hop_ratio(spec):.4g})")
        self._show_current()
        self._show_readiness()
        chosen = self.chosen_point
        if chosen is not None and not self.running:
            self.status.setText(f"on screen: nfft {chosen.nfft}, hop {chosen.hop} "
                                f"({100 * chosen.recall:.1f} % recall)")

    def _ready(self) -> bool:
        return self.spec is not None

    def _show_readiness(self) -> None:
        self.run_button.setEnabled(self._ready() and not self.running)
        if self.running:
            return
        table = self.state.table
        if table is None:
            self.status.setText("Load a sigmf: dataset first.")
        elif self.state.partial:
            self.status.setText("The dataset is still loading.")
        elif self.spec is None:
            self.status.setText(f"The STFT sweep needs a sigmf: dataset; this one is "
                                f"{parse_spec(table.spec).kind}:.")
        elif not self.points:
            self.status.setText("")

    # -- running --------------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        """A sweep is under way (and its result still wanted)."""
        return self.background.running

    def nffts(self) -> list[int]:
        """The chosen FFT sizes: every power of two from the first to the last."""
        first, last = self.first_combo.currentData(), self.last_combo.currentData()
        return [n for n in NFFT_CHOICES if first <= n <= last]

    def hop_ratio(self) -> float | None:
        """The chosen hop / nfft; None keeps the dataset's own."""
        value = self.hop_spin.value()
        return None if value <= self.hop_spin.minimum() else value

    def _keep_order(self) -> None:
        if self.first_combo.currentData() > self.last_combo.currentData():
            if self.sender() is self.first_combo:
                self.last_combo.setCurrentIndex(self.first_combo.currentIndex())
            else:
                self.first_combo.setCurrentIndex(self.last_combo.currentIndex())

    def run(self) -> None:
        """Sweep the chosen FFT sizes; the points replace the previous ones when it returns
        (also when cancelled)."""
        spec = self.spec
        if spec is None or self.running:
            return
        self.swept_spec = spec
        self._show_points([])
        self.info.setText(HINT)
        self.background.start(stft_sweep, spec, self.state.config, self.nffts(),
                              self.hop_ratio(), self.state.model_input)

    def _set_running(self, running: bool) -> None:
        for control in (self.first_combo, self.last_combo, self.hop_spin):
            control.setEnabled(not running)
        self._show_readiness()

    def _on_returned(self, points: list[StftPoint]) -> None:
        self._show_points(points)
        seconds = sum(point.seconds for point in points)
        count = f"{len(points)} FFT size{'s' * (len(points) != 1)} in {seconds:.1f} s"
        if self.background.cancel_requested:
            self.status.setText(f"cancelled after {count}")
        elif points:
            best = max(points, key=lambda p: (p.recall, -p.nfft))
            self.status.setText(f"{count}; best recall at nfft {best.nfft} "
                                f"({100 * best.recall:.1f} %) — click a point to reopen the "
                                "dataset there")

    # -- drawing --------------------------------------------------------------------------------
    def _show_points(self, points: list[StftPoint]) -> None:
        self.points = list(points)
        x = [math.log2(p.nfft) for p in points]
        self.recall_curve.setData(x, [100 * p.recall for p in points])
        self.ceiling_curve.setData(x, [100 * p.ceiling_recall for p in points])
        self.plot_widget.set_points(x, [100 * p.recall for p in points], points)
        self._show_current()

    def _show_current(self) -> None:
        """Mark the FFT size on screen, and ring its point if it was swept."""
        spec = self.spec
        self.current_line.setVisible(spec is not None)
        chosen = self.chosen_point
        if spec is not None:
            x = math.log2(spec_nfft(spec))
            self.current_line.setPos(x)
            self.current_line.label.setFormat(f"on screen: {spec_nfft(spec)}")
            # right of the line in the left half of the axis, else left of it
            low, high = self._x_bounds()
            side = 0.0 if x <= (low + high) / 2 else 1.0
            self.current_line.label.anchors = [(side, 0.0), (side, 0.0)]
            self.current_line.label.updatePosition()
        self.plot_widget.ring(None if chosen is None
                              else (math.log2(chosen.nfft), 100 * chosen.recall))
        self._set_ranges()

    @property
    def chosen_point(self) -> StftPoint | None:
        """The swept point whose geometry is the one on screen, if any."""
        spec = self.spec
        if spec is None:
            return None
        options = parse_spec(spec).options
        return next((p for p in self.points if p.nfft == spec_nfft(spec)
                     and p.hop == options.get("hop", p.nfft)), None)

    def _x_bounds(self) -> tuple[float, float]:
        """log2 of the smallest and largest FFT size shown (swept or on screen)."""
        nffts = [p.nfft for p in self.points] or self.nffts()
        if self.spec is not None:
            nffts.append(spec_nfft(self.spec))
        return math.log2(min(nffts)), math.log2(max(nffts))

    def _set_ranges(self) -> None:
        low, high = self._x_bounds()
        plot = self.plot_widget.getPlotItem()
        plot.getAxis("bottom").setTicks(
            [[(float(k), str(2 ** k)) for k in range(int(low), int(high) + 1)]])
        self.plot_widget.set_x_range(low - 0.4, high + 0.4)

    # -- choosing -------------------------------------------------------------------------------
    def choose(self, point: StftPoint) -> None:
        """Reopen the dataset at the point's FFT size and hop (loaded in the background)."""
        self.open_dataset(point.spec)
        self.info.setText(point_summary(point))
        self.status.setText(f"opening the dataset at nfft {point.nfft}, hop {point.hop}…")

    def _on_point_hovered(self, point: StftPoint | None) -> None:
        """The hovered point in words; once the mouse leaves, the chosen one's (or the hint)."""
        shown = point if point is not None else self.chosen_point
        self.info.setText(HINT if shown is None else point_summary(shown))
