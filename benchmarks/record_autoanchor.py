"""Record what the real YOLOv5 autoanchor produces on two benchmark datasets.

Writes ``benchmarks/fixtures/yolov5_autoanchor.json``: the anchors returned by the real
``yolov5/utils/autoanchor.py::kmean_anchors`` (scipy k-means on whitened w, h, then a
1000-generation genetic evolution of its ``anchor_fitness``) for n=9 (3 per level) and n=18
(6 per level) on the datasets "demo" (``core.sources.load_table("demo")``) and "bursts"
(``benchmarks/bench_optimizer.py::burst_dataset(2000, seed=0)``), with the function's own
metrics, the k-means starting point, the seconds taken, the versions and the exact call. The
project judges these anchors by exact recall without torch; this script is not part of the
test suite or of the benchmark runs.

Two steps, two virtual environments:

1. ``--export FILE.npz`` runs in the project venv (numpy only; torch is never imported on this
   path): per dataset the image shapes (w, h) and the labels as YOLO label files hold them,
   rows (cls, x_centre, y_centre, w, h) divided by the image size in float64, then cast to
   float32 (the dtype ``LoadImagesAndLabels`` reads label files into). Images in table order,
   labels within an image in ``box_index`` order (the label file order).
2. ``--record FILE.npz --out JSON`` runs in a venv with the real package: PyPI ``yolov5==7.0.14``
   (packaged ultralytics/yolov5), torch 2.14.1 (CPU), numpy 2.4.6, scipy 1.17.1, Python 3.11.
   It hands ``kmean_anchors`` a stand-in dataset with exactly the two attributes it reads:
   ``shapes`` ((N, 2) int64 image (w, h), as ``LoadImagesAndLabels.shapes``) and ``labels``
   (list of per-image (k, 5) float32 arrays). ``kmean_anchors`` itself scales every image so its
   LONG side is ``img_size`` (``img_size * shapes / shapes.max(1, keepdims=True)``), so the
   anchors are pixels of the image letterboxed into 640 x 640 (``"anchors_px_at": 640``).
   Before each call ``random.seed``, ``np.random.seed`` and ``torch.manual_seed`` are set to
   SEED: the k-means init draws from numpy's global RandomState (scipy ``kmeans`` with
   ``rng=None``), the mutations from numpy's global state and Python's ``random``; torch draws
   nothing. Every call is run twice and the two results compared (``repeat_identical``).

Setting up the venv (CPU only) and re-running, from the repository root::

    export CUDA_VISIBLE_DEVICES="" YOLO_OFFLINE=1
    S=/work/scratch            # any folder outside the repository
    python3 -m venv $S/venv-yolov5
    $S/venv-yolov5/bin/pip install torch==2.14.1 torchvision==0.29.1 yolov5==7.0.14 \\
        "setuptools<81"
    .venv/bin/python benchmarks/record_autoanchor.py --export /tmp/autoanchor_input.npz
    $S/venv-yolov5/bin/python benchmarks/record_autoanchor.py \\
        --record /tmp/autoanchor_input.npz --out benchmarks/fixtures/yolov5_autoanchor.json
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DATASETS = ("demo", "bursts")
BURST_ARGS = {"images": 2000, "seed": 0}
N_ANCHORS = (9, 18)
IMG_SIZE = 640
THR = 4.0
GEN = 1000
SEED = 0
CALL = ("yolov5.utils.autoanchor.kmean_anchors(dataset, n={n}, img_size=640, thr=4.0, "
        "gen=1000, verbose=False)")


# --------------------------------------------------------------------------- export (project)


def yolo_labels(table) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """`(shapes, counts, labels)` of a box table: (N, 2) int64 image (w, h); boxes per image;
    all labels (cls, xc, yc, w, h) normalised, float64 -> float32, image by image in table
    order and within an image in `box_index` order."""
    order = np.lexsort((table.box_index, table.image))
    image = table.image[order]
    width = table.image_widths[image].astype(np.float64)
    height = table.image_heights[image].astype(np.float64)
    x1, y1, x2, y2 = (v[order].astype(np.float64) for v in (table.x1, table.y1, table.x2,
                                                            table.y2))
    labels = np.stack([table.cls[order].astype(np.float64), (x1 + x2) / 2 / width,
                       (y1 + y2) / 2 / height, (x2 - x1) / width, (y2 - y1) / height], axis=1)
    shapes = np.stack([table.image_widths, table.image_heights], axis=1).astype(np.int64)
    counts = np.bincount(table.image, minlength=table.image_count).astype(np.int64)
    return shapes, counts, labels.astype(np.float32)


def load_datasets() -> dict:
    for path in (str(ROOT), str(HERE)):
        if path not in sys.path:
            sys.path.insert(0, path)
    from bench_optimizer import burst_dataset

    from core.sources import load_table

    return {"demo": load_table("demo"), "bursts": burst_dataset(**BURST_ARGS)}


def export(path: Path) -> None:
    arrays = {}
    for name, table in load_datasets().items():
        shapes, counts, labels = yolo_labels(table)
        arrays[f"{name}_shapes"] = shapes
        arrays[f"{name}_counts"] = counts
        arrays[f"{name}_labels"] = labels
        arrays[f"{name}_spec"] = np.array(table.spec)
        starts = np.cumsum(counts) - counts
        duplicates = sum(c - len(np.unique(labels[s:s + c], axis=0))
                         for s, c in zip(starts, counts, strict=True) if c)
        print(f"{name}: {table.image_count} images, {len(table)} boxes, image sizes (w, h) "
              f"{sorted({tuple(s) for s in shapes.tolist()})}, duplicate label rows {duplicates}")
    np.savez(path, **arrays)
    print(f"wrote {path}")


# --------------------------------------------------------------------------- record (yolov5)


def input_digest(shapes: np.ndarray, counts: np.ndarray, labels: np.ndarray) -> str:
    """sha256 over the int64 shapes, int64 counts and float32 labels (C order, little endian)."""
    h = hashlib.sha256()
    for array, dtype in ((shapes, "<i8"), (counts, "<i8"), (labels, "<f4")):
        h.update(np.ascontiguousarray(array, dtype=dtype).tobytes())
    return h.hexdigest()


def _pairs(k) -> list[list[float]]:
    return [[float(w), float(h)] for w, h in np.asarray(k, np.float64).reshape(-1, 2)]


def record(npz_path: Path, out: Path) -> None:
    import random
    import types
    import warnings

    import scipy
    import scipy.cluster.vq
    import torch
    import yaml
    import yolov5
    from yolov5.utils import autoanchor
    from yolov5.utils.general import LOGGER

    torch.set_num_threads(1)
    ansi = re.compile(r"\x1b\[[0-9;]*m")

    class Capture:
        """Collects what the yolov5 logger writes (it does not propagate)."""

        def __init__(self):
            import logging

            self.lines: list[str] = []
            self.handler = logging.Handler(level=logging.DEBUG)
            self.handler.emit = lambda r: self.lines.append(ansi.sub("", r.getMessage()))

        def __enter__(self):
            self.lines.clear()
            LOGGER.addHandler(self.handler)
            return self

        def __exit__(self, *exc):
            LOGGER.removeHandler(self.handler)

    def nested(fn, name: str, **cells):
        """The real inner function `name` of `fn`, rebuilt from its own code object with the
        given closure values."""
        fn = getattr(fn, "__wrapped__", fn)
        code = next(c for c in fn.__code__.co_consts
                    if isinstance(c, types.CodeType) and c.co_name == name)
        closure = tuple(types.CellType(cells[v]) for v in code.co_freevars)
        return types.FunctionType(code, autoanchor.__dict__, name, None, closure or None)

    def check_metric(wh0: torch.Tensor, k) -> tuple[float, float]:
        """bpr, anchors above threshold from check_anchors' own inner `metric` (all boxes, no
        0.9-1.1 random scale)."""
        metric = nested(autoanchor.check_anchors, "metric", wh=wh0, thr=THR)
        bpr, aat = metric(torch.tensor(np.asarray(k, np.float32)).view(-1, 2))
        return float(bpr), float(aat)

    def fitness(wh: torch.Tensor, k) -> float:
        """kmean_anchors' own `anchor_fitness` (on the boxes that passed its 2 px filter)."""
        metric = nested(autoanchor.kmean_anchors, "metric")
        fit = nested(autoanchor.kmean_anchors, "anchor_fitness", metric=metric, thr=1 / THR,
                     wh=wh)
        return float(fit(np.asarray(k, np.float64).reshape(-1, 2)))

    real_kmeans = scipy.cluster.vq.kmeans
    kmeans_calls: list[dict] = []

    def spy_kmeans(obs, k_or_guess, *args, **kwargs):  # same arguments, same random draws
        result = real_kmeans(obs, k_or_guess, *args, **kwargs)
        kmeans_calls.append({"codebook": np.array(result[0]), "distortion": float(result[1])})
        return result

    printout = re.compile(
        r"thr=(?P<thr>[\d.]+): (?P<bpr>[\d.]+) best possible recall, (?P<aat>[\d.]+) anchors "
        r"past thr\s+.*metric_all=(?P<all>[\d.]+)/(?P<best>[\d.]+)-mean/best, "
        r"past_thr=(?P<past>[\d.nan]+)-mean: (?P<anchors>.*)", re.S)

    root = Path(yolov5.__file__).parent
    cfg = yaml.safe_load((root / "models" / "yolov5s.yaml").read_text())
    default_anchors = np.asarray(cfg["anchors"], np.float64).reshape(-1, 2)

    data = np.load(npz_path)
    result = {
        "description": "Anchors from the real YOLOv5 autoanchor (kmean_anchors: scipy k-means on "
        "whitened w, h + 1000-generation genetic evolution of its anchor_fitness) on the "
        "benchmark datasets, to be judged by exact recall in the project.",
        "source": "PyPI package yolov5==7.0.14: yolov5/utils/autoanchor.py kmean_anchors; "
        "metrics from its inner print_results printout, check_anchors' inner metric and "
        "kmean_anchors' inner anchor_fitness (real code objects)",
        "versions": {"python": sys.version.split()[0], "yolov5": yolov5.__version__,
                     "torch": torch.__version__, "numpy": np.__version__,
                     "scipy": scipy.__version__},
        "call": CALL,
        "anchors_px_at": IMG_SIZE,
        "img_size": IMG_SIZE,
        "thr": THR,
        "gen": GEN,
        "seed": SEED,
        "torch_num_threads": 1,
        "conventions": {
            "dataset": "stand-in object with shapes = (N, 2) int64 image (w, h) and labels = per "
            "image float32 (cls, xc, yc, w, h) normalised by the image size (float64 -> "
            "float32); no label text round trip, no duplicate removal (none present)",
            "anchors_px_at": "kmean_anchors scales each image so its long side is img_size "
            "(img_size * shapes / shapes.max(1)): anchors are pixels of the image "
            "letterboxed (aspect kept) into 640 x 640",
            "anchors": "as returned: float32 (w, h) pairs sorted by area, smallest first",
            "anchors_per_level": "the returned anchors split into 3 consecutive groups (what "
            "check_anchors' view_as(m.anchors) does): level 0 = stride 8 gets the smallest",
            "seeding": "random.seed, np.random.seed, torch.manual_seed = seed before each call; "
            "torch.set_num_threads(1) so float reductions run in one fixed order",
            "kmeans_init_anchors": "scipy kmeans(wh / s, n, iter=30)[0] * s, sorted by area: "
            "the starting point of the evolution (s = wh.std(0) of the filtered boxes)",
            "boxes_used": "boxes kept by kmean_anchors' filter (wh0 >= 2.0).any(1): at least "
            "one side >= 2 px at img_size; boxes_below_3px = its 'Extremely small objects' "
            "count (any side < 3 px)",
            "printout": "the function's final print_results line: bpr and anchors past thr on "
            "ALL boxes (wh0, unfiltered)",
            "check_anchors_metric": "bpr, aat from check_anchors' inner metric on all boxes "
            "without its 0.9-1.1 random scale augmentation",
            "fitness": "kmean_anchors' anchor_fitness (mean best ratio above 1/thr) on the "
            "filtered boxes, the quantity the evolution maximises",
        },
        "datasets": {},
    }
    for name in DATASETS:
        shapes = data[f"{name}_shapes"]
        counts = data[f"{name}_counts"]
        labels = data[f"{name}_labels"]
        dataset = types.SimpleNamespace(
            shapes=shapes, labels=np.split(labels, np.cumsum(counts)[:-1]))
        # the wh kmean_anchors builds, rebuilt here the same way for the metrics
        scaled = IMG_SIZE * dataset.shapes / dataset.shapes.max(1, keepdims=True)
        wh0 = np.concatenate([lb[:, 3:5] * s for s, lb in zip(scaled, dataset.labels,
                                                                strict=True)])
        keep = (wh0 >= 2.0).any(1)
        wh = wh0[keep].astype(np.float32)
        wh0_t, wh_t = torch.tensor(wh0, dtype=torch.float32), torch.tensor(wh)
        bpr, aat = check_metric(wh0_t, default_anchors)
        entry = {
            "spec": str(data[f"{name}_spec"]),
            "images": int(len(shapes)),
            "boxes": int(len(labels)),
            "image_sizes_wh": sorted({tuple(s) for s in shapes.tolist()}),
            "scaled_image_sizes_wh": sorted({tuple(s) for s in scaled.tolist()}),
            "input_sha256": input_digest(shapes, counts, labels),
            "boxes_used": int(keep.sum()),
            "boxes_below_3px": int((wh0 < 3.0).any(1).sum()),
            "default_yolov5s": {"anchors": _pairs(default_anchors),
                                "check_anchors_metric": {"bpr": bpr, "aat": aat},
                                "fitness": fitness(wh_t, default_anchors)},
            "runs": {},
        }
        for n in N_ANCHORS:
            runs = []
            for _ in range(2):
                random.seed(SEED)
                np.random.seed(SEED)
                torch.manual_seed(SEED)
                kmeans_calls.clear()
                scipy.cluster.vq.kmeans = spy_kmeans
                try:
                    with Capture() as log, warnings.catch_warnings(record=True) as caught:
                        warnings.simplefilter("always")
                        started = time.perf_counter()
                        k = autoanchor.kmean_anchors(dataset, n=n, img_size=IMG_SIZE, thr=THR,
                                                     gen=GEN, verbose=False)
                        seconds = time.perf_counter() - started
                finally:
                    scipy.cluster.vq.kmeans = real_kmeans
                runs.append({"k": np.array(k), "seconds": seconds, "log": list(log.lines),
                             "warnings": sorted({f"{w.category.__name__}: {w.message}"
                                                 for w in caught}),
                             "kmeans": list(kmeans_calls)})
            first = runs[0]
            k = first["k"]
            parsed = [m.groupdict() for line in first["log"] if (m := printout.search(line))]
            assert len(parsed) == 1, first["log"]
            fell_back = any("random init" in line for line in first["log"])
            s = wh.std(0)
            init = None
            if first["kmeans"] and not fell_back:
                init = first["kmeans"][0]["codebook"] * s
                init = init[np.argsort(init.prod(1))]
            small = [line for line in first["log"] if "Extremely small" in line]
            bpr, aat = check_metric(wh0_t, k)
            entry["runs"][str(n)] = {
                "call": CALL.format(n=n),
                "anchors": _pairs(k),
                "anchors_per_level": [_pairs(level) for level in np.split(k, 3)],
                "kmeans_init_anchors": _pairs(init) if init is not None else None,
                "kmeans_fell_back_to_random_init": fell_back,
                "printout": {"bpr": float(parsed[0]["bpr"]), "aat": float(parsed[0]["aat"]),
                             "metric_all_mean": float(parsed[0]["all"]),
                             "metric_all_best": float(parsed[0]["best"]),
                             "past_thr_mean": float(parsed[0]["past"]),
                             "anchors_rounded": parsed[0]["anchors"].strip()},
                "check_anchors_metric": {"bpr": bpr, "aat": aat},
                "fitness": fitness(wh_t, k),
                "kmeans_init_fitness": fitness(wh_t, init) if init is not None else None,
                "boxes_below_3px_logged": int(re.search(r"(\d+) of", small[0]).group(1))
                if small else 0,
                "seconds": round(first["seconds"], 3),
                "seconds_repeat": round(runs[1]["seconds"], 3),
                "repeat_identical": bool(np.array_equal(runs[0]["k"], runs[1]["k"])),
                "log": first["log"],
                "warnings": first["warnings"],
            }
            print(f"{name} n={n}: {first['seconds']:.1f} s, bpr {bpr:.4f}, aat {aat:.2f}, "
                  f"repeat identical {entry['runs'][str(n)]['repeat_identical']}", flush=True)
        result["datasets"][name] = entry
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1, ensure_ascii=False) + "\n")
    print(f"wrote {out}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    step = parser.add_mutually_exclusive_group(required=True)
    step.add_argument("--export", type=Path, metavar="FILE.npz",
                      help="project venv: write the datasets' shapes and YOLO labels")
    step.add_argument("--record", type=Path, metavar="FILE.npz",
                      help="yolov5 venv: run kmean_anchors on an exported file")
    parser.add_argument("--out", type=Path, default=HERE / "fixtures" / "yolov5_autoanchor.json",
                        help="JSON written by --record")
    args = parser.parse_args(argv)
    if args.export:
        export(args.export)
    else:
        record(args.record, args.out)


if __name__ == "__main__":
    main()
