"""generate_anchors / level_grids against small numpy transcriptions of each framework's generator.

Each `reference_*` below copies the formulas of the framework's own code (file and function cited),
with its own parameters (its ratio convention, its size arguments), so a mistake in how we map the
canonical config (w/h ratios, sizes x scales) into a framework shows up as a mismatch. The backbone
feature-map sizes are computed with convolution arithmetic, not with our ceil() rule.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from core.anchor_config import AnchorConfig, default_config
from core.anchor_generation import anchor_count, anchor_levels, generate_anchors, level_grids
from core.errors import InputError
from core.frameworks import FRAMEWORKS

# --------------------------------------------------------------------------- backbone arithmetic


def conv_out(n: int, kernel: int, stride: int, padding: int) -> int:
    return (n + 2 * padding - kernel) // stride + 1


def resnet_fpn_feature_size(n: int, level: int) -> int:
    """ResNet stem conv1 (7x7/2, pad 3), max-pool (3x3/2, pad 1), then 3x3/2 pad-1 convolutions
    (layer2..4 in torchvision/mmdet 'pytorch' style, LastLevelP6P7 / extra convs for P6, P7)."""
    n = conv_out(n, 7, 2, 3)
    if level >= 2:
        n = conv_out(n, 3, 2, 1)
    for _ in range(level - 2):
        n = conv_out(n, 3, 2, 1)
    return n


def pad_to(n: int, divisor: int) -> int:
    return int(math.ceil(n / divisor) * divisor)


# --------------------------------------------------------------------------- transcriptions


def reference_keras_cv(sizes, scales, ratios_wh, strides, clip, height, width):
    """keras_cv/src/layers/object_detection/anchor_generator.py::_SingleAnchorGenerator.__call__."""
    out = []
    for size, stride in zip(sizes, strides, strict=True):
        sqrt_r = np.sqrt(np.asarray(ratios_wh, np.float64))
        heights, widths = [], []
        for scale in scales:
            t = size * scale
            heights.append(t / sqrt_r)
            widths.append(t * sqrt_r)
        half_h = (0.5 * np.concatenate(heights)).reshape(1, 1, -1)
        half_w = (0.5 * np.concatenate(widths)).reshape(1, 1, -1)
        cx = np.arange(0.5 * stride, math.ceil(width / stride) * stride, stride)
        cy = np.arange(0.5 * stride, math.ceil(height / stride) * stride, stride)
        cx_grid, cy_grid = np.meshgrid(cx, cy)
        cx_grid, cy_grid = cx_grid[..., None], cy_grid[..., None]
        y_min = (cy_grid - half_h).reshape(-1, 1)
        y_max = (cy_grid + half_h).reshape(-1, 1)
        x_min = (cx_grid - half_w).reshape(-1, 1)
        x_max = (cx_grid + half_w).reshape(-1, 1)
        if clip:
            y_min, y_max = np.clip(y_min, 0, height), np.clip(y_max, 0, height)
            x_min, x_max = np.clip(x_min, 0, width), np.clip(x_max, 0, width)
        out.append(np.concatenate([x_min, y_min, x_max, y_max], axis=-1))  # yxyx -> xyxy
    return np.concatenate(out)


def _torch_style_base_anchors(sizes, ratios_hw):
    """torchvision anchor_utils.py::AnchorGenerator.generate_anchors (float32, round half even);
    keras-hub anchor_generator.py::generate_base_anchors is the same code."""
    scales = np.asarray(sizes, np.float32)
    aspect_ratios = np.asarray(ratios_hw, np.float32)
    h_ratios = np.sqrt(aspect_ratios)
    w_ratios = np.float32(1) / h_ratios
    ws = (w_ratios[:, None] * scales[None, :]).reshape(-1)
    hs = (h_ratios[:, None] * scales[None, :]).reshape(-1)
    return np.round(np.stack([-ws, -hs, ws, hs], axis=1) / np.float32(2))


def reference_keras_hub(min_level, max_level, num_scales, ratios_hw, anchor_size, height, width):
    """keras_hub/src/layers/modeling/anchor_generator.py::AnchorGenerator.call."""
    out = []
    for level in range(min_level, max_level + 1):
        feat_y, feat_x = math.ceil(height / 2**level), math.ceil(width / 2**level)
        stride_y, stride_x = height // feat_y, width // feat_x
        cx = np.arange(feat_x, dtype=np.float32) * stride_x
        cy = np.arange(feat_y, dtype=np.float32) * stride_y
        cy_grid, cx_grid = np.meshgrid(cy, cx, indexing="ij")
        shifts = np.stack([cx_grid.ravel(), cy_grid.ravel()] * 2, axis=1)
        sizes = [int(2**level * anchor_size * 2 ** (s / num_scales)) for s in range(num_scales)]
        base = _torch_style_base_anchors(sizes, ratios_hw)
        out.append((shifts.reshape(-1, 1, 4) + base.reshape(1, -1, 4)).reshape(-1, 4))
    return np.concatenate(out).astype(np.float64)


def reference_torchvision(anchor_sizes, ratios_hw, levels, height, width):
    """torchvision anchor_utils.py::AnchorGenerator.forward / grid_anchors on the batch that
    GeneralizedRCNNTransform.batch_images padded to a multiple of 32 (size_divisible=32)."""
    image_h, image_w = pad_to(height, 32), pad_to(width, 32)
    out = []
    for sizes, level in zip(anchor_sizes, levels, strict=True):
        grid_h = resnet_fpn_feature_size(image_h, level)
        grid_w = resnet_fpn_feature_size(image_w, level)
        stride_h, stride_w = image_h // grid_h, image_w // grid_w
        base = _torch_style_base_anchors(sizes, ratios_hw)
        shifts_x = np.arange(0, grid_w, dtype=np.float32) * stride_w
        shifts_y = np.arange(0, grid_h, dtype=np.float32) * stride_h
        shift_y, shift_x = np.meshgrid(shifts_y, shifts_x, indexing="ij")
        shifts = np.stack([shift_x.ravel(), shift_y.ravel()] * 2, axis=1)
        out.append((shifts.reshape(-1, 1, 4) + base.reshape(1, -1, 4)).reshape(-1, 4))
    return np.concatenate(out).astype(np.float64)


def reference_detectron2(sizes_per_level, ratios_hw, levels, offset, height, width):
    """detectron2 modeling/anchor_generator.py::DefaultAnchorGenerator (generate_cell_anchors,
    _create_grid_offsets, _grid_anchors) on ImageList.from_tensors padded to FPN's 32."""
    image_h, image_w = pad_to(height, 32), pad_to(width, 32)
    out = []
    for sizes, level in zip(sizes_per_level, levels, strict=True):
        stride = 2**level
        anchors = []
        for size in sizes:
            area = size**2.0
            for aspect_ratio in ratios_hw:
                w = math.sqrt(area / aspect_ratio)
                h = aspect_ratio * w
                anchors.append([-w / 2.0, -h / 2.0, w / 2.0, h / 2.0])
        base = np.asarray(anchors)
        grid_h = resnet_fpn_feature_size(image_h, level)
        grid_w = resnet_fpn_feature_size(image_w, level)
        shifts_x = np.arange(offset * stride, grid_w * stride, stride)
        shifts_y = np.arange(offset * stride, grid_h * stride, stride)
        shift_y, shift_x = np.meshgrid(shifts_y, shifts_x, indexing="ij")
        shifts = np.stack([shift_x.ravel(), shift_y.ravel()] * 2, axis=1)
        out.append((shifts.reshape(-1, 1, 4) + base.reshape(1, -1, 4)).reshape(-1, 4))
    return np.concatenate(out)


