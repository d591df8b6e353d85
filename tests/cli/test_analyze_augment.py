"""`main.py analyze --augment`: the text report, the JSON fields, the per-box CSV columns, the
CI gate on the expected recall, and one-line refusals of a bad SPEC."""

import csv
import json

import numpy as np
import pytest

from cli import run_command
from core.analysis import ModelInput, analyze
from core.anchor_config import default_config
from core.augmentation import augmented_coverage, parse_augment
from core.sources import load_table

SPEC = "demo?images=60"


def run(capsys, *argv):
    code = run_command(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture(scope="module")
def expected():
    table = load_table(SPEC)
    config = default_config("keras-cv")
    model_input = ModelInput((640, 640), "letterbox")
    result = augmented_coverage(table, config, parse_augment("yolo:640,0.5"), model_input,
                                draws=8, seed=3)
    return table, analyze(table, config, model_input), result


def test_json_fields(capsys, expected):
    table, stored, result = expected
    code, out, _ = run(capsys, "analyze", "--dataset", SPEC, "--augment", "yolo:640,0.5",
                       "--draws", "8", "--seed", "3", "--input-size", "640x640", "--resize",
                       "letterbox", "--json")
    assert code == 0
    report = json.loads(out)
    aug = report["augmented"]
    assert aug["spec"] == "yolo:640,0.5,translate=0.1,wh_thr=2,ar_thr=100,area_thr=0.1"
    assert (aug["draws"], aug["seed"]) == (8, 3)
    assert aug["recall_stored"] == pytest.approx(stored.report.recall)
    assert report["coverage"]["recall"] == pytest.approx(stored.report.recall)
    assert aug["recall_expected"] == pytest.approx(result.recall_mean)
    assert aug["recall_expected_pm"] == pytest.approx(result.recall_pm)
    assert aug["recall_p10"] == pytest.approx(result.recall_p10)
    assert aug["recall_per_draw"] == pytest.approx(result.recall_per_draw.tolist())
    assert set(aug["drops"]) == {"outside", "too_small", "area_ratio", "aspect_ratio"}
    assert aug["drops"]["too_small"] == pytest.approx(result.drops_per_draw()["too_small"].mean())
    assert set(aug["per_class"]) == {"wideband", "burst", "pulse", "narrowband"}
    for row in aug["per_class"].values():
        assert set(row) == {"boxes", "stored_recall", "expected_recall", "expected_pm",
                            "kept_recall", "dropped_share", "drops", "loses"}
    assert aug["losing_classes"] == [n for n, r in aug["per_class"].items() if r["loses"]]
    assert report["dataset"]["input_size"] == [640, 640]
    assert set(report["seconds"]) == {"load", "coverage", "augmented"}


def test_text_report(capsys, expected):
    _, stored, result = expected
    code, out, _ = run(capsys, "analyze", "--dataset", SPEC, "--augment", "yolo:640,0.5",
                       "--draws", "8", "--seed", "3", "--input-size", "640x640", "--resize",
                       "letterbox")
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == f"Coverage of {SPEC}: 60 images, {len(stored.coverage.matched):,d} boxes; " \
                       "640x640 (letterbox)"
    assert lines[1].startswith("Augmentation: YOLO letterbox 640, scale 1 ± 0.5")
    text = "\n".join(lines)
    assert f"recall as stored        {100 * stored.report.recall:5.1f} %" in text
    assert f"expected recall         {100 * result.recall_mean:5.1f} % ±" in text
    assert f"10th percentile         {100 * result.recall_p10:5.1f} %" in text
    for reason in ("outside", "too_small", "area_ratio", "aspect_ratio"):
        assert any(line.split()[:1] == [reason] for line in lines)
    header = next(line for line in lines if line.strip().startswith("class") and "stored" in line)
    assert all(c in header for c in ("boxes", "stored", "expected", "±pp", "change", "dropped"))
    assert lines[-1].strip().startswith("classes losing coverage at train-time scales:")


def test_per_box_csv(tmp_path, capsys, expected):
    _, _, result = expected
    path = tmp_path / "boxes.csv"
    code, _, _ = run(capsys, "analyze", "--dataset", SPEC, "--augment", "yolo:640,0.5",
                     "--draws", "8", "--seed", "3", "--input-size", "640x640", "--resize",
                     "letterbox", "--per-box", str(path))
    assert code == 0
    rows = list(csv.DictReader(path.open()))
    assert list(rows[0])[-3:] == ["probability", "probability_pm", "dropped_share"]
    assert "best_iou" in rows[0] and "ceiling_iou" in rows[0]
    np.testing.assert_allclose([float(r["probability"]) for r in rows], result.probability,
                               atol=1e-6)
    np.testing.assert_allclose([float(r["probability_pm"]) for r in rows],
                               result.probability_pm, atol=1e-6)


def test_detector_family_and_fail_under(tmp_path, capsys):
    path = tmp_path / "family.csv"
    code, out, _ = run(capsys, "analyze", "--dataset", "demo?images=20", "--config", "yolov5",
                       "--augment", "crop:256x256,0.5", "--draws", "4", "--json",
                       "--per-box", str(path), "--fail-under", "0.99")
    report = json.loads(out)
    assert report["config"]["framework"] == "yolov5"
    assert set(report["augmented"]["drops"]) == {"outside", "crop_area"}
    assert report["augmented"]["recall_expected"] < 0.99
    assert code == 1  # the gate reads the expected recall
    header = path.read_text().splitlines()[0].split(",")
    assert header[-4:] == ["miss_reason", "probability", "probability_pm", "dropped_share"]


@pytest.mark.parametrize(("argv", "message"), [
    (["--augment", "jiter:640x640,0.75-1.3"], "--augment: unknown kind 'jiter'"),
    (["--augment", "jitter:640x640,1.3-0.75"], "needs 0 < LO <= HI"),
    (["--augment", "crop:512x512,2"], "crop MIN_AREA must be in [0, 1]"),
    (["--augment", "yolo:640,0.5", "--draws", "1"], "--draws must be at least 2"),
    (["--augment", "yolo:640,0.5", "--seed", "-1"], "--seed must be a whole number >= 0"),
    (["--draws", "8"], "--draws and --seed need --augment"),
    (["--seed", "1"], "--draws and --seed need --augment"),
])
def test_bad_input_is_one_line(capsys, argv, message):
    code, out, err = run(capsys, "analyze", "--dataset", "demo?images=5", *argv)
    assert code == 2 and out == ""
    assert err.startswith("error: ") and message in err
    assert err.count("\n") == 1


def test_without_augment_the_report_is_unchanged(capsys):
    code, out, _ = run(capsys, "analyze", "--dataset", "demo?images=5", "--json")
    assert code == 0
    assert "augmented" not in json.loads(out)
