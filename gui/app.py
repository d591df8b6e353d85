"""Starts the GUI: `python main.py [--dataset SPEC] [--config FILE]`."""

from __future__ import annotations

import argparse
import sys

DEFAULT_WINDOW_SIZE = (1500, 950)
EXIT_WAIT_MS = 5000


def parse_gui_arguments(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="main.py", description="Open the Anchor Inspector GUI.")
    parser.add_argument("--dataset", default=None, metavar="SPEC",
                        help="dataset to open (default: the last one, else the demo)")
    parser.add_argument("--config", default=None, metavar="FILE", help="anchor config to open")
    return parser.parse_args(argv)


def create_application():
    """The QApplication with pyqtgraph's options set once (and the coverage kernel loaded
    first: see `core.coverage.engine.load_kernel`)."""
    from PIL import Image

    from core.coverage.engine import load_kernel

    load_kernel()
    Image.preinit()  # the common image plugins, which a pixel worker would import off-thread
    import pyqtgraph as pg
    from PySide6.QtWidgets import QApplication

    from gui.theme import apply_dark_theme

    pg.setConfigOptions(antialias=True, imageAxisOrder="row-major")
    app = QApplication.instance() or QApplication(sys.argv[:1])
    apply_dark_theme(app)
    app.setApplicationName("Anchor Inspector")
    app.setOrganizationName("AnchorInspector")
    return app


def create_window(dataset: str | None = None, config: str | None = None, settings=None):
    """The main window, sized, with `config` (else the remembered one) and loading `dataset`
    (else the remembered one, else the demo)."""
    from gui.main_window import MainWindow

    window = MainWindow(settings=settings)
    window.resize(*DEFAULT_WINDOW_SIZE)
    window.restore_layout()
    if config is not None:
        window.open_config(config)
    spec = dataset or window.settings.value("last_dataset", "demo") or "demo"
    window.open_dataset(str(spec))
    return window


def run_gui(argv: list[str]) -> int:
    args = parse_gui_arguments(argv)
    from gui.platform_check import xcb_problem

    problem = xcb_problem()
    if problem is not None:
        print(problem, file=sys.stderr)
        return 2
    app = create_application()
    window = create_window(args.dataset, args.config)
    window.show()
    code = app.exec()
    from PySide6.QtCore import QThreadPool

    # a computation or decode still running finishes before the interpreter goes away (its
    # result is dropped): no traceback from a half-torn-down process on exit
    QThreadPool.globalInstance().waitForDone(EXIT_WAIT_MS)
    return code
