"""IoU >= t regions of anchor shapes in (w, h) space, and the cached log binning of box shapes."""

import numpy as np
import pytest

from core.anchor_config import default_config
from core.shape_regions import (
    LogBins,
    ShapeBins,
    anchor_shapes,
    centred_iou,
    iou_histogram,
    iou_region_outline,
    nominal_anchor_sides,
    region_outlines,
    unit_region_outline,
)


def brute_iou(w, h, aw, ah):
    """Centred boxes as explicit xyxy rectangles, intersected the long way."""
    box = np.stack([-w / 2, -h / 2, w / 2, h / 2], axis=-1)
    anchor = np.array([-aw / 2, -ah / 2, aw / 2, ah / 2])
    ix = np.clip(np.minimum(box[..., 2], anchor[2]) - np.maximum(box[..., 0], anchor[0]), 0, None)
    iy = np.clip(np.minimum(box[..., 3], anchor[3]) - np.maximum(box[..., 1], anchor[1]), 0, None)
    inter = ix * iy
    return inter / (w * h + aw * ah - inter)


def inside_polygon(x, y, px, py):
    """Even-odd ray casting: is each (x, y) inside the closed polygon (px, py)?"""
    inside = np.zeros(len(x), bool)
    for k in range(len(px) - 1):
        x1, y1, x2, y2 = px[k], py[k], px[k + 1], py[k + 1]
        crosses = (y1 > y) != (y2 > y)
        with np.errstate(divide="ignore", invalid="ignore"):
            at = x1 + (y - y1) * (x2 - x1) / (y2 - y1)
        inside ^= crosses & (x < at)
    return inside


def test_centred_iou_equals_rectangle_intersection():
    rng = np.random.default_rng(1)
    w, h = rng.uniform(0.5, 300, 500), rng.uniform(0.5, 300, 500)
    np.testing.assert_allclose(centred_iou(w, h, 40.0, 12.0), brute_iou(w, h, 40.0, 12.0),
                               rtol=1e-12)


@pytest.mark.parametrize("threshold", [0.05, 0.3, 0.4, 0.5, 0.7, 0.95, 1.0])
@pytest.mark.parametrize("anchor", [(32.0, 32.0), (45.25, 22.63), (8.0, 128.0), (1.0, 3.0)])
def test_boundary_points_have_iou_equal_to_threshold(threshold, anchor):
    w, h = iou_region_outline(*anchor, threshold)
    np.testing.assert_allclose(brute_iou(w, h, *anchor), threshold, rtol=1e-9, atol=1e-12)
    assert w[0] == w[-1] and h[0] == h[-1]  # closed


@pytest.mark.parametrize("threshold", [0.25, 0.5, 0.8])
def test_outline_encloses_exactly_the_covered_shapes(threshold):
    """On log axes, the outline (hyperbola sides straight, curved sides sampled) separates box
    shapes with IoU >= t from the others, away from a thin band at the boundary."""
    anchor = (64.0, 16.0)
    w_line, h_line = iou_region_outline(*anchor, threshold, curve_points=200)
    rng = np.random.default_rng(7)
    reach = 1.5 * np.log2(1 / threshold) + 0.2  # octaves around the anchor, region included
    w = anchor[0] * np.exp2(rng.uniform(-reach, reach, 20000))
    h = anchor[1] * np.exp2(rng.uniform(-reach, reach, 20000))
    iou = brute_iou(w, h, *anchor)
    clear = np.abs(iou - threshold) > 2e-3
    inside = inside_polygon(np.log2(w), np.log2(h), np.log2(w_line), np.log2(h_line))
    assert clear.sum() > 15000 and (iou[clear] >= threshold).sum() > 2000
    np.testing.assert_array_equal(inside[clear], iou[clear] >= threshold)


def test_unit_outline_corners_and_bad_threshold():
    u, v = unit_region_outline(0.5, curve_points=5)
    corners = {(0.5, 1.0), (1.0, 0.5), (2.0, 1.0), (1.0, 2.0)}
    assert corners <= set(zip(np.round(u, 12), np.round(v, 12), strict=True))
    with pytest.raises(ValueError, match="threshold"):
        unit_region_outline(0.0)


