"""A dialog's cancellable function run in a worker thread, its progress shown on the GUI thread.

The function takes `progress(fraction, message)` and `cancelled()` keyword callbacks, as
`core.optimizer.optimize`, `core.anchor_budget.sweep` and `core.stft_sweep.stft_sweep` do. Its
progress reports are polled every POLL_MS (a computation may report thousands of times a second;
a dialog redraws ten times a second) and re-emitted on the GUI thread.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from PySide6.QtCore import QObject, QTimer, Signal, SignalInstance
from PySide6.QtWidgets import QDialog, QLabel, QProgressBar, QPushButton
from superqt.utils import create_worker

from gui.dataset_loader import retire

POLL_MS = 100
STARTING = "starting"  # the message shown until the function's first report
STOPPING = "stopping…"  # the message shown from cancel() until the function returns


class _RunShared:
    """What one run's worker thread and the GUI thread share: the cancel flag, and the newest
    progress report (a tuple replaced whole, so the GUI thread never reads half of one)."""

    def __init__(self):
        self.cancel = threading.Event()
        self.progress: tuple[float, str] = (0.0, STARTING)

    def report(self, fraction: float, message: str) -> None:  # worker thread
        self.progress = (fraction, message)


class BackgroundRun(QObject):
    """Runs at most one function at a time in a worker thread for `dialog`.

    `start(function, *args, **kwargs)` calls `function(*args, progress=..., cancelled=...,
    **kwargs)` in a worker. While it runs, `progressed` repeats its newest report every POLL_MS;
    then either `returned` carries its result or `failed` its error's text, each after
    `running_changed(False)`. `cancel()` asks the function to stop (it returns what it has, as
    usual); `detach()` also drops whatever the worker still sends, and happens when the dialog
    closes (`QDialog.finished`).
    """

    progressed = Signal(float, str)  # fraction done, clamped to [0, 1]; what is being done
    returned = Signal(object)  # the function's result
    failed = Signal(str)  # the text of the exception it raised
    running_changed = Signal(bool)

    def __init__(self, dialog: QDialog):
        super().__init__(dialog)
        self._worker = None
        self._shared = _RunShared()
        self._timer = QTimer(self, interval=POLL_MS)
        self._timer.timeout.connect(self._emit_progress)
        dialog.finished.connect(self.detach)

    def connect_controls(self, progress_bar: QProgressBar, status: QLabel,
                         cancel_button: QPushButton, close_button: QPushButton,
                         failure: str) -> None:
        """Drive a dialog's standard controls: `cancel_button` cancels and shows only while a
        function runs, `close_button` only while none does (Enter presses neither: it is for the
        dialog's Run button); `progress_bar` (0 to its maximum) follows the reports and is full
        when the function returns; `status` shows each report's message, STOPPING once
        cancelled, and "`failure`: error" if the function raises."""

        def show(fraction: float, message: str) -> None:
            progress_bar.setValue(int(progress_bar.maximum() * fraction))
            if not self.cancel_requested:
                status.setText(message)

        def show_running(running: bool) -> None:
            cancel_button.setVisible(running)
            close_button.setVisible(not running)

        def stop() -> None:
            if self.running:
                self.cancel()
                status.setText(STOPPING)

        for button in (cancel_button, close_button):
            button.setAutoDefault(False)
        self.progressed.connect(show)
        self.running_changed.connect(show_running)
        self.returned.connect(lambda _result: progress_bar.setValue(progress_bar.maximum()))
        self.failed.connect(lambda message: status.setText(f"{failure}: {message}"))
        cancel_button.clicked.connect(stop)
        show_running(self.running)

    @property
    def running(self) -> bool:
        """A function runs and its result is still wanted."""
        return self._worker is not None

    @property
    def cancel_requested(self) -> bool:
        """`cancel()` or `detach()` was called since the last `start()` (its result, if it
        returns, is what the function had when it stopped)."""
        return self._shared.cancel.is_set()

    def start(self, function: Callable, *args, **kwargs) -> None:
        """Run `function(*args, progress=..., cancelled=..., **kwargs)` in a worker thread;
        a run still going is detached first."""
        self.detach()
        shared = self._shared = _RunShared()
        worker = create_worker(function, *args, progress=shared.report,
                               cancelled=shared.cancel.is_set, _start_thread=False,
                               _ignore_errors=True, **kwargs)
        worker.returned.connect(lambda result: self._finish(worker, self.returned, result))
        worker.errored.connect(lambda error: self._finish(worker, self.failed, str(error)))
        self._worker = worker
        self.running_changed.emit(True)
        self._emit_progress()
        self._timer.start()
        worker.start()

    def cancel(self) -> None:
        """Ask the running function to stop; it still returns (or fails) as usual."""
        if self.running:
            self._shared.cancel.set()

    def detach(self) -> None:
        """Cancel the running function and forget it: it ends on its own, and nothing it still
        sends arrives here (for a dialog that closes while it runs)."""
        if self.running:
            worker, self._worker = self._worker, None
            self._shared.cancel.set()
            retire(worker)
            self._timer.stop()
            self.running_changed.emit(False)

    def _emit_progress(self) -> None:
        fraction, message = self._shared.progress
        self.progressed.emit(min(max(float(fraction), 0.0), 1.0), message)

    def _finish(self, worker, signal: SignalInstance, value) -> None:
        if worker is self._worker:  # not a detached one whose last signal was under way
            self._worker = None
            self._timer.stop()
            self.running_changed.emit(False)
            signal.emit(value)
