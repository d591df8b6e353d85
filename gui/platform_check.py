"""Before Qt starts on an X11 desktop: name the system libraries its xcb plugin needs, so a
missing one gives a one-line install command instead of Qt's generic "could not load the Qt
platform plugin" abort."""

from __future__ import annotations

import ctypes.util
import os
import sys

XCB_LIBRARIES = (  # (library name for find_library, Debian/Ubuntu package)
    ("xcb-cursor", "libxcb-cursor0"),  # required by Qt >= 6.5
    ("xcb-icccm", "libxcb-icccm4"),
    ("xcb-keysyms", "libxcb-keysyms1"),
    ("xcb-image", "libxcb-image0"),
    ("xcb-render-util", "libxcb-render-util0"),
    ("xcb-shape", "libxcb-shape0"),
    ("xkbcommon-x11", "libxkbcommon-x11-0"),
)


def uses_xcb(environ=None, platform: str | None = None) -> bool:
    """Qt will pick its xcb plugin: Linux, an X display, no other platform asked for."""
    environ = os.environ if environ is None else environ
    platform = sys.platform if platform is None else platform
    requested = environ.get("QT_QPA_PLATFORM", "")
    if not platform.startswith("linux") or requested not in ("", "xcb"):
        return False
    return bool(environ.get("DISPLAY")) and (requested == "xcb"
                                             or not environ.get("WAYLAND_DISPLAY"))


def missing_xcb_packages(find_library=None) -> list[str]:
    """The packages of the xcb plugin's libraries that are not installed."""
    find_library = find_library or ctypes.util.find_library
    return [package for name, package in XCB_LIBRARIES if find_library(name) is None]


def xcb_problem(environ=None, find_library=None) -> str | None:
    """The message to print instead of starting Qt, or None when nothing is missing."""
    if not uses_xcb(environ):
        return None
    missing = missing_xcb_packages(find_library)
    if not missing:
        return None
    return ("Qt needs these libraries to open a window on X11: "
            f"sudo apt-get install {' '.join(missing)}  (or run headless with "
            "QT_QPA_PLATFORM=offscreen)")
