"""`main.py analyze`: the JSON and per-box CSV contract of docs/coverage.mdgates and bad input."""

import csv
import json

import numpy as np
import pytest

from cli import run_command
from core.analysis import analyze
from core.anchor_config import default_config, save_config
from core.sources import load_table
from tests.conftest import REPO_ROOT

SPEC = "demo?images=40&seed=2"
COVERAGE_KEYS = {"recall", "best_possible_recall", "ceiling_recall", "mean_best_iou",
                 "median_best_iou", "uncovered_boxes", "mean_positives_per_box",
                 "low_quality_only", "per_level", "per_class"}


def run_json(capsys, *argv):
    code = run_command(list(argv))
    captured = capsys.readouterr()
    return code, json.loads(captured.out)


def test_json_contract(capsys):
    code, report = run_json(capsys, "analyze", "--dataset", SPEC, "--json")
    assert code == 0
    assert set(report) == {"dataset", "config", "coverage", "head", "seconds"}
    assert report["head"]["fits_pretrained_head"] is True
    assert {"spec", "images", "boxes", "skipped_boxes", "skipped"} <= set(report["dataset"])
    assert set(report["coverage"]) == COVERAGE_KEYS
    assert set(report["seconds"]) == {"load", "coverage"}
    assert report["config"]["format"] == "anchor-inspector/1"
    table = load_table(SPEC)
    expected = analyze(table, default_config("keras-cv")).coverage
    assert report["coverage"]["recall"] == pytest.approx(expected.matched.mean())
    assert report["coverage"]["uncovered_boxes"] == int((~expected.matched).sum())
    assert sum(c["boxes"] for c in report["coverage"]["per_class"].values()) == len(table)


def test_per_box_csv(tmp_path, capsys):
    out = tmp_path / "boxes.csv"
    assert run_command(["analyze", "--dataset", SPEC, "--per-box", str(out)]) == 0
    capsys.readouterr()
    with open(out, newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == ["image_id", "box_index", "class", "x1", "y1", "x2", "y2",
                             "best_iou", "positives", "matched", "best_level", "ceiling_iou"]
    table = load_table(SPEC)
    coverage = analyze(table, default_config("keras-cv")).coverage
    assert len(rows) == len(table)
    for k in (0, len(rows) // 2, len(rows) - 1):
        row = rows[k]
        assert int(row["image_id"]) == table.image_ids[table.image[k]]
        assert int(row["box_index"]) == table.box_index[k]
        assert row["class"] == table.class_name(table.cls[k])
        assert float(row["x2"]) == pytest.approx(table.x2[k])
        assert float(row["best_iou"]) == pytest.approx(coverage.best_iou[k], abs=1e-6)
        assert int(row["positives"]) == coverage.positives[k]
        assert int(row["matched"]) == int(coverage.matched[k])
        assert int(row["best_level"]) in (3, 4, 5, 6, 7)
        assert float(row["ceiling_iou"]) == pytest.approx(coverage.ceiling_iou[k], abs=1e-6)
        assert float(row["ceiling_iou"]) >= float(row["best_iou"])
    box_index = np.array([int(r["box_index"]) for r in rows])
    image_id = np.array([int(r["image_id"]) for r in rows])
    for image in np.unique(image_id)[:5]:  # box_index counts 0.. within each image
        assert sorted(box_index[image_id == image]) == list(range((image_id == image).sum()))


def test_fail_under_gate(capsys):
    code, report = run_json(capsys, "analyze", "--dataset", SPEC, "--json", "--fail-under", "0.99")
    assert code == 1 and report["coverage"]["recall"] < 0.99
    code, _ = run_json(capsys, "analyze", "--dataset", SPEC, "--json", "--fail-under", "0.01")
    assert code == 0


def test_config_file_and_input_size(tmp_path, capsys):
    config = default_config("torchvision")
    path = tmp_path / "tv.json"
    save_config(config, path)
    code, report = run_json(capsys, "analyze", "--dataset", SPEC, "--config", str(path),
                            "--input-size", "256x1024", "--json")
    assert code == 0
    assert report["config"]["framework"] == "torchvision"
    assert report["dataset"]["input_size"] == [256, 1024]


@pytest.mark.parametrize("argv, message", [
    (["--config", "missing.json"], "missing.json"),
    (["--input-size", "12by5"], "--input-size"),
    (["--fail-under", "7"], "--fail-under"),
    (["--dataset", "demo?images=0"], "images"),
])
def test_bad_input_is_one_line_exit_2(argv, message, capsys):
    assert run_command(["analyze", *argv]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and message in err and "\n" not in err


def test_demo_shows_the_seed_problem(capsys):
    """keras-cv's default anchors leave most flat strips and thin ticks without a positive
    anchor, and the ceiling says how much better ratios/scales could do."""
    code, report = run_json(capsys, "analyze", "--dataset", "demo?images=500", "--json")
    cov = report["coverage"]
    table = load_table("demo?images=500")
    coverage = analyze(table, default_config("keras-cv")).coverage
    ratio = table.widths / table.heights
    flat, thin = ratio >= 4, ratio <= 0.25
    assert (~coverage.matched[flat]).mean() > 0.5
    assert (~coverage.matched[thin]).mean() > 0.5
    assert cov["ceiling_recall"] > cov["recall"] + 0.2
    assert cov["per_class"]["wideband"]["recall"] > 0.9


def test_text_report(capsys):
    assert run_command(["analyze", "--dataset", SPEC]) == 0
    text = capsys.readouterr().out
    for phrase in ("recall", "ceiling recall", "Per level", "Per class", "narrowband"):
        assert phrase in text


def test_the_venv_command_is_main():
    """`[project.scripts]` installs `anchor-inspector`, which runs `main.main`."""
    import tomllib

    import main

    data = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())
    assert data["project"]["scripts"]["anchor-inspector"] == "main:main"
    assert "main" in data["tool"]["setuptools"]["py-modules"] and callable(main.main)
