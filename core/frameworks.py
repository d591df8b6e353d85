"""The one table of framework conventions: how each framework lays out, shapes and matches anchors.

Generation (`core.anchor_generation`), matching (`core.coverage`), export and the UI's labels read
`FRAMEWORKS`; where frameworks differ, the row holds a small named function instead of an `if`
somewhere else. The canonical config (`core.anchor_config`) always speaks width/height ratios and
`sizes[l] x scales` per level; the functions here translate that into each framework's own formula.

Facts checked in the frameworks' own code (installed ones read in
`.venv/lib/python3.11/site-packages`, the others from their public repositories):

- keras-cv 0.9 `keras_cv/src/layers/object_detection/anchor_generator.py`
  (`_SingleAnchorGenerator`): ratio = w/h, w = size*scale*sqrt(r), h = size*scale/sqrt(r);
  centres `arange(0.5*stride, ceil(W/stride)*stride, stride)`; order row, column, then
  scale-major (`for scale: [ratios]`); `clip_boxes` clips to [0, W] x [0, H].
  `retinanet/retinanet.py::default_anchor_generator`: sizes 32..512, strides 8..128,
  scales 2**(0, 1/3, 2/3), ratios 0.5/1/2, clip_boxes=True.
  `retinanet_label_encoder.py`: BoxMatcher thresholds [0.4, 0.5], force_match_for_each_col=False
  (hard-coded: keras-cv's RetinaNet cannot force matches).
- keras-hub 0.32 `keras_hub/src/layers/modeling/anchor_generator.py`: feature size
  `ceil(H / 2**level)`, stride `H // feature size`, centres `i * stride` (offset 0), sizes
  `int(2**level * anchor_size * 2**(s / num_scales))`, `h_ratios = sqrt(aspect_ratio)` so its
  ratio is h/w (the docstring says w/h), half-extents rounded (`ops.round`, half to even), order
  ratio-major, no clipping. `retinanet/retinanet_object_detector.py`: anchor_size=4, num_scales=3,
  ratios [0.5, 1, 2]; `retinanet_label_encoder.py`: 0.5 / 0.4,
  `box_matcher_force_match_for_each_col=False` (a constructor argument, so it can be switched on).
- torchvision `models/detection/anchor_utils.py::AnchorGenerator`: ratio h/w, half-extents
  `round()` in float32, ratio-major, centres `arange(grid) * stride` with
  `stride = padded image size // grid size`; `retinanet.py::_default_anchorgen`: sizes
  `(x, int(x * 2**(1/3)), int(x * 2**(2/3)))` for x in 32..512, ratios 0.5/1/2; RetinaNet's
  `Matcher(0.5, 0.4, allow_low_quality_matches=True)`; `GeneralizedRCNNTransform` pads the batch
  to a multiple of 32 (size_divisible=32), and the anchor grid covers the padded tensor.
- detectron2 `modeling/anchor_generator.py::DefaultAnchorGenerator`: ratio h/w,
  w = sqrt(size**2 / a), h = a * w, size-major then ratio, centres `arange(offset*stride,
  grid*stride, stride)`; `config/defaults.py`: ANCHOR_GENERATOR.OFFSET = 0.0, RETINANET
  IOU_THRESHOLDS [0.4, 0.5]; RetinaNet builds `Matcher(..., allow_low_quality_matches=True)`;
  `Base-RetinaNet.yaml` sizes `[x, x*2**(1/3), x*2**(2/3)]`; FPN pads to size_divisibility 32.
- mmdet `task_modules/prior_generators/anchor_generator.py::AnchorGenerator`: ratio h/w,
  ws = base_size * w_ratios[:, None] * scales[None, :] (ratio-major despite `scale_major=True`),
  centre `center_offset * base_size` (default 0), shifts `arange(feat) * stride`;
  `configs/_base_/models/retinanet_r50_fpn.py`: octave_base_scale=4, scales_per_octave=3,
  ratios 0.5/1/2, strides 8..128, MaxIoUAssigner(0.5, 0.4, min_pos_iou=0) whose
  match_low_quality defaults to True with gt_max_assign_all=True; images padded to 32.
- keras-retinanet (fizyr) `keras_retinanet/utils/anchors.py`: `generate_anchors` ratio h/w,
  area-preserving (w = sqrt(area / a), h = w * a), ratio-major; `shift` centres
  `(arange(n) + 0.5) * stride`; `guess_shapes` feature size `ceil(H / 2**level)`; matching is
  argmax with 0.5 / 0.4 and anchors whose centre lies at or beyond the image edge are ignored.

Feature maps: every backbone here downsamples level `l` by 2**l; generation uses the configured
`strides[l]` as that downsampling (equal to 2**l in every preset), so a config with other strides is
still generated, but is not expressible in the frameworks whose stride is fixed by the network
(see `inexpressible_reasons`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from core.coverage.layout import FORCE_BEST, LOW_QUALITY, MATCHER_KINDS, MMDET

MATCHERS = MATCHER_KINDS  # the matcher kinds, named in core.coverage.layout
"""argmax: an anchor goes to its argmax box if IoU >= positive. force_best: argmax plus, for each
box, its single best anchor (keras BoxMatcher force_match_for_each_col). low_quality: argmax plus
every anchor reaching some box's highest IoU, assigned to its own argmax box (torchvision /
detectron2 Matcher). mmdet: MaxIoUAssigner with min_pos_iou=0, gt_max_assign_all: for each box in
order, all anchors whose IoU equals that box's max go to it, later boxes overwriting."""

