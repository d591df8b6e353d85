"""Loads a dataset in a worker thread (superqt), reporting progress and honouring Cancel."""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal
from superqt.utils import GeneratorWorker, thread_worker

from core.analysis import ModelInput
from core.dataset_views import prepare_views
from core.sources import Source, open_source, stream_table


@thread_worker(start_thread=False, ignore_errors=True)
def _load(source: Source, model_input: ModelInput):
    """Runs in the worker: yields (done, total) between batches, then returns the BoxTable and
    its viewer indexes (so the UI thread does no per-box work when the dataset arrives)."""
    stream = stream_table(source)
    while True:
        try:
            done, total, _builder = next(stream)
        except StopIteration as finished:
            table = finished.value
            break
        yield done, total
    return table, prepare_views(table, model_input), _first_pixels(source, table)


def _first_pixels(source: Source, table):
    """The first image's pixels, rendered here so the window shows it without a stall."""
    if table.image_count == 0:
        return None
    try:
        return source.pixels(0)
    except Exception:  # noqa: BLE001 - the window reports pixel errors when it shows the image
        return None


class DatasetLoader(QObject):
    """Owns at most one running load; emits progress, the finished table, or an error text."""

    progress = Signal(int, int)  # done, total (0 when unknown)
    loaded = Signal(object, object, object, object)  # BoxTable, Source, DatasetViews, pixels
    failed = Signal(str)
    cancelled = Signal()

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self._worker: GeneratorWorker | None = None

    @property
    def busy(self) -> bool:
        return self._worker is not None

    def start(self, spec: str, model_input: ModelInput | None = None) -> None:
        """Open `spec` and stream it in the background; errors are reported via `failed`.
        `model_input` is the model input the box shapes are binned for (default: native)."""
        self.cancel()
        try:
            source = open_source(spec)
        except Exception as error:  # noqa: BLE001 - any problem becomes a message, not a crash
            self.failed.emit(str(error))
            return
        worker = _load(source, model_input or ModelInput())
        worker.yielded.connect(lambda event: self.progress.emit(event[0], event[1] or 0))
        worker.returned.connect(lambda output: self._finish(worker, *output, source))
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

    def _finish(self, worker: GeneratorWorker, table, views, pixels, source: Source) -> None:
        if worker is self._worker:
            self._worker = None
            self.loaded.emit(table, source, views, pixels)

    def _fail(self, worker: GeneratorWorker, error: Exception) -> None:
        if worker is self._worker:
            self._worker = None
            self.failed.emit(str(error))
