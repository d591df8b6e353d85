"""The flat table layouts the coverage kernel shares with its Python callers.

Kept apart from `kernel.py` so that building tables and drawing anchors needs no numba: the
compiled kernel is only imported when coverage is computed.
"""

from __future__ import annotations

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
