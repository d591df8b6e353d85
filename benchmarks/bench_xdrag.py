"""The drag as a user does it: the real app in a real X window (Xvfb), the first aspect-ratio
slider dragged with the mouse by xdotool (120 motion events at 60 Hz), measured from inside the
app by a 5 ms heartbeat timer (event-loop stalls) and by the coverage results it shows. Prints
one JSON object; skips (and says why) where Xvfb, xdotool or Qt's xcb libraries are missing
(Debian: `apt-get install xvfb xdotool libxcb-cursor0`).

Run: `python benchmarks/bench_xdrag.py [--images 2500] [--images 11200]`.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DISPLAY = ":97"
STEPS, HZ = 120, 60.0

PROBE = r"""
import json, sys, time
sys.path.insert(0, sys.argv[1])
from PySide6.QtCore import QSettings, Qt, QTimer
from gui.app import create_application
from gui.main_window import MainWindow

app = create_application()
window = MainWindow(settings=QSettings(sys.argv[2], QSettings.Format.IniFormat))
window.setGeometry(0, 0, 1500, 950)
window.show()
window.open_dataset(sys.argv[3])
beats, shown, drags = [], [], []
heart = QTimer()
heart.setTimerType(Qt.TimerType.PreciseTimer)
heart.setInterval(5)
heart.timeout.connect(lambda: beats.append(time.perf_counter()))
state = window.state
state.coverage_changed.connect(lambda: shown.append(
    (time.perf_counter(), state.result.exact, state.is_current)))
state.dragging_changed.connect(lambda on: drags.append((time.perf_counter(), on)))
state.config_changed.connect(lambda: drags.append((time.perf_counter(), "change")))

def ready():
    if state.is_current and not window.coverage.busy:
        from PySide6.QtWidgets import QStyle, QStyleOptionSlider
        slider = window.anchor_panel.ratio_list.rows[0].slider
        option = QStyleOptionSlider()
        slider.initStyleOption(option)
        handle = slider.style().subControlRect(QStyle.ComplexControl.CC_Slider, option,
                                               QStyle.SubControl.SC_SliderHandle, slider)
        centre = slider.mapToGlobal(handle.center())
        right = slider.mapToGlobal(slider.rect().topRight()).x() - handle.width() // 2
        print(json.dumps({"x": centre.x(), "y": centre.y(), "right": right}), flush=True)
        heart.start()
    else:
        QTimer.singleShot(100, ready)

def report():
    heart.stop()
    with open(sys.argv[4], "w") as f:
        json.dump({"beats": beats, "shown": shown, "drags": drags}, f)
    app.quit()

def after_release():
    if state.is_current and not window.coverage.busy:
        QTimer.singleShot(300, report)
    else:
        QTimer.singleShot(20, after_release)

state.dragging_changed.connect(lambda on: None if on else after_release())
QTimer.singleShot(500, ready)
QTimer.singleShot(int(sys.argv[5]) * 1000, report)  # a drag that never came
app.exec()
"""


def _missing() -> str | None:
    for tool in ("Xvfb", "xdotool"):
        if shutil.which(tool) is None:
            return f"{tool} not installed"
    return None


def drag_once(images: int, folder: Path) -> dict:
    """One drag on a fresh X server (a server that saw a drag keeps state that confuses the
    next app's first press)."""
    xvfb = subprocess.Popen(["Xvfb", DISPLAY, "-screen", "0", "1600x1000x24"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(1.0)
        return _drag(images, folder)
    finally:
        xvfb.terminate()
        xvfb.wait()


def _drag(images: int, folder: Path) -> dict:
    env = {**os.environ, "DISPLAY": DISPLAY, "QT_QPA_PLATFORM": "xcb"}
    out = folder / f"probe-{images}.json"
    seconds = 90
    settings = folder / f"settings-{images}.ini"  # each app starts from the default config
    app = subprocess.Popen([sys.executable, "-c", PROBE, str(ROOT), str(settings),
                            f"demo?images={images}", str(out), str(seconds)],
                           env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = app.stdout.readline()
    if not line:
        app.kill()
        return {"skipped": app.stderr.read().strip().splitlines()[-1:]}
    handle = json.loads(line)
    x, y = handle["x"], handle["y"]
    # one xdotool process for the whole gesture: a process per event costs ~25 ms here
    # 120 motion events at 60 Hz from the handle to the slider's far end (every pixel of the
    # way is a new value; a narrow slider repeats some positions, which change nothing)
    gesture = ["mousemove", str(x), str(y), "sleep", "0.3", "mousedown", "1"]
    for step in range(1, STEPS + 1):
        to = x + round((handle["right"] - x) * step / STEPS)
        gesture += ["sleep", f"{1 / HZ:.4f}", "mousemove", str(to), str(y)]
    gesture += ["mouseup", "1"]
    subprocess.run(["xdotool", *gesture], env=env, check=True)
    app.wait(timeout=seconds + 30)
    if not out.exists():
        return {"skipped": "the app did not report"}
    data = json.loads(out.read_text())
    beats, shown, drags = data["beats"], data["shown"], data["drags"]
    pressed = next(t for t, on in drags if on is True)
    released = next(t for t, on in drags if on is False)
    changes = [t for t, kind in drags if kind == "change" and pressed <= t <= released]
    settled = max([released, *changes])  # the hand has stopped and let go
    last_change = changes[-1] if changes else pressed
    exact = next((t for t, is_exact, current in shown if t >= last_change and current), None)
    in_drag = [b for b in beats if pressed <= b <= (exact or released)]
    gaps = [b - a for a, b in zip(in_drag, in_drag[1:], strict=False)]
    during = [t for t, _, _ in shown if pressed <= t <= released]
    return {
        "boxes_images": images,
        "motion_events": STEPS,
        "config_changes": len(changes),
        "drag_s": round(released - pressed, 3),
        "report_updates_per_s": round(len(during) / max(released - pressed, 1e-9), 1),
        "estimates_shown": sum(1 for t, is_exact, _ in shown
                               if pressed <= t <= released and not is_exact),
        "longest_stall_ms": round(1000 * max(gaps), 1) if gaps else None,
        "exact_after_release_ms": (round(1000 * max(exact - settled, 0.0), 1)
                                   if exact else None),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--images", type=int, action="append")
    args = parser.parse_args()
    reason = _missing()
    if reason:
        print(json.dumps({"skipped": reason}))
        return
    with tempfile.TemporaryDirectory() as folder:
        results = {f"drag_{n}_images": drag_once(n, Path(folder))
                   for n in (args.images or [2_500, 11_200])}
    print(json.dumps({**results, "load_average": os.getloadavg()}, indent=2))


if __name__ == "__main__":
    main()
