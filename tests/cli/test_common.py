"""The shared text pieces of the commands: the recall bar and the progress bar's callback."""

from cli.common import RECALL_BAR_WIDTH, progress_bar, recall_bar


def test_recall_bar_fills_to_recall_and_marks_the_ceiling():
    bar = recall_bar(0.5, 0.8)
    assert len(bar) == RECALL_BAR_WIDTH == 30
    assert bar == "█" * 15 + "·" * 9 + "|" + "·" * 5
    assert recall_bar(1.0, 1.0) == "█" * 29 + "|"  # a full ceiling stays on the last cell
    assert recall_bar(0.0, 0.0) == "|" + "·" * 29


def test_progress_bar_takes_fractions_and_messages(capsys):
    with progress_bar("testing") as progress:
        for step in range(5):
            progress(step / 4, f"step {step}")
    assert capsys.readouterr().out == ""  # stdout stays for the report
