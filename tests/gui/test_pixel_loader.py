"""PixelLoader: pixels decoded off the UI thread, cached, prefetched, only the newest wanted image
reported; and the main window showing boxes at once and pixels when they arrive."""

import threading
import time

import numpy as np
import pytest

from core.sources.base import Source, SourceSpec
from gui.pixel_loader import PixelLoader

DELAY = 0.1


class SlowSource(Source):
    """pixels(i) sleeps DELAY and returns a 4x6 image filled with i + offset (or raises)."""

    def __init__(self, offset: float = 0.0, broken: tuple[int, ...] = (), delay: float = DELAY):
        super().__init__(SourceSpec(text="slow", kind="slow"))
        self.offset, self.broken, self.delay = offset, broken, delay
        self.calls: list[int] = []
        self.lock = threading.Lock()

    def batches(self):
        return iter(())

    def pixels(self, image_index: int):
        with self.lock:
            self.calls.append(image_index)
        time.sleep(self.delay)
        if image_index in self.broken:
            raise OSError(f"image {image_index} is truncated")
        return np.full((4, 6), image_index + self.offset, np.float32)


@pytest.fixture
def loader(qtbot):
    pixel_loader = PixelLoader()
    yield pixel_loader
    qtbot.waitUntil(lambda: not pixel_loader.busy, timeout=3000)  # no thread outlives the test
    pixel_loader.shutdown()


def record(loader):
    events = []
    loader.ready.connect(lambda index, pixels: events.append(("ready", index, pixels)))
    loader.failed.connect(lambda index, message: events.append(("failed", index, message)))
    return events


def test_request_does_not_block_and_ready_brings_the_pixels(loader, qtbot):
    source = SlowSource()
    start = time.perf_counter()
    assert loader.request(source, 3, 10) is None
    assert time.perf_counter() - start < 0.05
    assert loader.pending(3)
    with qtbot.waitSignal(loader.ready, timeout=2000) as blocker:
        pass
    index, pixels = blocker.args
    assert index == 3 and pixels.shape == (4, 6) and (pixels == 3).all()
    assert not loader.pending(3)


def test_cache_hit_and_prefetch_of_both_neighbours(loader, qtbot):
    source = SlowSource()
    loader.request(source, 5, 10)
    qtbot.waitSignal(loader.ready, timeout=2000).wait()
    qtbot.waitUntil(lambda: len(source.calls) == 4 and not loader.busy, timeout=2000)
    assert source.calls == [5, 6, 7, 4]  # wanted first, then the next two, then the previous
    events = record(loader)
    start = time.perf_counter()
    again = loader.request(source, 5, 10)
    next_one = loader.request(source, 6, 10)
    assert time.perf_counter() - start < 0.05
    assert (again == 5).all() and (next_one == 6).all()
    assert not loader.pending(6)
    qtbot.waitUntil(lambda: 8 in source.calls and not loader.busy, timeout=2000)
    assert source.calls == [5, 6, 7, 4, 8]  # only the one image not cached yet
    assert events == []  # cache hits are returned, not signalled


def test_prefetch_follows_the_direction_of_travel(loader, qtbot):
    source = SlowSource(delay=0.02)
    loader.set_source(source, 10)
    loader.put(2, np.zeros((4, 6), np.float32))
    loader.put(8, np.zeros((4, 6), np.float32))
    assert loader.request(source, 8, 10) is not None
    qtbot.waitUntil(lambda: len(source.calls) == 2 and not loader.busy, timeout=2000)
    assert loader.request(source, 2, 10) is not None  # moving backwards now
    qtbot.waitUntil(lambda: len(source.calls) == 5 and not loader.busy, timeout=2000)
    assert source.calls == [9, 7, 1, 0, 3]  # 10 is past the end


def test_prefetch_stays_inside_the_dataset(loader, qtbot):
    source = SlowSource()
    loader.request(source, 0, 2)
    qtbot.waitSignal(loader.ready, timeout=2000).wait()
    qtbot.waitUntil(lambda: not loader.busy, timeout=2000)
    qtbot.wait(50)
    assert source.calls == [0, 1]


def test_rapid_requests_report_only_the_last_and_bound_the_work(loader, qtbot):
    source = SlowSource()
    events = record(loader)
    start = time.perf_counter()
    for index in range(21):
        assert loader.request(source, index, 100) is None
    assert time.perf_counter() - start < 0.05
    qtbot.waitUntil(lambda: len(events) == 1, timeout=3000)
    kind, index, pixels = events[0]
    assert (kind, index) == ("ready", 20) and (pixels == 20).all()
    assert source.calls[:2] == [0, 20]  # the one already running, then only the newest
    qtbot.waitUntil(lambda: not loader.busy, timeout=3000)
    assert sorted(source.calls) == [0, 19, 20, 21, 22]
    assert len(events) == 1


def test_stale_result_goes_to_the_cache_without_ready(loader, qtbot):
    source = SlowSource()
    events = record(loader)
    loader.request(source, 0, 10)
    loader.request(source, 7, 10)  # the user moved on while 0 decodes
    qtbot.waitUntil(lambda: len(events) == 1, timeout=2000)
    assert events[0][:2] == ("ready", 7)
    assert loader.cached(0) and (loader.request(source, 0, 10) == 0).all()


