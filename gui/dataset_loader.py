"""Loads a dataset in a worker thread (superqt), reporting progress and honouring Cancel."""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal
from superqt.utils import GeneratorWorker, thread_worker

from core.sources import Source, open_source, stream_table


@thread_worker(start_thread=False, ignore_errors=True)
def _load(source: Source):
    """Runs in the worker: yields (done, total) between batches, returns the BoxTable."""
    stream = stream_table(source)
    while True:
        try:
            done, total, _builder = next(stream)
        except StopIteration as finished:
            return finished.value
        yield done, total


class DatasetLoader(QObject):
    """Owns at most one running load; emits progress, the finished table, or an error text."""

    progress = Signal(int, int)  # done, total (0 when unknown)
    loaded = Signal(object, object)  # BoxTable, Source
    failed = Signal(str)
    cancelled = Signal()

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self._worker: GeneratorWorker | None = None

    @property
    def busy(self) -> bool:
        return self._worker is not None

    def start(self, spec: str) -> None:
        """Open `spec` and stream it in the background; errors are reported via `failed`."""
        self.cancel()
        try:
            source = open_source(spec)
        except Exception as error:  # noqa: BLE001 - any problem becomes a message, not a crash
            self.failed.emit(str(error))
            return
        worker = _load(source)
        worker.yielded.connect(lambda event: self.progress.emit(event[0], event[1] or 0))
        worker.returned.connect(lambda table: self._finish(worker, table, source))
        worker.errored.connect(lambda error: self._fail(worker, error))
        self._worker = worker
        worker.start()

    def cancel(self) -> None:
        """Stop the running load between two batches; the previous dataset stays."""
        if self._worker is not None:
            worker, self._worker = self._worker, None
            for signal in (worker.yielded, worker.returned, worker.errored):
                signal.disconnect()  # it may still yield once before it stops
            worker.quit()
            self.cancelled.emit()

    def _finish(self, worker: GeneratorWorker, table, source: Source) -> None:
        if worker is self._worker:
            self._worker = None
            self.loaded.emit(table, source)

    def _fail(self, worker: GeneratorWorker, error: Exception) -> None:
        if worker is self._worker:
            self._worker = None
            self.failed.emit(str(error))
