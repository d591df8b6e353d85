"""Recomputes coverage in a worker thread whenever the dataset, config or model input changes.

Results follow the hand (docs/live-tuning.md): one computation runs at a time, always for the
newest config, and every finished result is shown, even if the config has moved on (the window
labels it "updating…"). On a large dataset, while a slider is held the newest config gets a fast
estimate on a sample of images; a config that has been estimated and not changed since, or any
config once the slider is let go, is computed exactly. At rest, `state.result` is the exact
result of `state.config`.
"""

from __future__ import annotations

import time

from PySide6.QtCore import QObject, QTimer, Signal
from superqt.utils import create_worker

from core.analysis import CoverageSession
from core.dataset_views import unmatched_shapes
from core.shape_regions import ShapeBins
from gui.dataset_loader import retire
from gui.state import AppState

DEBOUNCE_MS = 10  # gathers the signals of one edit (e.g. a spin box and its slider)
PAUSE_MS = 150  # a held slider that has not moved for this long gets the exact result
EXACT, ESTIMATE = "exact", "estimate"


def _compute(session: CoverageSession | None, table, model_input, config, kind: str,
             image_index: int, bins: ShapeBins | None):
    """Worker body: build the session if needed (maps boxes, sets up the engine), compute the
    exact result or, where it is much faster, an estimate, and count what the histograms draw
    of it (`bins`: the dataset's binned shapes, if prepared for this model input)."""
    start = time.perf_counter()
    if session is None:
        session = CoverageSession(table, model_input)
    if kind == ESTIMATE and session.estimates_help:
        result = session.estimate(config, image_index)
    else:
        result = session.compute(config)
    seconds = time.perf_counter() - start
    shapes = unmatched_shapes(bins, result) if bins is not None else None
    return session, result, shapes, seconds


class CoverageController(QObject):
    """Keeps `state.result` following `state.config` on `state.table`."""

    busy_changed = Signal(bool)
    computed = Signal(float)  # seconds the last computation took (exact or estimate)
    failed = Signal(str)

    def __init__(self, state: AppState, parent: QObject | None = None):
        super().__init__(parent)
        self.state = state
        self.session: CoverageSession | None = None
        self._worker = None
        self._pending = False  # a change arrived while the worker was busy
        self._estimated = None  # (config, model input) of the last estimate shown
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(DEBOUNCE_MS)
        self._timer.timeout.connect(self._start)
        self._pause = QTimer(self)  # while a slider is held: exact once the hand pauses
        self._pause.setSingleShot(True)
        self._pause.setInterval(PAUSE_MS)
        self._pause.timeout.connect(self._start)
        state.dataset_changed.connect(self._on_dataset_changed)
        state.config_changed.connect(self.schedule)
        state.model_input_changed.connect(self.schedule)
        state.dragging_changed.connect(lambda _dragging: self.schedule())

    def _fits(self, session: CoverageSession | None) -> bool:
        """`session` holds the state's table under its model input."""
        state = self.state
        return (session is not None and session.table is state.table
                and session.model_input == state.model_input)

    @property
    def current_session(self) -> CoverageSession | None:
        """The session of the loaded table and model input, if one has been built."""
        return self.session if self._fits(self.session) else None

    @property
    def busy(self) -> bool:
        return self._worker is not None

    def schedule(self) -> None:
        """Recompute soon; a preview of a running load waits for the whole table."""
        self._pause.stop()
        if self.state.table is None or self.state.partial or self.state.is_current:
            return
        if self._worker is not None:
            self._pending = True
        elif not self._timer.isActive():
            self._timer.start()

    def _on_dataset_changed(self) -> None:
        self.session = None
        self._estimated = None
        self.schedule()

    def _next_kind(self) -> str:
        """Estimate while a slider is held and moving; exact once it is let go or has paused
        on an estimated config (the session computes small datasets exactly either way)."""
        state = self.state
        paused = (self._estimated == (state.config, state.model_input)
                  and not self._pause.isActive())
        return EXACT if not state.dragging or paused else ESTIMATE

    def _start(self) -> None:
        state = self.state
        if self._worker is not None:
            self._pending = True
            return
        if state.table is None or state.partial:
            self.busy_changed.emit(False)
            return
        session = self.current_session
        self._pending = False
        views = state.views
        bins = (views.shape_bins if views is not None and views.model_input == state.model_input
                else None)
        worker = create_worker(_compute, session, state.table, state.model_input, state.config,
                               self._next_kind(), state.image_index, bins,
                               _start_thread=False, _ignore_errors=True)
        worker.returned.connect(self._on_returned)
        worker.errored.connect(self._on_errored)
        self._worker = worker
        self.busy_changed.emit(True)
        worker.start()

    def _on_returned(self, output) -> None:
        session, result, shapes, seconds = output
        state = self.state
        self._worker = None
        if self._fits(session):
            self.session = session
            self._estimated = None if result.exact else (result.config, result.model_input)
            state.set_result(result, shapes)
            self.computed.emit(seconds)
        if state.is_current:
            if not self._compute_baseline():
                self.busy_changed.emit(False)
        elif state.dragging and not result.exact and state.result_is_for_config:
            self._pause.start()  # the hand has not moved since: exact if it stays so
        else:
            self._start()  # the newest config: estimated while it moves, then exact

    def _compute_baseline(self) -> bool:
        """At rest, the exact report of a baseline nobody computed (the user moved on before
        its result came): computed now so that before → after has its 'before'."""
        state, session = self.state, self.session
        baseline = state.missing_baseline
        if baseline is None or session is None or baseline[1] != session.model_input:
            return False
        worker = create_worker(session.compute, baseline[0], _start_thread=False,
                               _ignore_errors=True)
        worker.returned.connect(self._on_baseline)
        worker.errored.connect(self._on_errored)
        self._worker = worker
        worker.start()
        return True

    def _on_baseline(self, result) -> None:
        self._worker = None
        state = self.state
        if self._fits(self.session):
            state.remember_baseline(result)
        if not state.is_current:
            self._start()
        else:
            self.busy_changed.emit(False)

    def _on_errored(self, error: Exception) -> None:
        self._worker = None
        self.failed.emit(str(error))
        if self._pending:
            self._start()
        else:
            self.busy_changed.emit(False)

    def shutdown(self) -> None:
        """Forget a running computation (the window is closing): its result is dropped."""
        self._timer.stop()
        self._pause.stop()
        if self._worker is not None:
            retire(self._worker)
            self._worker = None

    def wait(self, timeout_s: float = 30.0) -> None:
        """Block until idle (tests and the screenshot command)."""
        from PySide6.QtWidgets import QApplication

        deadline = time.perf_counter() + timeout_s
        while (self._worker is not None or self._timer.isActive()
               or self._pause.isActive()) and \
                time.perf_counter() < deadline:
            QApplication.processEvents()
            time.sleep(0.002)
