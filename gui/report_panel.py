"""The coverage report panel: the numbers of docs/coverage.md with before -> after, per-level
and per-class tables, and the table of unmatched boxes that jumps to a box.

It observes `AppState` only: `coverage_changed` / `dataset_changed` refresh it, a click in the
unmatched table goes back through `state.select_box`. The numbers are read from
`state.result.report` (computed in `core.coverage.summary`); this module only formats them.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, QSize, Qt
from PySide6.QtGui import QColor, QFont, QResizeEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QBoxLayout,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLayout,
    QScrollArea,
    QSizePolicy,
    QTableView,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from core.coverage.summary import CoverageReport, interpretation
from core.frameworks import FRAMEWORKS
from gui.augment_row import AugmentRow
from gui.frame_rate import Paced
from gui.live_status import status_text
from gui.state import AppState
from gui.theme import ERROR, GOOD, MUTED, TEXT, WARNING, dark_palette, set_text_colour
from gui.uncovered_table import SORT_VALUE_ROLE, UncoveredBoxTable

BETTER = GOOD
WORSE = ERROR
NEUTRAL = MUTED

WIDE_MIN_WIDTH = 720  # at least this wide and wider than tall: numbers left, tables right
SUMMARY_WIDE_WIDTH = 390
MINIMUM_SIZE = (320, 240)

PERCENT, IOU, COUNT, DECIMAL, TEXT_KIND, LEVEL, DELTA_PERCENT = (
    "percent", "iou", "count", "decimal", "text", "level", "delta_percent")


@dataclass(frozen=True)
class Metric:
    """One number of the report: its key, label, format and which direction is better."""

    key: str
    label: str
    kind: str
    higher_is_better: bool
    tooltip: str


RECALL = Metric("recall", "Recall", PERCENT, True,
                "share of boxes that receive at least one positive anchor from the matcher")
METRICS = (
    Metric("best_possible_recall", "Best possible recall", PERCENT, True,
           "share of boxes whose best anchor IoU reaches the positive threshold"),
    Metric("ceiling_recall", "Ceiling recall", PERCENT, True,
           "share of boxes that some anchor (any width and height) centred on any level's "
           "lattice could cover: the limit of tuning ratios, scales and sizes on this grid "
           "(docs/ceiling.md)"),
    Metric("mean_best_iou", "Mean best IoU", IOU, True, "mean over boxes of the best anchor IoU"),
    Metric("median_best_iou", "Median best IoU", IOU, True,
           "median over boxes of the best anchor IoU"),
    Metric("uncovered_boxes", "Uncovered boxes", COUNT, False,
           "boxes that get no positive anchor: they never enter the training target"),
    Metric("mean_positives_per_box", "Positives per box", DECIMAL, True,
           "mean number of anchors with IoU >= the positive threshold per box"),
    Metric("low_quality_only", "Low-quality only", COUNT, False,
           "boxes matched only by the forced best-anchor step, below the positive threshold"),
)


# -- formatting ---------------------------------------------------------------------------------
def format_value(kind: str, value) -> str:
    """A report value as shown (None: a dash)."""
    if value is None:
        return "—"
    if kind == PERCENT:
        return f"{100 * value:.1f} %"
    if kind == IOU:
        return f"{value:.3f}"
    if kind == COUNT:
        return f"{int(value):,d}"
    if kind == DECIMAL:
        return f"{value:.2f}"
    if kind == LEVEL:
        return f"P{value}"
    if kind == DELTA_PERCENT:
        return format_delta(PERCENT, value)
    return str(value)


# how a difference of each kind reads (a change, an interval's half-width): factor, format, unit
DIFFERENCE_FORMATS = {PERCENT: (100.0, ".1f", " pp"), IOU: (1.0, ".3f", ""),
                      COUNT: (1.0, ",.0f", "")}
OTHER_DIFFERENCE = (1.0, ".2f", "")


def _difference(kind: str, value: float, sign: str = "") -> str:
    factor, spec, unit = DIFFERENCE_FORMATS.get(kind, OTHER_DIFFERENCE)
    return f"{factor * value:{sign}{spec}}{unit}"


def format_delta(kind: str, delta: float) -> str:
    """A change as shown: percentage points for shares, a typographic minus sign."""
    text = _difference(kind, delta, "+")
    if not any(ch in "123456789" for ch in text):  # rounds to zero at the shown precision
        return "±0" + (" pp" if kind == PERCENT else "")
    return text.replace("-", "−")


def format_interval(kind: str, half_width: float | None) -> str:
    """An estimate's 95 % interval as shown next to it: '± 0.5 pp', '± 0.003', '± 497'."""
    return "" if half_width is None else "± " + _difference(kind, half_width)


