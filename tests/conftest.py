"""Test-wide setup: headless Qt, quiet TensorFlow, the repository root on sys.path (and as
`REPO_ROOT`, for tests that run the command line or read project files)."""

import os
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
sys.path.insert(0, str(REPO_ROOT))