def reference_mmdet(strides, ratios_hw, scales, center_offset, levels, height, width):
    """mmdet prior_generators/anchor_generator.py::AnchorGenerator (base_sizes = strides,
    gen_single_level_base_anchors with scale_major=True, single_level_grid_priors, _meshgrid) on
    the input padded to 32 (pad_size_divisor=32)."""
    image_h, image_w = pad_to(height, 32), pad_to(width, 32)
    scales = np.asarray(scales, np.float64)
    ratios = np.asarray(ratios_hw, np.float64)
    out = []
    for stride, level in zip(strides, levels, strict=True):
        w = h = stride
        x_center, y_center = center_offset * w, center_offset * h
        h_ratios = np.sqrt(ratios)
        w_ratios = 1 / h_ratios
        ws = (w * w_ratios[:, None] * scales[None, :]).reshape(-1)
        hs = (h * h_ratios[:, None] * scales[None, :]).reshape(-1)
        base = np.stack([x_center - 0.5 * ws, y_center - 0.5 * hs,
                         x_center + 0.5 * ws, y_center + 0.5 * hs], axis=-1)
        feat_h = resnet_fpn_feature_size(image_h, level)
        feat_w = resnet_fpn_feature_size(image_w, level)
        shift_x = np.arange(0, feat_w) * stride
        shift_y = np.arange(0, feat_h) * stride
        shift_xx = np.tile(shift_x, len(shift_y))
        shift_yy = np.repeat(shift_y, len(shift_x))
        shifts = np.stack([shift_xx, shift_yy, shift_xx, shift_yy], axis=-1)
        out.append((base[None, :, :] + shifts[:, None, :]).reshape(-1, 4))
    return np.concatenate(out)


