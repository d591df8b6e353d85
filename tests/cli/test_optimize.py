"""`main.py optimize`: writes a loadable config, prints before / after, bad input -> exit 2."""

import json

import pytest

from cli import run_command
from core.anchor_config import default_config, load_config, save_config

SPEC = "demo?images=40&seed=2"
FAST = ("--max-evaluations", "15")


def test_writes_loadable_config_and_prints_before_after(tmp_path, capsys):
    out = tmp_path / "best.json"
    code = run_command(["optimize", "--dataset", SPEC, "--ratios", "4", "--scales", "2",
                        "--seed", "1", "--out", str(out), *FAST])
    captured = capsys.readouterr()
    assert code == 0
    config = load_config(out)
    assert len(config.aspect_ratios) == 4 and len(config.scales) == 2
    assert config.levels == default_config().levels
    assert "before" in captured.out and "after" in captured.out
    assert "ceiling recall" in captured.out and f"wrote {out}" in captured.out


def test_json_output_and_start_config(tmp_path, capsys):
    start = tmp_path / "start.json"
    save_config(default_config("torchvision"), start)
    out = tmp_path / "best.yaml"
    code = run_command(["optimize", "--dataset", SPEC, "--config", str(start), "--out",
                        str(out), "--json", *FAST])
    report = json.loads(capsys.readouterr().out)
    assert code == 0
    assert {"dataset", "before", "after", "ceiling_recall", "search", "warnings", "out"} <= set(
        report)
    assert report["after"]["config"] == json.loads(json.dumps(
        report["after"]["config"]))
    assert load_config(out).framework == "torchvision"
    assert report["after"]["coverage"]["recall"] >= report["before"]["coverage"]["recall"]
    assert report["search"]["evaluations"] == 15
    assert report["augmented"] is None  # no --augment


@pytest.mark.parametrize("argv", [
    ["--ratios", "0"], ["--ratios", "x"], ["--scales", "-1"], ["--time-budget", "-3"],
    ["--time-budget", "soon"], ["--seed", "abc"], ["--config", "no-such-preset"],
    ["--dataset", "nope:thing"], ["--sweep", "--sweep-ratios", "0-2"],
    ["--sweep", "--sweep-scales", "a-b"],
])
def test_bad_arguments_exit_2_with_one_line(tmp_path, capsys, argv):
    code = run_command(["optimize", "--dataset", SPEC, "--out", str(tmp_path / "o.json"), *argv])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert len(err.splitlines()) == 1 and err.startswith("error:")
    assert not (tmp_path / "o.json").exists()


def test_missing_out_and_unwritable_out(tmp_path, capsys):
    assert run_command(["optimize", "--dataset", SPEC]) == 2
    assert "--out" in capsys.readouterr().err
    code = run_command(["optimize", "--dataset", SPEC, "--out",
                        str(tmp_path / "missing" / "o.json"), *FAST])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1


def test_json_states_the_head_against_the_pretrained_one(tmp_path, capsys):
    out = tmp_path / "best.json"
    code = run_command(["optimize", "--dataset", SPEC, "--ratios", "2", "--scales", "3",
                        "--out", str(out), "--json", *FAST])
    head = json.loads(capsys.readouterr().out)["head"]
    assert code == 0
    assert head["anchors_per_location"] == 6 and head["pretrained_anchors_per_location"] == 9
    assert head["fits_pretrained_head"] is False
    assert "pretrained" in head["note"] and "prediction_layer" in head["note"]


def test_sweep_writes_one_config_per_grid_point(tmp_path, capsys):
    folder = tmp_path / "budget"
    code = run_command(["optimize", "--dataset", SPEC, "--sweep", "--sweep-ratios", "1-2",
                        "--sweep-scales", "1,3", "--effort", "quick", "--out", str(folder),
                        "--json"])
    report = json.loads(capsys.readouterr().out)
    assert code == 0
    rows = report["points"]
    assert [(row["ratios"], row["scales"]) for row in rows] == [(1, 1), (2, 1), (1, 3), (2, 3)]
    for row in rows:
        config = load_config(row["file"])
        assert len(config.aspect_ratios) == row["ratios"] and len(config.scales) == row["scales"]
        assert row["anchors_per_location"] == row["ratios"] * row["scales"]
        assert 0.0 <= row["recall"] <= 1.0
    assert report["ceiling_recall"] == rows[0]["ceiling_recall"]


def test_sweep_text_marks_the_ceiling_and_the_pretrained_head(tmp_path, capsys):
    code = run_command(["optimize", "--dataset", SPEC, "--sweep", "--sweep-ratios", "3",
                        "--sweep-scales", "3", "--effort", "quick", "--out", str(tmp_path)])
    text = capsys.readouterr().out
    assert code == 0
    assert "marks the ceiling" in text and "pretrained head size" in text
    assert (tmp_path / "anchors_R3_S3.json").exists()


def test_yolov5_anchors_optimised_and_written(tmp_path, capsys):
    out = tmp_path / "yolo.json"
    code = run_command(["optimize", "--dataset", SPEC, "--config", "yolov5",
                        "--anchors-per-level", "2", "--out", str(out), "--json"])
    report = json.loads(capsys.readouterr().out)
    assert code == 0
    config = load_config(out, families=True)
    assert [len(level) for level in config.params.anchors] == [2, 2, 2]
    assert report["after"]["coverage"]["recall"] >= report["before"]["coverage"]["recall"]
    assert report["after"]["config"]["anchors"] == [[list(pair) for pair in level]
                                                     for level in config.params.anchors]


def test_families_without_anchor_shapes_are_refused(tmp_path, capsys):
    code = run_command(["optimize", "--dataset", SPEC, "--config", "fcos", "--out",
                        str(tmp_path / "f.json")])
    assert code == 2 and "no anchor shapes to optimise" in capsys.readouterr().err


def test_augment_reports_expected_recall_before_and_after(tmp_path, capsys):
    out = tmp_path / "best.json"
    argv = ["optimize", "--dataset", SPEC, "--seed", "1", "--out", str(out),
            "--augment", "jitter:256x256,0.3-0.5", "--draws", "3", *FAST]
    assert run_command([*argv, "--json"]) == 0
    block = json.loads(capsys.readouterr().out)["augmented"]
    assert block["spec"] == "jitter:256x256,0.3-0.5"
    assert (block["search_draws"], block["draws"], block["seed"]) == (3, 32, 1)
    assert block["recall_expected_after"] >= block["recall_expected_before"]
    assert run_command(argv) == 0
    text = capsys.readouterr().out
    assert "expected recall" in text and "jitter:256x256,0.3-0.5" in text


@pytest.mark.parametrize("argv", [
    ["--draws", "4"], ["--augment", "jitter:640x640"], ["--augment", "x:1", "--draws", "3"],
    ["--augment", "crop:64x64", "--draws", "1"], ["--augment", "crop:64x64", "--sweep"],
    ["--augment", "crop:64x64", "--config", "yolov5"],
])
def test_bad_augment_arguments_exit_2(tmp_path, capsys, argv):
    code = run_command(["optimize", "--dataset", SPEC, "--out", str(tmp_path / "o.json"), *argv])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and err.startswith("error:")
