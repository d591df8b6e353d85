"""GUI benchmarks (SPEC §9, issue 5); prints one JSON object.

- launch: process start to the first painted main window on the demo dataset (fresh process);
- retune: one aspect ratio changed -> coverage recomputed, report and view repainted, on ~100,000
  boxes (median over repeats);
- loading stall: the longest gap of a 10 ms QTimer heartbeat while ~1,000,000 boxes load.

Run: `QT_QPA_PLATFORM=offscreen python benchmarks/bench_gui.py`.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

LAUNCH_PROBE = r"""
import sys, time
from PySide6.QtCore import QEvent, QObject, QSettings, QTimer
sys.path.insert(0, sys.argv[1])
from gui.app import create_application, create_window
app = create_application()
settings = QSettings(sys.argv[2], QSettings.Format.IniFormat)

class FirstPaint(QObject):
    def eventFilter(self, obj, event):
        if event.type() == QEvent.Type.Paint:
            print("painted", flush=True)
            app.exit(0)
        return False

window = create_window("demo", settings=settings)
probe = FirstPaint()
window.view.viewport().installEventFilter(probe)
window.show()
QTimer.singleShot(30_000, lambda: app.exit(1))
app.exec()
"""


def measure_launch(runs: int = 3) -> list[float]:
    times = []
    for _ in range(runs):
        with tempfile.TemporaryDirectory() as folder:
            start = time.perf_counter()
            out = subprocess.run([sys.executable, "-c", LAUNCH_PROBE, str(ROOT),
                                  str(Path(folder) / "s.ini")], capture_output=True, text=True,
                                 timeout=120, env={**os.environ, "QT_QPA_PLATFORM": "offscreen"})
            elapsed = time.perf_counter() - start
            if "painted" in out.stdout:
                times.append(elapsed)
    return times


def _window(folder: str):
    from PySide6.QtCore import QSettings

    from gui.app import create_application
    from gui.main_window import MainWindow

    app = create_application()
    window = MainWindow(settings=QSettings(str(Path(folder) / "s.ini"),
                                           QSettings.Format.IniFormat))
    window.resize(1500, 950)
    window.show()
    return app, window


def _wait_loaded(app, window, spec: str) -> None:
    from PySide6.QtCore import QEventLoop

    loop = QEventLoop()
    window.loader.loaded.connect(loop.quit)
    window.open_dataset(spec)
    loop.exec()
    window.loader.loaded.disconnect(loop.quit)


def measure_retune(repeats: int = 25) -> dict:
    with tempfile.TemporaryDirectory() as folder:
        app, window = _window(folder)
        _wait_loaded(app, window, "demo?images=11200")
        window.coverage.wait(120)
        state = window.state
        boxes = len(state.table)
        times = []
        base = state.config
        from PySide6.QtCore import QEventLoop, QTimer

        for k in range(repeats):
            ratios = list(base.aspect_ratios)
            ratios[0] = ratios[0] * (1.05 + 0.01 * k)
            loop = QEventLoop()  # wait like the app does: idle in the event loop, no spinning
            state.coverage_changed.connect(loop.quit)
            QTimer.singleShot(30_000, loop.quit)  # a failed computation must not hang the run
            start = time.perf_counter()
            state.set_config(base.replace(aspect_ratios=tuple(ratios)))
            loop.exec()
            state.coverage_changed.disconnect(loop.quit)
            window.view.repaint()
            window.report.repaint()
            window.histograms.repaint()
            times.append(time.perf_counter() - start)
        window.close()
        return {"boxes": boxes, "median_ms": 1000 * statistics.median(times),
                "max_ms": 1000 * max(times)}


def measure_loading_stall(images: int = 112_000) -> dict:
    from PySide6.QtCore import QTimer

    with tempfile.TemporaryDirectory() as folder:
        app, window = _window(folder)
        beats = []
        timer = QTimer()
        timer.setInterval(10)
        timer.timeout.connect(lambda: beats.append(time.perf_counter()))
        timer.start()
        start = time.perf_counter()
        _wait_loaded(app, window, f"demo?images={images}")
        load_seconds = time.perf_counter() - start
        window.coverage.wait(300)
        timer.stop()
        gaps = [b - a for a, b in zip(beats, beats[1:], strict=False)]
        boxes = len(window.state.table)
        window.close()
        return {"boxes": boxes, "load_seconds": load_seconds,
                "longest_stall_ms": 1000 * max(gaps) if gaps else None,
                "coverage_ready_seconds": time.perf_counter() - start}


def main() -> None:
    launch = measure_launch()
    report = {
        "launch_to_first_paint_s": {"median": statistics.median(launch) if launch else None,
                                    "runs": launch, "target": 2.0},
        "retune_repaint": {**measure_retune(), "target_median_ms": 50},
        "loading_stall": {**measure_loading_stall(), "target_ms": 100},
        "load_average": os.getloadavg(),
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
