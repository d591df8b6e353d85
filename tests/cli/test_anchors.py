"""`main.py anchors`: writes the exact anchors as (N, 4) float32 xyxy; bad input exits 2."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from cli import run_command
from core.anchor_config import default_config, load_preset, save_config
from core.anchor_generation import generate_anchors
from tests.conftest import REPO_ROOT

ROOT = REPO_ROOT


@pytest.mark.parametrize("framework", ["keras-cv", "torchvision", "keras-retinanet"])
def test_writes_framework_anchors(tmp_path, framework):
    config_path = tmp_path / "config.json"
    save_config(default_config(framework), config_path)
    out = tmp_path / "anchors.npy"
    assert run_command(["anchors", "--config", str(config_path), "--image-size", "300x500",
                        "--out", str(out)]) == 0
    anchors = np.load(out)
    assert anchors.dtype == np.float32 and anchors.shape[1] == 4
    expected = generate_anchors(default_config(framework), 300, 500).astype(np.float32)
    np.testing.assert_array_equal(anchors, expected)


def test_accepts_preset_name(tmp_path):
    out = tmp_path / "seed.npy"
    assert run_command(["anchors", "--config", "seed-notebook", "--image-size", "512x512",
                        "--out", str(out)]) == 0
    assert len(np.load(out)) == len(generate_anchors(load_preset("seed-notebook"), 512, 512))


@pytest.mark.parametrize("size", ["512", "0x512", "axb", "512x-3"])
def test_bad_image_size_exits_2(tmp_path, capsys, size):
    out = tmp_path / "a.npy"
    assert run_command(["anchors", "--image-size", size, "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "--image-size" in err
    assert not out.exists()


def test_bad_config_exits_2_with_one_line(tmp_path, capsys):
    bad = tmp_path / "bad.json"
    bad.write_text('{"format": "anchor-inspector/1"}')
    assert run_command(["anchors", "--config", str(bad), "--image-size", "64x64",
                        "--out", str(tmp_path / "a.npy")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and str(bad) in err and "'framework'" in err


def test_main_py_subprocess(tmp_path):
    out = tmp_path / "a.npy"
    result = subprocess.run(
        [sys.executable, "main.py", "anchors", "--config", "keras-hub-retinanet",
         "--image-size", "97x1000", "--out", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    np.testing.assert_array_equal(
        np.load(out), generate_anchors(default_config("keras-hub"), 97, 1000).astype(np.float32))
