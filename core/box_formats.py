"""keras-cv bounding-box formats, converted to and from pixel `xyxy` with whole-array numpy.

Formats and meanings follow `keras_cv.bounding_box.convert_format`: `xyxy`, `yxyx`, `xywh` (left,
top, width, height), `center_xywh`, `center_yxhw` in pixels; `rel_xyxy`, `rel_yxyx`, `rel_xywh`
relative to the image width (x) and height (y). x runs along columns, y along rows, in pixels.
"""

from __future__ import annotations

import numpy as np

FORMATS = (
    "xyxy", "rel_xyxy", "xywh", "rel_xywh", "center_xywh", "center_yxhw", "yxyx", "rel_yxyx",
)
RELATIVE_FORMATS = frozenset({"rel_xyxy", "rel_xywh", "rel_yxyx"})


def check_format(name: str) -> str:
    """Return `name` if it is a known format, else raise ValueError listing the known ones."""
    if name not in FORMATS:
        raise ValueError(f"unknown box format {name!r}; expected one of {', '.join(FORMATS)}")
    return name


def to_xyxy(
    boxes: np.ndarray, fmt: str, width: np.ndarray | float = 1.0, height: np.ndarray | float = 1.0
) -> np.ndarray:
    """Convert (..., 4) boxes in `fmt` to pixel xyxy (float64).

    `width`/`height` are the image size in pixels (scalars or arrays broadcasting against
    `boxes[..., 0]`); they are used only by the relative formats.
    """
    b = np.asarray(boxes, dtype=np.float64)
    a, c, d, e = b[..., 0], b[..., 1], b[..., 2], b[..., 3]
    check_format(fmt)
    if fmt == "xyxy":
        out = (a, c, d, e)
    elif fmt == "yxyx":
        out = (c, a, e, d)
    elif fmt == "xywh":
        out = (a, c, a + d, c + e)
    elif fmt == "center_xywh":
        out = (a - d / 2, c - e / 2, a + d / 2, c + e / 2)
    elif fmt == "center_yxhw":
        out = (c - e / 2, a - d / 2, c + e / 2, a + d / 2)
    elif fmt == "rel_xyxy":
        out = (a * width, c * height, d * width, e * height)
    elif fmt == "rel_yxyx":
        out = (c * width, a * height, e * width, d * height)
    else:  # rel_xywh
        out = (a * width, c * height, (a + d) * width, (c + e) * height)
    return np.stack(np.broadcast_arrays(*out), axis=-1)


def from_xyxy(
    boxes: np.ndarray, fmt: str, width: np.ndarray | float = 1.0, height: np.ndarray | float = 1.0
) -> np.ndarray:
    """Convert (..., 4) pixel xyxy boxes to `fmt` (float64); inverse of `to_xyxy`."""
    b = np.asarray(boxes, dtype=np.float64)
    x1, y1, x2, y2 = b[..., 0], b[..., 1], b[..., 2], b[..., 3]
    check_format(fmt)
    if fmt == "xyxy":
        out = (x1, y1, x2, y2)
    elif fmt == "yxyx":
        out = (y1, x1, y2, x2)
    elif fmt == "xywh":
        out = (x1, y1, x2 - x1, y2 - y1)
    elif fmt == "center_xywh":
        out = ((x1 + x2) / 2, (y1 + y2) / 2, x2 - x1, y2 - y1)
    elif fmt == "center_yxhw":
        out = ((y1 + y2) / 2, (x1 + x2) / 2, y2 - y1, x2 - x1)
    elif fmt == "rel_xyxy":
        out = (x1 / width, y1 / height, x2 / width, y2 / height)
    elif fmt == "rel_yxyx":
        out = (y1 / height, x1 / width, y2 / height, x2 / width)
    else:  # rel_xywh
        out = (x1 / width, y1 / height, (x2 - x1) / width, (y2 - y1) / height)
    return np.stack(np.broadcast_arrays(*out), axis=-1)
