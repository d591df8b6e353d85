"""GUI fixtures: a main window with throwaway settings, and a way to wait for a load."""

import pytest
from PySide6.QtCore import QSettings

from gui.app import create_application


@pytest.fixture
def window(qtbot, tmp_path):
    from gui.main_window import MainWindow

    create_application()
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    win = MainWindow(settings=settings)
    win.resize(1400, 900)
    qtbot.addWidget(win)
    win.show()
    return win


@pytest.fixture
def load(qtbot):
    def load_spec(win, spec: str, timeout: int = 60_000):
        with qtbot.waitSignal(win.loader.loaded, timeout=timeout):
            win.open_dataset(spec)

    return load_spec
