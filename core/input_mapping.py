"""Boxes from image pixels into model-input pixels, the way the resizing layer in front of the
detector moves them (docs/datasets.md `--input-size HxW --resize stretch|letterbox`).

- `stretch`: x scales by W_in / W and y by H_in / H (aspect ratio not kept).
- `letterbox`: both axes scale by s = min(H_in / H, W_in / W) and the rest is padding. Where the
  image sits depends on the library (checked in their code):
  * `placement="top_left"` — keras-cv `Resizing(pad_to_aspect_ratio=True)`: the image is resized
    to (H*s, W*s) (tf.image.resize truncates that size to integers) and padded at the bottom and
    right (`tf.image.pad_to_bounding_box(image, 0, 0, H_in, W_in)`); boxes go through relative
    coordinates, so x' = x / W * int(W*s), y' = y / H * int(H*s).
  * `placement="center"` — Keras 3 `layers.Resizing(pad_to_aspect_ratio=True)`, used by keras-hub's
    `ImageConverter`: x' = x*s + (W_in - W*s) // 2, y' = y*s + (H_in - H*s) // 2.
Mapped boxes are clipped to the model input, as keras-cv does after padding. An image so long and
thin that `top_left` letterboxing truncates a side to 0 px cannot be resized at all;
`check_resizable` names it.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from core.errors import InputError

RESIZE_MODES = ("stretch", "letterbox")
PLACEMENTS = ("top_left", "center")


def letterbox_size(height, width, input_size: tuple[int, int]):
    """`(height, width)` in whole model-input pixels that `letterbox` with `top_left` placement
    resizes an image of `height` x `width` px to, before padding: floor(H * s) x floor(W * s)
    with s = min(H_in / H, W_in / W) (float64 scalars or arrays, like the arguments). A side is
    0 when the image is so long and thin that it would be under one pixel."""
    height, width = np.asarray(height, np.float64), np.asarray(width, np.float64)
    s = np.minimum(input_size[0] / height, input_size[1] / width)
    return np.floor(height * s), np.floor(width * s)


def check_resizable(image_heights, image_widths, input_size: tuple[int, int] | None,
                    resize: str = "stretch", placement: str = "top_left",
                    image_ids: Sequence | None = None) -> None:
    """InputError naming the first image that `resize` into `input_size` would make 0 px tall
    or wide (only `letterbox` with `top_left` placement truncates sizes to whole pixels; keras-cv
    cannot resize such an image, and every box on it would be empty). `image_ids`, if given,
    name the images in the message beside their index."""
    if input_size is None or resize != "letterbox" or placement != "top_left":
        return
    heights, widths = letterbox_size(image_heights, image_widths, input_size)
    bad = np.flatnonzero((heights < 1) | (widths < 1))
    if len(bad) == 0:
        return
    index = int(bad[0])
    name = f"image {index}" if image_ids is None else f"image {index} (id {image_ids[index]})"
    side = "tall" if heights[index] < 1 else "wide"
    more = len(bad) - 1
    others = f" (and {more} more image{'s' * (more != 1)})" if more else ""
    raise InputError(f"{name} is {int(image_heights[index])} x {int(image_widths[index])} px: "
                     f"letterboxed into {input_size[0]} x {input_size[1]} it would be 0 px "
                     f"{side}{others}")


def map_boxes_to_input(
    x1, y1, x2, y2, image_index, image_heights, image_widths,
    input_size: tuple[int, int] | None = None, resize: str = "stretch",
    placement: str = "top_left",
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """`(x1, y1, x2, y2, model_heights, model_widths)`: boxes in model-input pixels (float64) and
    each image's model-input size (int64). `input_size=None` keeps every image's own size."""
    boxes = [np.asarray(v, np.float64) for v in (x1, y1, x2, y2)]
    heights = np.asarray(image_heights, np.int64)
    widths = np.asarray(image_widths, np.int64)
    if input_size is None:
        return (*(b.copy() for b in boxes), heights.copy(), widths.copy())
    if resize not in RESIZE_MODES:
        raise ValueError(f"resize must be one of {RESIZE_MODES}, got {resize!r}")
    if placement not in PLACEMENTS:
        raise ValueError(f"placement must be one of {PLACEMENTS}, got {placement!r}")
    h_in, w_in = (int(v) for v in input_size)
    if h_in <= 0 or w_in <= 0:
        raise ValueError(f"input size must be positive, got {h_in}x{w_in}")
    image = np.asarray(image_index, np.int64)
    h = heights[image].astype(np.float64)
    w = widths[image].astype(np.float64)
    if resize == "stretch":
        sx, sy = w_in / w, h_in / h
        ox = oy = np.zeros(len(image))
    elif placement == "top_left":
        scaled_h, scaled_w = letterbox_size(h, w, (h_in, w_in))
        sx, sy = scaled_w / w, scaled_h / h
        ox = oy = np.zeros(len(image))
    else:
        sx = sy = np.minimum(h_in / h, w_in / w)
        ox, oy = (w_in - w * sx) // 2, (h_in - h * sy) // 2
    mx1 = np.clip(boxes[0] * sx + ox, 0, w_in)
    my1 = np.clip(boxes[1] * sy + oy, 0, h_in)
    mx2 = np.clip(boxes[2] * sx + ox, 0, w_in)
    my2 = np.clip(boxes[3] * sy + oy, 0, h_in)
    n_images = len(heights)
    return (mx1, my1, mx2, my2, np.full(n_images, h_in, np.int64),
            np.full(n_images, w_in, np.int64))


def map_boxes_to_image(
    xyxy: np.ndarray, image_height: int, image_width: int,
    input_size: tuple[int, int] | None = None, resize: str = "stretch",
    placement: str = "top_left",
) -> np.ndarray:
    """Inverse of `map_boxes_to_input` for one image: (k, 4) model-input boxes (e.g. anchors)
    back into that image's pixels, so the viewer can draw them over the spectrogram. Along a side
    that letterboxing makes 0 px (`check_resizable`), coordinates come back inf or NaN."""
    boxes = np.asarray(xyxy, np.float64).reshape(-1, 4)
    if input_size is None:
        return boxes.copy()
    h_in, w_in = (float(v) for v in input_size)
    h, w = float(image_height), float(image_width)
    if resize == "stretch":
        sx, sy, ox, oy = w_in / w, h_in / h, 0.0, 0.0
    elif placement == "top_left":
        scaled_h, scaled_w = letterbox_size(h, w, (h_in, w_in))
        sx, sy, ox, oy = scaled_w / w, scaled_h / h, 0.0, 0.0
    else:
        sx = sy = min(h_in / h, w_in / w)
        ox, oy = (w_in - w * sx) // 2, (h_in - h * sy) // 2
    with np.errstate(divide="ignore", invalid="ignore"):  # a 0 px side: no finite inverse
        return (boxes - np.array([ox, oy, ox, oy])) / np.array([sx, sy, sx, sy])
