"""`screenshot`: render the whole main window offscreen to a PNG (the README's picture, CI
artefacts). The rendering itself is GUI code and is imported only when the command runs."""

from __future__ import annotations

import argparse

from cli.common import DEFAULT_DATASET
from core.anchor_config import resolve_config
from core.errors import InputError


def parse_size(text: str) -> tuple[int, int]:
    try:
        width, height = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise InputError(f"--size: expected WxH such as 1500x950, got {text!r}") from None
    return width, height


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser("screenshot", help="render the main window offscreen to a PNG",
                                   description="Render the main window offscreen to a PNG.")
    parser.add_argument("--dataset", default=DEFAULT_DATASET, metavar="SPEC",
                        help="KIND:PATH?key=value&... (default: %(default)s)")
    parser.add_argument("--config", default=None, metavar="FILE",
                        help="anchor config file or preset name (default: keras-cv RetinaNet)")
    parser.add_argument("--out", required=True, metavar="FILE.png")
    parser.add_argument("--size", default="1500x950", metavar="WxH")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from gui.screenshot import render_screenshot

    size = parse_size(args.size)
    config = resolve_config(args.config) if args.config is not None else None
    return render_screenshot(args.dataset, config, args.out, size)
