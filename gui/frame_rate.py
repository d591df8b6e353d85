"""Keeping the window at the display's pace while settings are dragged: the interval at which
panels redraw the newest state, and caching of items that a redraw does not change."""

from __future__ import annotations

from PySide6.QtWidgets import QGraphicsItem

FRAME_MS = 30
"""Panels redraw the newest config or result at most once per this interval (~33 Hz)."""


def cache_static_item(item: QGraphicsItem) -> None:
    """Render `item` into a pixmap that repaints of other items reuse: an axis with its grid
    lines costs milliseconds to replay on every overlay change, its cached pixmap almost
    nothing. The cache is rebuilt when the item itself changes (its range, its size)."""
    item.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
