"""`main.py screenshot`: render the whole main window offscreen to a PNG, headless."""

from __future__ import annotations

import argparse
import os
import sys

LOAD_TIMEOUT_MS = 120_000


def parse_screenshot_arguments(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="main.py screenshot",
                                     description="Render the main window offscreen to a PNG.")
    parser.add_argument("--dataset", default="demo", metavar="SPEC")
    parser.add_argument("--config", default=None, metavar="FILE")
    parser.add_argument("--out", required=True, metavar="FILE.png")
    parser.add_argument("--size", default="1500x950", metavar="WxH")
    return parser.parse_args(argv)


def render_window_png(window, path: str) -> None:
    """Grab the window's pixels and save them atomically as PNG."""
    tmp = f"{path}.tmp.png"
    if not window.grab().save(tmp, "PNG"):
        raise OSError(f"{path}: could not write the PNG")
    os.replace(tmp, path)


def run_screenshot(argv: list[str]) -> int:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    args = parse_screenshot_arguments(argv)
    try:
        width, height = (int(v) for v in args.size.lower().split("x"))
    except ValueError:
        print(f"error: --size: expected WxH such as 1500x950, got {args.size!r}", file=sys.stderr)
        return 2
    from PySide6.QtCore import QEventLoop, QSettings, QTimer

    from gui.app import create_application
    from gui.main_window import MainWindow

    app = create_application()
    settings = QSettings(os.devnull, QSettings.Format.IniFormat)  # never touch the user's
    window = MainWindow(settings=settings)
    window.resize(width, height)
    window.show()
    loop = QEventLoop()
    errors: list[str] = []
    window.loader.loaded.connect(lambda *_: loop.quit())
    window.loader.failed.connect(lambda message: (errors.append(message), loop.quit()))
    QTimer.singleShot(LOAD_TIMEOUT_MS, loop.quit)
    window.loader.failed.disconnect(window._on_load_failed)  # report on stderr, not in a dialog
    if args.config is not None:
        from core.anchor_config import resolve_config
        from core.errors import InputError

        try:
            window.state.set_config(resolve_config(args.config))
        except InputError as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
    window.open_dataset(args.dataset)
    loop.exec()
    if errors:
        print(f"error: {errors[0]}", file=sys.stderr)
        return 2
    window.coverage.wait()
    app.processEvents()
    render_window_png(window, args.out)
    window.close()
    return 0
