"""Benchmark: box statistics from an em-loader tf.data dataset, the seed notebook's way vs ours.

Over the demo em-loader (`resources.em_loader_demo.load`, default 3000 images, batch_size 9,
xywh) it times:

(a) the seed notebook's way: one eager pass over the dataset PER statistic — widths, heights,
    aspect ratios w/h, sizes sqrt(w*h) — each a Python loop over batches, `.numpy()` per batch
    and a Python append per box, then percentiles and histograms with numpy;
(b) ours: `python:` source -> BoxTable in one pass, then `core.statistics.box_shape_stats`;
(c) the bare pipeline: `for batch in dataset: pass`, to express our overhead over the iteration
    the loader itself costs.

Twice: on the real demo loader, which renders every spectrogram (pixels the box statistics do
not need but a foreign loader's pipeline computes anyway), and on a boxes-only variant of it
(same boxes, a constant image tensor), which shows the cost of our own work. Prints one JSON
object. Run from the repository root: `python benchmarks/bench_loading_tf.py [--images N]`.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import orjson  # noqa: E402

from core.sources import load_table  # noqa: E402
from core.sources.base import parse_spec  # noqa: E402
from core.statistics import PERCENTILES, box_shape_stats, distribution  # noqa: E402


def boxes_only_load(bounding_box_format: str, batch_size: int | None = None,
                    split: str = "train", version: int = 2, *, images: int | None = None,
                    seed: int = 0):
    """`resources.em_loader_demo.load` with the same boxes but one constant image tensor, so the
    pipeline costs what the boxes cost (a loader that can skip its pixels)."""
    from core.tensorflow_import import import_tensorflow

    tf = import_tensorflow()  # without TensorFlow's start-up noise on stderr

    from core.box_formats import from_xyxy
    from core.sources.demo import IMAGE_HEIGHT, IMAGE_WIDTH, generate_demo_boxes
    from resources.em_loader_demo import SPLIT_FIRST_IMAGE, SPLIT_IMAGES

    count = SPLIT_IMAGES[split] if images is None else images
    demo = generate_demo_boxes(count, seed, start=SPLIT_FIRST_IMAGE[split])
    lengths = np.diff(demo.offsets)
    formatted = from_xyxy(demo.xyxy, bounding_box_format, IMAGE_WIDTH, IMAGE_HEIGHT)
    boxes = tf.RaggedTensor.from_row_lengths(formatted.astype(np.float32), lengths)
    classes = tf.RaggedTensor.from_row_lengths(demo.cls.astype(np.float32), lengths)
    image = tf.zeros((IMAGE_HEIGHT, IMAGE_WIDTH, 1), tf.float32)
    dataset = tf.data.Dataset.from_tensor_slices((boxes, classes)).map(
        tf.autograph.experimental.do_not_convert(
            lambda b, c: {"images": image, "bounding_boxes": {"boxes": b, "classes": c}}))
    if batch_size is not None:
        dataset = dataset.ragged_batch(batch_size)
    return dataset, {"num_samples": count, "split": split, "version": version}


# --- (a) the seed notebook ----------------------------------------------------------------------

def seed_pass(dataset, value) -> list[float]:
    """One eager pass collecting `value(w, h)` of every box, box by box (xywh boxes)."""
    out = []
    for batch in dataset:
        for image_boxes in batch["bounding_boxes"]["boxes"].numpy():
            for _x, _y, w, h in image_boxes:
                out.append(value(w, h))
    return out


def seed_notebook(dataset) -> dict:
    widths = np.array(seed_pass(dataset, lambda w, h: w))
    heights = np.array(seed_pass(dataset, lambda w, h: h))
    ratios = np.array(seed_pass(dataset, lambda w, h: w / h), np.float64)
    sizes = np.array(seed_pass(dataset, lambda w, h: np.sqrt(w * h)), np.float64)
    return {"boxes": len(widths), "mean_width": float(widths.mean()),
            "mean_height": float(heights.mean()),
            "aspect_ratio": distribution(ratios), "side_length": distribution(sizes)}


# --- (b) ours, (c) bare -------------------------------------------------------------------------

def ours(spec: str) -> tuple[dict, float, float]:
    from core.sources.python_loader import PythonLoaderSource

    start = time.perf_counter()
    table = load_table(PythonLoaderSource(parse_spec(spec)))
    loaded = time.perf_counter()
    stats = box_shape_stats(table)
    return ({"boxes": len(table), "skipped": table.skipped, **stats}, loaded - start,
            time.perf_counter() - loaded)


def bare(dataset) -> None:
    for _batch in dataset:
        pass


def timed(function, *args):
    start = time.perf_counter()
    result = function(*args)
    return result, time.perf_counter() - start


def compare(loader, spec: str, fmt: str, batch_size: int, images: int) -> dict:
    dataset, _ = loader(fmt, batch_size=batch_size, images=images)
    bare(dataset.take(2))  # warm up: traces functions, starts thread pools
    _, bare_seconds = timed(bare, dataset)
    seed, seed_seconds = timed(seed_notebook, dataset)
    (our, load_seconds, stats_seconds), our_seconds = timed(ours, spec)
    same = (seed["boxes"] == our["boxes"] and all(
        np.isclose(seed[k]["percentiles"][f"p{p}"], our[k]["percentiles"][f"p{p}"], rtol=1e-5)
        for k in ("aspect_ratio", "side_length") for p in PERCENTILES))
    return {
        "seconds": {"bare_pipeline": bare_seconds, "seed_four_passes": seed_seconds,
                    "ours": our_seconds, "ours_load": load_seconds, "ours_stats": stats_seconds},
        "speedup_vs_seed": seed_seconds / our_seconds,
        "overhead_vs_bare_pipeline": (our_seconds - bare_seconds) / bare_seconds,
        "boxes": our["boxes"], "same_statistics_as_seed": bool(same),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=3000)
    parser.add_argument("--batch-size", type=int, default=9)
    parser.add_argument("--format", default="xywh", choices=["xywh"],
                        help="the seed's loops read xywh boxes")
    args = parser.parse_args()
    from resources.em_loader_demo import load

    query = f"split=train&bounding_box_format={args.format}&batch_size={args.batch_size}" \
            f"&images={args.images}"
    real_spec = f"python:resources.em_loader_demo:load?{query}"
    boxes_only_spec = f"python:{Path(__file__).resolve()}:boxes_only_load?{query}"
    report = {
        "dataset": {"images": args.images, "batch_size": args.batch_size, "format": args.format,
                    "cpus": os.cpu_count()},
        "pixels_rendered": compare(load, real_spec, args.format, args.batch_size, args.images),
        "boxes_only": compare(boxes_only_load, boxes_only_spec, args.format, args.batch_size,
                              args.images),
        "targets": {"speedup_vs_seed_min": 4.0, "overhead_vs_bare_pipeline_max": 0.10,
                    "boxes_only_speedup_vs_seed_min (docs/architecture.md)": 10.0},
    }
    sys.stdout.write(orjson.dumps(report, option=orjson.OPT_INDENT_2).decode() + "\n")


if __name__ == "__main__":
    main()
