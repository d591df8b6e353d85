"""Benchmark scripts run as `python benchmarks/NAME.py`, which puts `benchmarks/` first on
`sys.path`: a script named like an importable module would shadow it for every library that
imports that module (numba probes for `coverage`, for one)."""

from __future__ import annotations

import importlib.util
import sys

from tests.conftest import REPO_ROOT

BENCHMARKS = REPO_ROOT / "benchmarks"


def test_no_benchmark_shadows_an_importable_module():
    scripts = sorted(BENCHMARKS.glob("*.py"))
    assert scripts
    shadowing = [p.name for p in scripts
                 if p.stem in sys.stdlib_module_names or importlib.util.find_spec(p.stem)]
    assert not shadowing, f"rename {shadowing}: they shadow importable modules"


def test_make_bench_runs_every_script():
    """Scripts are bench_*.py (what `make bench` runs); shared helpers start with '_'."""
    makefile = (BENCHMARKS.parent / "Makefile").read_text()
    assert "benchmarks/bench_*.py" in makefile
    assert all(p.name.startswith(("bench_", "_")) for p in BENCHMARKS.glob("*.py"))
