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


@pytest.mark.parametrize("argv", [
    ["--ratios", "0"], ["--ratios", "x"], ["--scales", "-1"], ["--time-budget", "-3"],
    ["--time-budget", "soon"], ["--seed", "abc"], ["--config", "no-such-preset"],
    ["--dataset", "nope:thing"],
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
