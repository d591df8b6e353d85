"""Benchmark: load a 1,000,000-box / 100,000-image COCO JSON into a BoxTable (docs/architecture.md).

Generates the file once in a temporary folder (spectrogram-like box shapes, the extra fields real
COCO files carry: `id`, `area`, `iscrowd`, `segmentation`, licences, dates), then measures in a
fresh subprocess each, so peak RSS is honest: our `coco:` load to a validated BoxTable, and
stdlib `json.load` of the same file for comparison. Prints one JSON object.

    .venv/bin/python benchmarks/loading_coco.py [--images N] [--boxes N] [--repeat K] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
TARGET_SECONDS = 5.0
TARGET_PEAK_MB = 600.0
CATEGORIES = ["wideband", "burst", "tall_line", "flat_strip"]
# (w range, h range) in pixels per category, after the SciSRS v2 clusters (docs/datasets.md)
SHAPES = np.array([[[75, 330], [77, 103]], [[5, 10], [10, 22]], [[6, 11], [100, 104]],
                   [[80, 88], [1, 21]]], np.float64)


def write_coco(path: Path, images: int, boxes: int, seed: int = 0) -> None:
    """Write a COCO detection file with `images` images and `boxes` annotations."""
    rng = np.random.default_rng(seed)
    heights = np.where(rng.random(images) < 0.8, 512, 256)
    widths = np.where(rng.random(images) < 0.8, 512, 1024)
    image = np.sort(rng.integers(0, images, boxes))  # grouped by image, as most files are
    cls = rng.integers(0, len(CATEGORIES), boxes)
    w = rng.uniform(SHAPES[cls, 0, 0], SHAPES[cls, 0, 1])
    h = rng.uniform(SHAPES[cls, 1, 0], SHAPES[cls, 1, 1])
    w = np.minimum(w, widths[image] - 1.0)
    h = np.minimum(h, heights[image] - 1.0)
    x = rng.random(boxes) * (widths[image] - w)
    y = rng.random(boxes) * (heights[image] - h)
    image_ids = 1 + np.arange(images) * 3  # not contiguous, as after filtering a split
    with open(path, "w") as out:
        out.write('{"info": {"description": "synthetic RF spectrograms", "version": "1.0", '
                  '"year": 2024, "contributor": "anchor-inspector benchmark"},\n'
                  '"licenses": [{"id": 1, "name": "CC-BY-4.0", "url": "https://example.org"}],\n'
                  '"images": [\n')
        out.write(",\n".join(
            f'{{"id": {i}, "file_name": "capture_{i:07d}.png", "width": {wd}, "height": {ht}, '
            f'"license": 1, "date_captured": "2024-05-01 12:00:00"}}'
            for i, wd, ht in zip(image_ids.tolist(), widths.tolist(), heights.tolist(),
                                 strict=True)))
        out.write('],\n"annotations": [\n')
        rows = zip(image_ids[image].tolist(), (cls + 1).tolist(), np.round(x, 2).tolist(),
                   np.round(y, 2).tolist(), np.round(w, 2).tolist(), np.round(h, 2).tolist(),
                   np.round(w * h, 2).tolist(), strict=True)
        chunk: list[str] = []
        for k, (i, c, bx, by, bw, bh, area) in enumerate(rows):
            chunk.append(f'{{"id": {k + 1}, "image_id": {i}, "category_id": {c}, '
                         f'"bbox": [{bx}, {by}, {bw}, {bh}], "area": {area}, "iscrowd": 0, '
                         f'"segmentation": []}}')
            if len(chunk) == 100_000:
                out.write(",\n".join(chunk) + (",\n" if k + 1 < boxes else ""))
                chunk = []
        if chunk:
            out.write(",\n".join(chunk))
        out.write('],\n"categories": [')
        out.write(", ".join(f'{{"id": {k + 1}, "name": "{name}", "supercategory": "signal"}}'
                            for k, name in enumerate(CATEGORIES)))
        out.write("]}\n")


def measure(mode: str, path: str) -> dict:
    """Run one load in this process (called in a fresh subprocess) and report time and peak RSS."""
    import resource

    def cpu() -> float:  # user + system seconds of this process: robust to a busy machine
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return usage.ru_utime + usage.ru_stime

    start = time.perf_counter()
    cpu_start = cpu()
    if mode == "ours":
        sys.path.insert(0, str(ROOT))
        from core.sources import load_table
        from core.sources.base import parse_spec
        from core.sources.coco import CocoSource

        before, cpu_start = time.perf_counter(), cpu()  # imports are not part of the load
        table = load_table(CocoSource(parse_spec(f"coco:{path}")))
        seconds = time.perf_counter() - before
        result = {"boxes": len(table), "images": table.image_count,
                  "skipped": table.skipped_total, "import_seconds": before - start}
    else:
        with open(path, "rb") as handle:
            data = json.load(handle)
        seconds = time.perf_counter() - start
        result = {"boxes": len(data["annotations"]), "images": len(data["images"])}
    cpu_seconds = cpu() - cpu_start
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    return {"seconds": round(seconds, 3), "cpu_seconds": round(cpu_seconds, 3),
            "peak_mb": round(peak_kb / 1024, 1), **result}


def run_fresh(mode: str, path: Path) -> dict:
    output = subprocess.run([sys.executable, __file__, "--measure", mode, str(path)],
                            check=True, capture_output=True, text=True, cwd=ROOT).stdout
    return json.loads(output)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=100_000)
    parser.add_argument("--boxes", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3, help="runs of our loader (best kept)")
    parser.add_argument("--keep", metavar="DIR", help="write/reuse the file in DIR")
    parser.add_argument("--measure", nargs=2, metavar=("MODE", "PATH"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(*args.measure)))
        return

    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(args.keep or scratch)
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"coco_{args.images}_{args.boxes}.json"
        start = time.perf_counter()
        if not path.exists():
            write_coco(path, args.images, args.boxes)
        generate_seconds = time.perf_counter() - start
        ours = [run_fresh("ours", path) for _ in range(max(1, args.repeat))]
        best = min(ours, key=lambda run: run["seconds"])
        stdlib = run_fresh("json", path)
        report = {
            "file": {"images": args.images, "boxes": args.boxes,
                     "megabytes": round(os.path.getsize(path) / 2**20, 1),
                     "generate_seconds": round(generate_seconds, 2)},
            "load_average": [round(x, 2) for x in os.getloadavg()],
            "ours": {**best, "all_seconds": [run["seconds"] for run in ours],
                     "all_peak_mb": [run["peak_mb"] for run in ours]},
            "json_load": stdlib,
            "speedup_vs_json_load": round(stdlib["seconds"] / best["seconds"], 2),
            "targets": {"seconds": TARGET_SECONDS, "peak_mb": TARGET_PEAK_MB,
                        "met": best["seconds"] <= TARGET_SECONDS
                        and max(run["peak_mb"] for run in ours) <= TARGET_PEAK_MB},
        }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