def _fizyr_generate_anchors(base_size, ratios, scales):
    """keras_retinanet/utils/anchors.py::generate_anchors, verbatim."""
    num_anchors = len(ratios) * len(scales)
    anchors = np.zeros((num_anchors, 4))
    anchors[:, 2:] = base_size * np.tile(scales, (2, len(ratios))).T
    areas = anchors[:, 2] * anchors[:, 3]
    anchors[:, 2] = np.sqrt(areas / np.repeat(ratios, len(scales)))
    anchors[:, 3] = anchors[:, 2] * np.repeat(ratios, len(scales))
    anchors[:, 0::2] -= np.tile(anchors[:, 2] * 0.5, (2, 1)).T
    anchors[:, 1::2] -= np.tile(anchors[:, 3] * 0.5, (2, 1)).T
    return anchors


def _fizyr_shift(shape, stride, anchors):
    """keras_retinanet/utils/anchors.py::shift, verbatim."""
    shift_x = (np.arange(0, shape[1]) + 0.5) * stride
    shift_y = (np.arange(0, shape[0]) + 0.5) * stride
    shift_x, shift_y = np.meshgrid(shift_x, shift_y)
    shifts = np.vstack((shift_x.ravel(), shift_y.ravel(), shift_x.ravel(), shift_y.ravel()))
    shifts = shifts.transpose()
    a, k = anchors.shape[0], shifts.shape[0]
    return (anchors.reshape((1, a, 4)) + shifts.reshape((1, k, 4)).transpose((1, 0, 2))).reshape(
        (k * a, 4))


def reference_keras_retinanet(levels, ratios_hw, scales, strides, sizes, height, width):
    """keras_retinanet/utils/anchors.py::anchors_for_shape with guess_shapes."""
    image_shape = np.array((height, width))
    image_shapes = [(image_shape + 2**x - 1) // (2**x) for x in levels]
    all_anchors = np.zeros((0, 4))
    for idx, _ in enumerate(levels):
        anchors = _fizyr_generate_anchors(sizes[idx], np.asarray(ratios_hw), np.asarray(scales))
        all_anchors = np.append(all_anchors, _fizyr_shift(image_shapes[idx], strides[idx], anchors),
                                axis=0)
    return all_anchors


# --------------------------------------------------------------------------- strategies

ratio_lists = st.lists(st.floats(0.05, 20.0), min_size=1, max_size=5)
scale_lists = st.lists(st.floats(0.5, 3.0), min_size=1, max_size=4)
image_sides = st.integers(1, 700)


@st.composite
def pyramids(draw):
    """Consecutive levels with strides 2**level (what real backbones have)."""
    first = draw(st.integers(1, 5))
    count = draw(st.integers(1, 5))
    return tuple(range(first, first + count))


def make_config(framework, levels, sizes, scales, ratios_wh, strides=None, **extra):
    return AnchorConfig(
        framework=framework, levels=tuple(levels),
        strides=tuple(float(2**lv) for lv in levels) if strides is None else tuple(strides),
        sizes=tuple(float(s) for s in sizes), scales=tuple(scales),
        aspect_ratios=tuple(ratios_wh), positive_iou=0.5, negative_iou=0.4, **extra)


def assert_same_anchors(ours, theirs, rtol=1e-9):
    assert ours.shape == theirs.shape
    scale = max(1.0, float(np.abs(theirs).max(initial=0.0)))
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=rtol * scale)


# --------------------------------------------------------------------------- per framework

SETTINGS = settings(max_examples=40, deadline=None)


@SETTINGS
@given(levels=pyramids(), base=st.floats(4.0, 64.0), scales=scale_lists, ratios=ratio_lists,
       height=image_sides, width=image_sides, clip=st.booleans(),
       odd_strides=st.booleans())
def test_keras_cv(levels, base, scales, ratios, height, width, clip, odd_strides):
    strides = [2**lv * (1.5 if odd_strides else 1.0) for lv in levels]  # keras-cv takes any stride
    sizes = [base * 2**i for i in range(len(levels))]
    config = make_config("keras-cv", levels, sizes, scales, ratios, strides=strides, clip=clip)
    theirs = reference_keras_cv(sizes, scales, ratios, strides, clip, height, width)
    assert_same_anchors(generate_anchors(config, height, width), theirs)


