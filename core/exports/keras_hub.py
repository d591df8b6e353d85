"""keras-hub export: a Python snippet building `keras_hub.layers.AnchorGenerator` (ratios are
height / width there, whatever its docstring says; sizes are `anchor_size * 2**level *
2**(i / num_scales)`) and the RetinaNet label encoder with its thresholds and forced matching."""

from __future__ import annotations

import dataclasses

import numpy as np

from core.anchor_config import AnchorConfig, effective_low_quality, keras_hub_parameters
from core.exports.target import (
    ExportTarget,
    consecutive_levels,
    header,
    number,
    own_ratios,
    real,
    reals,
    strides_as_powers_of_two,
)
from core.frameworks import octave_scales


def pyramid_sizes_and_scales(config: AnchorConfig) -> AnchorConfig:
    """Nearest keras-hub pyramid: one anchor_size (the geometric mean of size / 2**level, to 6
    significant digits), sizes anchor_size * 2**level, scales 2**(i/n) for the same count."""
    if keras_hub_parameters(config) is not None:
        return config
    levels = np.asarray(config.levels, np.float64)
    relative = np.asarray(config.sizes, np.float64) / 2.0**levels
    anchor_size = float(f"{float(np.exp(np.mean(np.log(relative)))):.6g}")
    return dataclasses.replace(
        config, sizes=tuple(anchor_size * 2.0**lv for lv in config.levels),
        scales=octave_scales(len(config.scales)))


def render(config: AnchorConfig, tuned_for: str) -> str:
    params = keras_hub_parameters(config)
    assert params is not None, "checked by the table's inexpressible_reasons"
    anchor_size, num_scales = params
    force = effective_low_quality(config)
    return (
        header(config, tuned_for)
        + "import keras_hub\n"
        "from keras_hub.src.models.retinanet.retinanet_label_encoder import "
        "RetinaNetLabelEncoder\n"
        "\n"
        "BOUNDING_BOX_FORMAT = \"xyxy\"  # the box format of your model and dataset\n"
        "\n"
        "anchor_generator = keras_hub.layers.AnchorGenerator(\n"
        "    bounding_box_format=BOUNDING_BOX_FORMAT,\n"
        f"    min_level={config.levels[0]},\n"
        f"    max_level={config.levels[-1]},\n"
        f"    num_scales={num_scales},\n"
        f"    aspect_ratios=[{reals(own_ratios(config))}],  # height / width\n"
        f"    anchor_size={number(anchor_size)},\n"
        ")\n"
        "# BoxMatcher thresholds [negative, positive]; forced matching gives every box its best"
        " anchor.\n"
        "label_encoder = RetinaNetLabelEncoder(\n"
        "    anchor_generator=anchor_generator,\n"
        "    bounding_box_format=BOUNDING_BOX_FORMAT,\n"
        "    encoding_format=\"center_xywh\",  # as RetinaNetObjectDetector's default encoder\n"
        f"    positive_threshold={real(config.positive_iou)},\n"
        f"    negative_threshold={real(config.negative_iou)},\n"
        f"    box_matcher_force_match_for_each_col={force},\n"
        ")\n"
        "# model = keras_hub.models.RetinaNetObjectDetector(backbone=..., num_classes=...,\n"
        "#     bounding_box_format=BOUNDING_BOX_FORMAT, anchor_generator=anchor_generator,\n"
        "#     label_encoder=label_encoder)  # the backbone's min/max level must match\n"
    )


TARGET = ExportTarget(
    name="keras-hub", framework="keras-hub", suffix=".py", render=render,
    fixes=(strides_as_powers_of_two, consecutive_levels, pyramid_sizes_and_scales),
)
