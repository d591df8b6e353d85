"""Exports of detector-family configs (docs/families.md): the YOLOv5 model-yaml `anchors:` block
(+ the hyp's `anchor_t`), a torchvision FCOS snippet and an mmdet ATSS config fragment. YOLOv8
has no anchors to export: its candidate rule is fixed by the ultralytics version."""

from __future__ import annotations

from collections.abc import Callable

from core.errors import InputError
from core.exports.target import comment_lines, number, numbers
from core.family_config import FamilyConfig


def _header(config: FamilyConfig, lines: list[str]) -> str:
    family = config.family
    return comment_lines([f"{family.label} configuration, exported by Anchor Inspector.",
                          *lines])


def export_yolov5(config: FamilyConfig) -> str:
    params = config.params
    rows = "".join(
        f"  - [{', '.join(f'{number(w)},{number(h)}' for w, h in level)}]"
        f"  # P{stride.bit_length() - 1}/{stride}\n"
        for stride, level in zip(params.strides, params.anchors, strict=True))
    return (_header(config, [
        "Paste the anchors into the model yaml (e.g. models/yolov5s.yaml); anchor_t belongs in "
        "the hyp yaml (data/hyps/*.yaml). Train with --noautoanchor, or autoanchor may replace "
        "anchors whose best possible recall is below 0.98 when it finds better ones.",
        f"{len(params.anchors[0])} anchors per level: the detection head's outputs are "
        f"anchors x (classes + 5) per level (pretrained yolov5 heads have 3).",
    ]) + "anchors:\n" + rows + f"# hyp: anchor_t: {number(params.anchor_t)}\n")


def export_fcos(config: FamilyConfig) -> str:
    params = config.params
    sizes = ", ".join(f"({number(size)},)" for size in params.anchor_sizes)
    return (_header(config, [
        f"levels {numbers(params.levels)}; size ranges 4x / 8x the anchor sizes (open ends)."]) +
        "from torchvision.models.detection.anchor_utils import AnchorGenerator\n\n"
        f"anchor_generator = AnchorGenerator(sizes=({sizes}), "
        f"aspect_ratios=((1.0,),) * {len(params.anchor_sizes)})\n"
        "fcos_kwargs = dict(anchor_generator=anchor_generator, "
        f"center_sampling_radius={number(params.center_sampling_radius)})\n"
        "# model = torchvision.models.detection.fcos_resnet50_fpn(weights=None, "
        "num_classes=..., **fcos_kwargs)\n")


def export_atss(config: FamilyConfig) -> str:
    params = config.params
    return (_header(config, ["mmdet config fragment (atss_r50_fpn style)."]) +
            "model = dict(\n"
            "    bbox_head=dict(\n"
            "        anchor_generator=dict(\n"
            "            type='AnchorGenerator', ratios=[1.0],\n"
            f"            octave_base_scale={number(params.octave_base_scale)}, "
            "scales_per_octave=1,\n"
            f"            strides=[{numbers(params.strides)}])),\n"
            f"    train_cfg=dict(assigner=dict(type='ATSSAssigner', topk={params.topk})))\n")


FAMILY_EXPORTERS: dict[str, Callable[[FamilyConfig], str]] = {
    "yolov5": export_yolov5, "fcos": export_fcos, "atss": export_atss,
}
"""Export format (the family's name) -> function(config) -> text."""


def export_family_text(config: FamilyConfig, fmt: str) -> str:
    """The text of a family config in `fmt` (its own family's format, or json / yaml)."""
    from core.anchor_config import config_text

    if fmt in ("json", "yaml"):
        return config_text(config, yaml_syntax=fmt == "yaml")
    if fmt != config.framework or fmt not in FAMILY_EXPORTERS:
        exportable = ", ".join(["json", "yaml", *([config.framework] if config.framework in
                                                  FAMILY_EXPORTERS else [])])
        raise InputError(f"a {config.framework} config exports to {exportable}, not {fmt!r}")
    return FAMILY_EXPORTERS[fmt](config)
