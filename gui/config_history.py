"""Undo/redo of anchor-config changes, one step per gesture, and the baseline a change is
compared with (docs/live-tuning.md).

A gesture is one slider press → release, or a burst of edits with no pause longer than the
state's gesture gap (a spin box held down), or any single edit. Its baseline is the state before
it, so "before → after" after a drag compares with where the drag started, not with the last
intermediate value. A pinned baseline ("compare with this config") stays until unpinned.
Plain Python: the state object drives it.
"""

from __future__ import annotations

from collections import OrderedDict

from core.analysis import ModelInput
from core.anchor_config import AnchorConfig
from core.coverage import CoverageReport

Key = tuple[AnchorConfig, ModelInput]  # what a coverage report is a report of
REPORTS_KEPT = 64  # exact reports remembered (a baseline, undo targets)
UNDO_LIMIT = 200


class ConfigHistory:
    """Undo and redo stacks of configs, the current gesture's baseline and a pinned one, and
    the exact reports seen so far (for the baselines' numbers)."""

    def __init__(self):
        self.undo_stack: list[AnchorConfig] = []
        self.redo_stack: list[AnchorConfig] = []
        self.gesture_baseline: Key | None = None
        self.pinned: Key | None = None
        self.in_gesture = False
        self._reports: OrderedDict[Key, CoverageReport] = OrderedDict()

    @property
    def baseline(self) -> Key | None:
        """What the current numbers are compared with: the pinned state, else the state before
        the latest gesture."""
        return self.pinned if self.pinned is not None else self.gesture_baseline

    def begin(self, before: Key, undoable: bool = True) -> None:
        """A change is about to leave `before`: the first change of a gesture records it as
        the baseline and, if `undoable`, as an undo step (and forgets what could be redone)."""
        if self.in_gesture:
            return
        self.in_gesture = True
        self.gesture_baseline = before
        if undoable:
            if not self.undo_stack or self.undo_stack[-1] != before[0]:
                self.undo_stack.append(before[0])
                del self.undo_stack[:-UNDO_LIMIT]
            self.redo_stack.clear()

    def end(self) -> None:
        """The gesture is over: the next change starts a new one."""
        self.in_gesture = False

    def undo(self, current: AnchorConfig) -> AnchorConfig | None:
        """The config before the latest gesture (None: nothing to undo); `current` can be
        redone."""
        if not self.undo_stack:
            return None
        self.redo_stack.append(current)
        return self.undo_stack.pop()

    def redo(self, current: AnchorConfig) -> AnchorConfig | None:
        if not self.redo_stack:
            return None
        self.undo_stack.append(current)
        return self.redo_stack.pop()

    # -- reports ---------------------------------------------------------------------------------
    def remember(self, key: Key, report: CoverageReport) -> None:
        self._reports[key] = report
        self._reports.move_to_end(key)
        while len(self._reports) > REPORTS_KEPT:
            self._reports.popitem(last=False)

    def report_of(self, key: Key | None) -> CoverageReport | None:
        return self._reports.get(key) if key is not None else None

    def forget_reports(self) -> None:
        """A new dataset: every remembered number is of other boxes."""
        self._reports.clear()
