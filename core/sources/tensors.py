"""Numpy conversion of keras-cv style box batches (flat boxes + per-image counts) into box arrays.

Shared by the tensor sources (`python:`, `tfrecord:`): whole batches at once, no per-box Python.
A batch arrives as `flat` (n, 4) raw box values in some keras-cv format and `lengths` (boxes per
image, including any -1 padding rows); out come pixel `xyxy`, per-box image positions, positions
within the image (`box_index`) and the skip codes only the source can know: padding rows and
relative values far outside [0, 1].
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from core.box_formats import RELATIVE_FORMATS, check_format, to_xyxy
from core.boxes import KEPT, RELATIVE_TOLERANCE, reason_code

PADDING_VALUE = -1.0  # keras-cv pads dense boxes and classes with -1 (`bounding_box.to_dense`)
LUMINANCE_WEIGHTS = np.array([0.299, 0.587, 0.114], np.float32)  # ITU-R BT.601 R, G, B


@dataclass(frozen=True)
class PixelBoxes:
    """Boxes of a run of images, converted: one row per box (padding rows included, flagged)."""

    image: np.ndarray  # int64, position of the box's image within the run
    box_index: np.ndarray  # int32, position of the box among its image's rows in the source
    xyxy: np.ndarray  # (n, 4) float64 pixels, not yet validated
    reasons: np.ndarray  # int8 skip codes found here (padding, relative_out_of_range), 0 = kept


def positions(lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For per-image box counts `lengths`: each box's image position and its position within it."""
    lengths = np.asarray(lengths, np.int64).reshape(-1)
    image = np.repeat(np.arange(len(lengths)), lengths)
    starts = np.cumsum(lengths) - lengths
    box_index = np.arange(len(image), dtype=np.int64) - starts[image]
    return image, box_index.astype(np.int32)


def padding_rows(flat: np.ndarray, classes: np.ndarray | None = None) -> np.ndarray:
    """Rows that are keras-cv padding: all four values -1, or class -1 (keras-cv's "no box")."""
    padding = (flat == PADDING_VALUE).all(axis=1)
    if classes is not None:
        padding |= classes == PADDING_VALUE
    return padding


def convert_boxes(
    flat: np.ndarray,
    lengths: np.ndarray,
    fmt: str,
    heights: np.ndarray,
    widths: np.ndarray,
    classes: np.ndarray | None = None,
) -> PixelBoxes:
    """Raw boxes of a run of images in keras-cv format `fmt` -> pixel xyxy with skip codes.

    `flat` is (n, 4), the boxes of all images in order; `lengths` the rows per image (sum n);
    `heights`/`widths` the image sizes in pixels (relative formats are scaled by them);
    `classes` (n,) or None is used only to find padding rows. Relative coordinates (after
    converting to relative xyxy) beyond [-RELATIVE_TOLERANCE, 1 + RELATIVE_TOLERANCE] get
    "relative_out_of_range"; non-finite values are left for the box table to count.
    """
    check_format(fmt)
    flat = np.asarray(flat, np.float64).reshape(-1, 4)
    image, box_index = positions(lengths)
    if len(image) != len(flat):
        raise ValueError(f"{len(flat)} boxes but the per-image counts add up to {len(image)}")
    reasons = np.zeros(len(flat), np.int8)
    reasons[padding_rows(flat, classes)] = reason_code("padding")
    if fmt in RELATIVE_FORMATS:
        relative = to_xyxy(flat, fmt)  # relative xyxy: the range check is the same for all three
        with np.errstate(invalid="ignore"):
            far = ((relative < -RELATIVE_TOLERANCE) | (relative > 1 + RELATIVE_TOLERANCE)).any(1)
        far &= np.isfinite(relative).all(axis=1)
        reasons[(reasons == KEPT) & far] = reason_code("relative_out_of_range")
        w = np.asarray(widths, np.float64)[image]
        h = np.asarray(heights, np.float64)[image]
        xyxy = relative * np.stack([w, h, w, h], axis=1)
    else:
        xyxy = to_xyxy(flat, fmt)
    return PixelBoxes(image=image, box_index=box_index, xyxy=xyxy, reasons=reasons)


class ClassValueError(ValueError):
    """A class value that is not a whole number; `row` is its position in the batch."""

    def __init__(self, row: int, value: float):
        self.row, self.value = row, value
        super().__init__(f"class {value:g} is not a whole number")


def class_ids(values: np.ndarray) -> np.ndarray:
    """Class values (often float32 in keras-cv) as int32; raises ClassValueError for the first
    value that is not a whole number (the caller names the record)."""
    values = np.asarray(values).reshape(-1)
    if values.dtype.kind in "iu":
        return values.astype(np.int32)
    values = values.astype(np.float64)
    with np.errstate(invalid="ignore"):
        bad = ~np.isfinite(values) | (values != np.round(values))
    if bad.any():
        first = int(np.flatnonzero(bad)[0])
        raise ClassValueError(first, float(values[first]))
    return values.astype(np.int32)


def box_fingerprints(flat: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """One float64 per image summarising its raw boxes (count and weighted sum of values), so a
    second pass over a dataset can check it meets the same images in the same order."""
    flat = np.nan_to_num(np.asarray(flat, np.float64).reshape(-1, 4), posinf=1e300, neginf=-1e300)
    image, box_index = positions(lengths)
    weights = np.array([1.0, 3.0, 7.0, 13.0])
    per_box = flat @ weights + 0.5 * box_index
    return np.bincount(image, weights=per_box, minlength=len(lengths)) + 1e6 * np.asarray(
        lengths, np.float64)


def to_luminance(image: np.ndarray) -> np.ndarray:
    """An image array (H, W), (H, W, 1), (H, W, 3) RGB or (H, W, 4) RGBA as (H, W) float32.

    RGB is converted with the BT.601 luminance weights; alpha is dropped; any other channel count
    is averaged. Values keep their units (dB stays dB, 0-255 stays 0-255).
    """
    image = np.asarray(image)
    if image.ndim == 2:
        return image.astype(np.float32, copy=False)
    if image.ndim != 3:
        raise ValueError(f"an image must be (H, W) or (H, W, C), got shape {image.shape}")
    channels = image.shape[2]
    if channels == 1:
        return image[:, :, 0].astype(np.float32)
    if channels in (3, 4):
        return image[:, :, :3].astype(np.float32) @ LUMINANCE_WEIGHTS
    return image.astype(np.float32).mean(axis=2)


def error_text(error: BaseException, limit: int = 300, *, from_tensorflow: bool = False
               ) -> str:
    """A TensorFlow (or any) error as one short line: without TF's `{{function_node …}}` prefix
    and `[Op:…]` suffix, whitespace collapsed, cut to `limit` characters. `from_tensorflow`: the
    error came out of a TF op (a UnicodeDecodeError then means TF's message quoted raw bytes)."""
    if isinstance(error, UnicodeDecodeError) and from_tensorflow:  # TF quoted binary input
        return "TensorFlow's error message is not text (the input looks like binary garbage)"
    text = getattr(error, "message", None) or str(error) or type(error).__name__
    text = re.sub(r"\{\{function_node [^}]*\}\}", "", str(text))
    text = re.sub(r"\[Op:[^\]]*\]( name:\s*\S*)?", "", text)
    text = re.sub(r"Error in user-defined function passed to \S+ transformation with iterator: "
                  r"\S+: ", "", text)
    text = text.split("Traceback (most recent call last)")[0]
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def tf_error_text(error: BaseException, limit: int = 300) -> str:
    """`error_text` of an error raised by a TensorFlow op."""
    return error_text(error, limit, from_tensorflow=True)
