"""`main.py analyze --stft-sweep 64,128,...`: recall and ceiling of a `sigmf:` dataset under the
config's anchors at each FFT size, as a table or JSON rows (docs/datasets.md#stft-sweep)."""

from __future__ import annotations

import argparse
import time

from cli.common import RECALL_BAR_WIDTH, head_block, print_json, progress_bar, recall_bar
from core.analysis import ModelInput
from core.anchor_config import AnchorConfig, config_to_dict
from core.errors import InputError
from core.frameworks import FRAMEWORKS
from core.stft_sweep import (
    StftPoint,
    best_point,
    check_hop_ratio,
    check_sweep_spec,
    spec_hop_ratio,
    stft_sweep,
)
from core.units import format_quantity


def add_stft_sweep_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--stft-sweep", default=None, metavar="N,N,...",
                        help="sigmf datasets: instead of one report, recall and ceiling at each "
                        "of these FFT sizes, e.g. 64,128,256,512,1024,2048,4096")
    parser.add_argument("--hop-ratio", default=None, metavar="R",
                        help="with --stft-sweep: hop = R x nfft, 0 < R <= 1 (default: the "
                        "dataset's own hop / nfft, 1 without a hop)")


def _nffts(text: str) -> list[int]:
    try:
        values = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise InputError(f"--stft-sweep must be FFT sizes separated by commas, such as "
                         f"64,128,256, got {text!r}") from None
    if not values:
        raise InputError("--stft-sweep needs at least one FFT size")
    return values


def _hop_ratio(text: str | None) -> float | None:
    if text is None:
        return None
    try:
        value = float(text)
    except ValueError:
        raise InputError(f"--hop-ratio must be a number such as 0.5, got {text!r}") from None
    try:
        return check_hop_ratio(value)
    except InputError as error:
        raise InputError(f"--hop-ratio: {error.problem}") from None


def run_stft_sweep(args: argparse.Namespace, config, model_input: ModelInput) -> int:
    """`analyze` with `--stft-sweep` (or a stray `--hop-ratio`): the sweep's table or JSON."""
    if args.stft_sweep is None:
        raise InputError("--hop-ratio needs --stft-sweep")
    if not isinstance(config, AnchorConfig):
        raise InputError("--stft-sweep sweeps an anchor config; a detector family config "
                         "cannot be swept", file=args.config)
    for option, value in (("--per-box", args.per_box), ("--fail-under", args.fail_under)):
        if value is not None:
            raise InputError(f"{option} is not available with --stft-sweep")
    nffts, hop_ratio = _nffts(args.stft_sweep), _hop_ratio(args.hop_ratio)
    check_sweep_spec(args.dataset)
    started = time.perf_counter()
    with progress_bar("STFT sweep") as progress:
        points = stft_sweep(args.dataset, config, nffts, hop_ratio, model_input, progress,
                            strict=args.strict)
    seconds = time.perf_counter() - started
    ratio = spec_hop_ratio(args.dataset) if hop_ratio is None else hop_ratio
    if args.json:
        print_json(json_report(args.dataset, config, points, ratio, model_input, seconds))
    else:
        print(format_sweep(args.dataset, config, points, ratio, model_input))
    return 0


def json_report(spec: str, config: AnchorConfig, points: list[StftPoint], hop_ratio: float,
                model_input: ModelInput, seconds: float) -> dict:
    best = best_point(points)
    dataset = {"spec": spec, "images": points[0].images, "boxes": points[0].boxes}
    if model_input.size is not None:
        dataset["input_size"] = list(model_input.size)
        dataset["resize"] = model_input.resize
    return {"dataset": dataset, "config": config_to_dict(config), "head": head_block(config),
            "hop_ratio": hop_ratio, "points": [point.to_dict() for point in points],
            "best_nfft": best.nfft if best.recall > 0 else None, "seconds": {"sweep": seconds}}


def _percent(value: float) -> str:
    return f"{100 * value:5.1f} %"


def format_sweep(spec: str, config: AnchorConfig, points: list[StftPoint], hop_ratio: float,
                 model_input: ModelInput) -> str:
    """The text table: one row per FFT size, a bar of recall with each row's ceiling at `|`."""
    framework = FRAMEWORKS[config.framework]
    first = points[0]
    rate = (f"; fs {format_quantity(first.hz_per_row * first.nfft, 'S/s', 4)}"
            if first.hz_per_row is not None else "; sample rates differ")
    lines = [
        f"STFT sweep of {spec}: {first.images:,d} recording{'s' * (first.images != 1)}, "
        f"{first.boxes:,d} boxes{rate}",
        f"Anchors: {framework.label}, levels {list(config.levels)}, sizes "
        f"[{', '.join(f'{s:g}' for s in config.sizes)}]; {model_input.describe()}",
        f"hop = {hop_ratio:g} x nfft; images of nfft rows x ceil(samples / hop) columns; "
        "| marks each row's ceiling",
        "",
        f"  {'nfft':>6} {'hop':>6} {'Hz/row':>11} {'time/col':>11} {'boxes':>7} {'recall':>8}"
        f" {'ceiling':>8} {'pos/box':>8}  0 %{'100 %':>{RECALL_BAR_WIDTH - 1}}",
    ]
    for p in points:
        hz = "-" if p.hz_per_row is None else format_quantity(p.hz_per_row, "Hz", 4)
        col = ("-" if p.seconds_per_column is None
               else format_quantity(p.seconds_per_column, "s", 4))
        lines.append(f"  {p.nfft:>6} {p.hop:>6} {hz:>11} {col:>11} {p.boxes:>7,d} "
                     f"{_percent(p.recall):>8} {_percent(p.ceiling_recall):>8} "
                     f"{p.mean_positives_per_box:>8.2f}  {recall_bar(p.recall, p.ceiling_recall)}")
    best = best_point(points)
    if best.recall > 0:
        lines += ["", f"best recall: nfft {best.nfft} (hop {best.hop}) with "
                  f"{_percent(best.recall).strip()}, ceiling "
                  f"{_percent(best.ceiling_recall).strip()}"]
    else:
        lines += ["", "best recall: none; no FFT size gives any box a positive anchor"]
    return "\n".join(lines)
