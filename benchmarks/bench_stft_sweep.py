"""STFT sweep benchmark (docs/datasets.md#stft-sweep): prints one JSON object.

A synthetic 10-second SigMF recording (complex float32 at 1 MS/s around 2.4 GHz: 10,000,000
samples; the data file is sparse, since only its size matters for boxes) with a few hundred
annotations — short bursts, long narrow carriers and chirps — swept over the FFT sizes
64 ... 4096 under the keras-cv RetinaNet anchors (hop = nfft). The goal is the whole sweep in
10 s or less. Reports the seconds per FFT size (median of a few sweeps; of it, the box loading
alone), the total, the first sweep's (kernel loading included), what a user waits for in a fresh
process (`main.py analyze --stft-sweep ... --json`, wall time) and the machine's load average
(other work skews the timings).

Run: `python benchmarks/bench_stft_sweep.py [--runs N] [--annotations N]`.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from core.anchor_config import default_config  # noqa: E402
from core.sources import load_table  # noqa: E402
from core.stft_sweep import DEFAULT_NFFTS, spec_at, stft_sweep  # noqa: E402

SAMPLE_RATE = 1.0e6  # Hz
CENTRE = 2.4e9  # Hz
SECONDS = 10.0
BYTES_PER_SAMPLE = 8  # cf32_le
TARGET_SECONDS = 10.0


def synthetic_annotations(count: int, seed: int = 0) -> list[dict]:
    """Bursts (20 µs-2 ms, 20-200 kHz), carriers (50 ms-2 s, 2-10 kHz) and chirps (1-20 ms,
    100-400 kHz) in a 3:1:2 mix, anywhere in the 10 s and inside the ±500 kHz band."""
    rng = np.random.default_rng(seed)
    n = int(SAMPLE_RATE * SECONDS)
    kinds = rng.choice(["burst", "carrier", "chirp"], size=count, p=[0.5, 1 / 6, 1 / 3])
    annotations = []
    for kind in kinds:
        duration, bandwidth = {
            "burst": (rng.uniform(20e-6, 2e-3), rng.uniform(20e3, 200e3)),
            "carrier": (rng.uniform(0.05, 2.0), rng.uniform(2e3, 10e3)),
            "chirp": (rng.uniform(1e-3, 20e-3), rng.uniform(100e3, 400e3)),
        }[str(kind)]
        length = max(1, int(duration * SAMPLE_RATE))
        start = int(rng.integers(0, n - length))
        low = rng.uniform(-SAMPLE_RATE / 2, SAMPLE_RATE / 2 - bandwidth)
        annotations.append({"core:sample_start": start, "core:sample_count": length,
                            "core:freq_lower_edge": CENTRE + low,
                            "core:freq_upper_edge": CENTRE + low + bandwidth,
                            "core:label": str(kind)})
    return annotations


def write_recording(folder: Path, annotations: list[dict]) -> Path:
    """`folder/capture.sigmf-meta` and a sparse `capture.sigmf-data` of 10 s of cf32 samples."""
    meta = {"global": {"core:datatype": "cf32_le", "core:sample_rate": SAMPLE_RATE,
                       "core:version": "1.2.0"},
            "captures": [{"core:sample_start": 0, "core:frequency": CENTRE}],
            "annotations": annotations}
    meta_path = folder / "capture.sigmf-meta"
    meta_path.write_text(json.dumps(meta))
    with open(folder / "capture.sigmf-data", "wb") as data:
        data.truncate(int(SAMPLE_RATE * SECONDS) * BYTES_PER_SAMPLE)
    return meta_path


def _seconds(function, *args) -> float:
    start = time.perf_counter()
    function(*args)
    return time.perf_counter() - start


def command_wall_seconds(spec: str) -> float:
    """Wall time of `main.py analyze --stft-sweep 64,...,4096 --json` in a fresh process."""
    root = Path(__file__).resolve().parents[1]
    start = time.perf_counter()
    subprocess.run([sys.executable, "main.py", "analyze", "--dataset", spec, "--stft-sweep",
                    ",".join(map(str, DEFAULT_NFFTS)), "--json"], cwd=root, check=True,
                   capture_output=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--annotations", type=int, default=360)
    args = parser.parse_args()
    config = default_config("keras-cv")
    with tempfile.TemporaryDirectory() as folder:
        spec = f"sigmf:{write_recording(Path(folder), synthetic_annotations(args.annotations))}"
        totals, per_nfft, first = [], [], None
        for _ in range(args.runs):
            start = time.perf_counter()
            points = stft_sweep(spec, config, DEFAULT_NFFTS)
            totals.append(time.perf_counter() - start)
            per_nfft.append([p.seconds for p in points])
            first = totals[0] if first is None else first
        loads = [[_seconds(load_table, spec_at(spec, p.nfft, p.hop)) for p in points]
                 for _ in range(args.runs)]
        wall = command_wall_seconds(spec)
    median_per_nfft = np.median(np.array(per_nfft), axis=0)
    median_load = np.median(np.array(loads), axis=0)
    print(json.dumps({
        "load_average_1_5_15": [round(v, 2) for v in os.getloadavg()],
        "cpus": os.cpu_count(),
        "samples": int(SAMPLE_RATE * SECONDS),
        "annotations": args.annotations,
        "boxes": points[0].boxes,
        "nffts": list(DEFAULT_NFFTS),
        "image_sizes_rows_x_columns": [[p.nfft, -(-int(SAMPLE_RATE * SECONDS) // p.hop)]
                                       for p in points],
        "seconds_per_nfft_median": {str(p.nfft): round(float(s), 3)
                                    for p, s in zip(points, median_per_nfft, strict=True)},
        "load_seconds_per_nfft_median": {str(p.nfft): round(float(s), 4)
                                         for p, s in zip(points, median_load, strict=True)},
        "total_seconds_median": round(float(np.median(totals)), 3),
        "total_seconds_runs": [round(t, 3) for t in totals],
        "first_sweep_seconds": round(first, 3),
        "command_wall_seconds": round(wall, 2),
        "target_seconds": TARGET_SECONDS,
        "recall_per_nfft": {str(p.nfft): round(p.recall, 4) for p in points},
        "ceiling_recall_per_nfft": {str(p.nfft): round(p.ceiling_recall, 4) for p in points},
    }, indent=1))


if __name__ == "__main__":
    main()
