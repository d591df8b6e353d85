"""Optimizer benchmark (docs/optimizer.md): recall reached and time taken, against today's
methods.

On the demo dataset and on a generated set of tall narrow bursts (time on x, mixed image sizes),
compares, all judged by exact on-grid recall under keras-cv: the default anchors; the seed
notebook's k-means (6 clusters on raw w, h; 18 anchors; with its h/w bug and corrected); the
Zlocha et al. DE baseline (3 ratios x 3 scales = 9 anchors); ours at 3 x 3 and 6 x 3. Prints one
JSON object with recalls, wall times, the goals and the load average.

    .venv/bin/python benchmarks/optimizer.py [--quick] [--seed N]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cli.common import print_json  # noqa: E402
from core.analysis import CoverageSession  # noqa: E402
from core.anchor_config import config_to_dict, default_config  # noqa: E402
from core.baselines import seed_kmeans, zlocha_de  # noqa: E402
from core.boxes import BoxTable, BoxTableBuilder  # noqa: E402
from core.optimizer import optimize  # noqa: E402
from core.sources import load_table  # noqa: E402

BURST_CLASSES = {0: "burst", 1: "hop", 2: "carrier", 3: "sweep"}


def burst_dataset(images: int = 2000, seed: int = 0) -> BoxTable:
    """Spectrogram-shaped boxes unlike the demo's: time on x, frequency on y, images 256 or 512
    rows by 1024 columns. Mostly tall narrow bursts (w 2-6, h 40-160), frequency-hop dwells
    (w 12-24, h 6-12), long thin carriers (w 300-900, h 3-8) and sweeps (w 60-120, h 60-200)."""
    rng = np.random.default_rng(seed)
    builder = BoxTableBuilder(f"bursts?images={images}&seed={seed}")
    heights = rng.choice([256, 512], images)
    builder.add_images(np.arange(images), heights, np.full(images, 1024))
    per_image = rng.integers(4, 17, images)
    image = np.repeat(np.arange(images), per_image)
    n = len(image)
    cls = rng.choice(4, n, p=[0.5, 0.25, 0.1, 0.15])
    low = np.array([[2, 40], [12, 6], [300, 3], [60, 60]], float)
    high = np.array([[6, 160], [24, 12], [900, 8], [120, 200]], float)
    wh = rng.uniform(low[cls], high[cls])
    wh[:, 1] = np.minimum(wh[:, 1], heights[image] - 1)
    x1 = rng.uniform(0, 1024 - wh[:, 0])
    y1 = rng.uniform(0, heights[image] - wh[:, 1])
    xyxy = np.stack([x1, y1, x1 + wh[:, 0], y1 + wh[:, 1]], axis=1)
    box_index = np.arange(n) - np.repeat(np.cumsum(per_image) - per_image, per_image)
    builder.add_boxes(image, xyxy, cls.astype(np.int32), box_index)
    builder.class_names = dict(BURST_CLASSES)
    return builder.build()


def _judge(session: CoverageSession, config) -> dict:
    report = session.compute(config).report
    return {"recall": report.recall, "mean_best_iou": report.mean_best_iou,
            "ceiling_recall": report.ceiling_recall,
            "per_class_recall": {k: v.recall for k, v in report.per_class.items()}}


def run_dataset(name: str, table: BoxTable, seed: int, quick: bool) -> dict:
    base = default_config("keras-cv")
    session = CoverageSession(table)
    widths, heights = session.x2 - session.x1, session.y2 - session.y1
    methods = {}

    def record(method: str, config, seconds: float, extra: dict | None = None) -> None:
        methods[method] = {"anchors_per_location": config.anchors_per_location,
                           "seconds": round(seconds, 3), **_judge(session, config),
                           "aspect_ratios": list(config.aspect_ratios),
                           "scales": list(config.scales), **(extra or {})}

    record("default", base, 0.0)
    for faithful in (True, False):
        result = seed_kmeans(widths, heights, base, faithful=faithful, seed=seed)
        record("seed_kmeans_18" + ("_hw_bug" if faithful else "_wh"), result.config,
               result.seconds)
    de = zlocha_de(widths, heights, base, seed=seed, **({"maxiter": 20} if quick else {}))
    record("zlocha_de_9", de.config, de.seconds, {"de": de.details})
    for ratios, scales in ((3, 3), (6, 3)):
        started = time.perf_counter()
        ours = optimize(table, base, ratios, scales, seed=seed, session=session,
                        **({"max_evaluations": 60} if quick else {}))
        record(f"ours_{ratios}x{scales}", ours.config, time.perf_counter() - started,
               {"evaluations": ours.evaluations, "sample_boxes": ours.sample_boxes,
                "config": config_to_dict(ours.config)})
    ours = methods["ours_3x3"]
    kmeans = max(methods["seed_kmeans_18_hw_bug"]["recall"], methods["seed_kmeans_18_wh"]["recall"])
    goals = {
        "ours_3x3_minus_zlocha": ours["recall"] - methods["zlocha_de_9"]["recall"],
        "ours_3x3_minus_best_seed_kmeans_18": ours["recall"] - kmeans,
        "ceiling_minus_ours_3x3": ours["ceiling_recall"] - ours["recall"],
        "ours_3x3_seconds": ours["seconds"],
    }
    goals["met"] = {
        "beats_zlocha_by_15_points": goals["ours_3x3_minus_zlocha"] >= 0.15,
        "beats_seed_kmeans_18_by_10_points": goals["ours_3x3_minus_best_seed_kmeans_18"] >= 0.10,
        "within_10_points_of_ceiling": goals["ceiling_minus_ours_3x3"] <= 0.10,
        "under_30_s": ours["seconds"] <= 30.0 * max(1.0, len(table) / 20000),
    }
    return {"dataset": name, "images": table.image_count, "boxes": len(table),
            "methods": methods, "goals": goals}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sets, short searches")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    load_before = os.getloadavg()
    started = time.perf_counter()
    demo = load_table("demo?images=300" if args.quick else "demo")
    bursts = burst_dataset(200 if args.quick else 2000, seed=args.seed)
    results = [run_dataset("demo", demo, args.seed, args.quick),
               run_dataset("bursts", bursts, args.seed, args.quick)]
    print_json({"framework": "keras-cv", "judged_by": "exact on-grid recall",
                "cpus": os.cpu_count(), "load_average_before": list(load_before),
                "load_average_after": list(os.getloadavg()),
                "seconds_total": round(time.perf_counter() - started, 1), "datasets": results})


if __name__ == "__main__":
    main()
