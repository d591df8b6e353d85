"""Writes a ReferenceDataset as an Ultralytics YOLO dataset (data.yaml or labels folder)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import yaml
from PIL import Image

from tests.core.sources.writers.common import ReferenceDataset


def reference_pixels(height: int, width: int, seed: int) -> np.ndarray:
    """The uint8 grey image the writers store for an image of this size (deterministic)."""
    rows, cols = np.mgrid[0:height, 0:width]
    return ((rows * 7 + cols * 3 + seed * 11) % 256).astype(np.uint8)


def write_png(path: Path, height: int, width: int, seed: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(reference_pixels(height, width, seed)).save(path)


def label_lines(dataset: ReferenceDataset, k: int) -> str:
    """The YOLO label text of image k: `cls xc yc w h`, normalized, 10 decimals."""
    rows = np.flatnonzero(dataset.image == k)
    w, h = float(dataset.widths[k]), float(dataset.heights[k])
    x1, y1, x2, y2 = dataset.xyxy[rows].T
    table = np.stack([(x1 + x2) / 2 / w, (y1 + y2) / 2 / h, (x2 - x1) / w, (y2 - y1) / h], 1)
    return "".join(f"{c} {a:.10f} {b:.10f} {d:.10f} {e:.10f}\n"
                   for c, (a, b, d, e) in zip(dataset.cls[rows], table, strict=True))


def write_yolo(directory, dataset: ReferenceDataset, *, layout: str = "yaml",
               names: str = "list", images: bool = True) -> str:
    """Serialise `dataset` under `directory`; returns the SPEC that opens it.

    layout="yaml": `data.yaml` (relative `path: dataset`, `train: images/train`) with
    `dataset/images/train/<id>.png` and `dataset/labels/train/<id>.txt`; names="list" or "dict".
    layout="labels": `labels/<id>.txt` + `images/<id>.png` -> `yolo:labels?images=images`, or with
    images=False `yolo:labels?size=WxH` (every image must then have the same size).
    """
    directory = Path(directory)
    ids = [str(i) for i in dataset.image_ids]
    if layout == "yaml":
        image_dir = directory / "dataset" / "images" / "train"
        label_dir = directory / "dataset" / "labels" / "train"
    elif layout == "labels":
        image_dir, label_dir = directory / "images", directory / "labels"
    else:
        raise ValueError(f"unknown layout {layout!r}")
    label_dir.mkdir(parents=True, exist_ok=True)
    for k, image_id in enumerate(ids):
        (label_dir / f"{image_id}.txt").write_text(label_lines(dataset, k))
        if images:
            write_png(image_dir / f"{image_id}.png", int(dataset.heights[k]),
                      int(dataset.widths[k]), k)
    if layout == "yaml":
        class_names = [dataset.class_names[i] for i in sorted(dataset.class_names)]
        data = {"path": "dataset", "train": "images/train", "val": "images/train",
                "names": class_names if names == "list" else dict(enumerate(class_names))}
        (directory / "data.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
        return f"yolo:{directory / 'data.yaml'}"
    if images:
        return f"yolo:{label_dir}?images={image_dir}"
    sizes = set(zip(dataset.widths.tolist(), dataset.heights.tolist(), strict=True))
    if len(sizes) != 1:
        raise ValueError("size=WxH needs every image to have the same size")
    (width, height), = sizes
    return f"yolo:{label_dir}?size={width}x{height}"
