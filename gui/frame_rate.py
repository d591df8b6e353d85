"""Keeping the window at the display's pace while settings are dragged: the interval at which
panels redraw the newest state, and caching of items that a redraw does not change."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QGraphicsItem
from superqt.utils import qthrottled

FRAME_MS = 30
"""Panels redraw the newest config or result at most once per this interval (~33 Hz)."""


def cache_static_item(item: QGraphicsItem) -> None:
    """Render `item` into a pixmap that repaints of other items reuse: an axis with its grid
    lines costs milliseconds to replay on every overlay change, its cached pixmap almost
    nothing. The cache is rebuilt when the item itself changes (its range, its size)."""
    item.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)


class Paced:
    """`func` run at most once per frame (the newest call wins), except when `urgent()` holds:
    then at once. Panels redraw a drag's stream of results this way, and the exact result the
    user waits for without a frame's delay."""

    def __init__(self, func: Callable[[], None], parent: QObject,
                 urgent: Callable[[], bool] = lambda: False):
        self._throttled = qthrottled(func, FRAME_MS, parent=parent)
        self._urgent = urgent

    def __call__(self, *_args) -> None:
        self._throttled()
        if self._urgent():
            self._throttled.flush()

    def flush(self) -> None:
        """Run a call still waiting for its frame now."""
        self._throttled.flush()