ShapeRule = Callable[[int, float, Sequence[float], Sequence[float]], np.ndarray]
"""(level, size, scales, ratios as width / height) -> the level's per-location anchor shapes,
(A, 4) offsets x1, y1, x2, y2 from the anchor centre, in the framework's own order."""
ReasonsRule = Callable[[Sequence[int], Sequence[float], Sequence[float], Sequence[float]],
                       list[str]]
"""(levels, strides, sizes, scales) -> why the framework cannot express them (empty: it can)."""


# --------------------------------------------------------------------------- anchor shapes
# Each returns the (A, 4) float64 offsets (dx1, dy1, dx2, dy2) of one level's anchors around
# their centre, in the framework's per-location order, from the canonical config (ratios w/h).


def ratios_in_convention(ratios, meaning: str) -> list[float]:
    """Width / height ratios in a framework's own convention (`meaning` "w/h" or "h/w": then
    each is 1 / r), as that framework's code or config file would be given them."""
    return [float(r) if meaning == "w/h" else 1.0 / float(r) for r in ratios]


def _keras_cv_shapes(level: int, size: float, scales, ratios) -> np.ndarray:
    """keras-cv: w = s*sqrt(r), h = s/sqrt(r) with s = size*scale; scale-major, no rounding."""
    root = np.sqrt(np.asarray(ratios, np.float64))
    sizes = size * np.asarray(scales, np.float64)
    half_w = 0.5 * (sizes[:, None] * root[None, :]).ravel()
    half_h = 0.5 * (sizes[:, None] / root[None, :]).ravel()
    return np.stack([-half_w, -half_h, half_w, half_h], axis=1)


def _rounded_hw_shapes(sizes: list[float], ratios_hw: list[float]) -> np.ndarray:
    """torchvision / keras-hub `generate_(base_)anchors`, in their float32 arithmetic:
    h_ratios = sqrt(a), w_ratios = 1 / h_ratios, ratio-major, half-extents rounded half to even."""
    scales = np.asarray(sizes, np.float32)
    h_ratios = np.sqrt(np.asarray(ratios_hw, np.float32))
    w_ratios = np.float32(1.0) / h_ratios
    ws = (w_ratios[:, None] * scales[None, :]).reshape(-1)
    hs = (h_ratios[:, None] * scales[None, :]).reshape(-1)
    base = np.stack([-ws, -hs, ws, hs], axis=1) / np.float32(2.0)
    return np.round(base).astype(np.float64)


def octave_scales(count: int) -> tuple[float, ...]:
    """keras-hub's only scales: 2**(i / count) for i < count (num_scales = count)."""
    return tuple(2.0 ** (i / count) for i in range(count))


def is_octave_scales(scales) -> bool:
    """`scales` are `octave_scales(len(scales))` to keras-hub's tolerance (1e-4)."""
    return bool(np.allclose(np.asarray(scales, np.float64), octave_scales(len(scales)),
                            rtol=1e-4, atol=0.0))


def common_anchor_size(levels, sizes) -> float | None:
    """The one `anchor_size` with sizes[l] = anchor_size * 2**level (keras-hub's only sizes),
    or None when the sizes are not of that form."""
    anchor_sizes = np.asarray(sizes, np.float64) / 2.0 ** np.asarray(levels, np.float64)
    if not np.allclose(anchor_sizes, anchor_sizes[0], rtol=1e-9, atol=0.0):
        return None
    return float(anchor_sizes[0])