@SETTINGS
@given(levels=pyramids(), anchor_size=st.floats(0.5, 8.0), num_scales=st.integers(1, 4),
       ratios=ratio_lists, height=image_sides, width=image_sides)
def test_keras_hub(levels, anchor_size, num_scales, ratios, height, width):
    scales = [2 ** (i / num_scales) for i in range(num_scales)]
    sizes = [anchor_size * 2.0**lv for lv in levels]
    config = make_config("keras-hub", levels, sizes, scales, ratios)
    theirs = reference_keras_hub(levels[0], levels[-1], num_scales, [1 / r for r in ratios],
                                 anchor_size, height, width)
    np.testing.assert_array_equal(generate_anchors(config, height, width), theirs)


@SETTINGS
@given(levels=pyramids(), base=st.floats(4.0, 64.0), scales=scale_lists, ratios=ratio_lists,
       height=image_sides, width=image_sides)
def test_torchvision(levels, base, scales, ratios, height, width):
    sizes = [base * 2**i for i in range(len(levels))]
    config = make_config("torchvision", levels, sizes, scales, ratios)
    anchor_sizes = [tuple(int(s * k) for k in scales) for s in sizes]  # as _default_anchorgen
    theirs = reference_torchvision(anchor_sizes, [1 / r for r in ratios], levels, height, width)
    np.testing.assert_array_equal(generate_anchors(config, height, width), theirs)


@SETTINGS
@given(levels=pyramids(), base=st.floats(4.0, 64.0), scales=scale_lists, ratios=ratio_lists,
       height=image_sides, width=image_sides, offset=st.sampled_from([None, 0.0, 0.5, 0.25]))
def test_detectron2(levels, base, scales, ratios, height, width, offset):
    sizes = [base * 2**i for i in range(len(levels))]
    config = make_config("detectron2", levels, sizes, scales, ratios, center_offset=offset)
    sizes_per_level = [[s * k for k in scales] for s in sizes]
    theirs = reference_detectron2(sizes_per_level, [1 / r for r in ratios], levels,
                                  offset or 0.0, height, width)
    assert_same_anchors(generate_anchors(config, height, width), theirs)


@SETTINGS
@given(levels=pyramids(), octave_base=st.floats(1.0, 8.0), scales=scale_lists,
       ratios=ratio_lists, height=image_sides, width=image_sides,
       offset=st.sampled_from([None, 0.0, 0.5, 1.0]))
def test_mmdet(levels, octave_base, scales, ratios, height, width, offset):
    strides = [2**lv for lv in levels]
    config = make_config("mmdet", levels, [octave_base * s for s in strides], scales, ratios,
                         center_offset=offset)
    theirs = reference_mmdet(strides, [1 / r for r in ratios], [octave_base * k for k in scales],
                             offset or 0.0, levels, height, width)
    assert_same_anchors(generate_anchors(config, height, width), theirs)


@SETTINGS
@given(levels=pyramids(), base=st.floats(4.0, 64.0), scales=scale_lists, ratios=ratio_lists,
       height=image_sides, width=image_sides)
def test_keras_retinanet(levels, base, scales, ratios, height, width):
    sizes = [base * 2**i for i in range(len(levels))]
    strides = [2**lv for lv in levels]
    config = make_config("keras-retinanet", levels, sizes, scales, ratios)
    theirs = reference_keras_retinanet(levels, [1 / r for r in ratios], scales, strides, sizes,
                                       height, width)
    assert_same_anchors(generate_anchors(config, height, width), theirs)


@SETTINGS
@given(height=image_sides, width=image_sides)
def test_keras_retinanet_matchable_anchors_drop_centres_outside(height, width):
    """anchor_targets_bbox ignores anchors whose centre is at or beyond the image edge.

    keras-retinanet tests the centre as float (x1 + x2) / 2; when a lattice centre lies exactly on
    the edge, rounding makes that test shape-dependent, so such sizes are left out here (we drop
    the centre, as exact arithmetic does)."""
    config = default_config("keras-retinanet")
    for stride in config.strides:
        assume((height / stride - 0.5) % 1 != 0 and (width / stride - 0.5) % 1 != 0)
    anchors = generate_anchors(config, height, width)
    centres = np.stack([(anchors[:, 0] + anchors[:, 2]) / 2, (anchors[:, 1] + anchors[:, 3]) / 2],
                       axis=1)
    kept = anchors[(centres[:, 0] < width) & (centres[:, 1] < height)]
    grids = level_grids(config, height, width, matchable_only=True)
    ours = np.concatenate([g.expand() for g in grids])
    np.testing.assert_allclose(ours, kept, rtol=0, atol=1e-9)


