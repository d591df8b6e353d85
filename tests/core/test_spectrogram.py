"""The STFT behind SigMF images: exact against a direct DFT, rows and columns where documented."""

import numpy as np
import pytest
from scipy.signal import get_window

import core.spectrogram as spectrogram
from core.spectrogram import (
    POWER_FLOOR_DB,
    frame_count,
    frame_start,
    spectrogram_db,
    spectrogram_db_from_reader,
    window_values,
)


def direct_spectrogram_db(samples, nfft, hop, taper):
    """Brute force: frame k = samples [k*hop + (hop-nfft)//2, +nfft) (zeros outside), row r =
    the DFT at baseband frequency fs/2 - (r + 0.5) fs/nfft, power / sum(w^2) in dB."""
    samples = np.asarray(samples, np.complex128)
    frames = frame_count(len(samples), hop)
    m = np.arange(nfft)
    rows = np.arange(nfft)
    cycles_per_sample = (nfft / 2 - rows - 0.5) / nfft  # row centre frequency / fs
    basis = np.exp(-2j * np.pi * np.outer(cycles_per_sample, m))  # (rows, nfft)
    out = np.empty((nfft, frames))
    for k in range(frames):
        start = k * hop + (hop - nfft) // 2
        frame = np.zeros(nfft, np.complex128)
        lo, hi = max(start, 0), min(start + nfft, len(samples))
        if hi > lo:
            frame[lo - start:hi - start] = samples[lo:hi]
        power = np.abs(basis @ (frame * taper)) ** 2 / (taper**2).sum()
        out[:, k] = 10 * np.log10(np.maximum(power, 10 ** (POWER_FLOOR_DB / 10)))
    return out


@pytest.mark.parametrize("name", ["hann", "hamming", "blackman", "boxcar"])
@pytest.mark.parametrize("nfft", [8, 63, 512])
def test_numpy_windows_equal_scipy_periodic_windows(name, nfft):
    assert np.allclose(window_values(name, nfft), get_window(name, nfft, fftbins=True),
                       atol=1e-12)


def test_other_scipy_windows_and_parameters():
    assert np.allclose(window_values("kaiser,8", 64), get_window(("kaiser", 8.0), 64))
    assert np.allclose(window_values("flattop", 64), get_window("flattop", 64))
    assert np.allclose(window_values("tukey, 0.25", 64), get_window(("tukey", 0.25), 64))


@pytest.mark.parametrize("bad", ["nonsense", "kaiser,x", "kaiser", ""])
def test_bad_windows_raise_value_error(bad):
    with pytest.raises(ValueError):
        window_values(bad, 64)