def _keras_hub_shapes(level: int, size: float, scales, ratios) -> np.ndarray:
    """keras-hub: sizes `int(2**level * anchor_size * 2**(s/num_scales))` with anchor_size =
    size / 2**level (exact in binary) when the scales are 2**(s/n); else (documented choice)
    `int(size * scale)`, the same formula with the given scales; then torchvision-style rounded
    shapes."""
    if is_octave_scales(scales):
        n = len(scales)
        anchor_size = size / 2.0**level
        sizes = [int(2**level * anchor_size * 2 ** (s / n)) for s in range(n)]
    else:
        sizes = [int(size * scale) for scale in scales]
    return _rounded_hw_shapes(sizes, ratios_in_convention(ratios, "h/w"))


def _torchvision_shapes(level: int, size: float, scales, ratios) -> np.ndarray:
    """torchvision: per-level sizes `int(size * scale)` (as `_default_anchorgen` writes them),
    then `AnchorGenerator.generate_anchors` (rounded half-extents, ratio-major)."""
    sizes = [int(size * scale) for scale in scales]
    return _rounded_hw_shapes(sizes, ratios_in_convention(ratios, "h/w"))


def _detectron2_shapes(level: int, size: float, scales, ratios) -> np.ndarray:
    """detectron2 `generate_cell_anchors`: for size: for a (h/w): w = sqrt(size**2 / a), h = a*w."""
    sizes = size * np.asarray(scales, np.float64)
    ratios = np.asarray(ratios_in_convention(ratios, "h/w"), np.float64)
    w = np.sqrt((sizes**2)[:, None] / ratios[None, :]).ravel()
    h = (ratios[None, :] * w.reshape(len(sizes), len(ratios))).ravel()
    return np.stack([-w / 2.0, -h / 2.0, w / 2.0, h / 2.0], axis=1)


def _mmdet_shapes(level: int, size: float, scales, ratios) -> np.ndarray:
    """mmdet `gen_single_level_base_anchors` with base_size = sizes[l] and the config's scales:
    ws = base * w_ratios[:, None] * scales[None, :] (ratio-major); the centre offset is applied by
    the grid (mmdet's `center_offset * base_size` with base_size = stride, its default)."""
    base = size
    scales = np.asarray(scales, np.float64)
    h_ratios = np.sqrt(np.asarray(ratios_in_convention(ratios, "h/w"), np.float64))
    w_ratios = 1.0 / h_ratios
    ws = (base * w_ratios[:, None] * scales[None, :]).ravel()
    hs = (base * h_ratios[:, None] * scales[None, :]).ravel()
    return np.stack([-0.5 * ws, -0.5 * hs, 0.5 * ws, 0.5 * hs], axis=1)


def _keras_retinanet_shapes(level: int, size: float, scales, ratios) -> np.ndarray:
    """keras-retinanet `generate_anchors`: side base*scale, area kept, w = sqrt(area / a),
    h = w * a (a = h/w), ratio-major."""
    count = len(ratios)
    ratios = np.repeat(np.asarray(ratios_in_convention(ratios, "h/w"), np.float64), len(scales))
    sides = size * np.tile(np.asarray(scales, np.float64), count)
    w = np.sqrt(sides * sides / ratios)
    h = w * ratios
    return np.stack([-0.5 * w, -0.5 * h, 0.5 * w, 0.5 * h], axis=1)


# --------------------------------------------------------------------------- grid rules


def feature_size_ceil(extent: int, stride: float) -> int:
    """Feature-map length behind 'same' / pad-1 stride-2 convolutions: ceil(n / stride)."""
    return math.ceil(extent / stride)


def stride_configured(extent: int, feature_size: int, stride: float) -> float:
    """The configured stride is the centre spacing (keras-cv, detectron2, mmdet, fizyr)."""
    return float(stride)


