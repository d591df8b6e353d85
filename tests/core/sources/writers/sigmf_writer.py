"""Writes SigMF recordings (meta JSON + samples) whose annotations map to known pixel boxes.

Written by hand (plain JSON and numpy), independent of the code under test. Samples are complex
noise plus, inside every annotated time x frequency box, band-limited energy well above the noise,
so a rendered spectrogram shows each box where its annotation says.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from tests.core.sources.writers.common import ReferenceDataset

SAMPLE_RATE = 1.0e6  # Hz
CENTRE_FREQUENCY = 915.0e6  # Hz
HOP = 100  # samples per column: x = sample / 100, so boxes rounded to 0.01 px are exact
NOISE_POWER = 1.0  # mean power per sample of the complex noise (0 dB on the spectrogram)
SIGNAL_POWER_DB = 25.0  # power per spectrogram bin of the synthetic signals above the noise


def sigmf_nfft(dataset: ReferenceDataset) -> int:
    """The FFT length `write_sigmf` uses: the smallest even number >= the tallest image.

    Every recording's image is that tall (SigMF image height = nfft), so the loaded heights are
    this value, not `dataset.heights`; widths and boxes are exactly the dataset's.
    """
    tallest = int(np.max(dataset.heights))
    return tallest + tallest % 2


def box_to_annotation(xyxy, nfft: int, hop: int, sample_rate: float = SAMPLE_RATE,
                      centre: float = CENTRE_FREQUENCY) -> dict:
    """The SigMF time/frequency fields of a pixel box (the inverse of the source's mapping)."""
    x1, y1, x2, y2 = (float(v) for v in xyxy)
    start, stop = round(x1 * hop), round(x2 * hop)
    bin_width = sample_rate / nfft
    top = centre + sample_rate / 2
    return {"core:sample_start": start, "core:sample_count": stop - start,
            "core:freq_lower_edge": top - y2 * bin_width,
            "core:freq_upper_edge": top - y1 * bin_width}


def band_limited_burst(rng: np.random.Generator, count: int, low: float, high: float,
                       sample_rate: float, power_per_bin: float, nfft: int) -> np.ndarray:
    """`count` complex samples of noise confined to baseband frequencies [low, high] (Hz)."""
    spectrum = (rng.normal(size=count) + 1j * rng.normal(size=count)) / np.sqrt(2)
    frequencies = np.fft.fftfreq(count, 1.0 / sample_rate)
    inside = (frequencies >= low) & (frequencies <= high)
    if not inside.any():  # narrower than one FFT bin of this burst: a tone at the band centre
        inside = np.abs(frequencies - (low + high) / 2) == np.abs(
            frequencies - (low + high) / 2).min()
    spectrum[~inside] = 0
    burst = np.fft.ifft(spectrum) * np.sqrt(count)
    # scale so each spectrogram row of the band reads `power_per_bin` (white noise of power p
    # reads p in every row, so a signal of power P spread over B of nfft rows reads P * nfft / B)
    band_bins = max((high - low) / (sample_rate / nfft), 1.0)
    target = power_per_bin * band_bins / nfft
    burst *= np.sqrt(target / max(np.mean(np.abs(burst) ** 2), 1e-30))
    return burst


def write_recording(path: Path, samples: np.ndarray, meta: dict, datatype: str = "cf32_le") -> Path:
    """Write `path`.sigmf-meta (the given metadata, datatype filled in) and `path`.sigmf-data."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    meta = json.loads(json.dumps(meta))
    meta.setdefault("global", {}).setdefault("core:datatype", datatype)
    meta["global"].setdefault("core:version", "1.2.0")
    encode_samples(samples, datatype).tofile(path.with_name(path.name + ".sigmf-data"))
    meta_path = path.with_name(path.name + ".sigmf-meta")
    meta_path.write_text(json.dumps(meta, indent=1))
    return meta_path


def encode_samples(samples: np.ndarray, datatype: str) -> np.ndarray:
    """Samples in a SigMF datatype (fixed point scaled from [-1, 1) as the package reads it)."""
    kind, rest = datatype[0], datatype[1:]
    base, _, endian = rest.partition("_")
    order = ">" if endian == "be" else "<"
    samples = np.asarray(samples)
    parts = [samples.real, samples.imag] if kind == "c" else [samples.real]
    stacked = np.stack(parts, axis=-1).reshape(-1)
    code, bits = base[0], int(base[1:])
    if code == "f":
        return stacked.astype(f"{order}f{bits // 8}")
    scale = 2.0 ** (bits - 1)
    values = np.clip(np.round(stacked * scale), -scale, scale - 1)
    if code == "u":
        values = values + scale
    return values.astype(f"{order}{code}{bits // 8}")


def write_sigmf(directory, dataset: ReferenceDataset) -> str:
    """One recording per reference image (`<image id>.sigmf-meta`), returns the SPEC to open it.

    Loaded back, boxes, classes, image ids (as strings), box positions and widths equal the
    dataset's; every image is `sigmf_nfft(dataset)` rows tall. Recording i has
    widths[i] * HOP samples at 1 MS/s around 915 MHz, one annotation per box, and one capture
    segment. Class ids are pinned with the `classes` option.
    """
    directory = Path(directory) / "sigmf_recordings"
    nfft = sigmf_nfft(dataset)
    rng = np.random.default_rng(1234)
    for position, image_id in enumerate(dataset.image_ids):
        rows = np.flatnonzero(dataset.image == position)
        count = int(dataset.widths[position]) * HOP
        samples = (rng.normal(size=count) + 1j * rng.normal(size=count)) * np.sqrt(
            NOISE_POWER / 2)
        annotations = []
        for row in rows:
            annotation = box_to_annotation(dataset.xyxy[row], nfft, HOP)
            annotation["core:label"] = dataset.class_names[int(dataset.cls[row])]
            annotations.append(annotation)
            start, length = annotation["core:sample_start"], annotation["core:sample_count"]
            low = annotation["core:freq_lower_edge"] - CENTRE_FREQUENCY
            high = annotation["core:freq_upper_edge"] - CENTRE_FREQUENCY
            samples[start:start + length] += band_limited_burst(
                rng, length, low, high, SAMPLE_RATE, 10 ** (SIGNAL_POWER_DB / 10), nfft)
        meta = {"global": {"core:sample_rate": SAMPLE_RATE, "core:author": "sigmf_writer"},
                "captures": [{"core:sample_start": 0, "core:frequency": CENTRE_FREQUENCY}],
                "annotations": annotations}
        write_recording(directory / str(image_id), samples, meta)
    classes = ",".join(dataset.class_names[k] for k in sorted(dataset.class_names))
    return f"sigmf:{directory}?nfft={nfft}&hop={HOP}&classes={classes}"
