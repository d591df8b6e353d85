"""The box table: every ground-truth box of a dataset as columnar numpy arrays, validated.

Boxes are `x1, y1, x2, y2` float pixels in image coordinates (x along columns = time, y along rows =
frequency, origin top-left); `units` maps them to seconds and hertz when the source knows how
(`core.units`). Invalid boxes are skipped and counted by reason; boxes partly outside
their image are clipped to it and counted (docs/datasets.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from core.errors import InputError
from core.units import ImageUnits, PhysicalAxes

# Why a box was skipped; `reasons` arrays hold 0 for "kept" and 1 + the index in this tuple.
SKIP_REASONS = (
    "padding",  # a row of -1 padding in a dense batch
    "non_finite",  # NaN or inf coordinate
    "relative_out_of_range",  # a relative coordinate far outside [0, 1]
    "unknown_image",  # refers to an image the source does not list
    "non_positive_size",  # width or height <= 0
    "outside_image",  # no part of the box lies inside its image
)
KEPT = 0
RELATIVE_TOLERANCE = 1e-3  # relative coordinates within [-tol, 1 + tol] are clipped, not skipped


def reason_code(name: str) -> int:
    """The code that `reasons` arrays use for the skip reason `name`."""
    return SKIP_REASONS.index(name) + 1


@dataclass(frozen=True)
class BoxTable:
    """All boxes of a dataset, one array per column, plus one array per image column."""

    image: np.ndarray  # int32, index into the per-image arrays
    cls: np.ndarray  # int32 class id
    x1: np.ndarray  # float64 pixels
    y1: np.ndarray
    x2: np.ndarray
    y2: np.ndarray
    box_index: np.ndarray  # int32, position of the box among its image's boxes in the source
    image_ids: np.ndarray  # the source's own image identifiers
    image_heights: np.ndarray  # int32 pixels
    image_widths: np.ndarray  # int32 pixels
    class_names: dict[int, str] = field(default_factory=dict)
    skipped: dict[str, int] = field(default_factory=dict)  # reason -> count, nonzero only
    clipped: int = 0
    spec: str = ""
    units: ImageUnits | None = None  # per image: seconds / hertz of the pixels; None: unknown

    def __len__(self) -> int:
        return len(self.x1)

    @property
    def image_count(self) -> int:
        return len(self.image_ids)

    @property
    def widths(self) -> np.ndarray:
        return self.x2 - self.x1

    @property
    def heights(self) -> np.ndarray:
        return self.y2 - self.y1

    @property
    def skipped_total(self) -> int:
        return sum(self.skipped.values())

    def class_name(self, cls: int) -> str:
        return self.class_names.get(int(cls), str(int(cls)))

    def physical_axes(self, image: int) -> PhysicalAxes | None:
        """Seconds and hertz of image `image`'s pixels, or None when the source gave none."""
        return None if self.units is None else self.units.of_image(image)

    def summary(self) -> dict:
        """The `dataset` block of the JSON reports (docs/coverage.md)."""
        return {"spec": self.spec, "images": self.image_count, "boxes": len(self),
                "skipped_boxes": self.skipped_total, "skipped": dict(self.skipped),
                "clipped_boxes": self.clipped}

    def smallest_box_at(self, rows: np.ndarray, x: float, y: float) -> int:
        """The row of the smallest of `rows` containing the point (edges included), or -1:
        what a click on the image selects, so a small box inside a big one stays reachable."""
        rows = np.asarray(rows, np.int64)
        inside = rows[(self.x1[rows] <= x) & (x <= self.x2[rows])
                      & (self.y1[rows] <= y) & (y <= self.y2[rows])]
        if not len(inside):
            return -1
        return int(inside[np.argmin(self.widths[inside] * self.heights[inside])])

    def xyxy(self, rows: np.ndarray | slice = slice(None)) -> np.ndarray:
        """(n, 4) float64 copy of the boxes (all, or the given rows)."""
        return np.stack([self.x1[rows], self.y1[rows], self.x2[rows], self.y2[rows]], axis=1)


