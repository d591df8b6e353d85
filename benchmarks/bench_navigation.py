"""Navigation benchmark: stepping through images at 20 per second must not stall the UI; prints
one JSON object.

On (a) a COCO set of 1024x1024 PNG images and (b) a folder of SigMF recordings whose
spectrograms take tens of ms each, `image_spin.stepBy(1)` runs every 50 ms for 100 images in the
real event loop while a 5 ms heartbeat QTimer records the event-loop gaps. Reported per dataset:
longest stall and median gap (ms), how many of the visited images had their pixels on screen, and
the time from the last step until the last image's pixels are shown. `async` is the window as is
(pixels decoded by `gui.pixel_loader`); `sync` calls `source.pixels` in the slot like the old
window did. Goal: no stall over 50 ms.

Run: `QT_QPA_PLATFORM=offscreen python benchmarks/bench_navigation.py`.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _gui_harness import open_window, run_until  # noqa: E402

STEPS = 100
STEP_MS = 50
HEARTBEAT_MS = 5
TARGET_STALL_MS = 50
PNG_IMAGES, PNG_SIDE = 120, 1024
SIGMF_RECORDINGS, SIGMF_NFFT, SIGMF_SAMPLES = 110, 1024, 1 << 20  # 1024 x 1024 px each


def _random_boxes(rng: np.random.Generator, height: int, width: int) -> list[list[float]]:
    """COCO [x, y, w, h] boxes, 2..9 per image, strictly inside it."""
    boxes = []
    for _ in range(int(rng.integers(2, 10))):
        w, h = rng.uniform(0.02, 0.4) * width, rng.uniform(0.01, 0.3) * height
        x, y = rng.uniform(0, width - w), rng.uniform(0, height - h)
        boxes.append([round(x, 2), round(y, 2), round(w, 2), round(h, 2)])
    return boxes


def write_png_coco(folder: Path) -> str:
    """PNG_IMAGES colour 1024x1024 PNGs (noisy texture, as exported spectrograms are RGB) and
    their COCO JSON; decoding means zlib, RGB -> luminance and float32."""
    from PIL import Image

    rng = np.random.default_rng(7)
    images_dir = folder / "images"
    images_dir.mkdir()
    rows = np.linspace(0, 60, PNG_SIDE, dtype=np.float32)[:, None]
    images, annotations = [], []
    for k in range(PNG_IMAGES):
        noise = rng.integers(0, 64, (PNG_SIDE, PNG_SIDE, 3), dtype=np.uint8)
        rgb = (noise + rows[..., None] + 30 * (k % 5)).clip(0, 255).astype(np.uint8)
        name = f"frame_{k:04d}.png"
        Image.fromarray(rgb, "RGB").save(images_dir / name, compress_level=1)
        images.append({"id": k, "file_name": name, "width": PNG_SIDE, "height": PNG_SIDE})
        for box in _random_boxes(rng, PNG_SIDE, PNG_SIDE):
            annotations.append({"id": len(annotations) + 1, "image_id": k, "category_id": 1,
                                "bbox": box, "area": box[2] * box[3], "iscrowd": 0})
    document = {"images": images, "annotations": annotations,
                "categories": [{"id": 1, "name": "signal"}]}
    (folder / "annotations.json").write_text(json.dumps(document))
    return f"coco:{folder / 'annotations.json'}?images={images_dir}"


def write_sigmf_folder(folder: Path) -> str:
    """SIGMF_RECORDINGS recordings of SIGMF_SAMPLES cf32 samples; the data files are symlinks
    to one noise file (the STFT is what costs, not the disk)."""
    rng = np.random.default_rng(11)
    shared = folder / "shared.bin"
    samples = (rng.normal(size=SIGMF_SAMPLES) + 1j * rng.normal(size=SIGMF_SAMPLES)) / np.sqrt(2)
    samples.astype(np.complex64).tofile(shared)
    rate, centre = 1.0e6, 915.0e6
    width = SIGMF_SAMPLES // SIGMF_NFFT
    for k in range(SIGMF_RECORDINGS):
        annotations = []
        for x, y, w, h in _random_boxes(rng, SIGMF_NFFT, width):
            top = centre + rate / 2
            annotations.append({
                "core:sample_start": int(x * SIGMF_NFFT), "core:sample_count": int(w * SIGMF_NFFT),
                "core:freq_upper_edge": top - y * rate / SIGMF_NFFT,
                "core:freq_lower_edge": top - (y + h) * rate / SIGMF_NFFT,
                "core:label": "burst"})
        meta = {"global": {"core:datatype": "cf32_le", "core:sample_rate": rate,
                           "core:version": "1.2.0"},
                "captures": [{"core:sample_start": 0, "core:frequency": centre}],
                "annotations": annotations}
        (folder / f"rec_{k:04d}.sigmf-data").symlink_to(shared)
        (folder / f"rec_{k:04d}.sigmf-meta").write_text(json.dumps(meta))
    return f"sigmf:{folder}?nfft={SIGMF_NFFT}"


def _make_synchronous(window) -> None:
    """The old path: `source.pixels` called in `_show_image`, on the UI thread."""
    loader = window.pixel_loader

    def request(source, index, image_count=None):
        try:
            return None if source is None else source.pixels(index)
        except Exception as error:  # noqa: BLE001 - as the old window: a message, no crash
            window.statusBar().showMessage(f"no pixels: {error}", 8000)
            return None

    loader.request = request
    loader.pending = lambda index: False


def navigate(spec: str, synchronous: bool) -> dict:
    from PySide6.QtCore import QEventLoop, Qt, QTimer

    with tempfile.TemporaryDirectory() as folder:
        app, window = open_window(folder)
        loop = QEventLoop()
        window.loader.loaded.connect(loop.quit)
        QTimer.singleShot(120_000, loop.quit)
        window.open_dataset(spec)
        loop.exec()
        window.coverage.wait(120)
        run_until(app, lambda: not window.pixel_loader.busy, 30)
        if synchronous:
            _make_synchronous(window)

        state, view = window.state, window.view
        last = min(STEPS, state.table.image_count - 1)
        shown: dict[int, float] = {}  # image -> when its pixels were shown while current
        original_show = view.show_image

        done = QEventLoop()

        def show_image(pixels, *args, **kwargs):
            original_show(pixels, *args, **kwargs)
            if pixels is not None:
                shown.setdefault(state.image_index, time.perf_counter())
                if len(steps) >= last and state.image_index == last:
                    done.quit()

        view.show_image = show_image
        beats: list[float] = []
        heartbeat = QTimer()
        heartbeat.setTimerType(Qt.TimerType.PreciseTimer)
        heartbeat.setInterval(HEARTBEAT_MS)
        heartbeat.timeout.connect(lambda: beats.append(time.perf_counter()))
        steps: list[float] = []
        stepper = QTimer()
        stepper.setTimerType(Qt.TimerType.PreciseTimer)
        stepper.setInterval(STEP_MS)

        def step() -> None:
            steps.append(time.perf_counter())
            window.image_spin.stepBy(1)
            if len(steps) >= last:
                stepper.stop()
                if last in shown:  # shown in the slot (synchronous, or cached)
                    done.quit()

        stepper.timeout.connect(step)
        heartbeat.start()
        stepper.start()
        QTimer.singleShot(60_000, done.quit)  # a lost image must not hang the run
        done.exec()  # the real event loop
        heartbeat.stop()
        stepper.stop()
        view.show_image = original_show
        gaps = np.diff(beats) * 1000
        window.close()
        run_until(app, lambda: not window.pixel_loader.busy, 10)
        return {
            "longest_stall_ms": round(float(gaps.max()), 1),
            "median_gap_ms": round(float(np.median(gaps)), 2),
            "gaps_over_50ms": int((gaps > TARGET_STALL_MS).sum()),
            "images_visited": last,
            "images_with_pixels_shown": sum(1 for i in shown if 1 <= i <= last),
            "last_step_to_pixels_ms": (round(1000 * (shown[last] - steps[-1]), 1)
                                       if last in shown and steps else None),
            "navigation_s": round(steps[-1] - steps[0], 2) if steps else None,
        }


def time_decode(spec: str, count: int = 5) -> float:
    """Median ms of one `source.pixels(i)` call (for context)."""
    from core.sources import open_source, stream_table

    source = open_source(spec)
    for _ in stream_table(source):
        pass
    times = []
    for index in range(1, count + 1):
        start = time.perf_counter()
        source.pixels(index)
        times.append(time.perf_counter() - start)
    return round(1000 * statistics.median(times), 1)


def main() -> None:
    report: dict = {"steps": STEPS, "step_ms": STEP_MS, "heartbeat_ms": HEARTBEAT_MS,
                    "target_stall_ms": TARGET_STALL_MS}
    with tempfile.TemporaryDirectory() as data:
        datasets = {
            f"png_coco_{PNG_IMAGES}x{PNG_SIDE}px": write_png_coco(_mkdir(Path(data) / "coco")),
            f"sigmf_{SIGMF_RECORDINGS}x{SIGMF_SAMPLES}samples_nfft{SIGMF_NFFT}":
                write_sigmf_folder(_mkdir(Path(data) / "sigmf")),
        }
        for name, spec in datasets.items():
            report[name] = {"decode_ms_median": time_decode(spec),
                            "async": navigate(spec, synchronous=False),
                            "sync": navigate(spec, synchronous=True)}
    report["load_average"] = os.getloadavg()
    print(json.dumps(report, indent=2))


def _mkdir(path: Path) -> Path:
    path.mkdir(parents=True)
    return path


if __name__ == "__main__":
    main()
