"""`main.py stats`: box count, classes, percentiles and histograms of w/h and sqrt(w*h)."""

from __future__ import annotations

import argparse
import time

from cli.common import add_dataset_arguments, format_count_line, load_dataset, print_json
from core.statistics import box_shape_stats
from core.units import format_hertz, format_seconds, physical_ranges

BAR_WIDTH = 40


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser("stats", help="box-shape statistics of a dataset")
    add_dataset_arguments(parser)
    parser.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    table, load_seconds = load_dataset(args, warm_up=False)  # no coverage here
    start = time.perf_counter()
    stats = box_shape_stats(table)
    physical = physical_ranges(table.units, table.image, table.widths, table.heights)
    if physical is not None:  # only for datasets with physical units (docs/datasets.md)
        stats["physical"] = physical
    report = {"dataset": table.summary(), **stats,
              "seconds": {"load": load_seconds, "stats": time.perf_counter() - start}}
    if args.json:
        print_json(report)
    else:
        print(format_report(report))
    return 0


def format_histogram(title: str, block: dict) -> list[str]:
    edges, counts = block["histogram"]["edges"], block["histogram"]["counts"]
    peak = max(counts) if counts else 0
    lines = [title]
    pct = "  ".join(f"{k}={v:.3g}" for k, v in block["percentiles"].items() if v is not None)
    lines.append(f"  percentiles: {pct}")
    for lo, hi, count in zip(edges, edges[1:], counts, strict=False):
        bar = "#" * round(BAR_WIDTH * count / peak) if peak else ""
        lines.append(f"  {lo:9.3g} – {hi:<9.3g} {count:>9,d}  {bar}")
    return lines


def format_report(report: dict) -> str:
    dataset = report["dataset"]
    total = dataset["boxes"]
    lines = [f"Dataset {dataset['spec']}: {dataset['images']:,d} images, {total:,d} boxes"]
    if dataset["skipped_boxes"]:
        reasons = ", ".join(f"{k} {v:,d}" for k, v in dataset["skipped"].items())
        lines.append(f"  skipped {dataset['skipped_boxes']:,d} invalid boxes ({reasons})")
    if dataset["clipped_boxes"]:
        lines.append(f"  clipped {dataset['clipped_boxes']:,d} boxes to their image")
    lines.append("")
    lines.append("Classes")
    lines += [format_count_line(name, count, total) for name, count in report["classes"].items()]
    lines.append("")
    lines.append("Shape groups")
    for name, group in report["shape_groups"].items():
        label = f"{name.replace('_', ' ')} ({group['rule']})"
        lines.append(format_count_line(label, group["boxes"], total, width=30))
    lines.append("")
    lines += format_histogram("Aspect ratio w/h", report["aspect_ratio"])
    lines.append("")
    lines += format_histogram("Side length sqrt(w*h), px", report["side_length"])
    if "physical" in report:
        lines += ["", *format_physical(report["physical"], total)]
    return "\n".join(lines)


def format_physical(physical: dict, total: int) -> list[str]:
    """Box duration and bandwidth: smallest, median and largest, in s and Hz."""
    lines = ["Physical size"]
    for key, name, fmt in (("duration_s", "duration", format_seconds),
                           ("bandwidth_hz", "bandwidth", format_hertz)):
        if key in physical:
            block = physical[key]
            boxes = "" if block["boxes"] == total else f"  ({block['boxes']:,d} boxes)"
            lines.append(f"  {name:<10} {fmt(block['min'])} – {fmt(block['max'])}, "
                         f"median {fmt(block['p50'])}{boxes}")
    return lines
