"""`main.py anchors`: write the exact anchors a framework generates for one input size to a .npy."""

from __future__ import annotations

import argparse
import io
import re
import sys

import numpy as np

from core.anchor_config import resolve_config, write_atomic
from core.errors import InputError


def parse_image_size(text: str) -> tuple[int, int]:
    """'HxW' (e.g. '512x512', '300x500') -> (height, width); InputError otherwise."""
    match = re.fullmatch(r"\s*(\d+)\s*[xX×]\s*(\d+)\s*", text or "")
    if not match or int(match.group(1)) < 1 or int(match.group(2)) < 1:
        raise InputError(f"--image-size must be HxW with positive integers, e.g. 512x512; "
                         f"got {text!r}")
    return int(match.group(1)), int(match.group(2))


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "anchors", help="write the exact anchors (N x 4 xyxy float32) a framework generates",
        description="Write the anchors the config's framework generates for a model input of "
        "HxW pixels, as an (N, 4) float32 xyxy array in the framework's own order (level, row, "
        "column, anchor shape).")
    parser.add_argument("--config", default=None, metavar="FILE",
                        help="config file (JSON/YAML) or preset name; default: keras-cv-retinanet")
    parser.add_argument("--image-size", required=True, metavar="HxW",
                        help="model-input size in pixels, height x width, e.g. 512x512")
    parser.add_argument("--out", required=True, metavar="FILE.npy", help="output .npy file")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from core.anchor_generation import generate_anchors

    height, width = parse_image_size(args.image_size)
    config = resolve_config(args.config)
    anchors = generate_anchors(config, height, width).astype(np.float32)
    buffer = io.BytesIO()
    np.save(buffer, anchors)
    try:
        write_atomic(args.out, buffer.getvalue())
    except OSError as error:
        raise InputError(f"cannot write: {error.strerror or error}", file=args.out) from None
    print(f"{len(anchors)} anchors ({config.framework}, {height}x{width}) -> {args.out}",
          file=sys.stderr)
    return 0
