"""`analyze --per-box` and `stats` in seconds and hertz when the dataset has physical units, and
unchanged without them."""

import csv
import json

import numpy as np
import pytest

from cli import run_command
from cli.analyze import PER_BOX_COLUMNS, PHYSICAL_COLUMNS
from tests.core.sources.writers.sigmf_writer import write_recording

FS, FC = 2e6, 915e6
ANNOTATIONS = [
    {"core:sample_start": 1000, "core:sample_count": 400, "core:freq_lower_edge": 914.6e6,
     "core:freq_upper_edge": 914.8e6, "core:label": "burst"},
    {"core:sample_start": 5000, "core:sample_count": 20000, "core:freq_lower_edge": 915.3e6,
     "core:freq_upper_edge": 915.31e6, "core:label": "carrier"},
]


@pytest.fixture
def sigmf_spec(tmp_path):
    meta = {"global": {"core:sample_rate": FS},
            "captures": [{"core:sample_start": 0, "core:frequency": FC}],
            "annotations": ANNOTATIONS}
    path = write_recording(tmp_path / "rec", np.zeros(32768, np.complex64), meta)
    return f"sigmf:{path}?nfft=256&hop=128"


def read_csv(path):
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def test_per_box_csv_has_seconds_and_hertz(tmp_path, sigmf_spec, capsys):
    out = tmp_path / "boxes.csv"
    assert run_command(["analyze", "--dataset", sigmf_spec, "--per-box", str(out)]) == 0
    capsys.readouterr()
    rows = read_csv(out)
    assert tuple(rows[0]) == PER_BOX_COLUMNS + PHYSICAL_COLUMNS
    for row, annotation in zip(rows, ANNOTATIONS, strict=True):
        start, count = annotation["core:sample_start"], annotation["core:sample_count"]
        assert float(row["t_start_s"]) == pytest.approx(start / FS, rel=1e-12)
        assert float(row["t_stop_s"]) == pytest.approx((start + count) / FS, rel=1e-12)
        assert float(row["f_low_hz"]) == pytest.approx(annotation["core:freq_lower_edge"],
                                                       rel=1e-12)
        assert float(row["f_high_hz"]) == pytest.approx(annotation["core:freq_upper_edge"],
                                                        rel=1e-12)


def test_per_box_csv_without_units_is_unchanged(tmp_path, capsys):
    out = tmp_path / "boxes.csv"
    assert run_command(["analyze", "--dataset", "demo?images=5", "--per-box", str(out)]) == 0
    capsys.readouterr()
    assert tuple(read_csv(out)[0]) == PER_BOX_COLUMNS


def test_per_box_csv_leaves_unknown_cells_empty(tmp_path, capsys):
    """Only time given: the frequency columns are there but empty."""
    out = tmp_path / "boxes.csv"
    spec = "demo?images=3&s_per_col=0.001"
    assert run_command(["analyze", "--dataset", spec, "--per-box", str(out)]) == 0
    capsys.readouterr()
    rows = read_csv(out)
    assert all(row["f_low_hz"] == "" and row["f_high_hz"] == "" for row in rows)
    np.testing.assert_allclose([float(r["t_start_s"]) for r in rows],
                               [float(r["x1"]) * 1e-3 for r in rows])


def test_stats_shows_physical_ranges(sigmf_spec, capsys):
    assert run_command(["stats", "--dataset", sigmf_spec]) == 0
    text = capsys.readouterr().out
    assert "Physical size" in text
    assert "duration   200 µs – 10 ms, median 5.1 ms" in text
    assert "bandwidth  10 kHz – 200 kHz, median 105 kHz" in text
    assert run_command(["stats", "--dataset", sigmf_spec, "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["physical"]["duration_s"] == {"boxes": 2, "min": pytest.approx(2e-4),
                                                "p50": pytest.approx(5.1e-3),
                                                "max": pytest.approx(1e-2)}
    assert report["physical"]["bandwidth_hz"]["max"] == pytest.approx(2e5)


def test_stats_without_units_is_unchanged(capsys):
    assert run_command(["stats", "--dataset", "demo?images=5"]) == 0
    assert "Physical size" not in capsys.readouterr().out
    assert run_command(["stats", "--dataset", "demo?images=5", "--json"]) == 0
    assert "physical" not in json.loads(capsys.readouterr().out)