def stride_floor_division(extent: int, feature_size: int, stride: float) -> float:
    """keras-hub / torchvision: stride = image extent // feature-map length (per axis)."""
    return float(extent // feature_size)


# --------------------------------------------------------------------------- expressibility


def _strides_are_powers(levels, strides, sizes=(), scales=()) -> list[str]:
    bad = [f"level {lv}: stride {s:g} != 2**{lv}"
           for lv, s in zip(levels, strides, strict=True) if s != 2.0**lv]
    return [f"the backbone fixes stride = 2**level ({'; '.join(bad)})"] if bad else []


def _keras_hub_reasons(levels, strides, sizes, scales) -> list[str]:
    reasons = _strides_are_powers(levels, strides)
    levels = list(levels)
    if levels != list(range(levels[0], levels[0] + len(levels))):
        reasons.append("levels must be consecutive (min_level..max_level)")
    if common_anchor_size(levels, sizes) is None:
        reasons.append("sizes must be anchor_size * 2**level with one anchor_size")
    if not is_octave_scales(scales):
        n = len(scales)
        reasons.append(f"scales must be 2**(i/{n}) for i < {n}")
    return reasons


def _no_reasons(levels, strides, sizes, scales) -> list[str]:
    return []


# --------------------------------------------------------------------------- the table


@dataclass(frozen=True)
class Framework:
    """How one framework generates and matches RetinaNet anchors (see the module docstring)."""

    name: str
    label: str
    ratio_meaning: str  # what the framework's own aspect-ratio argument means: "w/h" or "h/w"
    shape_order: str  # per-location order of the anchor shapes: "scale-major" or "ratio-major"
    size_rule: str  # how one anchor's size follows from size and scale, in words
    anchor_shapes: ShapeRule
    rounds_half_extents: bool
    size_divisor: int  # the model input is padded to a multiple of this before the backbone
    feature_size: Callable[[int, float], int]
    grid_stride: Callable[[int, int, float], float]
    center_offset: float  # default, as a fraction of the stride
    center_offset_limits: tuple[float, float, bool] | None  # (low, high, inclusive); None: fixed
    clip: bool  # default
    clip_configurable: bool
    positive_iou: float
    negative_iou: float
    low_quality_matches: bool  # default
    low_quality_configurable: bool
    low_quality_matcher: str | None  # the matcher used when low-quality matching is on
    ignores_centres_outside_image: bool  # anchors centred at/after the image edge never match
    defaults: dict = field(default_factory=dict)  # canonical levels/strides/sizes/scales/ratios
    inexpressible_reasons: ReasonsRule = _no_reasons
    sources: tuple[str, ...] = ()
    # The pretrained detection head of the framework's RetinaNet preset: its anchors per location
    # and its two output convolutions (classification, box regression), whose channel counts are
    # anchors per location x classes (x 4); docs/optimizer.md#the-detection-head.
    pretrained_anchors_per_location: int = 9
    head_output_layers: tuple[str, str] = ("", "")
    fixed_scales: Callable[[int], tuple[float, ...]] | None = None  # its only scales, by count
    one_anchor_size: bool = False  # sizes are anchor_size * 2**level: one size moves them all

    def padded(self, extent: int) -> int:
        """The extent the backbone sees after padding the model input to `size_divisor`."""
        return -(-int(extent) // self.size_divisor) * self.size_divisor


_THIRDS = (1.0, 2 ** (1 / 3), 2 ** (2 / 3))
_PYRAMID = {"levels": (3, 4, 5, 6, 7), "strides": (8, 16, 32, 64, 128),
            "sizes": (32, 64, 128, 256, 512), "scales": _THIRDS}

FRAMEWORKS: dict[str, Framework] = {
    fw.name: fw
    for fw in (
        Framework(
            name="keras-cv", label="KerasCV", ratio_meaning="w/h", shape_order="scale-major",
            size_rule="size * scale", anchor_shapes=_keras_cv_shapes, rounds_half_extents=False,
            size_divisor=1, feature_size=feature_size_ceil, grid_stride=stride_configured,
            center_offset=0.5, center_offset_limits=None, clip=True, clip_configurable=True,
            positive_iou=0.5, negative_iou=0.4,
            low_quality_matches=False, low_quality_configurable=False, low_quality_matcher=None,
            ignores_centres_outside_image=False,
            defaults={**_PYRAMID, "aspect_ratios": (0.5, 1.0, 2.0)},
            sources=("keras_cv/src/layers/object_detection/anchor_generator.py",
                     "keras_cv/src/models/object_detection/retinanet/retinanet.py",
                     "keras_cv/src/models/object_detection/retinanet/retinanet_label_encoder.py"),
            head_output_layers=("classification_head.prediction_layer",
                                "box_head.prediction_layer"),
        ),
        Framework(
            name="keras-hub", label="KerasHub", ratio_meaning="h/w", shape_order="ratio-major",
            size_rule="int(2**level * anchor_size * 2**(i / num_scales))",
            anchor_shapes=_keras_hub_shapes, rounds_half_extents=True,
            size_divisor=1, feature_size=feature_size_ceil, grid_stride=stride_floor_division,
            center_offset=0.0, center_offset_limits=None, clip=False, clip_configurable=False,
            positive_iou=0.5, negative_iou=0.4,
            low_quality_matches=False, low_quality_configurable=True,
            low_quality_matcher=FORCE_BEST, ignores_centres_outside_image=False,
            defaults={**_PYRAMID, "aspect_ratios": (2.0, 1.0, 0.5)},
            inexpressible_reasons=_keras_hub_reasons, fixed_scales=octave_scales,
            one_anchor_size=True,
            sources=("keras_hub/src/layers/modeling/anchor_generator.py",
                     "keras_hub/src/models/retinanet/retinanet_object_detector.py",
                     "keras_hub/src/models/retinanet/retinanet_label_encoder.py"),
            head_output_layers=("classification_head logits_layer", "box_head logits_layer"),
        ),
        Framework(
            name="torchvision", label="torchvision", ratio_meaning="h/w",
            shape_order="ratio-major", size_rule="int(size * scale)",
            anchor_shapes=_torchvision_shapes, rounds_half_extents=True,
            size_divisor=32, feature_size=feature_size_ceil, grid_stride=stride_floor_division,
            center_offset=0.0, center_offset_limits=None, clip=False, clip_configurable=False,
            positive_iou=0.5, negative_iou=0.4,
            low_quality_matches=True, low_quality_configurable=True,
            low_quality_matcher=LOW_QUALITY, ignores_centres_outside_image=False,
            defaults={**_PYRAMID, "aspect_ratios": (2.0, 1.0, 0.5)},
            inexpressible_reasons=_strides_are_powers,
            sources=("torchvision/models/detection/anchor_utils.py",
                     "torchvision/models/detection/retinanet.py",
                     "torchvision/models/detection/transform.py"),
            head_output_layers=("head.classification_head.cls_logits",
                                "head.regression_head.bbox_reg"),
        ),
        Framework(
            name="detectron2", label="Detectron2", ratio_meaning="h/w",
            shape_order="scale-major", size_rule="size * scale",
            anchor_shapes=_detectron2_shapes, rounds_half_extents=False,
            size_divisor=32, feature_size=feature_size_ceil, grid_stride=stride_configured,
            center_offset=0.0, center_offset_limits=(0.0, 1.0, False), clip=False,
            clip_configurable=False, positive_iou=0.5, negative_iou=0.4,
            low_quality_matches=True, low_quality_configurable=True,
            low_quality_matcher=LOW_QUALITY, ignores_centres_outside_image=False,
            defaults={**_PYRAMID, "aspect_ratios": (2.0, 1.0, 0.5)},
            inexpressible_reasons=_strides_are_powers,
            sources=("detectron2/modeling/anchor_generator.py", "detectron2/config/defaults.py",
                     "detectron2/modeling/meta_arch/retinanet.py",
                     "configs/Base-RetinaNet.yaml"),
            head_output_layers=("head.cls_score", "head.bbox_pred"),
        ),
        Framework(
            name="mmdet", label="MMDetection", ratio_meaning="h/w", shape_order="ratio-major",
            size_rule="base_size * scale", anchor_shapes=_mmdet_shapes,
            rounds_half_extents=False, size_divisor=32, feature_size=feature_size_ceil,
            grid_stride=stride_configured, center_offset=0.0,
            center_offset_limits=(0.0, 1.0, True), clip=False, clip_configurable=False,
            positive_iou=0.5, negative_iou=0.4,
            low_quality_matches=True, low_quality_configurable=True,
            low_quality_matcher=MMDET, ignores_centres_outside_image=False,
            defaults={**_PYRAMID, "aspect_ratios": (2.0, 1.0, 0.5)},
            inexpressible_reasons=_strides_are_powers,
            sources=("mmdet/models/task_modules/prior_generators/anchor_generator.py",
                     "mmdet/models/task_modules/assigners/max_iou_assigner.py",
                     "configs/_base_/models/retinanet_r50_fpn.py"),
            head_output_layers=("bbox_head.retina_cls", "bbox_head.retina_reg"),
        ),
        Framework(
            name="keras-retinanet", label="keras-retinanet (fizyr)", ratio_meaning="h/w",
            shape_order="ratio-major", size_rule="size * scale",
            anchor_shapes=_keras_retinanet_shapes, rounds_half_extents=False,
            size_divisor=1, feature_size=feature_size_ceil, grid_stride=stride_configured,
            center_offset=0.5, center_offset_limits=None, clip=False, clip_configurable=False,
            positive_iou=0.5, negative_iou=0.4,
            low_quality_matches=False, low_quality_configurable=False, low_quality_matcher=None,
            ignores_centres_outside_image=True,
            defaults={**_PYRAMID, "aspect_ratios": (2.0, 1.0, 0.5)},
            inexpressible_reasons=_strides_are_powers,
            sources=("keras_retinanet/utils/anchors.py", "keras_retinanet/models/retinanet.py"),
            head_output_layers=("pyramid_classification", "pyramid_regression"),
        ),
    )
}
