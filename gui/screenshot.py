"""Render the whole main window offscreen to a PNG, headless (`cli/screenshot.py`)."""

from __future__ import annotations

import os
import sys

from core.anchor_config import AnchorConfig

LOAD_TIMEOUT_MS = 120_000


def render_window_png(window, path: str) -> None:
    """Grab the window's pixels and save them atomically as PNG."""
    tmp = f"{path}.tmp.png"
    if not window.grab().save(tmp, "PNG"):
        raise OSError(f"{path}: could not write the PNG")
    os.replace(tmp, path)


def render_screenshot(dataset: str, config: AnchorConfig | None, out: str,
                      size: tuple[int, int]) -> int:
    """Open the window on `dataset` (and `config`), wait for the exact coverage, save `out`."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QEventLoop, QSettings, QTimer

    from gui.app import create_application
    from gui.main_window import MainWindow

    app = create_application()
    settings = QSettings(os.devnull, QSettings.Format.IniFormat)  # never touch the user's
    window = MainWindow(settings=settings)
    window.resize(*size)
    window.show()
    loop = QEventLoop()
    errors: list[str] = []
    window.loader.loaded.connect(lambda *_: loop.quit())
    window.loader.failed.connect(lambda message: (errors.append(message), loop.quit()))
    QTimer.singleShot(LOAD_TIMEOUT_MS, loop.quit)
    window.loader.failed.disconnect(window._on_load_failed)  # report on stderr, not in a dialog
    if config is not None:
        window.state.set_config(config)
    window.open_dataset(dataset)
    loop.exec()
    if errors:
        print(f"error: {errors[0]}", file=sys.stderr)
        return 2
    window.coverage.wait()
    app.processEvents()
    render_window_png(window, out)
    window.close()
    return 0
