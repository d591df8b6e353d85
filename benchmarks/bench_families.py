"""Detector-family coverage benchmark (docs/families.md): prints one JSON object.

Per family (YOLOv5, YOLOv8, FCOS, ATSS at their default configs) on the demo dataset (3,000
images of 512x512, ~27k boxes): `family_coverage` — images of one size assigned together by the
family's `assign_images` — against the per-image path it replaced (`assign_image` image by image,
tests/core/assigners/per_image.py). Each is warmed up once, then timed `--runs` times in this
process; medians, boxes per second, the speed-up, whether both gave the same per-box result, the
target (FCOS and ATSS <= 2 s) and the machine's load average (other work skews the timings).

    .venv/bin/python benchmarks/bench_families.py [--runs N] [--reference-runs N]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.family_analysis import family_coverage  # noqa: E402
from core.family_config import default_family_config  # noqa: E402
from core.sources import load_table  # noqa: E402
from tests.core.assigners.per_image import per_image_coverage  # noqa: E402

FAMILIES = ("yolov5", "yolov8", "fcos", "atss")
TARGET_SECONDS = {"fcos": 2.0, "atss": 2.0}


def timed(compute, runs: int) -> tuple[list[float], object]:
    """Run `compute()` once to warm up, then `runs` times: (the seconds of each run, result)."""
    result = compute()
    seconds = []
    for _ in range(runs):
        start = time.perf_counter()
        result = compute()
        seconds.append(time.perf_counter() - start)
    return seconds, result


def same_result(a, b) -> bool:
    return all(np.array_equal(getattr(a, name), getattr(b, name))
               for name in ("positives", "best_level", "miss_reason"))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3, help="timed runs of the batched path")
    parser.add_argument("--reference-runs", type=int, default=3,
                        help="timed runs of the per-image path (0: skip it)")
    args = parser.parse_args()
    load_before = os.getloadavg()
    table = load_table("demo")
    families = {}
    for name in FAMILIES:
        config = default_family_config(name)
        batched, result = timed(lambda config=config: family_coverage(table, config), args.runs)
        median = float(np.median(batched))
        entry = {
            "seconds_median": round(median, 4),
            "seconds_runs": [round(t, 4) for t in batched],
            "boxes_per_second": round(len(table) / median),
            "recall": round(float(result.matched.mean()), 4),
            "mean_positives_per_box": round(float(result.positives.mean()), 3),
        }
        if name in TARGET_SECONDS:
            entry["target_seconds"] = TARGET_SECONDS[name]
            entry["meets_target"] = median <= TARGET_SECONDS[name]
        if args.reference_runs:
            per_image, reference = timed(
                lambda config=config: per_image_coverage(table, config), args.reference_runs)
            reference_median = float(np.median(per_image))
            entry["per_image"] = {
                "seconds_median": round(reference_median, 3),
                "seconds_runs": [round(t, 3) for t in per_image],
                "boxes_per_second": round(len(table) / reference_median),
            }
            entry["speedup"] = round(reference_median / median, 1)
            entry["same_result"] = same_result(result, reference)
        families[name] = entry
    print(json.dumps({
        "load_average_before": [round(v, 2) for v in load_before],
        "load_average_after": [round(v, 2) for v in os.getloadavg()],
        "cpus": os.cpu_count(),
        "dataset": "demo",
        "images": table.image_count,
        "boxes": len(table),
        "runs": args.runs,
        "reference_runs": args.reference_runs,
        "families": families,
    }, indent=1))


if __name__ == "__main__":
    main()
