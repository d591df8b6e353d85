"""`main.py optimize --config yolov5`: anchors that maximise exact positives-recall under
build_targets (docs/families.md#optimizing-yolov5-anchors), before / after and autoanchor's own
best possible recall for comparison."""

from __future__ import annotations

import argparse

from cli.common import load_dataset, print_json
from core.analysis import parse_input_size
from core.anchor_config import save_config
from core.errors import InputError
from core.family_config import FamilyConfig, family_to_dict
from core.yolo_anchors import YoloOptimizeResult, optimize_yolo_anchors


def run_family_optimize(args: argparse.Namespace, config: FamilyConfig) -> int:
    if config.framework != "yolov5":
        raise InputError(f"{config.family.label} has no anchor shapes to optimise; optimize "
                         "takes RetinaNet-style and yolov5 configs")
    per_level = None
    if args.anchors_per_level is not None:
        try:
            per_level = int(args.anchors_per_level)
        except ValueError:
            raise InputError(f"--anchors-per-level must be an integer, got "
                             f"{args.anchors_per_level!r}") from None
        if per_level < 1:
            raise InputError(f"--anchors-per-level must be at least 1, got {per_level}")
    model_input = parse_input_size(args.input_size, args.resize)
    table, load_seconds = load_dataset(args, warm_up=False)
    if len(table) == 0:
        raise InputError("no valid boxes to optimise anchors for", file=args.dataset)
    result = optimize_yolo_anchors(table, config, per_level, model_input)
    try:
        save_config(result.config, args.out)
    except OSError as error:
        raise InputError(f"cannot write: {error.strerror or error}", file=args.out) from None
    if args.json:
        print_json({"dataset": table.summary(),
                    "before": {"config": family_to_dict(config),
                               "coverage": result.before.report.to_dict()},
                    "after": {"config": family_to_dict(result.config),
                              "coverage": result.result.report.to_dict()},
                    "out": args.out, "seconds": {"load": load_seconds,
                                                 "optimize": result.seconds}})
    else:
        print(format_family_optimize(table, result, args.out))
    return 0


def _percent(value: float) -> str:
    return f"{100 * value:5.1f} %"


def format_family_optimize(table, result: YoloOptimizeResult, out: str) -> str:
    before, after = result.before.report, result.result.report
    bpr = "autoanchor_best_possible_recall"
    lines = [
        f"Optimized YOLOv5 anchors for {table.spec}: {table.image_count:,d} images, "
        f"{len(table):,d} boxes ({result.seconds:.1f} s)",
        "",
        f"  {'':<28}{'before':>10}{'after':>10}",
        f"  {'recall (build_targets)':<28}{_percent(before.recall):>10}"
        f"{_percent(after.recall):>10}",
        f"  {'positives per box':<28}{before.mean_positives_per_box:>10.2f}"
        f"{after.mean_positives_per_box:>10.2f}",
        f"  {'autoanchor BPR':<28}{_percent(before.extra[bpr]):>10}"
        f"{_percent(after.extra[bpr]):>10}",
        "",
    ]
    for stride, level in zip(result.config.params.strides, result.config.params.anchors,
                             strict=True):
        lines.append(f"  P{stride.bit_length() - 1}/{stride:<4} "
                     + "  ".join(f"{w:g}x{h:g}" for w, h in level))
    lines += ["", f"wrote {out} (export --to yolov5 gives the model-yaml anchors block)"]
    return "\n".join(lines)
