"""A recording so long that letterboxing it into the model input leaves 0 rows: `analyze` and
`optimize` name the image in one line and exit 2 (no traceback); stretch still works."""

import pytest

from cli import run_command
from tests.core.test_stft_sweep import carriers_and_bursts

MESSAGE = ("error: image 0 (id rec) is 8 x 125000 px: letterboxed into 512 x 512 it would be "
           "0 px tall")


@pytest.fixture
def strip_spec(tmp_path):
    """1 s at 1 MS/s with nfft=8: an image 8 rows tall and 125,000 columns wide."""
    return f"sigmf:{carriers_and_bursts(tmp_path / 'rec')}?nfft=8"


@pytest.mark.parametrize("command", [["analyze"], ["analyze", "--json"],
                                     ["optimize", "--out", "never.json"]])
def test_letterboxing_to_zero_rows_is_one_line_exit_2(strip_spec, command, capsys):
    code = run_command([*command, "--dataset", strip_spec, "--input-size", "512x512",
                        "--resize", "letterbox"])
    captured = capsys.readouterr()
    assert code == 2 and captured.out == ""
    assert captured.err.strip() == MESSAGE


def test_stretching_the_same_recording_works(strip_spec, capsys):
    assert run_command(["analyze", "--dataset", strip_spec, "--input-size", "512x512",
                        "--resize", "stretch", "--json"]) == 0
    assert '"recall"' in capsys.readouterr().out
