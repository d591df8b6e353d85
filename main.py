"""The single entry point: `python main.py` opens the GUI, sub-commands run headless."""

from __future__ import annotations

import os
import sys

# TensorFlow (imported only by the tf.data sources) logs its CPU/CUDA probing on stderr; keep the
# CLI's stderr to progress and errors unless the user asked for TF's logs.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from cli import COMMANDS  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and (argv[0] in COMMANDS or argv[0] in ("-h", "--help")):
        from cli import run_command

        return run_command(argv)
    from gui.app import run_gui

    return run_gui(argv)


if __name__ == "__main__":
    sys.exit(main())
