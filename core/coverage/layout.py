"""The flat table layouts the coverage kernel shares with its Python callers.

Kept apart from `kernel.py` so that building tables and drawing anchors needs no numba: the
compiled kernel is only imported when coverage is computed.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

# The matcher kinds (docs/frameworks.md#matchers), named once: the framework table, the
# reference-style matcher and the kernel all use these names and codes.
ARGMAX, FORCE_BEST, LOW_QUALITY, MMDET = "argmax", "force_best", "low_quality", "mmdet"
MATCHER_KINDS = (ARGMAX, FORCE_BEST, LOW_QUALITY, MMDET)
M_ARGMAX, M_FORCE_BEST, M_LOW_QUALITY, M_MMDET = range(len(MATCHER_KINDS))  # kernel codes
MATCHER_CODES = {kind: code for code, kind in enumerate(MATCHER_KINDS)}

# columns of the float table
(F_SX, F_SY, F_OX, F_OY, F_DX1, F_DY1, F_DX2, F_DY2, F_W, F_H, F_WMIN, F_HMIN, F_ISX,
 F_ISY) = range(14)
# columns of the int table
I_LEVEL, I_SHAPE, I_NX, I_NY, I_CLIP, I_SHAPES, I_BASE = range(7)
# columns of the int entry rows: a candidate (box, anchor) ...
E_ORDER, E_BOX, E_COLUMN, E_CELL = range(4)
# ... and, in row t, the t-th distinct anchor of the image during matching
S_ORDER, S_OWNER, S_TIE, S_FORCED, S_ENTRY = range(4, 9)
E_INTS = 9
# ceiling level parameters: usable, offset_x, stride_x, nx, offset_y, stride_y, ny, clip
C_OK, C_OX, C_SX, C_NX, C_OY, C_SY, C_NY, C_CLIP = range(8)

RELATIVE_SLACK = 1e-9  # bounds are loosened by this (relative) and ...
CELL_SLACK = 1e-7  # ... windows widened by this many cells, far beyond float64 rounding
NO_ANCHOR = 1 << 62


class KernelInputs(NamedTuple):
    """What `kernel.cover_images` reads for one image-size group; float64 pixels of the model
    input unless said (a named tuple: numba passes it into compiled code as it is)."""

    image_start: np.ndarray  # [M] int64: image m owns box rows image_start[m] ...
    image_count: np.ndarray  # [M] int64: ... to image_start[m] + image_count[m] - 1
    boxes: np.ndarray  # [n, 4] x1, y1, x2, y2, rows ordered by image (framework's box order)
    index: np.ndarray  # [n] int64: each row's position in the outputs
    col_f: np.ndarray  # [P, 14] float fields (F_*) of the anchor columns, one per (level, shape)
    col_i: np.ndarray  # [P, 7] int fields (I_*) of the same columns
    width: float  # the image size; anchors clip to it where their level clips
    height: float
    ceiling_levels: np.ndarray  # [L, 8] each level's lattice (C_*), for the ceiling IoU
    kind: int  # the matcher's code (M_*)
    positive_iou: float  # the matcher's positive threshold
    with_ceiling: bool  # compute the ceiling IoU (False: already known, left untouched)


class KernelOutputs(NamedTuple):
    """What `kernel.cover_images` writes: per box at `index[row]`, and per image."""

    best_iou: np.ndarray  # [N] float64
    best_level: np.ndarray  # [N] int: level index of the first best anchor
    best_shape: np.ndarray  # [N] int: its shape index on the level
    best_row: np.ndarray  # [N] int: its grid row ...
    best_col: np.ndarray  # [N] int: ... and column
    best_anchor: np.ndarray  # [N, 4] float64 xyxy
    positives: np.ndarray  # [N] int: anchors the matcher assigns to the box
    matched: np.ndarray  # [N] bool
    low_quality_only: np.ndarray  # [N] bool: matched only by the low-quality step
    ceiling_iou: np.ndarray  # [N] float64 (written when `with_ceiling`)
    image_level_positives: np.ndarray  # [M, levels] int64 positive (box, anchor) pairs
    image_dense: np.ndarray  # [M] bool: images left to the full-matrix path
