"""Spectrograms of RF recordings: a short-time FFT in power dB, highest frequency in row 0.

The pixel grid is defined so that a sample index and a frequency map onto it exactly (the `sigmf:`
source places annotation boxes with these formulas):

- time: column k of the image spans x in [k, k + 1) and holds the frame of `nfft` samples centred
  on the middle of samples [k*hop, (k+1)*hop): it starts at sample `k*hop + (hop - nfft)//2`,
  samples outside the recording count as zeros. So sample s lies at x = s / hop. With the default
  hop = nfft, frame k covers exactly samples [k*hop, k*hop + nfft). There are ceil(N / hop)
  columns, so every sample is shown (the last frame is zero-padded when hop does not divide N).
- frequency: row r spans baseband frequencies [fs/2 - (r+1)*fs/nfft, fs/2 - r*fs/nfft) and its
  FFT bin sits at the row's centre (for even nfft the frame is shifted down by half a bin before
  the FFT, so bins fall on half-integer multiples of fs/nfft). So baseband frequency f lies at
  y = (fs/2 - f) / (fs/nfft): row 0 is the highest frequency, row nfft - 1 the lowest, and the
  centre frequency (f = 0) is the border between rows nfft/2 - 1 and nfft/2. Real-valued input
  gives a spectrum mirrored about that border.
- power: |FFT(window * frame)|^2 / sum(window^2) in dB (unit-variance white noise reads 0 dB),
  floored at POWER_FLOOR_DB so that silent (zero) frames stay finite.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

POWER_FLOOR_DB = -200.0
BLOCK_ELEMENTS = 1 << 21  # frame samples per FFT block: bounds the temporary memory (~16-32 MB)
NUMPY_WINDOWS = ("hann", "hanning", "hamming", "blackman", "boxcar", "rectangular", "rect", "ones")

SampleReader = Callable[[int, int], np.ndarray]  # read(start, stop) -> samples [start, stop)


def window_values(window: str, nfft: int) -> np.ndarray:
    """The periodic (DFT-even) window of length `nfft`, as `scipy.signal.get_window` makes it.

    `window` is a scipy window name (`hann`, `hamming`, `blackman`, `boxcar`, `flattop`, ...) or a
    name and its parameters separated by commas (`kaiser,8`, `gaussian,40`, `tukey,0.25`).
    Common windows are computed with numpy, so scipy is imported only for the others.
    Raises ValueError for an unknown name or bad parameters.
    """
    name, *parameters = [part.strip() for part in str(window).split(",")]
    name = name.lower()
    if not parameters and name in NUMPY_WINDOWS:
        phase = 2.0 * np.pi * np.arange(nfft) / nfft
        if name in ("hann", "hanning"):
            return 0.5 - 0.5 * np.cos(phase)
        if name == "hamming":
            return 0.54 - 0.46 * np.cos(phase)
        if name == "blackman":
            return 0.42 - 0.5 * np.cos(phase) + 0.08 * np.cos(2 * phase)
        return np.ones(nfft)
    from scipy.signal import get_window  # lazily: scipy.signal takes a while to import

    try:
        values = [float(p) for p in parameters]
    except ValueError:
        raise ValueError(f"window parameters must be numbers, got {window!r}") from None
    try:
        taper = np.asarray(get_window((name, *values) if values else name, nfft, fftbins=True),
                           np.float64)
    except Exception as error:  # scipy raises ValueError/TypeError/KeyError for unknown names
        raise ValueError(f"unknown window {window!r} ({error})") from None
    if taper.shape != (nfft,) or not np.isfinite(taper).all() or not (taper**2).sum() > 0:
        raise ValueError(f"window {window!r} gives no usable values for nfft={nfft}")
    return taper


def frame_count(sample_count: int, hop: int) -> int:
    """Columns of the spectrogram of `sample_count` samples: ceil(sample_count / hop)."""
    return -(-int(sample_count) // int(hop))


def frame_start(frame: int | np.ndarray, nfft: int, hop: int) -> int | np.ndarray:
    """First sample of frame `frame` (may be negative: zero padding before the recording)."""
    return frame * hop + (hop - nfft) // 2


def half_bin_shift(nfft: int) -> float:
    """Bins the frame is shifted down before the FFT so each row is centred on its cell (0.5 for
    even nfft, 0 for odd)."""
    return nfft / 2 + 0.5 - (nfft + 1) // 2


def spectrogram_db_from_reader(
    read: SampleReader,
    sample_count: int,
    nfft: int,
    hop: int | None = None,
    window: str | np.ndarray = "hann",
    *,
    max_pixels: int | None = None,
) -> np.ndarray:
    """The (nfft, ceil(N / hop)) float32 power spectrogram in dB of a recording of N samples.

    `read(start, stop)` returns samples [start, stop) (complex or real, 1-D) for
    0 <= start < stop <= N; the recording is read block by block, so only the result and one
    block are in memory. `hop` defaults to `nfft`. When the image would exceed `max_pixels`,
    groups of g consecutive frames are merged by their maximum power (a short burst stays
    visible) and the result has ceil(columns / g) columns that still span the same time.
    """
    nfft, hop = int(nfft), int(nfft if hop is None else hop)
    if nfft < 1 or hop < 1:
        raise ValueError(f"nfft and hop must be positive, got nfft={nfft}, hop={hop}")
    taper = window_values(window, nfft) if isinstance(window, str) else np.asarray(window)
    if taper.shape != (nfft,):
        raise ValueError(f"window has {taper.size} values, nfft is {nfft}")
    shift = half_bin_shift(nfft)
    modulation = np.exp(-2j * np.pi * shift * np.arange(nfft) / nfft) if shift else 1.0
    kernel = (taper * modulation / np.sqrt((taper**2).sum())).astype(np.complex64)

    frames = frame_count(sample_count, hop)
    group = 1
    if max_pixels is not None and frames * nfft > max_pixels:
        group = -(-frames * nfft // max(int(max_pixels), nfft))
    columns = -(-frames // group)
    out = np.empty((nfft, columns), np.float32)
    block = max(1, BLOCK_ELEMENTS // (nfft * group)) * group  # frames per block, whole groups
    floor = np.float32(10.0 ** (POWER_FLOOR_DB / 10.0))
    for first in range(0, frames, block):
        last = min(first + block, frames)
        start = int(frame_start(first, nfft, hop))
        stop = int(frame_start(last - 1, nfft, hop)) + nfft
        segment = np.zeros(stop - start, np.complex64)
        lo, hi = max(start, 0), min(stop, sample_count)
        if hi > lo:
            segment[lo - start : hi - start] = np.asarray(read(lo, hi)).reshape(-1)
        view = np.lib.stride_tricks.sliding_window_view(segment, nfft)[::hop]
        spectrum = np.fft.fft(view * kernel, axis=1)
        power = spectrum.real**2 + spectrum.imag**2  # (frames in block, nfft), float32
        if group > 1:
            power = np.maximum.reduceat(power, np.arange(0, len(power), group), axis=0)
        # fftshift: bin j <-> frequency (j - nfft//2 + shift) * fs / nfft; then highest in row 0
        rows = np.fft.fftshift(power, axes=1)[:, ::-1]
        column = first // group
        out[:, column : column + len(rows)] = (10.0 * np.log10(np.maximum(rows, floor))).T
    return out


def spectrogram_db(
    samples: np.ndarray,
    nfft: int,
    hop: int | None = None,
    window: str | np.ndarray = "hann",
    *,
    max_pixels: int | None = None,
) -> np.ndarray:
    """The (nfft, ceil(len(samples) / hop)) float32 power spectrogram (dB) of a 1-D signal.

    Complex (IQ) or real samples; conventions in the module docstring (highest frequency in
    row 0, sample s at column x = s / hop).
    """
    samples = np.asarray(samples).reshape(-1)
    return spectrogram_db_from_reader(lambda start, stop: samples[start:stop], len(samples), nfft,
                                      hop, window, max_pixels=max_pixels)