def validate_boxes(
    xyxy: np.ndarray, width: np.ndarray, height: np.ndarray, reasons: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Check pixel boxes against their images' sizes.

    Returns `(reasons, clipped_xyxy, was_clipped)`: reason codes (0 = kept, see SKIP_REASONS),
    the boxes clipped to `[0, width] x [0, height]`, and which kept boxes clipping changed.
    Codes already set in `reasons` (e.g. padding found by a source) are kept as they are.
    """
    xyxy = np.asarray(xyxy, dtype=np.float64).reshape(-1, 4)
    n = len(xyxy)
    reasons = np.zeros(n, np.int8) if reasons is None else np.asarray(reasons, np.int8).copy()
    width = np.broadcast_to(np.asarray(width, np.float64), (n,))
    height = np.broadcast_to(np.asarray(height, np.float64), (n,))
    x1, y1, x2, y2 = xyxy.T

    def mark(mask: np.ndarray, name: str) -> None:
        reasons[(reasons == KEPT) & mask] = reason_code(name)

    with np.errstate(invalid="ignore"):
        mark(~np.isfinite(xyxy).all(axis=1), "non_finite")
        mark((x2 <= x1) | (y2 <= y1), "non_positive_size")
        mark((x2 <= 0) | (y2 <= 0) | (x1 >= width) | (y1 >= height), "outside_image")
    clipped = np.stack(
        [np.clip(x1, 0, width), np.clip(y1, 0, height), np.clip(x2, 0, width),
         np.clip(y2, 0, height)], axis=1)
    kept = reasons == KEPT
    with np.errstate(invalid="ignore"):
        was_clipped = kept & (clipped != xyxy).any(axis=1)
    return reasons, clipped, was_clipped


class _GrowingArray:
    """A 1-D array that grows by doubling, so streaming many small batches stays linear."""

    def __init__(self, dtype):
        self._data = np.zeros(1024, dtype)
        self._size = 0

    def __len__(self) -> int:
        return self._size

    def extend(self, values) -> None:
        values = np.asarray(values, self._data.dtype).reshape(-1)
        needed = self._size + len(values)
        if needed > len(self._data):
            grown = np.zeros(max(needed, 2 * len(self._data)), self._data.dtype)
            grown[: self._size] = self._data[: self._size]
            self._data = grown
        self._data[self._size : needed] = values
        self._size = needed

    @property
    def values(self) -> np.ndarray:
        return self._data[: self._size]


class BoxTableBuilder:
    """Collects validated boxes batch by batch (sources stream), then builds a `BoxTable`.

    With `strict=True` the first skipped box raises `InputError` naming its image and position.
    """

    def __init__(self, spec: str = "", *, strict: bool = False, class_names=None):
        self.spec = spec
        self.strict = strict
        self.class_names: dict[int, str] = dict(class_names or {})
        self._boxes: list[tuple[np.ndarray, ...]] = []
        self._image_ids: list[np.ndarray] = []
        self._heights = _GrowingArray(np.int32)
        self._widths = _GrowingArray(np.int32)
        self._units: list[ImageUnits | None] = []  # per add_images call
        self.skipped = dict.fromkeys(SKIP_REASONS, 0)
        self.clipped = 0
        self.box_count = 0

    @property
    def image_count(self) -> int:
        return len(self._heights)

    def add_images(self, image_ids: Sequence, heights, widths,
                   units: ImageUnits | None = None) -> int:
        """Register images (with their physical units, if known); returns the table index of
        the first one."""
        first = self.image_count
        image_ids = np.asarray(image_ids).reshape(-1)
        if units is not None and len(units) != len(image_ids):
            raise ValueError(f"units for {len(units)} images, {len(image_ids)} images added")
        self._image_ids.append(image_ids)
        self._heights.extend(heights)
        self._widths.extend(widths)
        self._units.append(units)
        return first

    def _build_units(self) -> ImageUnits | None:
        if all(part is None for part in self._units):
            return None
        counts = [len(ids) for ids in self._image_ids]
        units = ImageUnits.concatenate([ImageUnits.unknown(n) if part is None else part
                                        for part, n in zip(self._units, counts, strict=True)])
        self._units = [units]
        self._image_ids = [np.concatenate(self._image_ids)]
        return units if units.knows_any else None

    def add_boxes(
        self,
        image: np.ndarray,
        xyxy: np.ndarray,
        cls: np.ndarray,
        box_index: np.ndarray,
        reasons: np.ndarray | None = None,
        *,
        file: str | None = None,
    ) -> None:
        """Validate and keep boxes of already registered images (`image` = table indices).

        `reasons` may carry skip codes the source found itself (padding, unknown image, ...).
        """
        image = np.asarray(image, np.int64).reshape(-1)
        heights, widths = self._heights.values, self._widths.values
        known = (image >= 0) & (image < len(heights))
        reasons = np.zeros(len(image), np.int8) if reasons is None else np.asarray(reasons, np.int8)
        reasons = np.where((reasons == KEPT) & ~known, reason_code("unknown_image"), reasons)
        safe_image = np.where(known, image, 0)
        w = widths[safe_image] if len(widths) else np.zeros(len(image), np.int32)
        h = heights[safe_image] if len(heights) else np.zeros(len(image), np.int32)
        reasons, clipped, was_clipped = validate_boxes(xyxy, w, h, reasons)
        box_index = np.asarray(box_index, np.int32).reshape(-1)
        if self.strict and (reasons != KEPT).any():
            bad = int(np.flatnonzero(reasons != KEPT)[0])
            ids = np.concatenate(self._image_ids) if self._image_ids else np.zeros(0)
            image_name = (f"image {ids[image[bad]]}" if known[bad]
                          else "an image the source does not have")  # e.g. a label file alone
            raise InputError(
                f"box skipped ({SKIP_REASONS[reasons[bad] - 1]}), --strict forbids it",
                file=file or self.spec, record=f"{image_name}, box {box_index[bad]}")
        for code, count in zip(*np.unique(reasons[reasons != KEPT], return_counts=True),
                               strict=True):
            self.skipped[SKIP_REASONS[code - 1]] += int(count)
        self.clipped += int(was_clipped.sum())
        kept = reasons == KEPT
        self._boxes.append((image[kept].astype(np.int32), np.asarray(cls, np.int32)[kept],
                            clipped[kept], box_index[kept]))
        self.box_count += int(kept.sum())

    def build(self) -> BoxTable:
        """The table of everything added so far (the builder can keep going)."""
        if self._boxes:
            image, cls, xyxy, box_index = (np.concatenate(parts) for parts in zip(*self._boxes,
                                                                                  strict=True))
            self._boxes = [(image, cls, xyxy, box_index)]
        else:
            image = cls = box_index = np.zeros(0, np.int32)
            xyxy = np.zeros((0, 4))
        cat = np.concatenate
        units = self._build_units()
        return BoxTable(
            image=image, cls=cls, x1=xyxy[:, 0].copy(), y1=xyxy[:, 1].copy(),
            x2=xyxy[:, 2].copy(), y2=xyxy[:, 3].copy(), box_index=box_index,
            image_ids=cat(self._image_ids) if self._image_ids else np.zeros(0, np.int64),
            image_heights=self._heights.values.copy(), image_widths=self._widths.values.copy(),
            class_names=dict(self.class_names),
            skipped={k: v for k, v in self.skipped.items() if v},
            clipped=self.clipped, spec=self.spec, units=units)
