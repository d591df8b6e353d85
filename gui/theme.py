"""The app's one dark look: the colours every widget and plot shares, and the Qt palette."""

from __future__ import annotations

import numpy as np
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication, QLabel

BACKGROUND = "#1e1f22"  # plots and windows
FIELD = "#2b2d30"  # text fields, table cells
ALTERNATE = "#313337"  # alternate table rows
TEXT = "#dfe1e5"
MUTED = "#9da0a8"
ERROR = "#ff6b68"
WARNING = "#e8b04b"
GOOD = "#6fcf7f"
ACCENT = "#3574f0"

# One colour per pyramid level, in config order, wherever levels are drawn (the anchors of the
# cell under the cursor, the size lines and IoU regions of the histograms):
LEVEL_COLOURS = ((255, 235, 90), (90, 225, 200), (240, 110, 220), (180, 150, 255),
                 (160, 230, 90), (255, 255, 255), (200, 170, 130))


def level_colour(index: int) -> tuple[int, int, int]:
    """The colour of the `index`-th level of the config (cycling)."""
    return LEVEL_COLOURS[index % len(LEVEL_COLOURS)]


# One colour scheme for a best-anchor IoU, wherever it is shown (the image, the tables):
IOU_BAND_COLOURS = ("#ff6b68", "#e8b04b", "#ffffff")
IOU_BAND_NAMES = ("below the negative IoU", "in the ignore band", "at or above the positive IoU")


def iou_band(iou, negative_iou: float, positive_iou: float):
    """0 below `negative_iou`, 1 in the ignore band [negative, positive), 2 at or above
    `positive_iou` (a scalar or an array, like `iou`)."""
    return np.digitize(iou, [negative_iou, positive_iou])


def dark_palette() -> QPalette:
    """Light text on the plots' background; the Fusion style renders every role of it."""
    palette = QPalette()
    roles = {
        QPalette.ColorRole.Window: BACKGROUND, QPalette.ColorRole.WindowText: TEXT,
        QPalette.ColorRole.Base: FIELD, QPalette.ColorRole.AlternateBase: ALTERNATE,
        QPalette.ColorRole.Text: TEXT, QPalette.ColorRole.Button: "#2f3135",
        QPalette.ColorRole.ButtonText: TEXT, QPalette.ColorRole.Highlight: ACCENT,
        QPalette.ColorRole.HighlightedText: "#ffffff", QPalette.ColorRole.ToolTipBase: FIELD,
        QPalette.ColorRole.ToolTipText: TEXT, QPalette.ColorRole.PlaceholderText: "#7d8088",
        QPalette.ColorRole.Light: "#45484e", QPalette.ColorRole.Midlight: "#3a3d42",
        QPalette.ColorRole.Mid: "#2a2c30", QPalette.ColorRole.Dark: "#16171a",
        QPalette.ColorRole.Shadow: "#0e0f11", QPalette.ColorRole.Link: "#6fa8ff",
        QPalette.ColorRole.BrightText: "#ffffff",
    }
    for role, colour in roles.items():
        palette.setColor(role, QColor(colour))
    for role in (QPalette.ColorRole.WindowText, QPalette.ColorRole.Text,
                 QPalette.ColorRole.ButtonText):
        palette.setColor(QPalette.ColorGroup.Disabled, role, QColor("#6b6e75"))
    return palette


def apply_dark_theme(app: QApplication) -> None:
    """Fusion style with the dark palette, so docks, menus and dialogs match the plots."""
    app.setStyle("Fusion")
    app.setPalette(dark_palette())


def set_text_colour(label: QLabel, colour: str) -> None:
    """Colour a label's text through its palette (a style sheet would override the palette)."""
    palette = label.palette()
    palette.setColor(QPalette.ColorRole.WindowText, QColor(colour))
    label.setPalette(palette)
