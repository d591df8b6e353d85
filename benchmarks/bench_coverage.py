"""Coverage engine benchmark (docs/architecture.md): prints one JSON object.

- full exact report on 1,000,000 spectrogram-shaped boxes, 512x512 images, 5 levels x 9 anchors
  (keras-cv-like, clipped), median of a few runs;
- brute-force IoU matrix + matching on a subset, scaled per box, and the speed-up ratio;
- live retune: one aspect ratio changes, 100,000 boxes, median recompute time;
- the other matcher kinds at full size, the first call's JIT time (cache load, or compile when
  numba's cache is cold) and the machine's load average (other work skews the timings).

Run: `python benchmarks/bench_coverage.py [--boxes N] [--retune-boxes N] [--runs N]`.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from core.anchor_grid import LevelGrid  # noqa: E402
from core.coverage import CoverageEngine, MatchRule, compute_box_coverage, summarize  # noqa: E402

SIZE = 512


def spectrogram_boxes(n: int, seed: int = 0):
    """The four SciSRS-like clusters, ~10 boxes per 512x512 image."""
    rng = np.random.default_rng(seed)
    cluster = rng.integers(0, 4, n)
    w = np.select([cluster == 0, cluster == 1, cluster == 2],
                  [rng.uniform(75, 330, n), rng.uniform(5, 10, n), rng.uniform(6, 11, n)],
                  rng.uniform(80, 88, n))
    h = np.select([cluster == 0, cluster == 1, cluster == 2],
                  [rng.uniform(77, 103, n), rng.uniform(10, 22, n), rng.uniform(100, 104, n)],
                  rng.uniform(1, 21, n))
    x1 = rng.uniform(0, 1, n) * (SIZE - w)
    y1 = rng.uniform(0, 1, n) * (SIZE - h)
    image = np.sort(rng.integers(0, max(1, n // 10), n))
    images = int(image.max()) + 1 if n else 0
    return (x1, y1, x1 + w, y1 + h, image, np.full(images, SIZE), np.full(images, SIZE),
            cluster)


def keras_cv_grids(ratios=(0.5, 1.0, 2.0), scales=(1.0, 2 ** (1 / 3), 2 ** (2 / 3))):
    def grids_for_size(height, width):
        grids = []
        for level, (stride, size) in enumerate(zip([8, 16, 32, 64, 128],
                                                   [32, 64, 128, 256, 512], strict=True)):
            shapes = []
            for scale in scales:
                for ratio in ratios:
                    w = size * scale * np.sqrt(ratio)
                    h = size * scale / np.sqrt(ratio)
                    shapes.append([-w / 2, -h / 2, w / 2, h / 2])
            grids.append(LevelGrid(level + 3, stride, stride, stride / 2, stride / 2,
                                   int(np.ceil(width / stride)), int(np.ceil(height / stride)),
                                   np.array(shapes), True, width, height))
        return grids

    return grids_for_size


def brute_force_seconds_per_box(data, grids_for_size, rule, boxes: int) -> float:
    from tests.core.coverage.coverage_reference import reference_coverage

    x1, y1, x2, y2, image, heights, widths, _ = data
    keep = image < image[min(boxes, len(image) - 1)]
    start = time.perf_counter()
    reference_coverage(x1[keep], y1[keep], x2[keep], y2[keep], image[keep], heights, widths,
                       grids_for_size, rule)
    return (time.perf_counter() - start) / max(1, keep.sum())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--boxes", type=int, default=1_000_000)
    parser.add_argument("--retune-boxes", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--brute-boxes", type=int, default=2000)
    parser.add_argument("--analyze-runs", type=int, default=5,
                        help="end-to-end `analyze` runs on a 1M-box COCO file (0: skip)")
    args = parser.parse_args()
    grids = keras_cv_grids()
    rule = MatchRule("argmax", 0.5, 0.4)
    data = spectrogram_boxes(args.boxes)
    boxes, cls = data[:7], data[7]
    levels = [3, 4, 5, 6, 7]
    start = time.perf_counter()  # JIT: load from numba's cache, or compile when it is cold
    compute_box_coverage(*(v[:10] for v in boxes[:5]), *boxes[5:], grids, rule)
    first_call = time.perf_counter() - start

    full = []
    for _ in range(args.runs):
        start = time.perf_counter()
        cov = compute_box_coverage(*boxes, grids, rule)
        report = summarize(cov, cls, {0: "block", 1: "tick", 2: "line", 3: "strip"}, levels, 0.5)
        full.append(time.perf_counter() - start)
    per_kind = {"argmax": round(float(np.median(full)), 3)}
    for kind in ("force_best", "low_quality", "mmdet"):
        start = time.perf_counter()
        cov_kind = compute_box_coverage(*boxes, grids, MatchRule(kind, 0.5, 0.4))
        summarize(cov_kind, cls, {}, levels, 0.5)
        per_kind[kind] = round(time.perf_counter() - start, 3)

    brute = brute_force_seconds_per_box(data, grids, rule, args.brute_boxes)
    fast_per_box = float(np.median(full)) / args.boxes

    retune = spectrogram_boxes(args.retune_boxes, seed=1)[:7]
    engine = CoverageEngine(*retune)
    engine.compute(grids, rule)
    times = []
    for step in range(12):
        ratio = 2.0 + 0.05 * (step + 1)  # one ratio changes each time
        changed = keras_cv_grids(ratios=(0.5, 1.0, ratio))
        start = time.perf_counter()
        engine.compute(changed, rule)
        times.append(time.perf_counter() - start)

    print(json.dumps({
        "load_average_1_5_15": [round(v, 2) for v in os.getloadavg()],
        "cpus": os.cpu_count(),
        "first_call_jit_seconds": round(first_call, 3),
        "boxes": args.boxes,
        "anchors_per_image": sum(g.anchor_count for g in grids(SIZE, SIZE)),
        "full_report_seconds_median": round(float(np.median(full)), 3),
        "full_report_seconds_runs": [round(t, 3) for t in full],
        "full_report_seconds_per_matcher": per_kind,
        "brute_force_seconds_per_box": brute,
        "brute_force_seconds_scaled_to_all_boxes": round(brute * args.boxes, 1),
        "speedup": round(brute / fast_per_box, 1),
        "retune_boxes": args.retune_boxes,
        "retune_ms_median": round(1000 * float(np.median(times)), 2),
        "retune_ms_runs": [round(1000 * t, 1) for t in times],
        "recall": round(report.recall, 4),
        "best_possible_recall": round(report.best_possible_recall, 4),
        "ceiling_recall": round(report.ceiling_recall, 4),
        "mean_positives_per_box": round(report.mean_positives_per_box, 3),
        "analyze_end_to_end": analyze_end_to_end(args.analyze_runs) if args.analyze_runs else None,
    }, indent=1))


def analyze_end_to_end(runs: int) -> dict:
    """What a user waits for: `main.py analyze --json` on a 1,000,000-box COCO file, each run a
    fresh process (kernel loading included), medians of the command's own `seconds` and of the
    wall time."""
    import subprocess
    import tempfile

    from bench_loading_coco import write_coco

    root = Path(__file__).resolve().parents[1]
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "annotations.json"
        write_coco(path, 100_000, 1_000_000)
        load, coverage, wall = [], [], []
        for _ in range(runs):
            start = time.perf_counter()
            done = subprocess.run([sys.executable, "main.py", "analyze", "--dataset",
                                   f"coco:{path}", "--json"], cwd=root, capture_output=True,
                                  text=True, check=True)
            wall.append(time.perf_counter() - start)
            seconds = json.loads(done.stdout)["seconds"]
            load.append(seconds["load"])
            coverage.append(seconds["coverage"])
    return {"boxes": 1_000_000, "runs": runs,
            "seconds_load_median": round(float(np.median(load)), 2),
            "seconds_coverage_median": round(float(np.median(coverage)), 2),
            "seconds_coverage_runs": [round(v, 2) for v in coverage],
            "wall_seconds_median": round(float(np.median(wall)), 2), "target_coverage": 2.0}


if __name__ == "__main__":
    main()
