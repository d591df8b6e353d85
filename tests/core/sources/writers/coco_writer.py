"""Writes a ReferenceDataset as a COCO detection JSON file (+ PNG images), for the coco: tests."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
from PIL import Image

from tests.core.sources.writers.common import ReferenceDataset


def coco_pixels(height: int, width: int, seed: int) -> np.ndarray:
    """The uint8 grey image written for an image of this size (deterministic per seed)."""
    rows, cols = np.mgrid[0:height, 0:width]
    return ((rows * 5 + cols * 3 + seed * 13) % 256).astype(np.uint8)


def coco_document(
    dataset: ReferenceDataset,
    *,
    image_id: Callable[[int], object] = int,
    interleave: bool = False,
    seed: int = 0,
    without_size: Sequence[int] = (),
) -> dict:
    """The COCO dict: `image_id` maps a reference id to the id written (e.g. str); `interleave`
    shuffles the annotations across images (each image's boxes keep their relative order);
    images at the positions `without_size` get no width/height."""
    images = []
    for k, ref_id in enumerate(dataset.image_ids):
        record = {"id": image_id(ref_id), "file_name": f"frame_{ref_id}.png", "license": 1}
        if k not in without_size:
            record.update(width=int(dataset.widths[k]), height=int(dataset.heights[k]))
        images.append(record)
    order = np.arange(len(dataset.image))
    if interleave:
        order = _merge_keep_order(dataset.image, np.random.default_rng(seed))
    annotations = []
    for number, row in enumerate(order.tolist()):
        x1, y1, x2, y2 = (float(v) for v in dataset.xyxy[row])
        annotations.append({
            "id": number + 1, "image_id": image_id(dataset.image_ids[dataset.image[row]]),
            "category_id": int(dataset.cls[row]), "bbox": [x1, y1, x2 - x1, y2 - y1],
            "area": (x2 - x1) * (y2 - y1), "iscrowd": 0, "segmentation": []})
    categories = [{"id": int(k), "name": name, "supercategory": "signal"}
                  for k, name in dataset.class_names.items()]
    return {"info": {"description": "reference dataset"}, "licenses": [],
            "images": images, "annotations": annotations, "categories": categories}


def _merge_keep_order(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A random order of the rows (grouped by image, as `image` is) in which each image's rows
    keep their relative order."""
    slots = rng.permutation(np.repeat(np.arange(image.max() + 1), np.bincount(image)))
    firsts = np.searchsorted(image, np.arange(image.max() + 1))
    taken = np.zeros(image.max() + 1, np.int64)
    order = np.empty(len(image), np.int64)
    for position, k in enumerate(slots.tolist()):
        order[position] = firsts[k] + taken[k]
        taken[k] += 1
    return order


def write_coco(
    directory: str | Path,
    dataset: ReferenceDataset,
    *,
    pixels: str = "some",
    image_id: Callable[[int], object] = int,
    interleave: bool = False,
    without_size: Sequence[int] = (),
) -> str:
    """Write `annotations.json` and `images/` into `directory`; returns the SPEC to open them.

    `pixels`: "all", "some" (every other image, starting with the first) or "none" image files.
    Category ids are the reference class ids, so loaded class ids equal `dataset.cls`.
    """
    directory = Path(directory)
    images = directory / "images"
    images.mkdir(parents=True, exist_ok=True)
    document = coco_document(dataset, image_id=image_id, interleave=interleave,
                             without_size=without_size)
    (directory / "annotations.json").write_text(json.dumps(document, indent=1))
    for k, ref_id in enumerate(dataset.image_ids):
        if pixels == "all" or (pixels == "some" and k % 2 == 0):
            grey = coco_pixels(int(dataset.heights[k]), int(dataset.widths[k]), k)
            Image.fromarray(grey).save(images / f"frame_{ref_id}.png")
    return f"coco:{directory / 'annotations.json'}?images={images}"
