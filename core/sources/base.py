"""What every dataset source provides: a parsed `SPEC`, streamed box batches, pixels on demand."""

from __future__ import annotations

import abc
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from urllib.parse import parse_qsl

import numpy as np

from core.errors import InputError
from core.units import ImageUnits, PixelScale


class Cancelled(Exception):
    """Raised inside a load when the caller asked to stop."""


@dataclass(frozen=True)
class SourceSpec:
    """`KIND:PATH?key=value&...` split into its parts, option values coerced to int/float/bool."""

    text: str
    kind: str
    path: str = ""
    options: dict[str, object] = field(default_factory=dict)


def coerce_value(value: str) -> object:
    """'3' -> 3, '0.5' -> 0.5, 'true'/'false' -> bool, anything else stays a string."""
    lowered = value.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    if re.fullmatch(r"[+-]?\d+", value):
        return int(value)
    try:
        return float(value)
    except ValueError:
        return value


def parse_spec(text: str) -> SourceSpec:
    """Parse a dataset SPEC such as `demo?images=100&seed=3` or `coco:ann.json?images=imgs`."""
    head, _, query = text.partition("?")
    kind, _, path = head.partition(":")
    if not re.fullmatch(r"[a-z][a-z0-9_-]*", kind):
        raise InputError(f"dataset spec needs KIND:PATH?key=value, got {text!r}")
    options = {key: coerce_value(value) for key, value in parse_qsl(query, keep_blank_values=True)}
    return SourceSpec(text=text, kind=kind, path=path, options=options)


@dataclass
class BoxBatch:
    """Images first seen in this batch and boxes of those (or earlier) images.

    `image` indexes the batch's own `image_ids` when `image_offset` is None (the usual streaming
    case), or holds table indices of earlier images when a source sets `image_offset=0`.
    Boxes are pixel `xyxy`, not yet validated; `reasons` holds skip codes the source already knows.
    """

    image_ids: np.ndarray
    image_heights: np.ndarray
    image_widths: np.ndarray
    image: np.ndarray
    xyxy: np.ndarray
    cls: np.ndarray
    box_index: np.ndarray
    reasons: np.ndarray | None = None
    done: int = 0  # progress: images (or records) handled so far
    total: int | None = None  # total when known
    file: str | None = None  # the file this batch came from, for error messages
    image_offset: int | None = None
    units: ImageUnits | None = None  # physical axes of this batch's images, if the source knows


class Source(abc.ABC):
    """A dataset: streams boxes in batches and renders one image's pixels on demand.

    Physical units (`core.units`): a source that knows them from its files sets
    `knows_units` and fills `BoxBatch.units`; for the others `open_source` takes the unit
    options of the SPEC into `pixel_scale`.
    """

    knows_units = False

    def __init__(self, spec: SourceSpec):
        self.spec = spec
        self.class_names: dict[int, str] = {}
        self.pixel_scale: PixelScale | None = None

    @abc.abstractmethod
    def batches(self) -> Iterator[BoxBatch]:
        """Yield the dataset's boxes batch by batch, each batch with progress."""

    def pixels(self, image_index: int) -> np.ndarray | None:
        """The (H, W) float32 spectrogram of one image (e.g. dB), or None if it has no pixels."""
        return None

    def no_pixels_reason(self, image_index: int) -> str:
        """Why `pixels(image_index)` is None, in words a user can act on."""
        return f"{self.spec.kind} datasets carry no pixels"


ProgressCallback = Callable[[int, "int | None"], None]
CancelCheck = Callable[[], bool]
