"""The exact anchors a framework generates for one model-input size, as regular per-level grids.

Every framework in `core.frameworks` lays a level's anchors on a lattice of centres with one set of
shapes per centre, iterating levels in config order, then rows (y), then columns (x), then shapes in
its own per-location order. That is exactly `LevelGrid.expand()`'s order, so
`generate_anchors(...) == concatenate([g.expand() for g in level_grids(...)])` for all of them, and
the coverage engine's tie-breaking by `expand()` order is the framework's own anchor order.

Values are float64 from the frameworks' formulas. The frameworks compute in float32 (keras-retinanet
in float64); where that matters for the result — the rounded half-extents of torchvision and
keras-hub — the shapes are computed in float32 exactly as they do it.
"""

from __future__ import annotations

import numpy as np

from core.anchor_config import AnchorConfig, effective_center_offset, effective_clip, level_shapes
from core.anchor_grid import LevelGrid
from core.errors import InputError
from core.frameworks import FRAMEWORKS


def _check_size(image_height: int, image_width: int) -> tuple[int, int]:
    sizes = []
    for name, value in (("height", image_height), ("width", image_width)):
        if isinstance(value, bool) or int(value) != value or value < 1:
            raise InputError(f"image {name} must be a positive integer, got {value!r}")
        sizes.append(int(value))
    return sizes[0], sizes[1]


def level_grids(
    config: AnchorConfig, image_height: int, image_width: int, *, matchable_only: bool = False
) -> list[LevelGrid]:
    """One LevelGrid per configured level: the anchors `config.framework` generates for a model
    input of `image_height` x `image_width` pixels.

    Per level l (stride s = strides[l], the backbone's downsampling): the input is padded to the
    framework's size divisor, the feature map has `ceil(padded / s)` cells per axis, centres sit at
    `offset * stride + i * stride` with the framework's grid stride (s, or keras-hub/torchvision's
    `padded // cells`, which can differ between x and y), and the shapes are the framework's
    per-location anchors. With `matchable_only`, anchors the framework never matches are left
    out (keras-retinanet ignores anchors centred at or beyond the image edge); this only shortens
    nx, ny. (keras-retinanet tests the float centre (x1 + x2) / 2; for a lattice centre exactly on
    the edge its rounding can keep some shapes there; we drop the centre, as exact arithmetic does.)
    """
    image_height, image_width = _check_size(image_height, image_width)
    fw = FRAMEWORKS[config.framework]
    offset = effective_center_offset(config)
    clip = effective_clip(config)
    padded_h, padded_w = fw.padded(image_height), fw.padded(image_width)
    grids = []
    for index, (level, stride) in enumerate(zip(config.levels, config.strides, strict=True)):
        ny = fw.feature_size(padded_h, stride)
        nx = fw.feature_size(padded_w, stride)
        stride_y = fw.grid_stride(padded_h, ny, stride)
        stride_x = fw.grid_stride(padded_w, nx, stride)
        offset_x, offset_y = offset * stride_x, offset * stride_y
        if matchable_only and fw.ignores_centres_outside_image:
            nx = int(np.count_nonzero(offset_x + np.arange(nx) * stride_x < image_width))
            ny = int(np.count_nonzero(offset_y + np.arange(ny) * stride_y < image_height))
        grids.append(LevelGrid(
            level=int(level), stride_x=stride_x, stride_y=stride_y, offset_x=offset_x,
            offset_y=offset_y, nx=nx, ny=ny, shapes=level_shapes(config, index), clip=clip,
            image_width=image_width, image_height=image_height,
        ))
    return grids


def generate_anchors(config: AnchorConfig, image_height: int, image_width: int) -> np.ndarray:
    """All anchors as (N, 4) float64 pixel xyxy, in the framework's own order (level, row, column,
    shape), as the framework's generator concatenated over levels returns them."""
    grids = level_grids(config, image_height, image_width)
    return np.concatenate([grid.expand() for grid in grids], axis=0)


def anchor_levels(config: AnchorConfig, image_height: int, image_width: int) -> np.ndarray:
    """The pyramid level of each anchor of `generate_anchors`, (N,) int."""
    grids = level_grids(config, image_height, image_width)
    return np.repeat([g.level for g in grids], [g.anchor_count for g in grids]).astype(np.int64)


def anchor_count(config: AnchorConfig, image_height: int, image_width: int) -> int:
    """How many anchors `generate_anchors` returns, without materialising them."""
    return sum(g.anchor_count for g in level_grids(config, image_height, image_width))
