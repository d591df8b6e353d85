"""What the GUI benchmarks share: a window with throwaway settings, running the event loop as
the app does until something holds, and a heartbeat timer that measures event-loop stalls."""

from __future__ import annotations

import time
from pathlib import Path


def open_window(folder: str, size: tuple[int, int] = (1500, 950)):
    """(app, shown main window) with settings kept in `folder`."""
    from PySide6.QtCore import QSettings

    from gui.app import create_application
    from gui.main_window import MainWindow

    app = create_application()
    window = MainWindow(settings=QSettings(str(Path(folder) / "s.ini"),
                                           QSettings.Format.IniFormat))
    window.resize(*size)
    window.show()
    return app, window


def run_until(app, condition, timeout_s: float = 60.0) -> None:
    """Run the event loop (idle waits, as the app does) until `condition()` holds."""
    from PySide6.QtCore import QEventLoop

    deadline = time.perf_counter() + timeout_s
    while not condition() and time.perf_counter() < deadline:
        app.processEvents(QEventLoop.ProcessEventsFlag.WaitForMoreEvents, 5)


class Heartbeat:
    """A 5 ms timer whose longest gap is the longest event-loop stall a user would feel."""

    def __init__(self, interval_ms: int = 5):
        from PySide6.QtCore import Qt, QTimer

        self.beats: list[float] = []
        self.timer = QTimer()
        self.timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.timer.setInterval(interval_ms)
        self.timer.timeout.connect(lambda: self.beats.append(time.perf_counter()))

    def __enter__(self):
        self.timer.start()
        return self

    def __exit__(self, *_):
        self.timer.stop()

    def gaps(self, start: float = 0.0, end: float = float("inf")) -> list[float]:
        beats = [b for b in self.beats if start <= b <= end]
        return [b - a for a, b in zip(beats, beats[1:], strict=False)]

    def longest_ms(self, start: float = 0.0, end: float = float("inf")) -> float | None:
        gaps = self.gaps(start, end)
        return 1000 * max(gaps) if gaps else None
