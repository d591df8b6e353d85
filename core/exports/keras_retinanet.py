"""keras-retinanet (fizyr) export: the `config.ini` its `--config` option reads, with
`[anchor_parameters]` (sizes, strides, ratios, scales as single-space-separated lists; sizes and
strides integers; ratios height / width) and `[pyramid_levels]`. Its matcher thresholds are
keyword defaults of `anchor_targets_bbox`, not config keys."""

from __future__ import annotations

from core.anchor_config import AnchorConfig
from core.exports.target import (
    ExportTarget,
    framework_thresholds,
    header,
    integer_sizes,
    non_integer_sizes,
    numbers,
    own_ratios,
    reals,
    strides_as_powers_of_two,
    thresholds_fixed,
)


def render(config: AnchorConfig, tuned_for: str) -> str:
    return (
        header(config, tuned_for)
        + "# use with: retinanet-train --config config.ini ...\n"
        "[anchor_parameters]\n"
        f"sizes = {numbers(config.sizes, ' ')}\n"
        f"strides = {numbers(config.strides, ' ')}\n"
        "# height / width\n"
        f"ratios = {reals(own_ratios(config), ' ')}\n"
        f"scales = {reals(config.scales, ' ')}\n"
        "\n"
        "[pyramid_levels]\n"
        f"P = {numbers(config.levels, ' ')}\n"
    )


TARGET = ExportTarget(
    name="keras-retinanet", framework="keras-retinanet", suffix=".ini", render=render,
    extra_reasons=(non_integer_sizes, thresholds_fixed("keras-retinanet's anchor_targets_bbox")),
    fixes=(strides_as_powers_of_two, integer_sizes, framework_thresholds),
)
