"""The export dialog always exports the current config; a format's nearest expressible config is
that format's alone, labelled with the recall it gives, and can be applied in the main window."""

from __future__ import annotations

from core.analysis import analyze
from core.exports import nearest_expressible

CURRENT_SCALES = (1.015, 1.09, 1.309)  # not 2**(i/n): keras-hub cannot express them


def test_a_substitute_stays_with_its_format(window, load, qtbot):
    from gui.export_dialog import ExportDialog

    load(window, "demo?images=30&seed=1")
    window.coverage.wait(60)
    state = window.state
    state.set_config(state.config.replace(scales=CURRENT_SCALES))
    window.coverage.wait(60)
    saved = []
    dialog = ExportDialog(state.config, window, "keras-hub", window.coverage.session)
    dialog.apply_requested.connect(state.set_config)
    dialog.saved.connect(saved.append)
    qtbot.addWidget(dialog)

    assert dialog.problem_label.isVisibleTo(dialog) and dialog.nearest_button.isVisibleTo(dialog)
    dialog.nearest_button.click()
    substitute = nearest_expressible(state.config, "keras-hub")
    assert dialog.exported_config() == substitute != state.config
    assert dialog.substitute_label.isVisibleTo(dialog)
    assert "not the current one" in dialog.substitute_label.text()
    # the recall it would give is computed on the loaded dataset, beside the current one's
    qtbot.waitUntil(lambda: "computing" not in dialog.substitute_label.text(), timeout=20_000)
    expected = analyze(state.table, substitute).report.recall
    current = analyze(state.table, state.config).report.recall
    assert f"{100 * expected:.1f} % with it" in dialog.substitute_label.text()
    assert f"{100 * current:.1f} % with the current config" in dialog.substitute_label.text()

    # another format exports the current config, with no note about keras-hub
    dialog.format_combo.setCurrentText("mmdet")
    text = dialog.preview.toPlainText()
    assert dialog.exported_config() == state.config
    assert "1.015" in text and "1.309" in text
    assert "tuned for KerasHub" not in text
    assert not dialog.substitute_label.isVisibleTo(dialog)
    path = window.settings.fileName() + ".mmdet.py"
    dialog.save_to(path)
    assert saved == [path]

    # back on keras-hub the substitute is still chosen; applying it makes it current
    dialog.format_combo.setCurrentText("keras-hub")
    assert dialog.exported_config() == substitute
    dialog.apply_button.click()
    assert state.config == substitute and dialog.config == substitute
    assert not dialog.substitute_label.isVisibleTo(dialog)
    dialog.format_combo.setCurrentText("mmdet")
    assert dialog.exported_config() == substitute


def test_back_to_the_current_config(window, qtbot):
    from gui.export_dialog import ExportDialog

    config = window.state.config.replace(scales=CURRENT_SCALES)
    dialog = ExportDialog(config, window, "keras-hub")
    qtbot.addWidget(dialog)
    dialog.nearest_button.click()
    assert "Load a dataset" in dialog.substitute_label.text()  # no dataset: no recall
    dialog.current_button.click()
    assert dialog.exported_config() == config
    assert dialog.problem_label.isVisibleTo(dialog) and not dialog.preview.toPlainText()
