"""Pieces the headless commands share: dataset arguments, loading with a progress bar, the
progress bar of a long computation, the text bar of recall against its ceiling, output."""

from __future__ import annotations

import argparse
import csv
import io
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import orjson
from tqdm import tqdm

from core.analysis import ModelInput
from core.anchor_config import AnchorConfig, head_compatibility, write_atomic
from core.boxes import BoxTable
from core.errors import InputError
from core.frameworks import FRAMEWORKS
from core.input_mapping import RESIZE_MODES
from core.sources import load_table

DEFAULT_DATASET = "demo"
RECALL_BAR_WIDTH = 30  # characters of `recall_bar`: 0 to 100 %


def add_dataset_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--dataset", default=DEFAULT_DATASET, metavar="SPEC",
                        help="KIND:PATH?key=value&... (default: %(default)s)")
    parser.add_argument("--strict", action="store_true",
                        help="treat any skipped (invalid) box as an error")


def add_model_input_arguments(parser: argparse.ArgumentParser) -> None:
    """`--input-size HxW` and `--resize MODE`: the model input (docs/datasets.md)."""
    parser.add_argument("--input-size", default=None, metavar="HxW",
                        help="model input size; boxes are mapped into it before matching")
    parser.add_argument("--resize", default=RESIZE_MODES[0], choices=RESIZE_MODES,
                        help="how images reach --input-size (default: %(default)s)")


def load_dataset(args: argparse.Namespace, warm_up: bool = True) -> tuple[BoxTable, float]:
    """Load `--dataset` with a progress bar on stderr; returns the table and the seconds taken.
    With `warm_up`, the coverage kernel loads in a thread meanwhile (the command computes
    coverage next; its first call would otherwise pay for loading the compiled code)."""
    from core.coverage.engine import warm_up_kernel

    warming = threading.Thread(target=warm_up_kernel, name="kernel-warm-up", daemon=True)
    if warm_up:
        warming.start()
    start = time.perf_counter()
    with tqdm(desc="loading", unit="img", file=sys.stderr, leave=False,
              disable=None if sys.stderr.isatty() else True) as bar:
        def progress(done: int, total: int | None) -> None:
            bar.total = total
            bar.update(done - bar.n)

        table = load_table(args.dataset, strict=args.strict, progress=progress)
    if warm_up:
        warming.join()  # counted as loading: the user waits for it before coverage starts
    return table, time.perf_counter() - start


@contextmanager
def progress_bar(label: str) -> Iterator[Callable[[float, str], None]]:
    """A tqdm bar on stderr (only on a terminal) labelled `label`; yields the callback that
    feeds it the (fraction done in [0, 1], message) progress reports of `core.optimizer.optimize`,
    `core.anchor_budget.sweep` and `core.stft_sweep.stft_sweep`."""
    with tqdm(total=1000, desc=label, file=sys.stderr, leave=False,
              disable=None if sys.stderr.isatty() else True) as bar:
        def progress(fraction: float, message: str) -> None:
            bar.update(int(1000 * fraction) - bar.n)
            bar.set_postfix_str(message, refresh=False)

        yield progress


def recall_bar(recall: float, ceiling: float) -> str:
    """`recall` (a share in [0, 1]) as RECALL_BAR_WIDTH cells on a 0-100 % scale, `█` filled
    and `·` empty, with the cell of `ceiling` (a share too) marked `|`."""
    filled = round(recall * RECALL_BAR_WIDTH)
    mark = min(round(ceiling * RECALL_BAR_WIDTH), RECALL_BAR_WIDTH - 1)
    cells = ["█" if i < filled else "·" for i in range(RECALL_BAR_WIDTH)]
    cells[mark] = "|"
    return "".join(cells)


def print_json(data: dict) -> None:
    sys.stdout.write(orjson.dumps(data, option=orjson.OPT_INDENT_2 | orjson.OPT_SERIALIZE_NUMPY)
                     .decode() + "\n")


def format_count_line(label: str, count: int, total: int, width: int = 24) -> str:
    share = count / total if total else 0.0
    return f"  {label:<{width}} {count:>9,d}  {share:6.1%}"


def head_block(config: AnchorConfig) -> dict:
    """The `head` block of the JSON reports: anchors per location against the pretrained head."""
    fits, note = head_compatibility(config)
    return {"anchors_per_location": config.anchors_per_location,
            "pretrained_anchors_per_location":
                FRAMEWORKS[config.framework].pretrained_anchors_per_location,
            "fits_pretrained_head": fits, "note": note}


def write_csv(path: str, columns: tuple[str, ...], rows: list[tuple]) -> None:
    """A CSV file with a header row, written atomically; InputError naming the file if not."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    writer.writerows(rows)
    try:
        write_atomic(path, buffer.getvalue().encode())
    except OSError as error:
        raise InputError(f"cannot write: {error.strerror}", file=path) from None


def finish_report(args: argparse.Namespace, report: dict, text: Callable[[], str],
                  recall: float, model_input: ModelInput) -> int:
    """Print `analyze`'s JSON (with the model input in its dataset block) or text report; the
    exit code: 1 when recall is under `--fail-under` (a CI gate), else 0."""
    if model_input.size is not None:
        report["dataset"]["input_size"] = list(model_input.size)
        report["dataset"]["resize"] = model_input.resize
    if args.json:
        print_json(report)
    else:
        print(text())
    return 1 if args.fail_under is not None and recall < args.fail_under else 0
