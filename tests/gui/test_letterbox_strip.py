"""Opening a recording that letterboxing would make 0 rows tall, with that model input set: the
dataset shows, the coverage error names the image in the status bar (no exception, no numpy
warning), and choosing stretch computes the coverage."""

import warnings

from core.analysis import ModelInput
from tests.core.test_stft_sweep import carriers_and_bursts

MESSAGE = "image 0 (id rec) is 8 x 125000 px: letterboxed into 512 x 512 it would be 0 px tall"


def test_letterboxing_to_zero_rows_is_reported_not_raised(window, load, qtbot, tmp_path):
    state = window.state
    failures = []
    window.coverage.failed.connect(failures.append)
    state.set_model_input(ModelInput((512, 512), "letterbox"))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a warning in a slot would fail the test
        load(window, f"sigmf:{carriers_and_bursts(tmp_path / 'rec')}?nfft=8")
        qtbot.waitUntil(lambda: bool(failures), timeout=60_000)
        window.coverage.wait(60)
        assert failures == [MESSAGE]
        assert window.statusBar().currentMessage() == f"coverage: {MESSAGE}"
        assert state.table is not None and state.result is None
        state.set_model_input(ModelInput((512, 512), "stretch"))
        qtbot.waitUntil(lambda: state.result is not None, timeout=60_000)
    assert failures == [MESSAGE]
