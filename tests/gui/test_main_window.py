"""The main window loads a dataset in the background, shows it, and survives bad input."""

import numpy as np
from PySide6.QtWidgets import QMessageBox


def test_loads_demo_and_navigates(window, load, qtbot):
    load(window, "demo?images=12&seed=3")
    table = window.table
    assert table.image_count == 12
    assert window.image_spin.maximum() == 11
    assert "12 images" in window.dataset_label.text()
    window.next_button.click()
    assert window.image_spin.value() == 1
    rows = window.boxes_of_image(1)
    assert (table.image[rows] == 1).all() and len(rows) == (table.image == 1).sum()
    xs, _ = window.view.boxes_item.getData()
    assert len(xs) == 6 * len(rows)  # one closed outline (5 points + gap) per box
    image = window.view.image_item.image
    assert image.shape == (table.image_heights[1], table.image_widths[1])
    assert np.isfinite(image).all()


def test_bad_dataset_keeps_previous(window, load, qtbot, monkeypatch):
    load(window, "demo?images=5")
    messages = []
    monkeypatch.setattr(QMessageBox, "warning", lambda *args: messages.append(args[2]))
    with qtbot.waitSignal(window.loader.failed, timeout=10_000):
        window.open_dataset("demo?images=-3")
    assert messages and "images" in messages[0]
    assert window.table.image_count == 5


def test_cancel_keeps_previous(window, load, qtbot):
    load(window, "demo?images=5")
    window.open_dataset("demo?images=200000")
    with qtbot.waitSignal(window.loader.cancelled, timeout=5_000):
        window.cancel_button.click()
    assert window.table.image_count == 5
    assert not window.cancel_button.isVisible()


def test_screenshot_command(tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    out = tmp_path / "window.png"
    root = Path(__file__).resolve().parents[2]
    result = subprocess.run(
        [sys.executable, "main.py", "screenshot", "--dataset", "demo?images=4", "--out", str(out),
         "--size", "1400x900"], cwd=root, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    from PySide6.QtGui import QImage

    image = QImage(str(out))
    assert (image.width(), image.height()) == (1400, 900)
