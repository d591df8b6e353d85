"""The application state the widgets observe: dataset, anchor config, coverage, selection.

Widgets never call each other: they read this object and listen to its signals; user actions go
through its setters. Data flows one way (SPEC §1): dataset -> coverage under the config -> views.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QObject, Signal

from core.analysis import CoverageResult, ModelInput
from core.anchor_config import AnchorConfig, default_config
from core.boxes import BoxTable
from core.dataset_views import DatasetViews, UnmatchedShapes, rows_by_image
from core.sources import Source


class AppState(QObject):
    """One loaded dataset, the anchor config being tuned, and the latest coverage of it."""

    dataset_changed = Signal()  # table/source replaced (coverage follows later)
    config_changed = Signal()  # anchor config or model input changed (coverage follows later)
    coverage_changed = Signal()  # `result` updated: an estimate or an exact result
    image_changed = Signal(int)  # the image on screen
    selection_changed = Signal(int)  # the selected box (table row), -1 for none
    dragging_changed = Signal(bool)  # a slider of the config is held / let go

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self.table: BoxTable | None = None
        self.source: Source | None = None
        self.config: AnchorConfig = default_config("keras-cv")
        self.model_input = ModelInput()
        self.result: CoverageResult | None = None  # the newest result shown (see is_current)
        self.exact_result: CoverageResult | None = None  # the newest exact one
        self.result_shapes: UnmatchedShapes | None = None  # histogram counts of `result`
        self.previous_report: dict | None = None  # the exact report before the last change
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
        self.previous_report = None
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
            self.config = config
            self.config_changed.emit()

    def set_model_input(self, model_input: ModelInput) -> None:
        if model_input != self.model_input:
            self.model_input = model_input
            self.config_changed.emit()

    def set_dragging(self, dragging: bool) -> None:
        if dragging != self.dragging:
            self.dragging = dragging
            self.dragging_changed.emit(dragging)

    def set_result(self, result: CoverageResult, shapes: UnmatchedShapes | None = None) -> None:
        """Show a finished coverage computation, exact or estimated, possibly of a config the
        user has already moved past (`is_current` tells). A new exact result makes the previous
        exact report the 'before'. `shapes`: the histograms' counts of it, when counted off the
        UI thread."""
        if result.exact:
            if self.exact_result is not None and self.exact_result.config != result.config:
                self.previous_report = self.exact_result.report
            self.exact_result = result
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