def delta_colour(kind: str, delta: float, higher_is_better: bool) -> str:
    """Green when the change is an improvement, red when worse, grey when it rounds to 0."""
    if format_delta(kind, delta).startswith("±"):
        return NEUTRAL
    return BETTER if (delta > 0) == higher_is_better else WORSE


INTERPRETATION_TIP = (
    "Missed because of shapes: some anchor shape on this grid would reach the positive IoU, the "
    "configured ratios, scales and sizes do not - tune them.\n"
    "Beyond any shape: no anchor of any width and height centred on any level's lattice "
    "reaches the positive IoU - add a finer level or enlarge the input.\n"
    "Low-quality step: the framework's matcher forces the best anchor of each box, even below "
    "the positive IoU.")


# -- small sortable tables ----------------------------------------------------------------------
@dataclass(frozen=True)
class Column:
    header: str
    kind: str
    tooltip: str = ""


class ReportRowsModel(QAbstractTableModel):
    """A few report rows (per level, per class) of raw values, formatted and sortable."""

    def __init__(self, columns: tuple[Column, ...], parent=None):
        super().__init__(parent)
        self.columns = columns
        self._rows: list[tuple] = []
        self._shown: list[tuple] = []
        self._sort_column, self._sort_order = -1, Qt.SortOrder.AscendingOrder

    def set_rows(self, rows: list[tuple]) -> None:
        """New rows; the same number of rows only updates the cells (no reset, no re-fit of
        the columns: cheap enough for every step of a drag)."""
        same_shape = len(rows) == len(self._rows)
        if not same_shape:
            self.beginResetModel()
        self._rows = list(rows)
        self._shown = self._sorted()
        if same_shape:
            if self._rows:
                self.dataChanged.emit(self.index(0, 0),
                                      self.index(len(self._rows) - 1, len(self.columns) - 1))
        else:
            self.endResetModel()

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        self.beginResetModel()
        self._sort_column, self._sort_order = column, order
        self._shown = self._sorted()
        self.endResetModel()

    def _sorted(self) -> list[tuple]:
        if not 0 <= self._sort_column < len(self.columns):
            return list(self._rows)
        column = self._sort_column
        present = [row for row in self._rows if row[column] is not None]
        missing = [row for row in self._rows if row[column] is None]  # always last
        present.sort(key=lambda row: row[column],
                     reverse=self._sort_order == Qt.SortOrder.DescendingOrder)
        return present + missing


    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else len(self._shown)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else len(self.columns)

    def data(self, index: QModelIndex | QPersistentModelIndex,
             role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        value, column = self._shown[index.row()][index.column()], self.columns[index.column()]
        if role == Qt.ItemDataRole.DisplayRole:
            return "" if value is None and column.kind == DELTA_PERCENT else format_value(
                column.kind, value)
        if role == Qt.ItemDataRole.TextAlignmentRole:
            horizontal = (Qt.AlignmentFlag.AlignLeft if column.kind == TEXT_KIND
                          else Qt.AlignmentFlag.AlignRight)
            return horizontal | Qt.AlignmentFlag.AlignVCenter
        if role == Qt.ItemDataRole.ForegroundRole and column.kind == DELTA_PERCENT and value:
            return QColor(delta_colour(PERCENT, value, True))
        if role == SORT_VALUE_ROLE:
            return value
        return None

    def headerData(self, section: int, orientation: Qt.Orientation,  # noqa: N802
                   role: int = Qt.ItemDataRole.DisplayRole):
        if orientation != Qt.Orientation.Horizontal or not 0 <= section < len(self.columns):
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return self.columns[section].header
        if role == Qt.ItemDataRole.ToolTipRole:
            return self.columns[section].tooltip or None
        return None


LEVEL_COLUMNS = (
    Column("level", LEVEL, "pyramid level"),
    Column("best boxes", COUNT, "boxes whose best anchor is on this level"),
    Column("matched", COUNT, "of those, boxes that get a positive anchor"),
    Column("matched %", PERCENT, "matched / best boxes"),
    Column("mean IoU", IOU, "mean best IoU of the boxes whose best anchor is on this level"),
    Column("positives", COUNT, "(box, anchor) pairs with IoU >= the positive threshold"),
)
CLASS_COLUMNS = (
    Column("class", TEXT_KIND),
    Column("boxes", COUNT),
    Column("recall", PERCENT, "share of the class's boxes that get a positive anchor"),
    Column("Δ recall", DELTA_PERCENT, "change of recall with the last change of settings"),
    Column("best poss.", PERCENT, "best possible recall: best IoU >= the positive threshold"),
    Column("mean IoU", IOU, "mean best IoU"),
    Column("uncovered", COUNT, "boxes without a positive anchor"),
)


def level_rows(report: CoverageReport) -> list[tuple]:
    rows = []
    for level, row in report.per_level.items():
        best = row.best_boxes
        rows.append((int(level), best, row.matched_best_boxes,
                     row.matched_best_boxes / best if best else None,
                     row.mean_best_iou if best else None, row.positive_anchors))
    return rows


def class_rows(report: CoverageReport, previous: CoverageReport | None) -> list[tuple]:
    before = previous.per_class if previous is not None else {}
    rows = []
    for name, row in report.per_class.items():
        change = row.recall - before[name].recall if name in before else None
        rows.append((name, row.boxes, row.recall, change, row.best_possible_recall,
                     row.mean_best_iou, row.uncovered))
    return rows


class ReportTable(QTableView):
    """A small sortable report table: columns share the width when everything fits, keep their
    content width (and scroll) when it does not, so numbers are never elided."""

    def __init__(self, model: QAbstractTableModel, parent=None):
        super().__init__(parent)
        self.setModel(model)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setAlternatingRowColors(True)
        self.setWordWrap(False)
        rows = self.verticalHeader()
        rows.setVisible(False)
        rows.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        rows.setDefaultSectionSize(self.fontMetrics().height() + 6)
        header = self.horizontalHeader()
        header.setHighlightSections(False)
        header.setSortIndicatorClearable(True)
        header.setSortIndicator(-1, Qt.SortOrder.AscendingOrder)
        self.setSortingEnabled(True)
        model.modelReset.connect(self.fit_columns)

    def fit_columns(self) -> None:
        header = self.horizontalHeader()
        count = header.count()
        needed = [max(self._header_width(c), self.sizeHintForColumn(c)) for c in range(count)]
        spare = self.viewport().width() - sum(needed)
        if spare > 0:  # widen every column evenly, the first (names) keeps its width
            needed = needed[:1] + [n + spare // max(count - 1, 1) for n in needed[1:]]
        for column, width in enumerate(needed):
            header.resizeSection(column, width)

    def _header_width(self, column: int) -> int:
        """The header text's width; room for the sort arrow only on the sorted column."""
        header = self.horizontalHeader()
        if column == header.sortIndicatorSection():
            return header.sectionSizeHint(column)
        text = self.model().headerData(column, Qt.Orientation.Horizontal)
        return header.fontMetrics().horizontalAdvance(text) + 16

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 - Qt's name
        super().resizeEvent(event)
        self.fit_columns()


# -- the panel ----------------------------------------------------------------------------------
class ReportPanel(QWidget):
    """Coverage numbers with before -> after, per-level / per-class tables, unmatched boxes."""

    def __init__(self, state: AppState, parent=None):
        super().__init__(parent)
        self.state = state
        self.setPalette(dark_palette())
        self.setAutoFillBackground(True)

        self.summary = QWidget()
        self._build_summary()
        self.uncovered = UncoveredBoxTable(state)
        self.level_model = ReportRowsModel(LEVEL_COLUMNS, self)
        self.class_model = ReportRowsModel(CLASS_COLUMNS, self)
        self.level_view = ReportTable(self.level_model)
        self.class_view = ReportTable(self.class_model)
        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        self.tabs.addTab(self.uncovered, "Unmatched boxes")
        self.tabs.addTab(self.level_view, "Per level")
        self.tabs.addTab(self.class_view, "Per class")

        self.layout_box = QBoxLayout(QBoxLayout.Direction.TopToBottom, self)
        # the two arrangements have different minimums: let resizeEvent pick, not the layout
        self.layout_box.setSizeConstraint(QLayout.SizeConstraint.SetNoConstraint)
        self.layout_box.setContentsMargins(8, 6, 8, 6)
        self.layout_box.setSpacing(10)
        self.summary_scroll = QScrollArea()  # scrolls only if a short bottom dock can't hold it
        self.summary_scroll.setWidget(self.summary)
        self.summary_scroll.setWidgetResizable(True)
        self.summary_scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.summary_scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.layout_box.addWidget(self.summary_scroll, 0)
        self.layout_box.addWidget(self.tabs, 1)

        self._refresh_soon = Paced(self.refresh, self, urgent=lambda: state.is_current)
        state.coverage_changed.connect(self._refresh_soon)
        state.config_changed.connect(self._refresh_soon)  # the result becomes "updating…"
        state.model_input_changed.connect(self._refresh_soon)
        state.baseline_changed.connect(self._refresh_soon)
        state.dataset_changed.connect(self.refresh)
        self.refresh()

    def flush(self) -> None:
        """Show an update still waiting for its frame now (before a snapshot, in tests)."""
        self._refresh_soon.flush()

    def _build_summary(self) -> None:
        caption = QLabel("RECALL")
        set_text_colour(caption, MUTED)
        caption_font = QFont(caption.font())
        caption_font.setBold(True)
        caption.setFont(caption_font)
        caption.setToolTip(RECALL.tooltip)
        self.recall_value = QLabel("—")
        font = QFont(self.font())
        font.setPointSizeF(font.pointSizeF() * 2.6)
        font.setBold(True)
        self.recall_value.setFont(font)
        self.recall_value.setToolTip(RECALL.tooltip)
        self.recall_delta = QLabel("")
        delta_font = QFont(self.font())
        delta_font.setPointSizeF(delta_font.pointSizeF() * 1.5)
        delta_font.setBold(True)
        self.recall_delta.setFont(delta_font)
        self.recall_before = QLabel("")
        set_text_colour(self.recall_before, MUTED)
        self.low_quality_note = QLabel("")  # recall without the forced matches, beside it
        set_text_colour(self.low_quality_note, WARNING)
        self.low_quality_note.setWordWrap(True)
        self.low_quality_note.setToolTip(
            "The framework's matcher also gives each box the anchor(s) of its highest IoU when "
            "that is below the positive threshold (torchvision's allow_low_quality_matches, "
            "detectron2's, mmdet's min_pos_iou). Such a box trains on a poor anchor.")
        self.live_status = QLabel("")  # estimate / updating…: what the numbers are
        set_text_colour(self.live_status, WARNING)
        self.live_status.setWordWrap(True)
        headline = QHBoxLayout()
        headline.setSpacing(12)
        headline.addWidget(self.recall_value, 0, Qt.AlignmentFlag.AlignBaseline)
        headline.addWidget(self.recall_delta, 0, Qt.AlignmentFlag.AlignBaseline)
        headline.addWidget(self.recall_before, 1, Qt.AlignmentFlag.AlignBaseline)

        self.context = QLabel("no coverage yet")
        set_text_colour(self.context, MUTED)
        self.context.setWordWrap(True)

        grid = QGridLayout()
        grid.setHorizontalSpacing(10)
        grid.setVerticalSpacing(3)
        self.metric_labels: dict[str, tuple[QLabel, QLabel, QLabel]] = {}
        for row, metric in enumerate(METRICS):
            name = QLabel(metric.label)
            name.setToolTip(metric.tooltip)
            before, after, delta = QLabel(""), QLabel("—"), QLabel("")
            set_text_colour(before, MUTED)
            bold = QFont(after.font())
            bold.setBold(True)
            after.setFont(bold)
            for label in (before, after, delta):
                label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            grid.addWidget(name, row, 0)
            grid.addWidget(before, row, 1)
            grid.addWidget(after, row, 2)
            grid.addWidget(delta, row, 3)
            self.metric_labels[metric.key] = (before, after, delta)
        grid.setColumnStretch(0, 1)

        self.interpretation = QLabel("")
        self.interpretation.setWordWrap(True)
        self.interpretation.setToolTip(INTERPRETATION_TIP)
        self.interpretation.setTextInteractionFlags(
            Qt.TextInteractionFlag.TextSelectableByMouse)

        layout = QVBoxLayout(self.summary)
        layout.setContentsMargins(0, 0, 6, 0)
        layout.setSpacing(4)
        layout.addWidget(caption)
        layout.addLayout(headline)
        layout.addWidget(self.low_quality_note)
        layout.addWidget(self.live_status)
        layout.addWidget(self.context)
        layout.addSpacing(4)
        layout.addLayout(grid)
        layout.addSpacing(4)
        layout.addWidget(self.interpretation)
        self.augment_row = AugmentRow(self.state)  # off by default (docs/augmentation.md)
        self.augment_row.content_changed.connect(self._fit_summary)
        layout.addSpacing(4)
        layout.addWidget(self.augment_row)
        layout.addStretch(1)
        self.summary.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Preferred)

    # -- state -> view --------------------------------------------------------------------------
    def refresh(self) -> None:
        """Show the state's latest report (and its change from the previous one)."""
        result, table = self.state.result, self.state.table
        report = result.report if result is not None else None
        previous = self.state.previous_report if report is not None else None
        intervals = result.estimate.intervals if result is not None and result.estimate else {}
        status = status_text(self.state)
        self.live_status.setText(status)
        self.live_status.setVisible(bool(status) and report is not None)
        set_text_colour(self.recall_value, MUTED if status else TEXT)
        self._show_recall(report, previous, intervals)
        self._show_low_quality(report, result)
        for metric in METRICS:
            self._show_metric(metric, report, previous, intervals)
        if report is None:
            self.context.setText("no dataset loaded" if table is None else "computing coverage…")
            self.interpretation.setText("")
            self.level_model.set_rows([])
            self.class_model.set_rows([])
        else:
            config = result.config
            framework = FRAMEWORKS[config.framework].label
            anchors = len(config.scales) * len(config.aspect_ratios)
            boxes = len(table) if table is not None else len(result.coverage)
            self.context.setText(
                f"{boxes:,d} boxes · {framework} · {anchors} anchors per location · "
                f"positive IoU ≥ {config.positive_iou:g} · {self.state.model_input.describe()}")
            self.interpretation.setText(interpretation(report))
            self.level_model.set_rows(level_rows(report))
            self.class_model.set_rows(class_rows(report, previous))
        self.uncovered.refresh()
        count = self.uncovered.model.unmatched_count()
        self.tabs.setTabText(0, "Unmatched boxes (updating…)" if self.uncovered.updating else
                             f"Unmatched boxes ({count:,d})" if report else "Unmatched boxes")
        self._fit_summary()

    def _show_recall(self, report: CoverageReport | None, previous: CoverageReport | None,
                     intervals: dict[str, float]) -> None:
        if report is None:
            self.recall_value.setText("—")
            self.recall_delta.setText("")
            self.recall_before.setText("")
            return
        about = "≈ " if intervals else ""
        self.recall_value.setText(about + format_value(PERCENT, report.recall))
        interval = format_interval(PERCENT, intervals.get("recall"))
        if previous is None:
            self.recall_delta.setText("")
            self.recall_before.setText(interval or "boxes that get a positive anchor")
            return
        change = report.recall - previous.recall
        self.recall_delta.setText(format_delta(PERCENT, change))
        set_text_colour(self.recall_delta, delta_colour(PERCENT, change, True))
        was = ("vs pinned " if self.state.history.pinned is not None else "was ") + \
            format_value(PERCENT, previous.recall)
        self.recall_before.setText(f"{interval} · {was}" if interval else was)

    def _show_low_quality(self, report: CoverageReport | None, result) -> None:
        """Recall with and without the low-quality step's matches, side by side."""
        count = report.low_quality_only if report is not None else 0
        self.low_quality_note.setVisible(bool(count))
        if not count:
            return
        boxes = (result.estimate.total_boxes if result.estimate is not None
                 else len(result.coverage))
        strict = report.recall - count / boxes if boxes else 0.0
        about = "≈ " if result.estimate is not None else ""
        self.low_quality_note.setText(
            f"of which {about}{count:,d} boxes only by the low-quality step (no anchor reaches "
            f"IoU {result.config.positive_iou:g}): {about}{100 * strict:.1f} % without them")

    def _show_metric(self, metric: Metric, report: CoverageReport | None,
                     previous: CoverageReport | None,
                     intervals: dict[str, float]) -> None:
        before, after, delta = self.metric_labels[metric.key]
        if report is None:
            before.setText("")
            after.setText("—")
            delta.setText("")
            return
        value = format_value(metric.kind, getattr(report, metric.key))
        if intervals:  # an estimate: '≈ value ± half-width' (a median gets no interval)
            interval = format_interval(metric.kind, intervals.get(metric.key))
            value = f"≈ {value} {interval}".rstrip()
        after.setText(value)
        if previous is None:
            before.setText("")
            delta.setText("")
            return
        change = getattr(report, metric.key) - getattr(previous, metric.key)
        before.setText(f"{format_value(metric.kind, getattr(previous, metric.key))}  →")
        delta.setText(format_delta(metric.kind, change))
        set_text_colour(delta, delta_colour(metric.kind, change, metric.higher_is_better))

    # -- layout -----------------------------------------------------------------------------------
    def minimumSizeHint(self) -> QSize:  # noqa: N802 - Qt's name
        """The tall arrangement's minimum, whichever arrangement is current."""
        return QSize(MINIMUM_SIZE[0], MINIMUM_SIZE[1])

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 - Qt's name
        """Numbers beside the tables when docked wide (bottom), above them when docked tall."""
        super().resizeEvent(event)
        self._fit_summary()

    def _fit_summary(self) -> None:
        width, height = self.width(), self.height()
        wide = width >= WIDE_MIN_WIDTH and width > 1.4 * height
        direction = (QBoxLayout.Direction.LeftToRight if wide
                     else QBoxLayout.Direction.TopToBottom)
        if self.layout_box.direction() != direction:
            self.layout_box.setDirection(direction)
        margins = self.layout_box.contentsMargins()
        if wide:  # a fixed column, full height, scrolling if it must
            self.summary_scroll.setMinimumHeight(0)
            self.summary_scroll.setMaximumHeight(16777215)
            self.summary_scroll.setFixedWidth(SUMMARY_WIDE_WIDTH)
        else:  # full width, exactly as tall as its wrapped text (at most 60 % of the panel)
            self.summary_scroll.setMinimumWidth(0)
            self.summary_scroll.setMaximumWidth(16777215)
            inner = width - margins.left() - margins.right()
            needed = self.summary.heightForWidth(inner)
            if needed < 0:
                needed = self.summary.sizeHint().height()
            fitted = min(needed, int(0.6 * height))  # QScrollArea's own hint stops at 24 lines
            self.summary_scroll.setMinimumHeight(fitted)  # the panel's minimum stays MINIMUM_SIZE
            self.summary_scroll.setMaximumHeight(fitted)
