"""`main.py analyze --stft-sweep`: the table (units, rows, bar, best-nfft line), the JSON rows, and
clear refusals; without the option `analyze` is unchanged."""

import json

import pytest

from cli import run_command
from core.anchor_config import default_config
from core.stft_sweep import StftPoint, stft_sweep
from core.units import format_quantity
from tests.core.test_stft_sweep import carriers_and_bursts

NFFTS = [16, 64, 256, 1024, 4096, 8192]
SWEEP = ",".join(map(str, NFFTS))


@pytest.fixture
def spec(tmp_path):
    return f"sigmf:{carriers_and_bursts(tmp_path / 'rec')}"


def run(capsys, *argv):
    code = run_command(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.mark.parametrize(("value", "unit", "text"), [
    (15625.0, "Hz", "15.62 kHz"), (244.140625, "Hz", "244.1 Hz"), (1.0e6, "S/s", "1 MS/s"),
    (64e-6, "s", "64 µs"), (4.096e-3, "s", "4.096 ms"), (2.5, "s", "2.5 s"),
    (5e-7, "s", "500 ns"), (0.0, "Hz", "0 Hz")])
def test_unit_prefixes(value, unit, text):
    assert format_quantity(value, unit, 4) == text


def test_text_table(spec, capsys):
    code, out, _ = run(capsys, "analyze", "--dataset", spec, "--stft-sweep", SWEEP)
    assert code == 0
    lines = out.splitlines()
    assert lines[0].startswith(f"STFT sweep of {spec}: 1 recording, 8 boxes; fs 1 MS/s")
    header = next(line for line in lines if line.strip().startswith("nfft"))
    for column in ("hop", "Hz/row", "time/col", "boxes", "recall", "ceiling", "pos/box"):
        assert column in header
    rows = [line.split() for line in lines if line.strip()[:1].isdigit()]
    assert [int(r[0]) for r in rows] == NFFTS
    assert [int(r[1]) for r in rows] == NFFTS  # hop = nfft: the spec sets no hop
    assert rows[0][2:6] == ["62.5", "kHz", "16", "µs"]  # 1 MS/s / 16 rows; 16 samples
    assert rows[-1][2:6] == ["122.1", "Hz", "8.192", "ms"]
    points = stft_sweep(spec, default_config("keras-cv"), NFFTS)
    for row, point in zip(rows, points, strict=True):
        assert row[6] == "8"
        assert float(row[7]) == pytest.approx(100 * point.recall, abs=0.05)
        assert float(row[9]) == pytest.approx(100 * point.ceiling_recall, abs=0.05)
        assert float(row[11]) == pytest.approx(point.mean_positives_per_box, abs=0.005)
        bar = row[12]
        assert bar.count("█") == round(point.recall * 30) and "|" in bar
    # recall 50 % at 64 (bursts) and at 4096, 8192 (carriers): the smallest of the tied wins
    assert lines[-1] == "best recall: nfft 64 (hop 64) with 50.0 %, ceiling 50.0 %"


def test_json_rows(spec, capsys):
    code, out, _ = run(capsys, "analyze", "--dataset", f"{spec}?nfft=512&hop=128", "--stft-sweep",
                       "64,4096,1024", "--json", "--config", "torchvision-retinanet")
    assert code == 0
    report = json.loads(out)
    assert set(report) == {"dataset", "config", "head", "hop_ratio", "points", "best_nfft",
                           "seconds"}
    assert report["hop_ratio"] == 0.25
    assert report["config"]["framework"] == "torchvision"
    assert report["dataset"] == {"spec": f"{spec}?nfft=512&hop=128", "images": 1, "boxes": 8}
    fields = set(StftPoint.__dataclass_fields__)
    assert {"nfft", "hop", "images", "boxes", "recall", "best_possible_recall", "ceiling_recall",
            "mean_positives_per_box", "per_class_recall", "seconds", "hz_per_row",
            "seconds_per_column"} <= fields
    assert all(set(row) == fields for row in report["points"])
    assert [(r["nfft"], r["hop"]) for r in report["points"]] == [(64, 16), (1024, 256),
                                                                (4096, 1024)]
    points = stft_sweep(f"{spec}?nfft=512&hop=128", default_config("torchvision"),
                        [64, 1024, 4096])
    for row, point in zip(report["points"], points, strict=True):
        assert row == {**point.to_dict(), "seconds": row["seconds"]}
    assert report["points"][0]["hz_per_row"] == 1e6 / 64
    assert report["points"][0]["seconds_per_column"] == 16 / 1e6
    best = max(points, key=lambda p: (p.recall, -p.nfft))
    assert report["best_nfft"] == best.nfft


def test_hop_ratio_option(spec, capsys):
    code, out, _ = run(capsys, "analyze", "--dataset", spec, "--stft-sweep", "64,256",
                       "--hop-ratio", "0.5", "--json")
    assert code == 0
    assert [(r["nfft"], r["hop"]) for r in json.loads(out)["points"]] == [(64, 32), (256, 128)]


def test_no_recall_anywhere_says_so(spec, capsys):
    code, out, _ = run(capsys, "analyze", "--dataset", spec, "--stft-sweep", "256,1024")
    assert code == 0
    assert out.splitlines()[-1] == ("best recall: none; no FFT size gives any box a positive "
                                    "anchor")
    code, out, _ = run(capsys, "analyze", "--dataset", spec, "--stft-sweep", "256", "--json")
    assert json.loads(out)["best_nfft"] is None


@pytest.mark.parametrize(("extra", "message"), [
    (["--stft-sweep", "64,x"], "--stft-sweep must be FFT sizes"),
    (["--stft-sweep", "64,1"], "FFT sizes must be whole numbers from 2"),
    (["--stft-sweep", "64", "--hop-ratio", "2"], "--hop-ratio: the hop ratio"),
    (["--stft-sweep", "64", "--hop-ratio", "half"], "--hop-ratio must be a number"),
    (["--hop-ratio", "0.5"], "--hop-ratio needs --stft-sweep"),
    (["--stft-sweep", "64", "--per-box", "x.csv"], "--per-box is not available"),
    (["--stft-sweep", "64", "--fail-under", "0.5"], "--fail-under is not available"),
    (["--stft-sweep", "64", "--config", "yolov5"], "detector family"),
])
def test_bad_options_exit_2(spec, capsys, extra, message):
    code, out, err = run(capsys, "analyze", "--dataset", spec, *extra)
    assert code == 2 and out == ""
    assert message in err


def test_other_dataset_kinds_are_refused(capsys):
    code, _, err = run(capsys, "analyze", "--dataset", "demo?images=5", "--stft-sweep", "64")
    assert code == 2
    assert "demo?images=5" in err and "needs a sigmf: dataset" in err


def test_without_the_option_analyze_is_unchanged(spec, capsys):
    code, out, _ = run(capsys, "analyze", "--dataset", spec, "--json")
    assert code == 0
    assert set(json.loads(out)) == {"dataset", "config", "coverage", "head", "seconds"}


def test_sweep_and_augment_together_are_refused(spec, capsys):
    code, _, err = run(capsys, "analyze", "--dataset", spec, "--stft-sweep", "64,128",
                       "--augment", "jitter:640x640,0.75-1.3")
    assert code == 2 and "one at a time" in err