def test_broken_image_fails_with_its_message(loader, qtbot):
    source = SlowSource(broken=(2,))
    events = record(loader)
    loader.request(source, 2, 10)
    qtbot.waitUntil(lambda: len(events) == 1, timeout=2000)
    assert events == [("failed", 2, "image 2 is truncated")]
    assert not loader.pending(2)
    # prefetch carries on and a failure is not retried by prefetch ...
    qtbot.waitUntil(lambda: not loader.busy and len(source.calls) == 4, timeout=2000)
    assert source.calls == [2, 3, 4, 1]
    # ... but asking for the broken image again retries and reports again
    assert loader.request(source, 2, 10) is None and loader.pending(2)
    qtbot.waitUntil(lambda: len(events) == 2, timeout=2000)
    assert events[1] == ("failed", 2, "image 2 is truncated")


def test_source_change_drops_the_old_result(loader, qtbot):
    old, new = SlowSource(offset=100.0), SlowSource(offset=0.0, delay=0.05)
    events = record(loader)
    loader.put(0, np.zeros((4, 6), np.float32))  # no source yet: ignored
    loader.request(old, 1, 10)
    loader.request(new, 1, 10)
    qtbot.waitUntil(lambda: len(events) == 1, timeout=2000)
    qtbot.wait(int(DELAY * 1000) + 100)  # the old decode has ended by now
    assert old.calls == [1]
    assert len(events) == 1 and events[0][:2] == ("ready", 1) and (events[0][2] == 1).all()
    assert (loader.request(new, 1, 10) == 1).all()


def test_put_seeds_the_cache(loader, qtbot):
    source = SlowSource()
    loader.set_source(source, 1)
    seeded = np.ones((4, 6), np.float32)
    loader.put(0, seeded)
    assert loader.request(source, 0, 1) is seeded
    qtbot.wait(50)
    assert source.calls == []


def test_no_prefetch_when_the_cache_holds_one_image(qtbot):
    loader = PixelLoader(cache_bytes=150)  # a 4x6 float32 image is 96 bytes
    source = SlowSource(delay=0.02)
    loader.request(source, 3, 10)
    qtbot.waitSignal(loader.ready, timeout=2000).wait()
    qtbot.wait(60)
    assert source.calls == [3] and not loader.busy and loader.cached(3)
    loader.shutdown()


def test_cache_is_bounded(qtbot):
    loader = PixelLoader(cache_images=3)
    source = SlowSource(delay=0.0)
    loader.set_source(source, 100)
    for index in range(5):
        loader.put(index, np.full((4, 6), index, np.float32))
    assert [loader.cached(i) for i in range(5)] == [False, False, True, True, True]
    loader.shutdown()
    assert loader.request(source, 4, 100) is None and not loader.busy


def test_window_shows_boxes_at_once_and_pixels_when_ready(window, load, qtbot):
    load(window, "demo?images=40&seed=3")
    qtbot.waitUntil(lambda: not window.pixel_loader.busy, timeout=3000)  # prefetch of image 1
    state, source = window.state, window.state.source
    table = state.table
    calls = []
    real_pixels = source.pixels

    def slow_pixels(index):
        calls.append(index)
        time.sleep(DELAY)
        return real_pixels(index)

    source.pixels = slow_pixels
    target = 10
    start = time.perf_counter()
    window.image_spin.setValue(target)
    assert time.perf_counter() - start < DELAY  # the UI thread did not decode
    assert state.image_index == target and window.pixel_loader.pending(target)
    rows = state.boxes_of_image(target)
    shown = 0
    for item in (window.view.matched_item, window.view.unmatched_item, window.view.unknown_item):
        xs, _ = item.getData()
        shown += 0 if xs is None else len(xs)
    assert len(rows) > 0 and shown == 6 * len(rows)
    height, width = int(table.image_heights[target]), int(table.image_widths[target])
    image = window.view.image_item.image
    assert image.shape == (height, width) and not image.any()  # placeholder of the right size
    assert window.view.no_pixels_label.isVisible()
    assert window.view.no_pixels_label.textItem.toPlainText() == "loading…"
    with qtbot.waitSignal(window.pixel_loader.ready, timeout=3000):
        pass
    assert calls[:1] == [target]
    expected = real_pixels(target)
    np.testing.assert_array_equal(window.view.image_item.image, expected)
    assert not window.view.no_pixels_label.isVisible()
    # the next image was prefetched: shown at once, no new decode of it
    qtbot.waitUntil(lambda: target + 1 in calls, timeout=3000)
    qtbot.waitUntil(lambda: not window.pixel_loader.busy, timeout=3000)
    decodes = len(calls)
    window.next_button.click()
    np.testing.assert_array_equal(window.view.image_item.image, real_pixels(target + 1))
    assert not window.view.no_pixels_label.isVisible()
    assert calls.count(target + 1) == 1 and len(calls) >= decodes
    qtbot.waitUntil(lambda: target + 2 in calls and not window.pixel_loader.busy, timeout=3000)
