"""Box shapes against anchor shapes in (width, height) space: IoU >= t regions and log binning.

`iou_region_outline` gives the exact set of box sizes (w, h) that an anchor of size (aw, ah),
centred on the box, overlaps at IoU >= t. `ShapeBins` bins box shapes once per dataset (log2 bins
of w/h, of sqrt(w*h) and of (w, h)) so that the counts of any subset (e.g. unmatched boxes) are one
`np.bincount` away. All sizes are pixels (model-input pixels when the model resizes), ratios are
width / height, and binning is done on log2 values.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.anchor_config import AnchorConfig, level_shapes

CURVE_POINTS = 48  # points per curved side of a region outline (the other two sides are exact)


def centred_iou(widths, heights, anchor_width, anchor_height) -> np.ndarray:
    """IoU of boxes (w, h) with an anchor (aw, ah) sharing their centre:
    min(w, aw) * min(h, ah) / (w*h + aw*ah - min(w, aw) * min(h, ah)). Broadcasts."""
    w, h = np.asarray(widths, np.float64), np.asarray(heights, np.float64)
    aw, ah = np.asarray(anchor_width, np.float64), np.asarray(anchor_height, np.float64)
    inter = np.minimum(w, aw) * np.minimum(h, ah)
    return inter / (w * h + aw * ah - inter)


def unit_region_outline(threshold: float, curve_points: int = CURVE_POINTS
                        ) -> tuple[np.ndarray, np.ndarray]:
    """Closed boundary of {(u, v): centred IoU of a u x v box with a 1 x 1 anchor >= t}.

    With u = w / aw and v = h / ah the IoU depends on (u, v) only; going round the region:
    - u <= 1, v <= 1 (box inside the anchor): IoU = u*v, boundary u*v = t from (t, 1) to (1, t);
    - u >= 1, v <= 1: IoU = v / (v*(u - 1) + 1), boundary v = t / (1 - t*(u - 1)), u in [1, 1/t];
    - u >= 1, v >= 1 (anchor inside the box): IoU = 1 / (u*v), boundary u*v = 1/t;
    - u <= 1, v >= 1: the mirror image, u = t / (1 - t*(v - 1)), v from 1/t to 1.
    The hyperbolas are straight lines on log axes, so their end points suffice; the two other
    sides are sampled at `curve_points` points spaced evenly in log2 u (or v), each exactly on the
    boundary. Returns (u, v) with the first point repeated at the end; draw it on log axes
    (log u, log v), where the two hyperbola sides are the straight segments between points.
    """
    t = float(threshold)
    if not 0.0 < t <= 1.0:
        raise ValueError(f"threshold must be in (0, 1], got {threshold!r}")
    grow = np.exp2(np.linspace(0.0, -np.log2(t), curve_points))  # 1 .. 1/t, log-spaced
    side_u = grow  # u >= 1, v <= 1
    side_v = t / (1.0 - t * (side_u - 1.0))
    side_v[-1] = 1.0  # exact at u = 1/t (rounding in the formula above)
    # (t, 1) -> (1, t) along u*v = t; the curved side to (1/t, 1); -> (1, 1/t) along
    # u*v = 1/t; the mirrored curved side back to (t, 1), which closes the outline.
    u = np.concatenate([[t], side_u, side_v[::-1]])
    v = np.concatenate([[1.0], side_v, side_u[::-1]])
    return u, v


def iou_region_outline(anchor_width: float, anchor_height: float, threshold: float,
                       curve_points: int = CURVE_POINTS) -> tuple[np.ndarray, np.ndarray]:
    """Closed boundary (w, h) in pixels of the box sizes a centred `anchor_width x anchor_height`
    anchor covers at IoU >= `threshold` (see `unit_region_outline`)."""
    u, v = unit_region_outline(threshold, curve_points)
    return u * float(anchor_width), v * float(anchor_height)


def region_outlines(anchor_widths, anchor_heights, threshold: float,
                    curve_points: int = CURVE_POINTS) -> tuple[np.ndarray, np.ndarray]:
    """The outlines of several anchors as one (w, h) vertex list, NaN between outlines, so a
    single line item with `connect="finite"` draws them all."""
    u, v = unit_region_outline(threshold, curve_points)
    aw = np.asarray(anchor_widths, np.float64).reshape(-1, 1)
    ah = np.asarray(anchor_heights, np.float64).reshape(-1, 1)
    gap = np.full((len(aw), 1), np.nan)
    return (np.concatenate([aw * u, gap], axis=1).ravel(),
            np.concatenate([ah * v, gap], axis=1).ravel())


@dataclass(frozen=True)
class AnchorShapes:
    """Every distinct anchor shape of a config, as the framework generates it (rounding and all):
    `level_index` (index into config.levels), width and height in pixels."""

    level_index: np.ndarray
    widths: np.ndarray
    heights: np.ndarray


def anchor_shapes(config: AnchorConfig) -> AnchorShapes:
    """The framework's per-location anchor shapes of each level (duplicates within a level
    dropped)."""
    levels, widths, heights = [], [], []
    for index in range(len(config.levels)):
        offsets = level_shapes(config, index)
        shapes = np.unique(np.stack([offsets[:, 2] - offsets[:, 0],
                                     offsets[:, 3] - offsets[:, 1]], axis=1), axis=0)
        levels.append(np.full(len(shapes), index, np.int64))
        widths.append(shapes[:, 0])
        heights.append(shapes[:, 1])
    return AnchorShapes(np.concatenate(levels), np.concatenate(widths), np.concatenate(heights))


def nominal_anchor_sides(config: AnchorConfig) -> tuple[np.ndarray, np.ndarray]:
    """`(level_index, side)`: sqrt(anchor area) = sizes[l] * scale for each level and scale (the
    config's nominal value; aspect ratios keep the area)."""
    scales = np.asarray(config.scales, np.float64)
    sides = np.asarray(config.sizes, np.float64)[:, None] * scales[None, :]
    level_index = np.repeat(np.arange(len(config.levels)), len(scales))
    return level_index, sides.ravel()


# --------------------------------------------------------------------------- log binning


FINE_BINS_PER_OCTAVE = 16  # resolution of the unmatched-box marks on the (w, h) density


@dataclass(frozen=True)
class LogBins:
    """Positive values binned on edges 2**(k / bins_per_octave); `index[i]` is the bin of value
    i (the last bin includes its right edge, like `np.histogram`)."""

    edges: np.ndarray
    index: np.ndarray  # int32, one per value

    @classmethod
    def of(cls, values: np.ndarray, bins_per_octave: int) -> LogBins:
        values = np.asarray(values, np.float64)
        logs = np.log2(values) * bins_per_octave
        if len(values):
            lo, hi = np.floor(logs.min()), np.ceil(logs.max())
        else:
            lo, hi = 0.0, 1.0
        if hi <= lo:
            hi = lo + 1
        edges = np.exp2(np.arange(lo, hi + 1) / bins_per_octave)
        index = np.clip(np.floor(logs - lo), 0, len(edges) - 2).astype(np.int32)
        return cls(edges, index)

    @property
    def count(self) -> int:
        return len(self.edges) - 1

    def counts(self, rows: np.ndarray | None = None) -> np.ndarray:
        """Histogram of all values, or of the values selected by `rows` (mask or indices)."""
        index = self.index if rows is None else self.index[rows]
        return np.bincount(index, minlength=self.count)


def iou_histogram(best_iou: np.ndarray, bins: int, rows: np.ndarray | None = None
                  ) -> tuple[np.ndarray, np.ndarray]:
    """`(edges, counts)` of IoU values on `bins` equal bins over [0, 1] (1.0 in the last bin)."""
    values = np.asarray(best_iou, np.float64)
    if rows is not None:
        values = values[rows]
    index = np.clip((values * bins).astype(np.int64), 0, bins - 1)
    return np.linspace(0.0, 1.0, bins + 1), np.bincount(index, minlength=bins)


class ShapeBins:
    """The box shapes of one dataset, binned once: aspect ratio w/h, side sqrt(w*h) and the
    (w, h) grid. Counts for any subset of boxes come from the cached bin indices."""

    def __init__(self, widths: np.ndarray, heights: np.ndarray, bins_per_octave: int = 4,
                 grid_bins_per_octave: int = 6):
        self.widths = np.asarray(widths, np.float64)
        self.heights = np.asarray(heights, np.float64)
        self.ratio = LogBins.of(self.widths / self.heights, bins_per_octave)
        self.side = LogBins.of(np.sqrt(self.widths * self.heights), bins_per_octave)
        self.width = LogBins.of(self.widths, grid_bins_per_octave)
        self.height = LogBins.of(self.heights, grid_bins_per_octave)
        self.grid_index = self.width.index.astype(np.int64) * self.height.count + \
            self.height.index
        self.fine_width = LogBins.of(self.widths, FINE_BINS_PER_OCTAVE)
        self.fine_height = LogBins.of(self.heights, FINE_BINS_PER_OCTAVE)
        self.fine_index = self.fine_width.index.astype(np.int64) * self.fine_height.count + \
            self.fine_height.index

    def __len__(self) -> int:
        return len(self.widths)

    def grid_counts(self, rows: np.ndarray | None = None) -> np.ndarray:
        """(width bins, height bins) box counts, of all boxes or of `rows`."""
        index = self.grid_index if rows is None else self.grid_index[rows]
        counts = np.bincount(index, minlength=self.width.count * self.height.count)
        return counts.reshape(self.width.count, self.height.count)


    def occupied_cells(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Geometric centres (w, h) of the fine (w, h) cells holding at least one of `rows`:
        a few hundred marks stand for any number of boxes, at 1/16-octave resolution."""
        counts = np.bincount(self.fine_index[rows],
                             minlength=self.fine_width.count * self.fine_height.count)
        cells = np.flatnonzero(counts)
        w_bin, h_bin = np.divmod(cells, self.fine_height.count)
        w_edges, h_edges = self.fine_width.edges, self.fine_height.edges
        return (np.sqrt(w_edges[w_bin] * w_edges[w_bin + 1]),
                np.sqrt(h_edges[h_bin] * h_edges[h_bin + 1]))