@pytest.mark.parametrize("nfft,hop", [(16, 16), (16, 8), (15, 4), (8, 3), (9, 9), (16, 1)])
def test_equals_direct_dft_reference(nfft, hop):
    rng = np.random.default_rng(nfft * 100 + hop)
    samples = rng.normal(size=101) + 1j * rng.normal(size=101)
    for window in ("hann", "boxcar", "kaiser,6"):
        fast = spectrogram_db(samples, nfft, hop, window)
        slow = direct_spectrogram_db(samples, nfft, hop, window_values(window, nfft))
        assert fast.shape == (nfft, -(-101 // hop)) and fast.dtype == np.float32
        assert np.allclose(fast, slow, atol=2e-3), np.abs(fast - slow).max()


def test_blocks_and_reader_give_the_same_image(monkeypatch):
    rng = np.random.default_rng(3)
    samples = (rng.normal(size=5000) + 1j * rng.normal(size=5000)).astype(np.complex64)
    whole = spectrogram_db(samples, 64, 24)
    monkeypatch.setattr(spectrogram, "BLOCK_ELEMENTS", 64 * 7)  # 7 frames per block
    reads = []

    def read(start, stop):
        assert 0 <= start < stop <= len(samples)
        reads.append((start, stop))
        return samples[start:stop]

    blocked = spectrogram_db_from_reader(read, len(samples), 64, 24, "hann")
    assert len(reads) > 20
    assert np.allclose(whole, blocked, atol=1e-4)


@pytest.mark.parametrize("nfft", [64, 63, 2])
def test_tone_at_a_row_centre_lands_in_that_row_highest_frequency_first(nfft):
    for row in {0, 1, nfft // 2 - 1, nfft // 2, nfft - 1}:
        frequency = (nfft / 2 - row - 0.5) / nfft  # cycles per sample = row centre / fs
        tone = np.exp(2j * np.pi * frequency * np.arange(nfft * 6))
        image = spectrogram_db(tone, nfft, window="boxcar")
        assert (image.argmax(axis=0) == row).all()
        # a boxcar frame of a tone on the bin: all the energy in one row
        assert np.isclose(image[row, 2], 10 * np.log10(nfft), atol=1e-3)


def test_positive_frequency_in_upper_half_and_real_signals_mirror():
    nfft = 128
    tone = np.exp(2j * np.pi * 0.2 * np.arange(nfft * 8))
    image = spectrogram_db(tone, nfft)
    assert image.argmax(axis=0).max() < nfft // 2
    negative = spectrogram_db(np.conj(tone), nfft)
    assert image.argmax(axis=0).min() + negative.argmax(axis=0).max() == nfft - 1
    real = spectrogram_db(np.cos(2 * np.pi * 0.2 * np.arange(nfft * 8)), nfft)
    real = np.maximum(real, -60.0)  # float32 leakage far below the tone is rounding noise
    assert np.allclose(real, real[::-1], atol=1e-3)  # mirrored about the centre frequency


@pytest.mark.parametrize("nfft,hop", [(32, 32), (32, 16), (32, 5), (31, 7)])
def test_columns_lit_by_a_burst_are_exactly_the_frames_that_overlap_it(nfft, hop):
    count = 1000
    for first, last in [(0, 1), (100, 356), (317, 318), (999, 1000), (64, 640)]:
        samples = np.zeros(count, np.complex64)
        samples[first:last] = 1.0
        image = spectrogram_db(samples, nfft, hop, "boxcar")
        lit = np.flatnonzero(image.max(axis=0) > POWER_FLOOR_DB + 1)
        starts = frame_start(np.arange(frame_count(count, hop)), nfft, hop)
        expected = np.flatnonzero((starts < last) & (starts + nfft > first))
        assert np.array_equal(lit, expected)
        if hop == nfft:  # default hop: column k holds exactly samples [k*hop, (k+1)*hop)
            assert np.array_equal(lit, np.arange(first // hop, -(-last // hop)))


def test_white_noise_reads_zero_db_and_shape_rounds_frames_up():
    rng = np.random.default_rng(0)
    noise = (rng.normal(size=200_001) + 1j * rng.normal(size=200_001)) / np.sqrt(2)
    image = spectrogram_db(noise, 256)
    assert image.shape == (256, 782)  # ceil(200001 / 256)
    assert abs(np.mean(10 ** (image[:, :-1] / 10)) - 1.0) < 0.02
    assert spectrogram_db(noise[:10], 256).shape == (256, 1)


def test_max_pixels_merges_frames_by_their_maximum():
    rng = np.random.default_rng(1)
    samples = rng.normal(size=64 * 100) + 1j * rng.normal(size=64 * 100)
    full = spectrogram_db(samples, 64)
    merged = spectrogram_db(samples, 64, max_pixels=64 * 30)  # 100 frames -> groups of 4
    assert merged.shape == (64, 25)
    assert np.allclose(merged, full.reshape(64, 25, 4).max(axis=2), atol=1e-4)
    assert spectrogram_db(samples, 64, max_pixels=64 * 100).shape == (64, 100)


def test_bad_arguments_raise_value_error():
    with pytest.raises(ValueError):
        spectrogram_db(np.zeros(10), 0)
    with pytest.raises(ValueError):
        spectrogram_db(np.zeros(10), 8, hop=0)
    with pytest.raises(ValueError):
        spectrogram_db(np.zeros(10), 8, window=np.ones(7))
