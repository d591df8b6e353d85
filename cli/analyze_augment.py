"""`main.py analyze --augment SPEC`: coverage as a distribution over a training augmentation
(docs/augmentation.md), next to the coverage as stored."""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np
from tqdm import tqdm

from cli.analyze_family import FAMILY_PER_BOX_COLUMNS, family_per_box_rows
from cli.common import finish_report, load_dataset, write_csv
from core.analysis import ModelInput, analyze
from core.anchor_config import AnchorConfig, config_to_dict
from core.augmentation import (
    DEFAULT_DRAWS,
    AugmentedCoverage,
    augmentation_summary,
    augmented_coverage,
    parse_augment,
)
from core.errors import InputError
from core.family_analysis import analyze_family
from core.family_config import family_to_dict

AUGMENT_PER_BOX_COLUMNS = ("probability", "probability_pm", "dropped_share")


def add_augment_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--augment", default=None, metavar="SPEC",
                        help="coverage under a training augmentation, drawn --draws times: "
                        "jitter:640x640,0.75-1.3 | crop:512x512,0.5 | yolo:640,0.5 "
                        "(docs/augmentation.md)")
    parser.add_argument("--draws", type=int, default=None, metavar="N",
                        help=f"with --augment: seeded random draws (default {DEFAULT_DRAWS})")
    parser.add_argument("--seed", type=int, default=None, metavar="S",
                        help="with --augment: the draws' random seed (default 0)")


def augment_requested(args: argparse.Namespace) -> bool:
    """Whether `analyze` runs the augmented report (or must refuse a stray --draws / --seed)."""
    return any(getattr(args, name, None) is not None for name in ("augment", "draws", "seed"))


def run_augment(args: argparse.Namespace, config, model_input: ModelInput) -> int:
    if args.augment is None:
        raise InputError("--draws and --seed need --augment")
    augment = parse_augment(args.augment)
    draws = DEFAULT_DRAWS if args.draws is None else args.draws
    seed = 0 if args.seed is None else args.seed
    if draws < 2:
        raise InputError(f"--draws must be at least 2 (the ± needs two), got {draws}")
    if seed < 0:
        raise InputError(f"--seed must be a whole number >= 0, got {seed}")
    anchors = isinstance(config, AnchorConfig)
    table, load_seconds = load_dataset(args, warm_up=anchors)
    start = time.perf_counter()
    stored = (analyze if anchors else analyze_family)(table, config, model_input)
    stored_seconds = time.perf_counter() - start
    start = time.perf_counter()
    with tqdm(total=draws, desc="augmented draws", unit="draw", file=sys.stderr, leave=False,
              disable=None if sys.stderr.isatty() else True) as bar:
        result = augmented_coverage(table, config, augment, model_input, draws, seed,
                                    lambda done, _total: bar.update(done - bar.n))
    augmented_seconds = time.perf_counter() - start
    if args.per_box:
        write_augmented_per_box_csv(args.per_box, table, stored, result)
    summary = augmentation_summary(table, stored.report.recall, stored.report.per_class, result)
    report = {"dataset": table.summary(),
              "config": config_to_dict(config) if anchors else family_to_dict(config),
              "coverage": stored.report.to_dict(), "augmented": summary,
              "seconds": {"load": load_seconds, "coverage": stored_seconds,
                          "augmented": augmented_seconds}}
    return finish_report(args, report,
                         lambda: format_augmented(table.spec, report, model_input.describe()),
                         result.recall_mean, model_input)


