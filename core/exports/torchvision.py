"""torchvision export: a Python snippet building `AnchorGenerator` (per-level integer sizes
`int(size * scale)` as torchvision's own default writes them; ratios height / width) and the
RetinaNet `Matcher` with its thresholds and low-quality matching."""

from __future__ import annotations

from core.anchor_config import AnchorConfig, effective_low_quality
from core.exports.target import (
    ExportTarget,
    header,
    own_ratios,
    real,
    reals,
    strides_as_powers_of_two,
)


def level_sizes(config: AnchorConfig) -> list[list[int]]:
    """torchvision's per-level anchor sizes: int(size * scale), as `_default_anchorgen` does
    (and as Anchor Inspector generates torchvision anchors)."""
    return [[int(size * scale) for scale in config.scales] for size in config.sizes]


def _tuple(values: list) -> str:
    return "(" + ", ".join(str(v) for v in values) + ("," if len(values) == 1 else "") + ")"


def render(config: AnchorConfig, tuned_for: str) -> str:
    sizes = "".join(f"        {_tuple(level)},  # P{lv}\n"
                    for lv, level in zip(config.levels, level_sizes(config), strict=True))
    ratios = own_ratios(config)
    ratio_tuple = "(" + reals(ratios) + ("," if len(ratios) == 1 else "") + ")"
    return (
        header(config, tuned_for)
        + "from torchvision.models.detection._utils import Matcher\n"
        "from torchvision.models.detection.anchor_utils import AnchorGenerator\n"
        "\n"
        "anchor_generator = AnchorGenerator(\n"
        "    sizes=(\n"
        f"{sizes}"
        "    ),\n"
        f"    aspect_ratios=({ratio_tuple},) * {len(config.levels)},  # height / width\n"
        ")\n"
        "# Matcher(high, low): IoU >= high positive, < low negative.\n"
        f"proposal_matcher = Matcher({real(config.positive_iou)}, {real(config.negative_iou)}, "
        f"allow_low_quality_matches={effective_low_quality(config)})\n"
        "retinanet_kwargs = dict(\n"
        "    anchor_generator=anchor_generator,\n"
        "    proposal_matcher=proposal_matcher,\n"
        f"    fg_iou_thresh={real(config.positive_iou)},\n"
        f"    bg_iou_thresh={real(config.negative_iou)},\n"
        ")\n"
        "# model = torchvision.models.detection.retinanet_resnet50_fpn(weights=None,\n"
        "#     num_classes=..., **retinanet_kwargs)  # or RetinaNet(backbone, num_classes, ...)\n"
    )


TARGET = ExportTarget(name="torchvision", framework="torchvision", suffix=".py", render=render,
                      fixes=(strides_as_powers_of_two,))
