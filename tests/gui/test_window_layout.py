"""A small window shrinks the panels, not the spectrogram: at 1100x700 the window keeps its size,
the image keeps square pixels and a fair share of the room, long status text is elided, and
what image is shown stays readable (on the image's caption, not a toolbar that overflows)."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QSettings


@pytest.mark.parametrize("size", [(1100, 700), (1600, 1000)])
def test_the_image_keeps_its_aspect_and_its_room(qtbot, tmp_path, size):
    from gui.app import create_application
    from gui.main_window import MainWindow

    create_application()
    window = MainWindow(settings=QSettings(str(tmp_path / "s.ini"),
                                           QSettings.Format.IniFormat))
    qtbot.addWidget(window)
    window.resize(*size)
    window.show()
    with qtbot.waitSignal(window.loader.loaded, timeout=60_000):
        window.open_dataset("demo?images=30&seed=1")
    window.coverage.wait(60)
    qtbot.wait(50)
    assert (window.width(), window.height()) == size
    view_box = window.view.getPlotItem().getViewBox()
    shown, pixels = view_box.viewRect(), view_box.sceneBoundingRect()
    x_scale, y_scale = pixels.width() / shown.width(), pixels.height() / shown.height()
    assert x_scale == pytest.approx(y_scale, rel=0.01)  # square pixels
    assert min(pixels.width(), pixels.height()) >= 0.25 * size[1]
    assert window.centralWidget().width() >= 0.3 * size[0]
    assert "512×512 px" in window.view.getPlotItem().titleLabel.text
    window.dataset_label.setText("coco:" + "/very/long/path" * 40 + "/annotations.json")
    assert window.dataset_label.width() < size[0] - window.coverage_label.width()
    window.close()