# --------------------------------------------------------------------------- known values


def test_torchvision_default_cell_anchors_for_size_32():
    """Rounded values from torchvision's generate_anchors((32, 40, 50), (0.5, 1.0, 2.0))."""
    shapes = level_grids(default_config("torchvision"), 512, 512)[0].shapes
    expected = [[-23, -11, 23, 11], [-28, -14, 28, 14], [-35, -18, 35, 18],
                [-16, -16, 16, 16], [-20, -20, 20, 20], [-25, -25, 25, 25],
                [-11, -23, 11, 23], [-14, -28, 14, 28], [-18, -35, 18, 35]]
    np.testing.assert_array_equal(shapes, expected)


def test_detectron2_default_cell_anchors():
    """detectron2 generate_cell_anchors(sizes=(32,), aspect_ratios=(0.5, 1, 2))."""
    config = default_config("detectron2").replace(scales=(1.0,))
    r = math.sqrt(2.0)
    expected = [[-16 * r, -8 * r, 16 * r, 8 * r], [-16, -16, 16, 16],
                [-8 * r, -16 * r, 8 * r, 16 * r]]
    np.testing.assert_allclose(level_grids(config, 64, 64)[0].shapes, expected, atol=1e-12)


def test_torchvision_strides_follow_padded_size():
    """300x500 is padded to 320x512; P7 has ceil(320/128) = 3 rows, so stride_y = 320 // 3."""
    grids = level_grids(default_config("torchvision"), 300, 500)
    p7 = grids[-1]
    assert (p7.ny, p7.nx, p7.stride_y, p7.stride_x) == (3, 4, 106.0, 128.0)
    assert (grids[0].ny, grids[0].nx) == (40, 64)


def test_keras_hub_strides_differ_per_axis():
    p7 = level_grids(default_config("keras-hub"), 300, 500)[-1]
    assert (p7.ny, p7.nx, p7.stride_y, p7.stride_x, p7.offset_x) == (3, 4, 100.0, 125.0, 0.0)


def test_keras_hub_inexpressible_config_is_generated_with_its_formula():
    """sizes not anchor_size * 2**level: sizes int(size * scale), same rounding and grid."""
    config = default_config("keras-hub").replace(sizes=(20, 64, 128, 256, 512), scales=(1.0, 1.3))
    shapes = level_grids(config, 256, 256)[0].shapes
    np.testing.assert_array_equal(shapes, _torch_style_base_anchors([20, 26], [0.5, 1.0, 2.0]))


def test_clip_only_where_the_framework_clips():
    config = default_config("keras-cv")
    anchors = generate_anchors(config, 100, 130)
    assert anchors.min() >= 0 and anchors[:, 0::2].max() <= 130 and anchors[:, 1::2].max() <= 100
    unclipped = generate_anchors(config.replace(clip=False), 100, 130)
    assert unclipped.min() < 0
    assert generate_anchors(default_config("mmdet"), 100, 130).min() < 0


# --------------------------------------------------------------------------- grid properties


@settings(max_examples=30, deadline=None)
@given(framework=st.sampled_from(sorted(FRAMEWORKS)), height=image_sides, width=image_sides,
       scales=scale_lists, ratios=ratio_lists)
def test_levels_and_counts_agree_with_anchors(framework, height, width, scales, ratios):
    config = default_config(framework).replace(scales=tuple(scales), aspect_ratios=tuple(ratios))
    anchors = generate_anchors(config, height, width)
    grids = level_grids(config, height, width)
    assert len(anchors) == anchor_count(config, height, width) == sum(g.anchor_count for g in grids)
    levels = anchor_levels(config, height, width)
    assert levels.shape == (len(anchors),)
    assert list(np.unique(levels)) == sorted(config.levels)
    np.testing.assert_array_equal(anchors, np.concatenate([g.expand() for g in grids]))
    for grid in grids:  # every framework puts its first centre in the first stride
        assert 0 <= grid.offset_x < grid.stride_x or grid.offset_x == grid.stride_x
        assert len(grid.shapes) == len(scales) * len(ratios)
        widths = grid.shapes[:, 2] - grid.shapes[:, 0]
        assert np.all(widths >= 0)


def test_bad_image_size_is_input_error():
    with pytest.raises(InputError):
        generate_anchors(default_config("keras-cv"), 0, 10)
    with pytest.raises(InputError):
        level_grids(default_config("keras-cv"), 10, 2.5)