def augmented_per_box_rows(table, stored, result: AugmentedCoverage) -> tuple[tuple, list]:
    """(columns, rows): `analyze --per-box`'s (or the family's) columns, then the probability
    of a positive under the augmentation, its ± (binomial standard error) and the share of
    draws that dropped the box."""
    if isinstance(stored.config, AnchorConfig):
        from cli.analyze import PER_BOX_COLUMNS, per_box_rows  # cli.analyze imports this module

        columns, rows = PER_BOX_COLUMNS, per_box_rows(table, stored)
    else:
        columns, rows = FAMILY_PER_BOX_COLUMNS, family_per_box_rows(table, stored)
    extra = zip(np.round(result.probability, 6).tolist(),
                np.round(result.probability_pm, 6).tolist(),
                np.round(result.dropped_share, 6).tolist(), strict=True)
    return (*columns, *AUGMENT_PER_BOX_COLUMNS), [
        (*row, *more) for row, more in zip(rows, extra, strict=True)]


def write_augmented_per_box_csv(path: str, table, stored, result: AugmentedCoverage) -> None:
    columns, rows = augmented_per_box_rows(table, stored, result)
    write_csv(path, columns, rows)


def _percent(value: float) -> str:
    return f"{100 * value:5.1f} %"


def _pp(value: float) -> str:
    """A ± in percentage points, two significant digits."""
    return f"{100 * value:.2g} pp"


def format_augmented(spec: str, report: dict, model_input: str) -> str:
    """The text report: recall as stored and under the augmentation, drops, per class."""
    dataset, aug = report["dataset"], report["augmented"]
    lines = [
        f"Coverage of {spec}: {dataset['images']:,d} images, {dataset['boxes']:,d} boxes; "
        f"{model_input}",
        f"Augmentation: {aug['description']}",
        f"  {aug['draws']} draws, seed {aug['seed']} (--augment {aug['spec']})",
        "",
        f"  recall as stored        {_percent(aug['recall_stored'])}",
        f"  expected recall         {_percent(aug['recall_expected'])} ± "
        f"{_pp(aug['recall_expected_pm'])}   mean over draws ± its standard error",
        f"  10th percentile         {_percent(aug['recall_p10'])}   of the recall over draws",
        f"  recall of kept boxes    {_percent(aug['recall_kept'])}   "
        "the boxes the augmentation keeps",
        f"  dropped per draw        {aug['dropped_mean']:>9,.1f}   "
        f"({100 * aug['dropped_share']:.1f} % of the boxes)",
    ]
    lines += [f"    {reason:<22}{count:>9,.1f}" for reason, count in aug["drops"].items()]
    reasons = list(aug["drops"])
    lines += ["", "Per class (as stored -> expected under the augmentation; kept: among the "
              "boxes it keeps)",
              f"  {'class':<16}{'boxes':>9}{'stored':>9}{'expected':>10}{'±pp':>7}"
              f"{'change':>10}{'kept':>9}{'dropped':>9}"]
    rows = sorted(aug["per_class"].items(),
                  key=lambda item: item[1]["expected_recall"] - item[1]["stored_recall"])
    for name, row in rows:
        change = round(100 * (row["expected_recall"] - row["stored_recall"]), 1) + 0.0
        lines.append(
            f"  {name:<16}{row['boxes']:>9,d}{_percent(row['stored_recall']):>9}"
            f"{_percent(row['expected_recall']):>10}{100 * row['expected_pm']:>7.2f}"
            f"{change:>+8.1f}pp{_percent(row['kept_recall']):>9}"
            f"{_percent(row['dropped_share']):>9}"
            + ("   loses coverage" if row["loses"] else ""))
    if any(row["drops"][r] for _, row in rows for r in reasons):
        several = " (a box failing several of YOLO's tests counts in each)" if len(reasons) > 2 \
            else ""
        lines += ["", f"Dropped per draw, by class and reason{several}",
                  f"  {'class':<16}" + "".join(f"{r:>14}" for r in reasons)]
        lines += [f"  {name:<16}" + "".join(f"{row['drops'][r]:>14,.1f}" for r in reasons)
                  for name, row in rows]
    losing = aug["losing_classes"]
    lines += ["", "  classes losing coverage at train-time scales: "
              + (", ".join(losing) if losing else "none")]
    return "\n".join(lines)
