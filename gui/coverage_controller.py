"""Recomputes coverage in a worker thread whenever the dataset, config or model input changes.

Changes are debounced and coalesced: while one computation runs, further changes only mark the
result stale, and the newest config is computed as soon as the worker is free. So dragging a
ratio slider stays smooth and the last value always wins.
"""

from __future__ import annotations

import time

from PySide6.QtCore import QObject, QTimer, Signal
from superqt.utils import create_worker

from core.analysis import CoverageSession
from gui.dataset_loader import retire
from gui.state import AppState

DEBOUNCE_MS = 15


def _compute(session: CoverageSession | None, table, model_input, config):
    """Worker body: build the session if needed (maps boxes, sets up the engine), then compute."""
    start = time.perf_counter()
    if session is None:
        session = CoverageSession(table, model_input)
    result = session.compute(config)
    return session, result, time.perf_counter() - start


class CoverageController(QObject):
    """Keeps `state.result` up to date with `state.config` on `state.table`."""

    busy_changed = Signal(bool)
    computed = Signal(float)  # seconds the last computation took
    failed = Signal(str)

    def __init__(self, state: AppState, parent: QObject | None = None):
        super().__init__(parent)
        self.state = state
        self.session: CoverageSession | None = None
        self._worker = None
        self._stale = False
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(DEBOUNCE_MS)
        self._timer.timeout.connect(self._start)
        state.dataset_changed.connect(self._on_dataset_changed)
        state.config_changed.connect(self.schedule)

    @property
    def busy(self) -> bool:
        return self._worker is not None

    def schedule(self) -> None:
        """Recompute soon (debounced); a preview of a running load waits for the whole table."""
        if self.state.table is not None and not self.state.partial:
            self._timer.start()

    def _on_dataset_changed(self) -> None:
        self.session = None
        self.schedule()

    def _start(self) -> None:
        if self._worker is not None:
            self._stale = True
            return
        state = self.state
        if state.table is None:
            return
        session = self.session
        if session is not None and (session.table is not state.table
                                    or session.model_input != state.model_input):
            session = None
        self._stale = False
        worker = create_worker(_compute, session, state.table, state.model_input, state.config,
                               _start_thread=False, _ignore_errors=True)
        worker.returned.connect(self._on_returned)
        worker.errored.connect(self._on_errored)
        self._worker = worker
        self.busy_changed.emit(True)
        worker.start()

    def _finish(self) -> None:
        self._worker = None
        self.busy_changed.emit(False)
        if self._stale:
            self._start()

    def _on_returned(self, output) -> None:
        session, result, seconds = output
        current = (session.table is self.state.table
                   and session.model_input == self.state.model_input)
        if current:
            self.session = session
            if result.config == self.state.config:
                self.state.set_result(result)
                self.computed.emit(seconds)
            else:
                self._stale = True
        self._finish()

    def _on_errored(self, error: Exception) -> None:
        self.failed.emit(str(error))
        self._finish()

    def shutdown(self) -> None:
        """Forget a running computation (the window is closing): its result is dropped."""
        self._timer.stop()
        if self._worker is not None:
            retire(self._worker)
            self._worker = None

    def wait(self, timeout_s: float = 30.0) -> None:
        """Block until idle (tests and the screenshot command)."""
        from PySide6.QtWidgets import QApplication

        deadline = time.perf_counter() + timeout_s
        while (self._worker is not None or self._timer.isActive()) and \
                time.perf_counter() < deadline:
            QApplication.processEvents()
            time.sleep(0.002)
