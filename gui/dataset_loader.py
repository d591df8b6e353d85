"""Loads a dataset in a worker thread (superqt), reporting progress and honouring Cancel.

While a long load runs, the worker also hands out snapshots of the boxes read so far (at most
every PREVIEW_SECONDS), so a window with nothing to show yet can show boxes as they stream in.
"""

from __future__ import annotations

import time

from PySide6.QtCore import QObject, Signal
from superqt.utils import GeneratorWorker, thread_worker

from core.analysis import ModelInput
from core.dataset_views import prepare_views
from core.sources import Source, open_source, stream_table

PREVIEW_SECONDS = 0.5
_RETIRED: set = set()  # cancelled workers, kept alive until their thread ends


def retire(worker) -> None:
    """Forget a running worker safely: no more signals reach us, and the Python object lives
    until its thread finishes (deleting it earlier breaks the thread's last emits)."""
    names = ("returned", "errored")
    if isinstance(worker, GeneratorWorker):
        names += ("yielded",)
    for name in names:
        try:
            getattr(worker, name).disconnect()
        except (RuntimeError, TypeError):  # nothing connected
            pass
    _RETIRED.add(worker)
    worker.finished.connect(lambda: _RETIRED.discard(worker))


@thread_worker(start_thread=False, ignore_errors=True)
def _load(source: Source, model_input: ModelInput, previews: bool):
    """Runs in the worker: yields ("progress", done, total) between batches and, with
    `previews`, ("preview", table, views, pixels) snapshots; returns the final table, its viewer
    indexes and the first image's pixels (so the UI thread does no per-box work)."""
    stream = stream_table(source)
    last_preview = time.perf_counter()
    while True:
        try:
            done, total, builder = next(stream)
        except StopIteration as finished:
            table = finished.value
            break
        yield "progress", done, total
        if previews and time.perf_counter() - last_preview >= PREVIEW_SECONDS:
            partial = builder.build()
            yield "preview", partial, prepare_views(partial, model_input), None
            last_preview = time.perf_counter()
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
    preview = Signal(object, object, object, object)  # the boxes so far: like `loaded`
    loaded = Signal(object, object, object, object)  # BoxTable, Source, DatasetViews, pixels
    failed = Signal(str)
    cancelled = Signal()

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self._worker: GeneratorWorker | None = None

    @property
    def busy(self) -> bool:
        return self._worker is not None

    def start(self, spec: str, model_input: ModelInput | None = None,
              previews: bool = False) -> None:
        """Open `spec` and stream it in the background; errors are reported via `failed`.
        `model_input` is the model input the box shapes are binned for (default: native);
        `previews` asks for snapshots of the boxes read so far."""
        self.cancel()
        try:
            source = open_source(spec)
        except Exception as error:  # noqa: BLE001 - any problem becomes a message, not a crash
            self.failed.emit(str(error))
            return
        worker = _load(source, model_input or ModelInput(), previews)
        worker.yielded.connect(lambda event: self._on_yielded(source, event))
        worker.returned.connect(lambda output: self._finish(worker, *output, source))
        worker.errored.connect(lambda error: self._fail(worker, error))
        self._worker = worker
        worker.start()

    def cancel(self) -> None:
        """Stop the running load between two batches; the previous dataset stays."""
        if self._worker is not None:
            worker, self._worker = self._worker, None
            retire(worker)  # it may still yield once before it stops
            worker.quit()
            self.cancelled.emit()

    def _on_yielded(self, source: Source, event: tuple) -> None:
        if event[0] == "progress":
            self.progress.emit(event[1], event[2] or 0)
        else:
            self.preview.emit(event[1], source, event[2], event[3])

    def _finish(self, worker: GeneratorWorker, table, views, pixels, source: Source) -> None:
        if worker is self._worker:
            self._worker = None
            self.loaded.emit(table, source, views, pixels)

    def _fail(self, worker: GeneratorWorker, error: Exception) -> None:
        if worker is self._worker:
            self._worker = None
            self.failed.emit(str(error))
