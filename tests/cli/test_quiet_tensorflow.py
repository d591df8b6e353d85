"""TensorFlow's start-up probes (CUDA, oneDNN) never reach the CLI's stderr, which carries only
progress and errors."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import REPO_ROOT
from tests.core.sources.writers.common import reference_dataset
from tests.core.sources.writers.tfrecord_writer import write_tfrecord

ROOT = REPO_ROOT
NOISE = ("cuda", "oneDNN", "absl::InitializeLog", "cudart")


def stderr_of(spec: str) -> str:
    done = subprocess.run([sys.executable, "main.py", "stats", "--dataset", spec], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return done.stderr


def test_tf_sources_print_no_probe_lines(tmp_path):
    python_spec = ("python:resources.em_loader_demo:load?split=train&bounding_box_format=xywh"
                   "&batch_size=9")
    record_spec = write_tfrecord(tmp_path, reference_dataset(1, images=3))
    for spec in (python_spec, record_spec):
        err = stderr_of(spec)
        assert not any(word.lower() in err.lower() for word in NOISE), err
