"""A dialog's background run: the function gets `progress` and `cancelled`, its reports arrive on
the GUI thread, Cancel stops it with its result still delivered, closing the dialog leaves no
thread behind and drops the result, and an exception reaches `failed` as text."""

import threading

import pytest
from PySide6.QtCore import QThreadPool
from PySide6.QtWidgets import QDialog, QLabel, QProgressBar, QPushButton

from gui.background_run import STARTING, STOPPING, BackgroundRun


def count_until_cancelled(start, *, step=1, progress, cancelled):
    """Reports every count from `start` until cancelled; returns the last one."""
    count = start
    while not cancelled():
        count += step
        progress(min(count / 1000, 1.0), f"counted {count}")
        threading.Event().wait(0.001)
    return count


@pytest.fixture
def dialog(qtbot):
    dialog = QDialog()
    qtbot.addWidget(dialog)
    return dialog


def recorder(signal) -> list:
    """Every emission of `signal`, with whether it arrived on the GUI thread."""
    seen = []
    signal.connect(lambda *args: seen.append(
        (threading.current_thread() is threading.main_thread(), *args)))
    return seen


def test_progress_arrives_on_the_gui_thread_and_cancel_returns_the_result(dialog, qtbot):
    run = BackgroundRun(dialog)
    progressed, returned = recorder(run.progressed), recorder(run.returned)
    running = recorder(run.running_changed)
    run.start(count_until_cancelled, 10, step=2)
    assert run.running and not run.cancel_requested
    assert progressed[0] == (True, 0.0, STARTING)  # at once, before the first report
    qtbot.waitUntil(lambda: any(message != STARTING for *_, message in progressed),
                    timeout=5_000)
    assert all(on_gui for on_gui, *_ in progressed)
    assert all(0.0 <= fraction <= 1.0 for _, fraction, _ in progressed)
    on_gui, fraction, message = progressed[-1]
    assert message.startswith("counted ") and int(message.split()[1]) % 2 == 0  # step=2 passed
    run.cancel()
    assert run.cancel_requested
    with qtbot.waitSignal(run.returned, timeout=5_000):
        pass
    assert not run.running and running == [(True, True), (True, False)]
    [(on_gui, count)] = returned
    assert on_gui and count >= 12


def test_reports_are_clamped_and_the_newest_is_repeated(dialog, qtbot):
    def overshoot(*, progress, cancelled):
        progress(1.5, "done and more")
        while not cancelled():
            threading.Event().wait(0.001)

    run = BackgroundRun(dialog)
    progressed = recorder(run.progressed)
    run.start(overshoot)
    qtbot.waitUntil(lambda: len([p for p in progressed if p[2] == "done and more"]) >= 2,
                    timeout=5_000)  # polled: the same report again on the next tick
    assert progressed[-1] == (True, 1.0, "done and more")
    run.cancel()
    qtbot.waitUntil(lambda: not run.running, timeout=5_000)


def test_closing_the_dialog_detaches_and_leaves_no_thread(dialog, qtbot):
    run = BackgroundRun(dialog)
    returned, failed = recorder(run.returned), recorder(run.failed)
    running = recorder(run.running_changed)
    run.start(count_until_cancelled, 0)
    qtbot.waitUntil(lambda: QThreadPool.globalInstance().activeThreadCount() > 0, timeout=5_000)
    dialog.reject()
    assert run.cancel_requested and not run.running
    assert running == [(True, True), (True, False)]
    assert QThreadPool.globalInstance().waitForDone(30_000)  # it stopped: cancelled
    assert QThreadPool.globalInstance().activeThreadCount() == 0
    qtbot.wait(50)  # anything it still sent would arrive now
    assert returned == [] and failed == []


def test_an_exception_reaches_failed(dialog, qtbot):
    def broken(name, *, progress, cancelled):
        progress(0.25, "reading")
        raise ValueError(f"{name}: no such recording")

    run = BackgroundRun(dialog)
    returned, failed = recorder(run.returned), recorder(run.failed)
    with qtbot.waitSignal(run.failed, timeout=5_000):
        run.start(broken, "rec")
    assert failed == [(True, "rec: no such recording")] and returned == []
    assert not run.running and not run.cancel_requested


def test_connected_controls_show_the_run(dialog, qtbot):
    run = BackgroundRun(dialog)
    bar, status = QProgressBar(dialog, maximum=1000), QLabel(dialog)
    cancel, close = QPushButton("Cancel", dialog), QPushButton("Close", dialog)
    run.connect_controls(bar, status, cancel, close, failure="count failed")
    dialog.show()
    assert close.isVisible() and not cancel.isVisible()
    assert not cancel.autoDefault() and not close.autoDefault()
    run.start(count_until_cancelled, 0)
    assert cancel.isVisible() and not close.isVisible() and status.text() == STARTING
    qtbot.waitUntil(lambda: status.text().startswith("counted ") and bar.value() > 0,
                    timeout=5_000)
    cancel.click()
    assert status.text() == STOPPING
    with qtbot.waitSignal(run.returned, timeout=5_000):
        pass
    assert status.text() == STOPPING  # no later report overwrote it
    assert bar.value() == 1000 and close.isVisible() and not cancel.isVisible()

    def broken(*, progress, cancelled):
        raise RuntimeError("out of memory")

    with qtbot.waitSignal(run.failed, timeout=5_000):
        run.start(broken)
    assert status.text() == "count failed: out of memory"
