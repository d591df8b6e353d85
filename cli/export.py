"""`main.py export`: write a config as the canonical file or as code / config for a framework."""

from __future__ import annotations

import argparse
import sys

from core.anchor_config import resolve_config, write_atomic
from core.errors import InputError
from core.exports import EXPORTERS, export_text
from core.exports.families import FAMILY_EXPORTERS, export_family_text
from core.family_config import FamilyConfig


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    formats = ", ".join([*EXPORTERS, *FAMILY_EXPORTERS])
    parser = subparsers.add_parser(
        "export", help="export a config for a detection framework",
        description="Write the anchor config as the canonical JSON/YAML file or as ready code / "
        f"config for a framework ({formats}). Ratios are converted to the framework's own "
        "meaning; a config the framework cannot express is refused with the nearest one it can.")
    parser.add_argument("--config", required=True, metavar="FILE",
                        help="config file (JSON/YAML) or preset name")
    parser.add_argument("--to", required=True, metavar="FORMAT", dest="format",
                        help=f"one of: {formats}")
    parser.add_argument("--out", default=None, metavar="FILE",
                        help="write here (atomically) instead of to stdout")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    config = resolve_config(args.config, families=True)
    try:
        if isinstance(config, FamilyConfig):
            text = export_family_text(config, args.format)
        else:
            text = export_text(config, args.format)
    except InputError as error:
        if error.file is None:
            raise InputError(error.problem, file=str(args.config), record=error.record) from None
        raise
    if args.out is None:
        sys.stdout.write(text)
        return 0
    try:
        write_atomic(args.out, text.encode("utf-8"))
    except OSError as error:
        raise InputError(f"cannot write: {error.strerror or error}", file=args.out) from None
    print(f"{args.format} export of {args.config} -> {args.out}", file=sys.stderr)
    return 0