def test_region_outlines_are_nan_separated_copies():
    w, h = region_outlines([10.0, 20.0], [5.0, 40.0], 0.5, curve_points=8)
    gaps = np.flatnonzero(np.isnan(w))
    assert len(gaps) == 2 and gaps[-1] == len(w) - 1
    np.testing.assert_array_equal(np.isnan(w), np.isnan(h))
    first_w, first_h = iou_region_outline(10.0, 5.0, 0.5, curve_points=8)
    np.testing.assert_allclose(w[:gaps[0]], first_w)
    np.testing.assert_allclose(h[:gaps[0]], first_h)


def test_anchor_shapes_follow_the_framework():
    config = default_config("keras-cv")
    shapes = anchor_shapes(config)
    assert len(shapes.widths) == len(config.levels) * config.anchors_per_location
    scales, ratios = np.meshgrid(config.scales, config.aspect_ratios, indexing="ij")
    for index, size in enumerate(config.sizes):
        mine = shapes.level_index == index
        expected = sorted(zip((size * scales * np.sqrt(ratios)).ravel(),
                              (size * scales / np.sqrt(ratios)).ravel(), strict=True))
        got = sorted(zip(shapes.widths[mine], shapes.heights[mine], strict=True))
        np.testing.assert_allclose(got, expected, rtol=1e-12)
    # torchvision rounds half-extents: every side is an even integer
    torch_shapes = anchor_shapes(default_config("torchvision"))
    np.testing.assert_array_equal(torch_shapes.widths % 2, 0)


def test_nominal_anchor_sides():
    config = default_config("keras-cv").replace(sizes=[16, 64, 128, 256, 512], scales=[1.0, 2.0])
    level_index, sides = nominal_anchor_sides(config)
    np.testing.assert_array_equal(level_index, [0, 0, 1, 1, 2, 2, 3, 3, 4, 4])
    np.testing.assert_allclose(sides, [16, 32, 64, 128, 128, 256, 256, 512, 512, 1024])


def test_log_bins_match_numpy_histogram():
    rng = np.random.default_rng(3)
    values = np.exp2(rng.normal(2.0, 3.0, 10000))
    bins = LogBins.of(values, 4)
    assert np.allclose(np.diff(np.log2(bins.edges)), 0.25)
    assert bins.edges[0] <= values.min() and values.max() <= bins.edges[-1]
    np.testing.assert_array_equal(bins.counts(), np.histogram(values, bins.edges)[0])
    subset = values > 3.0
    np.testing.assert_array_equal(bins.counts(subset),
                                  np.histogram(values[subset], bins.edges)[0])
    np.testing.assert_array_equal(bins.counts(np.flatnonzero(subset)), bins.counts(subset))
    assert LogBins.of(np.zeros(0), 4).counts().sum() == 0


def test_shape_bins_grid_matches_histogram2d():
    rng = np.random.default_rng(4)
    widths, heights = np.exp2(rng.uniform(0, 9, 5000)), np.exp2(rng.uniform(0, 7, 5000))
    bins = ShapeBins(widths, heights, 4, 6)
    expected, _, _ = np.histogram2d(widths, heights, [bins.width.edges, bins.height.edges])
    np.testing.assert_array_equal(bins.grid_counts(), expected)
    rows = np.flatnonzero(widths > heights)
    expected_rows, _, _ = np.histogram2d(widths[rows], heights[rows],
                                         [bins.width.edges, bins.height.edges])
    np.testing.assert_array_equal(bins.grid_counts(rows), expected_rows)
    np.testing.assert_array_equal(bins.ratio.counts(),
                                  np.histogram(widths / heights, bins.ratio.edges)[0])


def test_iou_histogram():
    rng = np.random.default_rng(5)
    iou = np.r_[rng.uniform(0, 1, 1000), 0.0, 1.0]
    edges, counts = iou_histogram(iou, 50)
    ref_counts, ref_edges = np.histogram(iou, 50, range=(0.0, 1.0))
    np.testing.assert_allclose(edges, ref_edges)
    np.testing.assert_array_equal(counts, ref_counts)
