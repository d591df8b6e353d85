"""The application state the widgets observe: dataset, anchor config, coverage, selection.

Widgets never call each other: they read this object and listen to its signals; user actions go
through its setters. Data flows one way (docs/architecture.md): dataset -> coverage under the
config -> views.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QObject, QTimer, Signal

from core.analysis import CoverageResult, ModelInput
from core.anchor_config import AnchorConfig, default_config
from core.boxes import BoxTable
from core.coverage import CoverageReport
from core.dataset_views import DatasetViews, UnmatchedShapes, rows_by_image
from core.sources import Source
from gui.config_history import ConfigHistory, Key

GESTURE_GAP_MS = 800  # edits closer together than this (a spin box held down) are one gesture


class AppState(QObject):
    """One loaded dataset, the anchor config being tuned, and the latest coverage of it."""

    dataset_changed = Signal()  # table/source replaced (coverage follows later)
    config_changed = Signal()  # anchor config changed (coverage follows later)
    model_input_changed = Signal()  # model input size / resize changed (coverage follows later)
    coverage_changed = Signal()  # `result` updated: an estimate or an exact result
    image_changed = Signal(int)  # the image on screen
    selection_changed = Signal(int)  # the selected box (table row), -1 for none
    dragging_changed = Signal(bool)  # a slider of the config is held / let go
    baseline_changed = Signal()  # the compared-with state, or its report, changed

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self.table: BoxTable | None = None
        self.source: Source | None = None
        self.config: AnchorConfig = default_config("keras-cv")
        self.model_input = ModelInput()
        self.result: CoverageResult | None = None  # the newest result shown (see is_current)
        self.exact_result: CoverageResult | None = None  # the newest exact one
        self.result_shapes: UnmatchedShapes | None = None  # histogram counts of `result`
        self.history = ConfigHistory()  # undo / redo by gesture, baselines, exact reports
        self._replaying = False  # undo / redo in progress: not itself an undo step
        self._gesture_timer = QTimer(self)
        self._gesture_timer.setSingleShot(True)
        self._gesture_timer.setInterval(GESTURE_GAP_MS)
        self._gesture_timer.timeout.connect(self.end_gesture)
        self.image_index = 0
        self.selected_box = -1
        self.views: DatasetViews | None = None
        self.partial = False  # `table` is a preview of a load still running
        self.dragging = False  # the user holds a config slider: more changes will follow
        self._box_order = np.zeros(0, np.int64)
        self._image_starts = np.zeros(1, np.int64)

    # -- dataset ------------------------------------------------------------------------------
    def set_dataset(self, table: BoxTable, source: Source | None,
                    views: DatasetViews | None = None, partial: bool = False) -> None:
        """A new dataset; `views` (prepared off the UI thread) saves re-indexing it here;
        `partial` marks a preview of a load still running (no coverage is computed for it)."""
        self.table, self.source, self.views = table, source, views
        self.partial = partial
        self.result = None
        self.result_shapes = None
        self.exact_result = None
        self.history.forget_reports()
        if views is not None:
            self._box_order, self._image_starts = views.box_order, views.image_starts
        else:
            self._box_order, self._image_starts = rows_by_image(table)
        self.image_index = 0
        self.selected_box = -1
        self.dataset_changed.emit()
        self.image_changed.emit(0)

    def boxes_of_image(self, index: int) -> np.ndarray:
        """Table rows of the boxes of image `index`."""
        if self.table is None or not 0 <= index < self.table.image_count:
            return np.zeros(0, np.int64)
        return self._box_order[self._image_starts[index]:self._image_starts[index + 1]]

    # -- config and coverage ----------------------------------------------------------------------
    def set_config(self, config: AnchorConfig) -> None:
        if config != self.config:
            self._begin_gesture(undoable=not self._replaying)
            self.config = config
            self.config_changed.emit()

    def set_model_input(self, model_input: ModelInput) -> None:
        if model_input != self.model_input:
            self._begin_gesture(undoable=False)
            self.model_input = model_input
            self.model_input_changed.emit()

    def set_dragging(self, dragging: bool) -> None:
        """A slider is pressed (a gesture starts with its first move) or released (it ends)."""
        if dragging != self.dragging:
            self.end_gesture()
            self.dragging = dragging
            self.dragging_changed.emit(dragging)

    # -- gestures, baseline, undo ---------------------------------------------------------------
    @property
    def key(self) -> Key:
        return (self.config, self.model_input)

    def _begin_gesture(self, undoable: bool) -> None:
        started = not self.history.in_gesture
        self.history.begin(self.key, undoable)
        if not self.dragging:
            self._gesture_timer.start()  # (re)started by every edit of a burst
        if started:
            self.baseline_changed.emit()

    def end_gesture(self) -> None:
        """The next change starts a new gesture (and a new undo step)."""
        self._gesture_timer.stop()
        self.history.end()

    @property
    def previous_report(self) -> CoverageReport | None:
        """The exact report of the baseline (the state before the latest gesture, or the pinned
        one); None when it is the current state or its report is not known yet."""
        baseline = self.history.baseline
        if baseline is None or baseline == self.key:
            return None
        return self.history.report_of(baseline)

    @property
    def missing_baseline(self) -> Key | None:
        """The baseline, when it differs from the current state and its report is unknown."""
        baseline = self.history.baseline
        if baseline is None or baseline == self.key or self.previous_report is not None:
            return None
        return baseline

    def remember_baseline(self, result: CoverageResult) -> None:
        """An exact result computed only for its numbers as a baseline."""
        self.history.remember((result.config, result.model_input), result.report)
        self.baseline_changed.emit()

    def pin_baseline(self) -> None:
        """Compare with the current state until unpinned."""
        self.history.pinned = self.key
        self.baseline_changed.emit()

    def unpin_baseline(self) -> None:
        self.history.pinned = None
        self.baseline_changed.emit()

    def undo(self) -> bool:
        """Back to the config before the latest gesture; False when there is none."""
        return self._replay(self.history.undo)

    def redo(self) -> bool:
        return self._replay(self.history.redo)

    def _replay(self, step) -> bool:
        self.end_gesture()
        config = step(self.config)
        if config is None:
            return False
        self._replaying = True
        try:
            self.set_config(config)
        finally:
            self._replaying = False
        self.end_gesture()  # an undo is a gesture of its own: compared with where it left
        return True

    def set_result(self, result: CoverageResult, shapes: UnmatchedShapes | None = None) -> None:
        """Show a finished coverage computation, exact or estimated, possibly of a config the
        user has already moved past (`is_current` tells); exact reports are remembered for the
        baselines. `shapes`: the histograms' counts of it, when counted off the UI thread."""
        if result.exact:
            self.exact_result = result
            self.history.remember((result.config, result.model_input), result.report)
        self.result = result
        self.result_shapes = shapes
        self.coverage_changed.emit()

    @property
    def is_current(self) -> bool:
        """`result` is exact and of the config and model input now set: nothing is pending."""
        result = self.result
        return (result is not None and result.exact and result.config == self.config
                and result.model_input == self.model_input)

    @property
    def result_is_for_config(self) -> bool:
        """`result` (exact or estimated) is of the config and model input now set."""
        result = self.result
        return (result is not None and result.config == self.config
                and result.model_input == self.model_input)

    # -- navigation -----------------------------------------------------------------------------
    def set_image(self, index: int) -> None:
        if self.table is None or not 0 <= index < self.table.image_count:
            return
        if index != self.image_index:
            self.image_index = index
            self.image_changed.emit(index)
        if self.selected_box >= 0 and self.table.image[self.selected_box] != index:
            self.select_box(-1)

    def select_box(self, row: int) -> None:
        """Select a box by table row (-1: none), moving to its image first."""
        if self.table is not None and row >= 0:
            self.set_image(int(self.table.image[row]))
        if row != self.selected_box:
            self.selected_box = row
            self.selection_changed.emit(row)

    def next_image_with_uncovered_box(self, step: int = 1) -> int | None:
        """The next image (cyclically, in direction `step`) holding an unmatched box."""
        result = self.exact_result
        if self.table is None or result is None or self.table.image_count == 0:
            return None
        unmatched_images = np.unique(self.table.image[~result.coverage.matched])
        if len(unmatched_images) == 0:
            return None
        if step > 0:
            later = unmatched_images[unmatched_images > self.image_index]
            return int(later[0] if len(later) else unmatched_images[0])
        earlier = unmatched_images[unmatched_images < self.image_index]
        return int(earlier[-1] if len(earlier) else unmatched_images[-1])
