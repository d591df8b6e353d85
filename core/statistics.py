"""Box-shape statistics: aspect ratio w/h and side length sqrt(w*h), in one pass over the table.

These are the seed notebook's two analyses (percentiles and histograms of w/h and of the box
scale), plus class counts and the share of flat strips (w/h >= 4) and thin ticks (w/h <= 1/4).
"""

from __future__ import annotations

import numpy as np

from core.boxes import BoxTable

PERCENTILES = (1, 5, 25, 50, 75, 95, 99)
BINS_PER_OCTAVE = 2  # histogram bins are log2-spaced: edges at 2**(k / BINS_PER_OCTAVE)
FLAT_RATIO = 4.0  # w/h at or above: a flat strip (narrowband carrier)
THIN_RATIO = 0.25  # w/h at or below: a thin tick (short burst)


def log2_edges(values: np.ndarray, bins_per_octave: int = BINS_PER_OCTAVE) -> np.ndarray:
    """Histogram edges 2**(k/bins_per_octave) spanning all positive `values`."""
    if len(values) == 0:
        return np.array([1.0, 2.0 ** (1 / bins_per_octave)])
    lo = np.floor(np.log2(values.min()) * bins_per_octave)
    hi = np.ceil(np.log2(values.max()) * bins_per_octave)
    if hi <= lo:
        hi = lo + 1
    return 2.0 ** (np.arange(lo, hi + 1) / bins_per_octave)


def distribution(values: np.ndarray) -> dict:
    """Percentiles and a log2-binned histogram of positive values (edges inclusive at the right
    end, like `np.histogram`)."""
    edges = log2_edges(values)
    counts, _ = np.histogram(values, bins=edges)
    if len(values):
        pct = np.percentile(values, PERCENTILES)
    else:
        pct = np.full(len(PERCENTILES), np.nan)
    return {
        "mean": float(values.mean()) if len(values) else None,
        "percentiles": {f"p{p}": (None if np.isnan(v) else float(v))
                        for p, v in zip(PERCENTILES, pct, strict=True)},
        "histogram": {"edges": edges.tolist(), "counts": counts.tolist()},
    }


def box_shape_stats(table: BoxTable) -> dict:
    """All statistics of `stats`, as a JSON-ready dict (without the dataset header)."""
    widths, heights = table.widths, table.heights
    ratio = widths / heights
    side = np.sqrt(widths * heights)
    classes, counts = np.unique(table.cls, return_counts=True)
    n = max(len(table), 1)
    return {
        "classes": {table.class_name(c): int(k) for c, k in zip(classes, counts, strict=True)},
        "shape_groups": {
            "flat_strips": {"rule": f"w/h >= {FLAT_RATIO:g}",
                            "boxes": int((ratio >= FLAT_RATIO).sum()),
                            "share": float((ratio >= FLAT_RATIO).sum() / n)},
            "thin_ticks": {"rule": f"w/h <= {THIN_RATIO:g}",
                           "boxes": int((ratio <= THIN_RATIO).sum()),
                           "share": float((ratio <= THIN_RATIO).sum() / n)},
        },
        "aspect_ratio": distribution(ratio),
        "side_length": distribution(side),
    }
