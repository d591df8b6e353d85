"""detectron2 export: a YAML config fragment (MODEL.ANCHOR_GENERATOR SIZES / ASPECT_RATIOS /
OFFSET, MODEL.RETINANET IN_FEATURES / IOU_THRESHOLDS / IOU_LABELS) to merge into a RetinaNet
config. Ratios are height / width there; strides come from the backbone (2**level)."""

from __future__ import annotations

import dataclasses

from core.anchor_config import AnchorConfig, effective_center_offset, effective_low_quality
from core.exports.target import (
    ExportTarget,
    header,
    numbers,
    own_ratios,
    real,
    reals,
    strides_as_powers_of_two,
)


def low_quality_in_config(config: AnchorConfig) -> list[str]:
    """detectron2's `RetinaNet.from_config` hard-codes `allow_low_quality_matches=True`: a config
    file cannot switch it off (only code that builds its own `anchor_matcher` can)."""
    if effective_low_quality(config):
        return []
    return ["low_quality_matches: detectron2's config has no key for it (RetinaNet.from_config "
            "always uses allow_low_quality_matches=True)"]


def config_low_quality(config: AnchorConfig) -> AnchorConfig:
    return config if effective_low_quality(config) else \
        dataclasses.replace(config, low_quality_matches=None)


def render(config: AnchorConfig, tuned_for: str) -> str:
    sizes = ", ".join(f"[{numbers(config.sizes[i] * s for s in config.scales)}]"
                      for i in range(len(config.levels)))
    features = ", ".join(f"p{lv}" for lv in config.levels)
    return (
        header(config, tuned_for)
        + "MODEL:\n"
        "  ANCHOR_GENERATOR:\n"
        "    NAME: DefaultAnchorGenerator\n"
        "    # one list of sizes (pixels, size * scale) per level in IN_FEATURES\n"
        f"    SIZES: [{sizes}]\n"
        "    # height / width, shared by all levels\n"
        f"    ASPECT_RATIOS: [[{reals(own_ratios(config))}]]\n"
        "    # first anchor centre, as a fraction of the stride\n"
        f"    OFFSET: {real(effective_center_offset(config))}\n"
        "  RETINANET:\n"
        "    # the backbone (FPN + P6/P7) must produce these; stride 2**level\n"
        f"    IN_FEATURES: [{features}]\n"
        "    # IoU < negative: background; >= positive: foreground; between: ignored\n"
        f"    IOU_THRESHOLDS: [{real(config.negative_iou)}, {real(config.positive_iou)}]\n"
        "    IOU_LABELS: [0, -1, 1]\n"
    )


TARGET = ExportTarget(
    name="detectron2", framework="detectron2", suffix=".yaml", render=render,
    extra_reasons=(low_quality_in_config,), fixes=(strides_as_powers_of_two, config_low_quality),
)
