"""MMDetection export: a Python config fragment (`model = dict(bbox_head=dict(anchor_generator=
...), train_cfg=dict(assigner=...))`) to merge over a RetinaNet base config. Ratios are
height / width there; base sizes default to the strides, so RetinaNet-style sizes become
`octave_base_scale` / `scales_per_octave`, others explicit `base_sizes` and `scales`."""

from __future__ import annotations

import math

from core.anchor_config import AnchorConfig, effective_center_offset, effective_low_quality
from core.exports.target import (
    ExportTarget,
    header,
    number,
    numbers,
    own_ratios,
    real,
    reals,
    strides_are_backbone_downsampling,
    strides_as_powers_of_two,
)

REL_TOL = 1e-12


def anchor_generator_arguments(config: AnchorConfig) -> list[tuple[str, str]]:
    """(keyword, Python value text) for mmdet's AnchorGenerator, reproducing the config's anchors
    (base_size * w_ratio * scale, centre at offset * stride): RetinaNet's octave form when sizes
    are one multiple of the strides and scales are 2**(i/n), else base_sizes and scales."""
    n = len(config.scales)
    multiples = [size / stride for size, stride in zip(config.sizes, config.strides, strict=True)]
    octave = (all(math.isclose(m, multiples[0], rel_tol=REL_TOL) for m in multiples)
              and all(math.isclose(s, 2 ** (i / n), rel_tol=REL_TOL)
                      for i, s in enumerate(config.scales)))
    offset = effective_center_offset(config)
    arguments = [("type", "'AnchorGenerator'")]
    if octave:
        arguments += [("octave_base_scale", number(multiples[0])), ("scales_per_octave", str(n))]
    else:
        arguments.append(("scales", f"[{reals(config.scales)}]"))
    arguments.append(("ratios", f"[{reals(own_ratios(config))}]"))
    arguments.append(("strides", f"[{numbers(config.strides)}]"))
    if not octave and tuple(config.sizes) != tuple(config.strides):
        arguments.append(("base_sizes", f"[{numbers(config.sizes)}]"))
        if offset != 0.0:
            # mmdet's center_offset is a fraction of the base size; ours is of the stride
            centres = ", ".join(f"({real(offset * s)}, {real(offset * s)})"
                                for s in config.strides)
            arguments.append(("centers", f"[{centres}]"))
            return arguments
    arguments.append(("center_offset", real(offset)))
    return arguments


def render(config: AnchorConfig, tuned_for: str) -> str:
    generator = "".join(f"            {key}={value},\n"
                        for key, value in anchor_generator_arguments(config))
    return (
        header(config, tuned_for)
        + "model = dict(\n"
        "    bbox_head=dict(\n"
        "        anchor_generator=dict(\n"
        f"{generator}"
        "        ),\n"
        "    ),\n"
        "    train_cfg=dict(\n"
        "        assigner=dict(\n"
        "            type='MaxIoUAssigner',\n"
        f"            pos_iou_thr={real(config.positive_iou)},\n"
        f"            neg_iou_thr={real(config.negative_iou)},\n"
        "            min_pos_iou=0,\n"
        "            ignore_iof_thr=-1,\n"
        f"            match_low_quality={effective_low_quality(config)},\n"
        "        ),\n"
        "    ),\n"
        ")\n"
    )


TARGET = ExportTarget(
    name="mmdet", framework="mmdet", suffix=".py", render=render,
    extra_reasons=(strides_are_backbone_downsampling,), fixes=(strides_as_powers_of_two,),
)
