"""Decodes image pixels in a worker thread, with a small LRU cache and neighbour prefetch, so a
slow `Source.pixels` (PNG decoding, a SigMF STFT, a tf.data loader) never stalls navigation."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import QObject, Signal
from superqt.utils import create_worker

from core.sources import Source
from gui.dataset_loader import retire

CACHE_IMAGES = 8
CACHE_BYTES = 256 << 20  # a few huge spectrograms must not hold gigabytes
# prefetched neighbours, in order: ahead in the direction of travel (two, so a decode a bit
# faster than the user's steps builds a lead), then one behind
PREFETCH = (1, 2, -1)


@dataclass(frozen=True)
class _Failed:
    """A cached decode error: prefetch does not retry it; a new request for it does."""

    message: str


def _decode(source: Source, index: int) -> tuple[bool, object]:
    """Worker body: (True, pixels or None) or (False, error text); never raises."""
    try:
        return True, source.pixels(index)
    except Exception as error:  # noqa: BLE001 - a broken image file must not crash the GUI
        return False, str(error) or type(error).__name__


def _size(entry: object) -> int:
    return entry.nbytes if isinstance(entry, np.ndarray) else 0


class PixelLoader(QObject):
    """Pixels of the current source's images: cached, decoded in the background, prefetched.

    One decode runs at a time (sources need not be thread-safe). The wanted image goes first,
    then the next two and the previous one (next in the direction of travel), each once and only
    as many as the cache holds. While a decode runs, newer requests only replace the wanted
    index, so holding PgDown queues nothing.
    `ready` / `failed` are emitted only for the image last passed to `request` (of the current
    source); other results just fill the cache, results of a previous source are dropped.
    """

    ready = Signal(int, object)  # image index, (H, W) float32 pixels or None (no pixels)
    failed = Signal(int, str)  # image index, error message

    def __init__(self, parent: QObject | None = None, cache_images: int = CACHE_IMAGES,
                 cache_bytes: int = CACHE_BYTES):
        super().__init__(parent)
        self.cache_images = max(1, cache_images)
        self.cache_bytes = cache_bytes
        self._source: Source | None = None
        self._image_count: int | None = None
        self._wanted: int | None = None
        self._step = 1  # the direction of travel: that neighbour is prefetched first
        self._prefetched: set[int] = set()  # neighbours of the wanted image decoded (or started)
        self._cache: OrderedDict[tuple[int, int], object] = OrderedDict()
        self._worker = None
        self._closed = False

    # -- public ----------------------------------------------------------------------------------
    @property
    def busy(self) -> bool:
        """True while a decode (wanted or prefetch) runs."""
        return self._worker is not None

    def set_source(self, source: Source | None, image_count: int | None = None) -> None:
        """Switch to `source` (same object: nothing changes but the count): the cache is cleared
        and a running decode of the old source is forgotten. `image_count` bounds prefetch."""
        if image_count is not None:
            self._image_count = int(image_count)
        if source is self._source:
            return
        self._source = source
        self._image_count = None if image_count is None else int(image_count)
        self._wanted = None
        self._step = 1
        self._prefetched.clear()
        self._cache.clear()
        self._forget_worker()

    def request(self, source: Source | None, index: int,
                image_count: int | None = None) -> np.ndarray | None:
        """The pixels of image `index` of `source` if cached, else None and a decode that ends in
        `ready(index, pixels)` or `failed(index, message)` (unless another image is requested
        first). `pending(index)` tells a pending decode from a cached "no pixels" (None)."""
        self.set_source(source, image_count)
        if source is None or self._closed:
            return None
        index = int(index)
        if index != self._wanted:
            if self._wanted is not None:
                self._step = 1 if index > self._wanted else -1
            self._prefetched.clear()
        self._wanted = index
        key = self._key(index)
        entry = self._cache.get(key)
        if isinstance(entry, _Failed):  # asked again: try once more (and report again)
            del self._cache[key]
        elif key in self._cache:
            self._cache.move_to_end(key)
        self._pump()
        return entry if key in self._cache else None

    def pending(self, index: int) -> bool:
        """True while image `index` of the current source is wanted but not decoded yet."""
        return (self._source is not None and not self._closed and int(index) == self._wanted
                and self._key(int(index)) not in self._cache)

    def cached(self, index: int) -> bool:
        """True when image `index` of the current source has cached pixels (or "no pixels")."""
        entry = self._cache.get(self._key(int(index)), _Failed(""))
        return not isinstance(entry, _Failed)

    def put(self, index: int, pixels: np.ndarray | None) -> None:
        """Seed the cache with pixels of the current source rendered elsewhere (the first image
        the dataset loader renders)."""
        if self._source is not None and not self._closed:
            self._store(int(index), pixels)

    def shutdown(self) -> None:
        """Forget everything (the window is closing); a running decode ends unobserved."""
        self._closed = True
        self._forget_worker()
        self._cache.clear()
        self._source = None
        self._wanted = None

    # -- internals -------------------------------------------------------------------------------
    def _key(self, index: int) -> tuple[int, int]:
        return id(self._source), index

    def _store(self, index: int, entry: object) -> None:
        key = self._key(index)
        self._cache[key] = entry
        self._cache.move_to_end(key)
        total = sum(_size(value) for value in self._cache.values())
        wanted = self._key(self._wanted) if self._wanted is not None else None
        for old in [k for k in self._cache if k != wanted]:  # least recently used first
            if len(self._cache) <= self.cache_images and total <= self.cache_bytes:
                break
            total -= _size(self._cache.pop(old))

    def _next_job(self) -> int | None:
        """The wanted image if not cached, else its PREFETCH neighbours not tried yet (relative
        to the direction of travel; forwards when unknown)."""
        wanted = self._wanted
        if wanted is None:
            return None
        key = self._key(wanted)
        if key not in self._cache:
            return wanted
        # as many neighbours as the cache holds next to the wanted image, each tried once
        room = min(self.cache_images, self.cache_bytes // max(_size(self._cache[key]), 1)) - 1
        for offset in PREFETCH[:max(room, 0)]:
            index = wanted + offset * self._step
            in_range = index >= 0 and (self._image_count is None or index < self._image_count)
            if in_range and index not in self._prefetched and self._key(index) not in self._cache:
                self._prefetched.add(index)
                return index
        return None

    def _pump(self) -> None:
        """Start the next decode if none runs."""
        if self._worker is not None or self._source is None or self._closed:
            return
        index = self._next_job()
        if index is None:
            return
        source = self._source
        worker = create_worker(_decode, source, index, _start_thread=False, _ignore_errors=True)
        worker.returned.connect(lambda output: self._on_done(worker, source, index, output))
        worker.errored.connect(
            lambda error: self._on_done(worker, source, index, (False, str(error))))
        self._worker = worker
        worker.start()

    def _forget_worker(self) -> None:
        if self._worker is not None:
            retire(self._worker)
            self._worker = None

    def _on_done(self, worker, source: Source, index: int, output: tuple[bool, object]) -> None:
        if worker is not self._worker:  # forgotten (retire disconnects it; belt and braces)
            return
        self._worker = None
        if source is not self._source:
            return
        ok, value = output
        self._store(index, value if ok else _Failed(str(value)))
        self._pump()  # the next decode starts before the window spends time on this one
        if index == self._wanted:
            if ok:
                self.ready.emit(index, value)
            else:
                self.failed.emit(index, str(value))
