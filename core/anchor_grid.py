"""Anchors of one pyramid level as a regular grid: centres on a lattice, one set of shapes.

Every supported framework places a level's anchors at centres `offset + i * stride` (separately
in x and y) and gives each centre the same anchor shapes; some then clip anchors to the image.
The coverage engine exploits this regularity instead of materialising every anchor.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class LevelGrid:
    """One level's anchors, in model-input pixels (x along columns, y along rows).

    Anchor `k` at cell `(j, i)` (row j, column i) is
    `(cx + dx1[k], cy + dy1[k], cx + dx2[k], cy + dy2[k])` with `cx = offset_x + i * stride_x`,
    `cy = offset_y + j * stride_y`, `0 <= i < nx`, `0 <= j < ny`; then, if `clip`, clipped to
    `[0, image_width] x [0, image_height]`.
    """

    level: int
    stride_x: float
    stride_y: float
    offset_x: float
    offset_y: float
    nx: int
    ny: int
    shapes: np.ndarray  # (A, 4) float64: dx1, dy1, dx2, dy2 relative to the centre
    clip: bool
    image_width: int
    image_height: int

    @property
    def anchor_count(self) -> int:
        return self.nx * self.ny * len(self.shapes)

    def centers_x(self) -> np.ndarray:
        return self.offset_x + np.arange(self.nx) * self.stride_x

    def centers_y(self) -> np.ndarray:
        return self.offset_y + np.arange(self.ny) * self.stride_y

    def expand(self) -> np.ndarray:
        """All anchors as (ny * nx * A, 4) float64 xyxy, ordered row, column, shape."""
        cy, cx = np.meshgrid(self.centers_y(), self.centers_x(), indexing="ij")
        centres = np.stack([cx, cy, cx, cy], axis=-1).reshape(-1, 1, 4)
        anchors = (centres + self.shapes[None, :, :]).reshape(-1, 4)
        if self.clip:
            limits = np.array([self.image_width, self.image_height] * 2, np.float64)
            anchors = np.clip(anchors, 0.0, limits)
        return anchors
