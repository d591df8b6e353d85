"""`main.py analyze` for a detector family (docs/families.md): positives as the real code counts
them, recall, the misses by reason; `--per-box` with the family's columns."""

from __future__ import annotations

import argparse
import time

import numpy as np

from cli.common import finish_report, load_dataset, write_csv
from core.analysis import ModelInput
from core.assigners.common import MISS_REASONS
from core.boxes import BoxTable
from core.family_analysis import FamilyResult, analyze_family, level_names
from core.family_config import FamilyConfig, family_to_dict

FAMILY_PER_BOX_COLUMNS = ("image_id", "box_index", "class", "x1", "y1", "x2", "y2", "positives",
                          "matched", "best_level", "miss_reason")


def run_family(args: argparse.Namespace, config: FamilyConfig, model_input: ModelInput) -> int:
    table, load_seconds = load_dataset(args, warm_up=False)
    start = time.perf_counter()
    result = analyze_family(table, config, model_input)
    seconds = time.perf_counter() - start
    if args.per_box:
        write_family_per_box_csv(args.per_box, table, result)
    report = {"dataset": table.summary(), "config": family_to_dict(config),
              "family": {"label": config.family.label, "positives": config.family.positives,
                         "note": config.family.note},
              "coverage": result.report.to_dict(),
              "seconds": {"load": load_seconds, "coverage": seconds}}
    return finish_report(args, report,
                         lambda: format_family_report(table, result, model_input.describe()),
                         result.report.recall, model_input)


def family_per_box_rows(table: BoxTable, result: FamilyResult) -> list[tuple]:
    coverage = result.coverage
    names = np.array(level_names(result.config) + ["-"], dtype=object)
    classes = np.array([table.class_name(c) for c in range(int(table.cls.max(initial=-1)) + 1)]
                       or [""], dtype=object)
    reasons = np.array([MISS_REASONS[code] for code in range(max(MISS_REASONS) + 1)],
                       dtype=object)
    return list(zip(
        table.image_ids[table.image].tolist(), table.box_index.tolist(),
        classes[table.cls].tolist(), table.x1.tolist(), table.y1.tolist(), table.x2.tolist(),
        table.y2.tolist(), coverage.positives.tolist(), coverage.matched.astype(int).tolist(),
        names[coverage.best_level].tolist(), reasons[coverage.miss_reason].tolist(),
        strict=True))


def write_family_per_box_csv(path: str, table: BoxTable, result: FamilyResult) -> None:
    write_csv(path, FAMILY_PER_BOX_COLUMNS, family_per_box_rows(table, result))


def _percent(value: float) -> str:
    return f"{100 * value:5.1f} %"


def format_family_report(table: BoxTable, result: FamilyResult, model_input: str) -> str:
    config, report = result.config, result.report
    family = config.family
    total = len(table)
    lines = [
        f"Coverage of {table.spec}: {table.image_count:,d} images, {total:,d} boxes",
        f"Family: {family.label}; {model_input}",
        f"Positives: {family.positives}",
        "",
        f"  recall                  {_percent(report.recall)}   boxes with at least one positive",
        f"  uncovered boxes         {report.uncovered_boxes:,d}",
        f"  positives per box       {report.mean_positives_per_box:.2f}",
    ]
    extra = report.extra
    if "autoanchor_best_possible_recall" in extra:
        bpr = _percent(extra["autoanchor_best_possible_recall"])
        aat = extra["autoanchor_anchors_above_threshold"]
        lines += [f"  autoanchor BPR          {bpr}   YOLOv5's own shape-only check",
                  f"  anchors above thr.      {aat:7.2f}"]
    if family.note:
        lines.append(f"  note: {family.note}")
    if report.misses:
        lines += ["", "Missed boxes by reason"]
        lines += [f"  {reason:<46}{count:>9,d}" for reason, count in report.misses.items()]
    lines += ["", "Per level (boxes with the most positives on it)"]
    lines += [f"  {name:<8}{count:>10,d}" for name, count in report.per_level.items()]
    lines += ["", f"  {'class':<16}{'boxes':>9}{'recall':>9}{'uncovered':>11}"]
    for name, row in report.per_class.items():
        lines.append(f"  {name:<16}{row.boxes:>9,d}{_percent(row.recall):>9}"
                     f"{row.uncovered:>11,d}")
    return "\n".join(lines)
