"""`main.py optimize`: search the aspect ratios and scales that maximise exact recall, write the
config, print before / after and warn when what is left is beyond the grid's ceiling
(docs/optimizer.md, docs/ceiling.md).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from cli.common import (
    RECALL_BAR_WIDTH,
    add_dataset_arguments,
    add_model_input_arguments,
    head_block,
    load_dataset,
    print_json,
    progress_bar,
    recall_bar,
)
from cli.optimize_family import run_family_optimize
from core.analysis import CoverageSession, parse_input_size
from core.anchor_budget import SWEEP_EFFORT, sweep
from core.anchor_config import config_to_dict, head_compatibility, resolve_config, save_config
from core.augmentation import DEFAULT_DRAWS, augment_spec, parse_augment
from core.errors import InputError
from core.family_config import FamilyConfig
from core.frameworks import FRAMEWORKS
from core.optimizer import DEFAULT_EFFORT, EFFORTS, ceiling_advice, optimize


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "optimize", help="find aspect ratios and scales that maximise exact recall")
    add_dataset_arguments(parser)
    parser.add_argument("--config", default=None, metavar="FILE",
                        help="starting config file or preset (default: keras-cv RetinaNet); "
                        "framework, levels and strides are kept")
    parser.add_argument("--ratios", default=None, metavar="R",
                        help="number of aspect ratios (default: as in the config)")
    parser.add_argument("--scales", default=None, metavar="S",
                        help="number of scales (default: as in the config)")
    parser.add_argument("--seed", default="0", metavar="N", help="random seed (default: 0)")
    parser.add_argument("--effort", default=None, choices=tuple(EFFORTS),
                        help="search effort: quick (seconds), normal (up to ~30 s on 20k "
                        f"boxes), thorough (minutes) (default: {DEFAULT_EFFORT}; with --sweep: "
                        f"{SWEEP_EFFORT} per grid point)")
    parser.add_argument("--fixed-sizes", action="store_true",
                        help="keep the anchor sizes (by default each level's size moves too; "
                        "keras-hub: its one anchor_size)")
    parser.add_argument("--optimize-size", action="store_true",
                        help=argparse.SUPPRESS)  # the default now; accepted for old scripts
    parser.add_argument("--monotonic-sizes", action="store_true",
                        help="keep the sizes increasing with the level (each level keeps its "
                        "usual size band)")
    parser.add_argument("--anchors-per-level", default=None, metavar="N",
                        help="YOLOv5 configs: anchors per level (default: as in the config)")
    parser.add_argument("--sweep", action="store_true",
                        help="the anchor budget: optimise every count of ratios R and scales S "
                        "(--sweep-ratios, --sweep-scales), print recall against anchors per "
                        "location and write each config into the folder --out")
    parser.add_argument("--sweep-ratios", default="1-8", metavar="A-B",
                        help="ratio counts of the sweep (default: %(default)s)")
    parser.add_argument("--sweep-scales", default="1-3", metavar="A-B",
                        help="scale counts of the sweep (default: %(default)s)")
    parser.add_argument("--time-budget", default=None, metavar="SECONDS",
                        help="stop searching after this long (results then depend on speed)")
    parser.add_argument("--max-evaluations", default=None, metavar="N",
                        help="subsample evaluations of the search (default: 300 without "
                        "--time-budget)")
    parser.add_argument("--augment", default=None, metavar="SPEC",
                        help="maximise the expected recall under a training augmentation "
                        "(SPEC as for analyze: jitter:HxW,LO-HI, crop:HxW[,MIN_AREA], "
                        "yolo:SIZE[,SCALE]; docs/augmentation.md)")
    parser.add_argument("--draws", default=None, metavar="N",
                        help="with --augment: seeded draws each evaluation of the search "
                        f"scores (default {SEARCH_DRAWS}; the result is confirmed with "
                        f"{DEFAULT_DRAWS})")
    add_model_input_arguments(parser)
    parser.add_argument("--out", default=None, metavar="FILE",
                        help="where to write the optimised config (.json, .yaml); with --sweep "
                        "a folder")
    parser.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    parser.set_defaults(run=run)


SEARCH_DRAWS = 8  # draws of the subsample per evaluation under --augment


def _integer(text: str | None, option: str, default: int | None, low: int) -> int | None:
    if text is None:
        return default
    try:
        value = int(text)
    except ValueError:
        raise InputError(f"{option} must be an integer, got {text!r}") from None
    if value < low:
        raise InputError(f"{option} must be at least {low}, got {value}")
    return value


def _seconds(text: str | None) -> float | None:
    if text is None:
        return None
    try:
        value = float(text)
    except ValueError:
        raise InputError(f"--time-budget must be a number of seconds, got {text!r}") from None
    if not value > 0:
        raise InputError(f"--time-budget must be positive, got {text!r}")
    return value


def _counts(text: str, option: str) -> list[int]:
    """`A-B` (a range) or `A,B,C` (a list) of counts >= 1."""
    try:
        if "-" in text:
            low, high = (int(part) for part in text.split("-"))
            values = list(range(low, high + 1))
        else:
            values = [int(part) for part in text.split(",")]
    except ValueError:
        raise InputError(f"{option} must be a range A-B or a list A,B,C of counts, "
                         f"got {text!r}") from None
    if not values or min(values) < 1:
        raise InputError(f"{option} must name counts of at least 1, got {text!r}")
    return values


def run(args: argparse.Namespace) -> int:
    if not args.out:
        raise InputError("--out is required: the file to write the optimised config to "
                         "(with --sweep, a folder for one config per grid point)")
    config = resolve_config(args.config, families=True)
    if args.draws is not None and args.augment is None:
        raise InputError("--draws needs --augment")
    augment = parse_augment(args.augment) if args.augment is not None else None
    draws = _integer(args.draws, "--draws", SEARCH_DRAWS, 2)
    if augment is not None and (args.sweep or isinstance(config, FamilyConfig)):
        raise InputError("--augment works with a single anchor config, not with --sweep or a "
                         "detector family")
    if isinstance(config, FamilyConfig):
        return run_family_optimize(args, config)
    ratios = _integer(args.ratios, "--ratios", len(config.aspect_ratios), 1)
    scales = _integer(args.scales, "--scales", len(config.scales), 1)
    seed = _integer(args.seed, "--seed", 0, 0)
    budget = _seconds(args.time_budget)
    max_evaluations = _integer(args.max_evaluations, "--max-evaluations", None, 1)
    sweep_grid = ((_counts(args.sweep_ratios, "--sweep-ratios"),
                   _counts(args.sweep_scales, "--sweep-scales")) if args.sweep else None)
    model_input = parse_input_size(args.input_size, args.resize)
    table, load_seconds = load_dataset(args)
    if len(table) == 0:
        raise InputError("no valid boxes to optimise anchors for", file=args.dataset)
    session = CoverageSession(table, model_input)
    options = {"seed": seed, "optimize_size": not args.fixed_sizes,
               "monotonic_sizes": args.monotonic_sizes, "model_input": model_input,
               "session": session}
    if sweep_grid is not None:
        return _run_sweep(args, table, config, sweep_grid, options, load_seconds)
    with progress_bar("optimizing") as progress:
        result = optimize(table, config, ratios, scales, effort=args.effort or DEFAULT_EFFORT,
                          time_budget=budget, max_evaluations=max_evaluations,
                          progress=progress, augment=augment, augment_draws=draws, **options)
    try:
        save_config(result.config, args.out)
    except OSError as error:
        raise InputError(f"cannot write: {error.strerror or error}", file=args.out) from None
    advice = ceiling_advice(table, result, model_input)
    if args.json:
        print_json(json_report(table, result, advice, args.out, load_seconds))
    else:
        print(format_report(table, result, advice, args.out))
    return 0


def _run_sweep(args, table, config, grid, options: dict, load_seconds: float) -> int:
    effort = args.effort or SWEEP_EFFORT
    started = time.perf_counter()
    with progress_bar("anchor budget") as progress:
        points = sweep(table, config, *grid, effort=effort, progress=progress, **options)
    folder = Path(args.out)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        files = []
        for point in points:
            path = folder / f"anchors_R{point.ratios}_S{point.scales}.json"
            save_config(point.config, path)
            files.append(str(path))
    except OSError as error:
        raise InputError(f"cannot write: {error.strerror or error}", file=args.out) from None
    seconds = time.perf_counter() - started
    if args.json:
        print_json({"dataset": table.summary(), "framework": config.framework,
                    "effort": effort, "ceiling_recall": points[0].ceiling_recall,
                    "pretrained_anchors_per_location":
                        FRAMEWORKS[config.framework].pretrained_anchors_per_location,
                    "points": [{**point.to_dict(), "file": file}
                               for point, file in zip(points, files, strict=True)],
                    "out": str(folder), "seconds": {"load": load_seconds, "sweep": seconds}})
    else:
        print(format_sweep(table, config, points, effort, str(folder), seconds))
    return 0


def format_sweep(table, config, points, effort: str, folder: str, seconds: float) -> str:
    framework = FRAMEWORKS[config.framework]
    ceiling = points[0].ceiling_recall if points else 0.0
    lines = [
        f"Anchor budget for {table.spec}: {table.image_count:,d} images, {len(table):,d} boxes; "
        f"{framework.label}, levels {list(config.levels)}, strides "
        f"{_values(config.strides, 'g')}",
        f"Best exact recall per count of aspect ratios R and scales S (effort {effort}, "
        f"{seconds:.0f} s); | marks the ceiling {_percent(ceiling).strip()} (any anchor shape "
        "on this grid: more anchors cannot pass it)",
        "",
        f"  {'anchors':>7}  {'R':>2} {'S':>2}  {'recall':>8}  {'positives/box':>13}  0 %"
        f"{'100 %':>{RECALL_BAR_WIDTH - 1}}",
    ]
    for point in sorted(points, key=lambda p: (p.anchors_per_location, p.scales)):
        head = ("  pretrained head size"
                if point.anchors_per_location == framework.pretrained_anchors_per_location
                else "")
        lines.append(f"  {point.anchors_per_location:>7}  {point.ratios:>2} {point.scales:>2}  "
                     f"{_percent(point.recall):>8}  {point.mean_positives_per_box:>13.2f}  "
                     f"{recall_bar(point.recall, ceiling)}{head}")
    lines += ["", f"wrote {len(points)} configs to {folder}/ (anchors_R<R>_S<S>.json)"]
    return "\n".join(lines)


def json_report(table, result, advice, out: str, load_seconds: float) -> dict:
    return {
        "dataset": table.summary(),
        "before": {"config": config_to_dict(result.before_config),
                   "coverage": result.before.to_dict()},
        "after": {"config": config_to_dict(result.config),
                  "coverage": result.report.to_dict()},
        "ceiling_recall": result.report.ceiling_recall,
        "head": head_block(result.config),
        "search": {"evaluations": result.evaluations,
                   "full_evaluations": result.full_evaluations,
                   "sample_boxes": result.sample_boxes, "sample_images": result.sample_images,
                   "stopped": result.stopped, "notes": result.notes,
                   "path": [{"evaluation": step.evaluation, "recall": step.recall,
                             "mean_best_iou": step.mean_best_iou,
                             "aspect_ratios": list(step.config.aspect_ratios),
                             "scales": list(step.config.scales),
                             "sizes": list(step.config.sizes)} for step in result.path]},
        "warnings": [advice["message"]] if advice else [],
        "beyond_ceiling": advice,
        "augmented": augmented_block(result),
        "out": out,
        "seconds": {"load": load_seconds, "optimize": result.seconds},
    }


def augmented_block(result) -> dict | None:
    """The objective under `--augment`: the spec, the draws of the search and of the
    confirmation, the seed and the expected recall before and after (None without it)."""
    if result.augment is None:
        return None
    return {"spec": augment_spec(result.augment), "description": result.augment.describe(),
            "search_draws": result.augment_draws, "draws": result.expected_draws,
            "seed": result.augment_seed,
            "recall_expected_before": result.expected_recall_before,
            "recall_expected_after": result.expected_recall}


def _percent(value: float) -> str:
    return f"{100 * value:5.1f} %"


def _values(values, digits: str = ".4g") -> str:
    return "[" + ", ".join(f"{v:{digits}}" for v in values) + "]"


def _expected_line(result) -> list[str]:
    if result.augment is None:
        return []
    return [f"  {'expected recall':<24}{_percent(result.expected_recall_before):>12}"
            f"{_percent(result.expected_recall):>12}   the objective: "
            f"{augment_spec(result.augment)}, {result.expected_draws} draws"]


def format_report(table, result, advice, out: str) -> str:
    before, after = result.before, result.report
    old, new = result.before_config, result.config
    framework = FRAMEWORKS[new.framework]
    lines = [
        f"Optimized anchors for {table.spec}: {table.image_count:,d} images, {len(table):,d} "
        f"boxes; {framework.label}, levels {list(new.levels)}, strides "
        f"{_values(new.strides, 'g')}",
        f"Search: {result.evaluations} evaluations on {result.sample_boxes:,d} sampled boxes "
        f"({result.sample_images:,d} images), {result.full_evaluations} on all boxes, "
        f"{result.seconds:.1f} s ({result.stopped})",
        "",
        f"  {'':<24}{'before':>12}{'after':>12}",
        f"  {'recall':<24}{_percent(before.recall):>12}{_percent(after.recall):>12}",
        *_expected_line(result),
        f"  {'best possible recall':<24}{_percent(before.best_possible_recall):>12}"
        f"{_percent(after.best_possible_recall):>12}",
        f"  {'mean best IoU':<24}{before.mean_best_iou:>12.3f}{after.mean_best_iou:>12.3f}",
        f"  {'uncovered boxes':<24}{before.uncovered_boxes:>12,d}"
        f"{after.uncovered_boxes:>12,d}",
        f"  {'ceiling recall':<24}{_percent(after.ceiling_recall):>12}"
        "   (any anchor shape on this grid)",
        "",
        f"  aspect ratios w/h  {_values(old.aspect_ratios)} -> {_values(new.aspect_ratios)}",
        f"  scales             {_values(old.scales)} -> {_values(new.scales)}",
    ]
    if new.sizes != old.sizes:
        lines.append(f"  sizes              {_values(old.sizes)} -> {_values(new.sizes)}")
    lines += ["", "Per class recall  before -> after"]
    for name, row in after.per_class.items():
        previous = before.per_class[name].recall if name in before.per_class else 0.0
        lines.append(f"  {name:<16}{_percent(previous):>9} -> {_percent(row.recall)}")
    lines += ["", f"head: {head_compatibility(new)[1]}"]
    for note in result.notes:
        lines.append(f"note: {note}")
    if advice:
        lines.append(f"warning: {advice['message']}")
    lines.append(f"wrote {out}")
    return "\n".join(lines)
