"""A small reference dataset every format writer serialises, for cross-format equality tests."""

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class ReferenceDataset:
    image_ids: list  # source image ids (ints)
    heights: np.ndarray  # int, per image
    widths: np.ndarray  # int, per image
    image: np.ndarray  # per box: position in image_ids
    cls: np.ndarray  # per box: class id (0-based)
    xyxy: np.ndarray  # per box: float64 pixels, strictly inside the image
    class_names: dict  # id -> name


def reference_dataset(seed: int = 0, images: int = 6) -> ReferenceDataset:
    rng = np.random.default_rng(seed)
    heights = rng.integers(64, 200, images)
    widths = rng.integers(64, 300, images)
    image = np.repeat(np.arange(images), rng.integers(1, 6, images))
    w, h = widths[image].astype(float), heights[image].astype(float)
    n = len(image)
    x1 = rng.uniform(0, 0.6, n) * w
    y1 = rng.uniform(0, 0.6, n) * h
    x2 = x1 + rng.uniform(0.05, 0.35, n) * w
    y2 = y1 + rng.uniform(0.05, 0.35, n) * h
    xyxy = np.round(np.stack([x1, y1, x2, y2], 1), 2)
    return ReferenceDataset(list(range(10, 10 + images)), heights, widths, image,
                            rng.integers(0, 3, n), xyxy, {0: "carrier", 1: "burst", 2: "chirp"})
