"""The sub-commands of `main.py` (without one, it opens the GUI). Each module in COMMANDS has
`add_parser(subparsers)` and `run(args) -> int`; bad input raises InputError, reported as one
line with exit code 2."""

from __future__ import annotations

import argparse
import importlib
import sys

from core.errors import InputError

COMMANDS = ("stats", "analyze", "optimize", "export", "anchors", "screenshot")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="main.py",
        description="Anchor Inspector: anchor coverage for RF spectrogram detectors. "
        "Without a command, opens the GUI.")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(f"cli.{name}").add_parser(subparsers)
    return parser


def run_command(argv: list[str]) -> int:
    """Run one headless command; returns the process exit code."""
    args = build_parser().parse_args(argv)
    try:
        return int(args.run(args) or 0)
    except InputError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
