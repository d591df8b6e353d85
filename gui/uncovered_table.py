"""The table of unmatched boxes (no positive anchor): a lazy numpy-backed model and its view.

The model never builds a Python object per row: it keeps the table rows of the unmatched boxes as
one int64 array (filtered by class, ordered by the sort column) and formats a cell only when the
view asks for it in `data()`. Sorting is one `np.argsort` over the visible rows. Clicking a row,
pressing Enter on it or moving the current row with the keyboard selects that box in `AppState`,
so the main window jumps to its image. When the dataset has physical units (`core.units`), start,
duration, centre frequency and bandwidth columns are shown too; otherwise they stay hidden.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QSizePolicy,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from core.analysis import CoverageResult
from core.boxes import BoxTable
from core.units import digits_to_resolve, format_hertz, format_seconds
from gui.state import AppState
from gui.theme import IOU_BAND_COLOURS, MUTED, iou_band

# (header, tooltip); coordinates are the source's image pixels, as in `analyze --per-box`.
COLUMNS: tuple[tuple[str, str], ...] = (
    ("image id", "the image's identifier in the source"),
    ("box", "position of the box among its image's boxes in the source (0-based)"),
    ("class", "class name"),
    ("x1", "left edge, source image pixels (time)"),
    ("y1", "top edge, source image pixels (frequency row)"),
    ("x2", "right edge, source image pixels"),
    ("y2", "bottom edge, source image pixels"),
    ("w", "width in pixels"),
    ("h", "height in pixels"),
    ("w/h", "aspect ratio, width / height"),
    ("best IoU", "highest IoU of any anchor with this box"),
    ("best level", "pyramid level of the anchor reaching the best IoU"),
    ("ceiling IoU", "best IoU any anchor shape centred on this grid could reach: below the "
                    "positive IoU, only a finer stride can cover the box (docs/ceiling.md)"),
    # physical units (docs/datasets.md), shown only when the dataset has them
    ("start", "start time of the box (left edge), seconds from the recording's first sample"),
    ("duration", "length of the box in time (its width in seconds)"),
    ("f centre", "centre frequency of the box, between its lower and upper edge"),
    ("bandwidth", "height of the box in hertz"),
)
(IMAGE_ID, BOX_INDEX, CLASS, X1, Y1, X2, Y2, WIDTH, HEIGHT, RATIO, BEST_IOU, BEST_LEVEL,
 CEILING_IOU, START, DURATION, F_CENTRE, BANDWIDTH) = range(len(COLUMNS))
TEXT_COLUMNS = (IMAGE_ID, CLASS)
TIME_COLUMNS, FREQUENCY_COLUMNS = (START, DURATION), (F_CENTRE, BANDWIDTH)
VISUAL_ORDER = (IMAGE_ID, BOX_INDEX, CLASS, BEST_IOU, BEST_LEVEL, CEILING_IOU, WIDTH, HEIGHT,
                DURATION, BANDWIDTH, RATIO, START, F_CENTRE, X1, Y1, X2, Y2)
SORT_VALUE_ROLE = Qt.ItemDataRole.UserRole  # the raw (unformatted) value of a cell
TABLE_ROW_ROLE = Qt.ItemDataRole.UserRole + 1  # the BoxTable row a view row shows

NO_FILTER = None
RIGHT = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
LEFT = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter


def iou_colour(iou: float, negative_iou: float, positive_iou: float) -> QColor:
    """The IoU band's colour, the same as the best anchor's outline on the image."""
    return QColor(IOU_BAND_COLOURS[int(iou_band(iou, negative_iou, positive_iou))])


def _ranks(values: np.ndarray) -> np.ndarray:
    """Rank of each value in sorted order (ties broken by position); works for object arrays."""
    try:
        order = np.argsort(values, kind="stable")
    except TypeError:  # mixed identifier types (e.g. ints and strings): compare as text
        order = np.argsort(np.asarray([str(v) for v in values]), kind="stable")
    ranks = np.empty(len(values), np.int64)
    ranks[order] = np.arange(len(values))
    return ranks


def sort_order(key: np.ndarray, descending: bool) -> np.ndarray:
    """Positions that order `key`; ties keep their current order for integer keys.

    One quicksort (about 3x faster than numpy's stable sort on a million floats): integer keys
    are made unique as (key, position) in one int64 so the result equals a stable sort.
    """
    if np.issubdtype(key.dtype, np.integer) and len(key) < 1 << 31:
        key = key.astype(np.int64)
        composite = ((-key if descending else key) << 32) | np.arange(len(key), dtype=np.int64)
        return np.argsort(composite)
    return np.argsort(-key if descending else key)


class UncoveredBoxModel(QAbstractTableModel):
    """Unmatched boxes of one coverage result, read lazily from the numpy columns."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self._table: BoxTable | None = None
        self._result: CoverageResult | None = None
        self._levels = np.zeros(0, np.int64)
        self._unmatched = np.zeros(0, np.int64)  # table rows of all unmatched boxes
        self._rows = self._unmatched  # visible rows: class filter, then sort order
        self._class_filter: int | None = NO_FILTER
        self._sort_column = -1
        self._sort_order = Qt.SortOrder.AscendingOrder
        self._image_rank: np.ndarray | None = None  # per image, rank of its id (lazy)
        self._class_names: dict[int, str] = {}

    # -- data in --------------------------------------------------------------------------------
    def set_coverage(self, table: BoxTable | None, result: CoverageResult | None) -> None:
        """Show the unmatched boxes of `result` (None: empty). O(N) numpy, no per-row Python."""
        self.beginResetModel()
        if table is None or result is None or len(result.coverage) != len(table):
            table, result = None, None
        if table is not self._table:
            self._image_rank = None
            self._class_names = {}
        self._table, self._result = table, result
        if result is None:
            self._unmatched = np.zeros(0, np.int64)
            self._levels = np.zeros(0, np.int64)
        else:
            self._unmatched = np.flatnonzero(~result.coverage.matched)
            self._levels = np.asarray(result.config.levels, np.int64)
        self._rows = self._visible_rows()
        self.endResetModel()

    def set_class_filter(self, cls: int | None) -> None:
        """Show only boxes of class id `cls` (None: all classes)."""
        if cls == self._class_filter:
            return
        self.beginResetModel()
        self._class_filter = cls
        self._rows = self._visible_rows()
        self.endResetModel()

    @property
    def class_filter(self) -> int | None:
        return self._class_filter

    def unmatched_count(self) -> int:
        """Unmatched boxes before the class filter."""
        return len(self._unmatched)

    def class_counts(self) -> list[tuple[int, str, int]]:
        """(class id, name, unmatched boxes) for every class with at least one unmatched box."""
        if self._table is None or not len(self._unmatched):
            return []
        ids, counts = np.unique(self._table.cls[self._unmatched], return_counts=True)
        return [(int(c), self._table.class_name(int(c)), int(n))
                for c, n in zip(ids, counts, strict=True)]

    def table_row(self, view_row: int) -> int:
        """The BoxTable row shown in `view_row` (-1 when out of range)."""
        return int(self._rows[view_row]) if 0 <= view_row < len(self._rows) else -1

    def view_row(self, table_row: int) -> int:
        """The view row showing BoxTable row `table_row` (-1 when it is not shown)."""
        hits = np.flatnonzero(self._rows == table_row)
        return int(hits[0]) if len(hits) else -1

    @property
    def rows(self) -> np.ndarray:
        """The BoxTable rows in view order (read-only view)."""
        view = self._rows.view()
        view.flags.writeable = False
        return view

    # -- sorting --------------------------------------------------------------------------------
    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        """Order the visible rows by `column` (-1: table order) with one argsort."""
        self.beginResetModel()
        self._sort_column, self._sort_order = column, order
        self._rows = self._visible_rows()
        self.endResetModel()

    def _visible_rows(self) -> np.ndarray:
        rows = self._unmatched
        if self._table is None:
            return rows
        if self._class_filter is not NO_FILTER:
            rows = rows[self._table.cls[rows] == self._class_filter]
        if 0 <= self._sort_column < len(COLUMNS) and len(rows) > 1:
            descending = self._sort_order == Qt.SortOrder.DescendingOrder
            rows = rows[sort_order(self._sort_key(self._sort_column, rows), descending)]
        return rows

    def _sort_key(self, column: int, rows: np.ndarray) -> np.ndarray:
        table = self._table
        if column == IMAGE_ID:
            if self._image_rank is None:
                self._image_rank = _ranks(table.image_ids)
            return self._image_rank[table.image[rows]]  # ties keep table (source) order
        if column == CLASS:
            ids = np.unique(table.cls)
            names = np.array([table.class_name(int(c)) for c in ids], dtype=object)
            return _ranks(names)[np.searchsorted(ids, table.cls[rows])]
        if column == BEST_LEVEL:
            return self._level_numbers(rows)
        return self._numeric(column, rows)

    # -- cell values ----------------------------------------------------------------------------
    def _numeric(self, column: int, rows: np.ndarray | int):
        table, coverage = self._table, self._result.coverage
        if column == BOX_INDEX:
            return table.box_index[rows]
        if column in (X1, Y1, X2, Y2):
            return (table.x1, table.y1, table.x2, table.y2)[column - X1][rows]
        if column == WIDTH:
            return table.x2[rows] - table.x1[rows]
        if column == HEIGHT:
            return table.y2[rows] - table.y1[rows]
        if column == RATIO:
            return (table.x2[rows] - table.x1[rows]) / (table.y2[rows] - table.y1[rows])
        if column == BEST_IOU:
            return coverage.best_iou[rows]
        if column == CEILING_IOU:
            return coverage.ceiling_iou[rows]
        if column in TIME_COLUMNS + FREQUENCY_COLUMNS:
            return self._physical(column, rows)
        raise ValueError(f"column {column} is not numeric")

    def _physical(self, column: int, rows: np.ndarray | int):
        """Seconds or hertz of the boxes (NaN where the image's units are not known)."""
        table = self._table
        if table.units is None:
            return np.full(np.shape(rows), np.nan)
        image = table.image[rows]
        if column == DURATION:
            return table.units.durations(image, table.x2[rows] - table.x1[rows])
        if column == BANDWIDTH:
            return table.units.bandwidths(image, table.y2[rows] - table.y1[rows])
        t_start, _, f_low, f_high = table.units.box_extents(
            image, table.x1[rows], table.y1[rows], table.x2[rows], table.y2[rows])
        return t_start if column == START else (f_low + f_high) / 2

    def _level_numbers(self, rows: np.ndarray | int):
        index = self._result.coverage.best_level[rows]
        if not len(self._levels):
            return np.full(np.shape(index), -1) if np.ndim(index) else -1
        return np.where(index >= 0, self._levels[np.maximum(index, 0)], -1)

    def _class_name(self, cls: int) -> str:
        name = self._class_names.get(cls)
        if name is None:
            name = self._class_names[cls] = self._table.class_name(cls)
        return name

    def _value(self, row: int, column: int):
        table = self._table
        if column == IMAGE_ID:
            return table.image_ids[table.image[row]]
        if column == CLASS:
            return self._class_name(int(table.cls[row]))
        if column == BEST_LEVEL:
            return int(self._level_numbers(row))
        return self._numeric(column, row).item()

    def _text(self, row: int, column: int, value) -> str:
        if column in TIME_COLUMNS + FREQUENCY_COLUMNS:
            return self._physical_text(row, column, value)
        if column in (IMAGE_ID, CLASS, BOX_INDEX):
            return str(value)
        if column == BEST_LEVEL:
            return f"P{value}" if value >= 0 else "—"
        if column in (BEST_IOU, CEILING_IOU):
            return f"{value:.3f}"
        if column == RATIO:
            return f"{value:.3g}"
        return f"{value:.1f}"

    def _physical_text(self, row: int, column: int, value: float) -> str:
        """Sizes with 3 significant digits; positions with enough to tell neighbouring
        pixels apart (a start of 9.81234 s, a centre of 2.440125 GHz)."""
        if column == DURATION:
            return format_seconds(value)
        if column == BANDWIDTH:
            return format_hertz(value)
        units, image = self._table.units, int(self._table.image[row])
        if column == START:
            return format_seconds(value, digits_to_resolve(value,
                                                           units.seconds_per_column[image]))
        return format_hertz(value, digits_to_resolve(value, units.hertz_per_row[image]))

    def physical_columns(self) -> tuple[int, ...]:
        """The unit columns this table can fill (time ones when some image knows its seconds
        per column, frequency ones likewise): the view shows only these."""
        units = self._table.units if self._table is not None else None
        if units is None:
            return ()
        shown = ()
        if np.isfinite(units.seconds_per_column).any():
            shown += TIME_COLUMNS
        if np.isfinite(units.hertz_per_row).any():
            shown += (BANDWIDTH,)
        if (np.isfinite(units.hertz_per_row) & np.isfinite(units.frequency_of_row0)).any():
            shown += (F_CENTRE,)
        return shown

    # -- Qt model interface ---------------------------------------------------------------------
    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else len(COLUMNS)

    def data(self, index: QModelIndex | QPersistentModelIndex,
             role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or self._table is None:
            return None
        row, column = int(self._rows[index.row()]), index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return self._text(row, column, self._value(row, column))
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return LEFT if column in TEXT_COLUMNS else RIGHT
        if role == Qt.ItemDataRole.ForegroundRole and column == BEST_IOU:
            config = self._result.config
            return iou_colour(float(self._result.coverage.best_iou[row]), config.negative_iou,
                              config.positive_iou)
        if role == SORT_VALUE_ROLE:
            value = self._value(row, column)
            return value.item() if isinstance(value, np.generic) else value
        if role == TABLE_ROW_ROLE:
            return row
        return None

    def headerData(self, section: int, orientation: Qt.Orientation,  # noqa: N802
                   role: int = Qt.ItemDataRole.DisplayRole):
        if orientation != Qt.Orientation.Horizontal or not 0 <= section < len(COLUMNS):
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section][0]
        if role == Qt.ItemDataRole.ToolTipRole:
            return COLUMNS[section][1]
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return LEFT if section in TEXT_COLUMNS else RIGHT
        return None


class UncoveredBoxTable(QWidget):
    """Class filter, count line and the sortable table of unmatched boxes of `state`."""

    def __init__(self, state: AppState, parent=None):
        super().__init__(parent)
        self.state = state
        self.model = UncoveredBoxModel(self)

        self.class_combo = QComboBox()
        self.class_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.class_combo.setToolTip("show the unmatched boxes of one class only")
        self.count_label = QLabel("")
        self.count_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        palette = self.count_label.palette()
        palette.setColor(QPalette.ColorRole.WindowText, QColor(MUTED))
        self.count_label.setPalette(palette)

        self.view = QTableView()
        self.view.setModel(self.model)
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.view.setAlternatingRowColors(True)
        self.view.setWordWrap(False)
        self.view.setCornerButtonEnabled(False)
        rows = self.view.verticalHeader()
        rows.setVisible(False)
        rows.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        rows.setDefaultSectionSize(self.fontMetrics().height() + 6)
        header = self.view.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setHighlightSections(False)
        header.setSortIndicatorClearable(True)
        header.setSortIndicator(-1, Qt.SortOrder.AscendingOrder)  # start in table order
        self._size_columns()
        self._shown_physical: tuple[int, ...] | None = None
        for position, column in enumerate(VISUAL_ORDER):  # what matters first, coordinates last
            header.moveSection(header.visualIndex(column), position)
        self.view.setSortingEnabled(True)

        top = QHBoxLayout()
        top.setContentsMargins(0, 0, 0, 0)
        top.addWidget(QLabel("Class"))
        top.addWidget(self.class_combo)
        top.addSpacing(8)
        top.addWidget(self.count_label, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 4, 0, 0)
        layout.setSpacing(4)
        layout.addLayout(top)
        layout.addWidget(self.view, 1)

        self.class_combo.currentIndexChanged.connect(self._on_class_chosen)
        self.view.clicked.connect(self._activate)
        self.view.activated.connect(self._activate)  # Enter (and double-click)
        self.view.selectionModel().currentRowChanged.connect(
            lambda current, _previous: self._activate(current))  # arrow keys browse boxes
        state.selection_changed.connect(self.show_selected_box)
        self.refresh()

    def _size_columns(self) -> None:
        metrics = self.fontMetrics()
        digits = metrics.horizontalAdvance("00000.0") + 14
        widths = {IMAGE_ID: metrics.horizontalAdvance("image id") + 18,
                  BOX_INDEX: metrics.horizontalAdvance("box 00") + 14,
                  CLASS: metrics.horizontalAdvance("narrowband") + 16,
                  BEST_IOU: metrics.horizontalAdvance("best IoU ") + 18,
                  BEST_LEVEL: metrics.horizontalAdvance("best level ") + 18,
                  CEILING_IOU: metrics.horizontalAdvance("ceiling IoU ") + 18,
                  START: metrics.horizontalAdvance("12.3456 ms") + 14,
                  DURATION: metrics.horizontalAdvance("duration 0") + 14,
                  F_CENTRE: metrics.horizontalAdvance("2.440125 GHz") + 14,
                  BANDWIDTH: metrics.horizontalAdvance("bandwidth 0") + 14}
        for column in range(len(COLUMNS)):
            self.view.setColumnWidth(column, widths.get(column, digits))

    # -- state -> view --------------------------------------------------------------------------
    @property
    def updating(self) -> bool:
        """The rows shown are of settings the user has moved past (docs/live-tuning.md)."""
        return self.state.result is not None and not self.state.is_current

    def refresh(self) -> None:
        """Reload from the state's table and exact, current coverage (cheap: a model reset).
        While settings change, the rows of the last exact result stay, greyed and disabled:
        they are no longer the current numbers, and reloading them per drag step is wasted."""
        updating = self.updating
        self.view.setEnabled(not updating)
        self.class_combo.setEnabled(not updating)
        if not updating:
            self.model.set_coverage(self.state.table, self.state.result)
            self._show_physical_columns()
            self._fill_class_combo()
            self.show_selected_box(self.state.selected_box)
        self._update_count()

    def _show_physical_columns(self) -> None:
        """Unit columns only for a dataset that has those units."""
        shown = self.model.physical_columns()
        if shown == self._shown_physical:
            return
        self._shown_physical = shown
        for column in TIME_COLUMNS + FREQUENCY_COLUMNS:
            self.view.setColumnHidden(column, column not in shown)

    def _fill_class_combo(self) -> None:
        chosen = self.model.class_filter
        counts = self.model.class_counts()
        self.class_combo.blockSignals(True)
        self.class_combo.clear()
        self.class_combo.addItem(f"all ({self.model.unmatched_count():,d})", NO_FILTER)
        for cls, name, count in counts:
            self.class_combo.addItem(f"{name} ({count:,d})", cls)
        position = self.class_combo.findData(chosen) if chosen is not NO_FILTER else 0
        if position < 0:  # the chosen class has no unmatched box any more: keep it, at 0
            self.class_combo.addItem(f"{self.state.table.class_name(chosen)} (0)"
                                     if self.state.table is not None else "—", chosen)
            position = self.class_combo.count() - 1
        self.class_combo.setCurrentIndex(position)
        self.class_combo.blockSignals(False)

    def _update_count(self) -> None:
        total = len(self.state.table) if self.state.table is not None else 0
        if self.state.result is None:
            self.count_label.setText("no coverage yet")
            return
        if self.updating:
            self.count_label.setText("updating… (rows of the last exact result)")
            return
        shown = self.model.rowCount()
        text = f"{self.model.unmatched_count():,d} of {total:,d} boxes unmatched"
        if self.model.class_filter is not NO_FILTER:
            text += f" · {shown:,d} shown"
        self.count_label.setText(text)
        self.count_label.setToolTip(text)

    def show_selected_box(self, table_row: int) -> None:
        """Highlight the selected box's row if it is in the table (does not re-emit)."""
        view_row = self.model.view_row(table_row) if table_row >= 0 else -1
        selection = self.view.selectionModel()
        if view_row < 0:
            selection.clearSelection()
            return
        if self.view.currentIndex().row() == view_row:
            return
        index = self.model.index(view_row, 0)
        selection.blockSignals(True)
        selection.setCurrentIndex(
            index, selection.SelectionFlag.ClearAndSelect | selection.SelectionFlag.Rows)
        selection.blockSignals(False)
        self.view.viewport().update()
        self.view.scrollTo(index)

    # -- view -> state --------------------------------------------------------------------------
    def _on_class_chosen(self, position: int) -> None:
        self.model.set_class_filter(self.class_combo.itemData(position))
        self._update_count()
        self.show_selected_box(self.state.selected_box)

    def _activate(self, index: QModelIndex) -> None:
        row = self.model.table_row(index.row()) if index.isValid() else -1
        if row >= 0:
            self.state.select_box(row)
