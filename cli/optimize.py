"""`main.py optimize`: search the aspect ratios and scales that maximise exact recall, write the
config, print before / after and warn when what is left is beyond the grid's ceiling
(docs/optimizer.md, docs/ceiling.md).
"""

from __future__ import annotations

import argparse
import sys

from tqdm import tqdm

from cli.common import (
    add_dataset_arguments,
    add_model_input_arguments,
    load_dataset,
    print_json,
)
from core.analysis import CoverageSession, parse_input_size
from core.anchor_config import config_to_dict, resolve_config, save_config
from core.errors import InputError
from core.frameworks import FRAMEWORKS
from core.optimizer import ceiling_advice, optimize


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
    parser.add_argument("--optimize-size", action="store_true",
                        help="also move the anchor sizes (per level; keras-hub: anchor_size)")
    parser.add_argument("--time-budget", default=None, metavar="SECONDS",
                        help="stop searching after this long (results then depend on speed)")
    parser.add_argument("--max-evaluations", default=None, metavar="N",
                        help="subsample evaluations of the search (default: 300 without "
                        "--time-budget)")
    add_model_input_arguments(parser)
    parser.add_argument("--out", default=None, metavar="FILE",
                        help="where to write the optimised config (.json, .yaml)")
    parser.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    parser.set_defaults(run=run)


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


def run(args: argparse.Namespace) -> int:
    if not args.out:
        raise InputError("--out FILE is required (where to write the optimised config)")
    config = resolve_config(args.config)
    ratios = _integer(args.ratios, "--ratios", len(config.aspect_ratios), 1)
    scales = _integer(args.scales, "--scales", len(config.scales), 1)
    seed = _integer(args.seed, "--seed", 0, 0)
    budget = _seconds(args.time_budget)
    max_evaluations = _integer(args.max_evaluations, "--max-evaluations", None, 1)
    model_input = parse_input_size(args.input_size, args.resize)
    table, load_seconds = load_dataset(args)
    if len(table) == 0:
        raise InputError("no valid boxes to optimise anchors for", file=args.dataset)
    session = CoverageSession(table, model_input)
    with tqdm(total=1000, desc="optimizing", file=sys.stderr, leave=False,
              disable=None if sys.stderr.isatty() else True) as bar:
        def progress(fraction: float, message: str) -> None:
            bar.update(int(1000 * fraction) - bar.n)
            bar.set_postfix_str(message, refresh=False)

        result = optimize(table, config, ratios, scales, seed=seed,
                          optimize_size=args.optimize_size, model_input=model_input,
                          time_budget=budget, max_evaluations=max_evaluations,
                          progress=progress, session=session)
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


def json_report(table, result, advice, out: str, load_seconds: float) -> dict:
    return {
        "dataset": table.summary(),
        "before": {"config": config_to_dict(result.before_config),
                   "coverage": result.before.to_dict()},
        "after": {"config": config_to_dict(result.config),
                  "coverage": result.report.to_dict()},
        "ceiling_recall": result.report.ceiling_recall,
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
        "out": out,
        "seconds": {"load": load_seconds, "optimize": result.seconds},
    }


def _percent(value: float) -> str:
    return f"{100 * value:5.1f} %"


def _values(values, digits: str = ".4g") -> str:
    return "[" + ", ".join(f"{v:{digits}}" for v in values) + "]"


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
    for note in result.notes:
        lines.append(f"note: {note}")
    if advice:
        lines.append(f"warning: {advice['message']}")
    lines.append(f"wrote {out}")
    return "\n".join(lines)
