"""A plain Linux desktop without Qt's xcb libraries gets the one install line, not Qt's abort."""

from __future__ import annotations

from gui.app import run_gui
from gui.platform_check import XCB_LIBRARIES, missing_xcb_packages, uses_xcb, xcb_problem

X11 = {"DISPLAY": ":0"}


def only_missing(*names):
    return lambda name: None if name in names else f"lib{name}.so"


def test_xcb_is_used_only_on_an_x_display_without_another_platform():
    assert uses_xcb(X11, "linux")
    assert uses_xcb({**X11, "QT_QPA_PLATFORM": "xcb", "WAYLAND_DISPLAY": "w"}, "linux")
    assert not uses_xcb({**X11, "QT_QPA_PLATFORM": "offscreen"}, "linux")
    assert not uses_xcb({**X11, "WAYLAND_DISPLAY": "wayland-0"}, "linux")
    assert not uses_xcb({}, "linux")
    assert not uses_xcb(X11, "darwin")


def test_missing_libraries_name_their_packages():
    assert missing_xcb_packages(only_missing()) == []
    assert missing_xcb_packages(only_missing("xcb-cursor")) == ["libxcb-cursor0"]
    everything = missing_xcb_packages(lambda name: None)
    assert everything == [package for _, package in XCB_LIBRARIES]
    message = xcb_problem(X11, only_missing("xcb-cursor", "xcb-icccm"))
    assert "sudo apt-get install libxcb-cursor0 libxcb-icccm4" in message
    assert xcb_problem(X11, only_missing()) is None
    assert xcb_problem({**X11, "QT_QPA_PLATFORM": "offscreen"}, lambda name: None) is None


def test_the_gui_does_not_start_without_them(monkeypatch, capsys):
    monkeypatch.setenv("DISPLAY", ":0")
    monkeypatch.delenv("QT_QPA_PLATFORM", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.setattr("gui.platform_check.ctypes.util.find_library",
                        only_missing("xcb-cursor"))
    monkeypatch.setattr("sys.platform", "linux")
    assert run_gui([]) == 2
    assert "sudo apt-get install libxcb-cursor0" in capsys.readouterr().err
