"""The single entry point: `python main.py` opens the GUI, sub-commands run headless."""

from __future__ import annotations

import sys

from core.cli import COMMANDS


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "screenshot":
        from gui.screenshot import run_screenshot

        return run_screenshot(argv[1:])
    if argv and (argv[0] in COMMANDS or argv[0] in ("-h", "--help")):
        from core.cli import run_command

        return run_command(argv)
    from gui.app import run_gui

    return run_gui(argv)


if __name__ == "__main__":
    sys.exit(main())
