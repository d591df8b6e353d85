"""`main.py analyze`: the exact coverage report of an anchor config on a dataset
(docs/coverage.md)."""

from __future__ import annotations

import argparse
import time

import numpy as np

from cli.analyze_augment import add_augment_arguments, augment_requested, run_augment
from cli.analyze_family import run_family
from cli.common import (
    add_dataset_arguments,
    add_model_input_arguments,
    finish_report,
    head_block,
    load_dataset,
    write_csv,
)
from cli.stft_sweep import add_stft_sweep_arguments, run_stft_sweep
from core.analysis import CoverageResult, analyze, parse_input_size
from core.anchor_config import config_to_dict, resolve_config
from core.boxes import BoxTable
from core.coverage.summary import CoverageReport, interpretation
from core.errors import InputError
from core.family_config import FamilyConfig
from core.frameworks import FRAMEWORKS

PER_BOX_COLUMNS = ("image_id", "box_index", "class", "x1", "y1", "x2", "y2", "best_iou",
                   "positives", "matched", "best_level", "ceiling_iou")
# appended when the dataset has physical units (docs/datasets.md); empty where an image has none
PHYSICAL_COLUMNS = ("t_start_s", "t_stop_s", "f_low_hz", "f_high_hz")


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser("analyze", help="exact anchor coverage report of a dataset")
    add_dataset_arguments(parser)
    parser.add_argument("--config", default=None, metavar="FILE",
                        help="anchor config file or preset name (default: keras-cv RetinaNet; "
                        "detector families: yolov5, fcos, atss, yolov8)")
    add_model_input_arguments(parser)
    parser.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    parser.add_argument("--per-box", default=None, metavar="FILE.csv",
                        help="write one CSV row per box")
    parser.add_argument("--fail-under", type=float, default=None, metavar="R",
                        help="exit with code 1 when recall < R (a CI gate)")
    add_stft_sweep_arguments(parser)
    add_augment_arguments(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    config = resolve_config(args.config, families=True)
    model_input = parse_input_size(args.input_size, args.resize)
    if args.fail_under is not None and not 0 <= args.fail_under <= 1:
        raise InputError(f"--fail-under must be a recall between 0 and 1, got {args.fail_under}")
    if args.stft_sweep is not None or args.hop_ratio is not None:
        if augment_requested(args):
            raise InputError("--stft-sweep and --augment answer different questions: run them "
                             "one at a time")
        return run_stft_sweep(args, config, model_input)
    if augment_requested(args):
        return run_augment(args, config, model_input)
    if isinstance(config, FamilyConfig):
        return run_family(args, config, model_input)
    table, load_seconds = load_dataset(args)
    start = time.perf_counter()
    result = analyze(table, config, model_input)
    coverage_seconds = time.perf_counter() - start
    if args.per_box:
        write_per_box_csv(args.per_box, table, result)
    report = {"dataset": table.summary(), "config": config_to_dict(config),
              "coverage": result.report.to_dict(), "head": head_block(config),
              "seconds": {"load": load_seconds, "coverage": coverage_seconds}}
    return finish_report(args, report,
                         lambda: format_report(report, result.report, model_input.describe()),
                         result.report.recall, model_input)


def physical_rows(table: BoxTable) -> list[tuple]:
    """Per box the PHYSICAL_COLUMNS: start and stop time (s), lowest and highest frequency
    (Hz); None (an empty cell) where the image's unit is not known. Needs `table.units`."""
    extents = table.units.box_extents(table.image, table.x1, table.y1, table.x2, table.y2)
    return list(zip(*(np.where(np.isfinite(values), values, None).tolist()
                      for values in extents), strict=True))


def per_box_rows(table: BoxTable, result: CoverageResult) -> list[tuple]:
    """The `--per-box` rows: source ids, source-pixel boxes, coverage (levels by number)."""
    coverage = result.coverage
    levels = np.asarray(result.config.levels)
    best_level = np.where(coverage.best_level >= 0, levels[np.maximum(coverage.best_level, 0)],
                          -1)
    names = np.array([table.class_name(c) for c in range(int(table.cls.max(initial=-1)) + 1)]
                     or [""], dtype=object)
    return list(zip(
        table.image_ids[table.image].tolist(), table.box_index.tolist(),
        names[table.cls].tolist(), table.x1.tolist(), table.y1.tolist(), table.x2.tolist(),
        table.y2.tolist(), np.round(coverage.best_iou, 6).tolist(), coverage.positives.tolist(),
        coverage.matched.astype(int).tolist(), best_level.tolist(),
        np.round(coverage.ceiling_iou, 6).tolist(), strict=True))


def write_per_box_csv(path: str, table: BoxTable, result: CoverageResult) -> None:
    """PER_BOX_COLUMNS, then PHYSICAL_COLUMNS when the dataset has physical units."""
    columns, rows = PER_BOX_COLUMNS, per_box_rows(table, result)
    if table.units is not None:
        columns += PHYSICAL_COLUMNS
        rows = [row + cells for row, cells in zip(rows, physical_rows(table), strict=True)]
    write_csv(path, columns, rows)


def _percent(value: float) -> str:
    return f"{100 * value:5.1f} %"


def format_report(report: dict, cov: CoverageReport, model_input: str) -> str:
    """The text report: `report` is the JSON form (dataset, config), `cov` the coverage."""
    dataset, config = report["dataset"], report["config"]
    total = dataset["boxes"]
    framework = FRAMEWORKS[config["framework"]]
    anchors = len(config["scales"]) * len(config["aspect_ratios"])
    ratios = ", ".join(f"{r:g}" for r in config["aspect_ratios"])
    scales = ", ".join(f"{s:.4g}" for s in config["scales"])
    lines = [
        f"Coverage of {dataset['spec']}: {dataset['images']:,d} images, {total:,d} boxes"
        + (f" ({dataset['skipped_boxes']:,d} invalid skipped)" if dataset["skipped_boxes"]
           else ""),
        f"Anchors: {framework.label}, levels {config['levels']}, sizes {config['sizes']}, "
        f"scales [{scales}], ratios w/h [{ratios}] ({anchors} per location); {model_input}",
        f"Matching: positive IoU >= {config['positive_iou']:g}, negative < "
        f"{config['negative_iou']:g}",
        "",
        f"  recall                  {_percent(cov.recall)}   boxes that get a positive anchor",
        f"  best possible recall    {_percent(cov.best_possible_recall)}   "
        f"best IoU >= {config['positive_iou']:g}",
        f"  ceiling recall          {_percent(cov.ceiling_recall)}   "
        "any anchor shape on this grid could reach",
        f"  mean / median best IoU  {cov.mean_best_iou:.3f} / {cov.median_best_iou:.3f}",
        f"  uncovered boxes         {cov.uncovered_boxes:,d}",
        f"  positives per box       {cov.mean_positives_per_box:.2f}",
    ]
    if cov.low_quality_only:
        lines.append(f"  low-quality only        {cov.low_quality_only:,d}   "
                     "matched only by the forced best-anchor step")
    lines += ["", f"  {interpretation(cov)}", f"  head: {report['head']['note']}"]
    lines += ["", "Per level (boxes whose best anchor is on it)",
              f"  {'level':<8}{'boxes':>10}{'matched':>10}{'mean IoU':>10}{'positives':>12}"]
    for level, row in cov.per_level.items():
        lines.append(f"  P{level:<7}{row.best_boxes:>10,d}{row.matched_best_boxes:>10,d}"
                     f"{row.mean_best_iou:>10.3f}{row.positive_anchors:>12,d}")
    lines += ["", "Per class",
              f"  {'class':<16}{'boxes':>9}{'recall':>9}{'best poss.':>11}{'mean IoU':>10}"
              f"{'uncovered':>11}"]
    for name, row in cov.per_class.items():
        lines.append(f"  {name:<16}{row.boxes:>9,d}{_percent(row.recall):>9}"
                     f"{_percent(row.best_possible_recall):>11}{row.mean_best_iou:>10.3f}"
                     f"{row.uncovered:>11,d}")
    return "\n".join(lines)
