"""`main.py analyze --config yolov5|fcos|atss|yolov8`: the family's report and per-box CSV."""

import csv
import json

import pytest

from cli import run_command
from core.analysis import analyze
from core.anchor_config import resolve_config
from core.family_analysis import analyze_family
from core.sources import load_table

SPEC = "demo?images=30&seed=5"


@pytest.mark.parametrize("name", ["yolov5", "fcos", "atss", "yolov8"])
def test_json_report_and_per_box_csv(name, tmp_path, capsys):
    csv_path = tmp_path / "boxes.csv"
    code = run_command(["analyze", "--dataset", SPEC, "--config", name, "--json",
                        "--per-box", str(csv_path)])
    report = json.loads(capsys.readouterr().out)
    assert code == 0
    expected = analyze_family(load_table(SPEC), resolve_config(name, families=True))
    assert report["config"]["framework"] == name
    assert report["coverage"]["recall"] == pytest.approx(expected.report.recall)
    assert report["coverage"]["mean_positives_per_box"] == pytest.approx(
        expected.report.mean_positives_per_box)
    rows = list(csv.DictReader(csv_path.open()))
    assert len(rows) == len(expected.coverage)
    assert sum(int(row["positives"]) for row in rows) == int(expected.coverage.positives.sum())
    missed = [row for row in rows if row["matched"] == "0"]
    assert all(row["miss_reason"] != "matched" for row in missed)
    assert sum(report["coverage"]["misses"].values()) == len(missed)


def test_text_report_names_the_family_and_what_it_counts(capsys):
    assert run_command(["analyze", "--dataset", SPEC, "--config", "yolov5"]) == 0
    text = capsys.readouterr().out
    assert "YOLOv5" in text and "build_targets entries" in text and "autoanchor BPR" in text


def test_retinanet_analyze_is_unchanged(capsys):
    assert run_command(["analyze", "--dataset", SPEC, "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    table = load_table(SPEC)
    assert report["coverage"]["recall"] == analyze(table, resolve_config(None)).report.recall
