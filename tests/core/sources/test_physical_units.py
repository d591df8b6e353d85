"""Physical units of the sources: a SigMF box maps back to exactly its annotation's seconds and
hertz whatever nfft, hop, sample rate, centre frequency and offset; other kinds take the
`hz_per_row`, `s_per_col`, `f0` options (checked, refused for sigmf, never passed to a loader)."""

import math
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.errors import InputError
from core.sources import load_table, open_source
from tests.core.sources.writers.coco_writer import write_coco
from tests.core.sources.writers.common import reference_dataset
from tests.core.sources.writers.sigmf_writer import write_recording, write_sigmf
from tests.core.sources.writers.voc_writer import write_voc
from tests.core.sources.writers.yolo_writer import write_yolo


def recording(directory: Path, name: str, count: int, sample_rate: float, annotations: list,
              captures: list | None = None, **global_info) -> Path:
    meta = {"global": {"core:sample_rate": sample_rate, **global_info},
            "captures": captures if captures is not None else [{"core:sample_start": 0}],
            "annotations": annotations}
    return write_recording(directory / name, np.zeros(count, np.complex64), meta)


@st.composite
def sigmf_cases(draw):
    """A spectrogram setting and one annotation inside the data and the band."""
    nfft = draw(st.integers(2, 4096))
    hop = draw(st.integers(1, nfft))
    sample_rate = draw(st.sampled_from([1e3, 48e3, 1e6, 2.5e6, 10e6, 20e6, 61.44e6]))
    sample_rate *= draw(st.floats(0.5, 2.0))
    centre = draw(st.sampled_from([0.0, 1e6, 915e6, 2.44e9, 5.8e9, -3e6]))
    offset = draw(st.integers(0, 5000))
    count = draw(st.integers(1, 4 * nfft + 50))
    start = draw(st.integers(0, count - 1))
    length = draw(st.integers(1, count - start))
    low = draw(st.floats(0.001, 0.99))  # off the band's edges: rounding there would clip
    high = draw(st.floats(low + 1e-6, 0.999))
    lower = centre - sample_rate / 2 + low * sample_rate
    upper = centre - sample_rate / 2 + high * sample_rate
    return nfft, hop, sample_rate, centre, offset, count, start, length, lower, upper


@settings(max_examples=60, deadline=None)
@given(case=sigmf_cases())
def test_sigmf_box_maps_back_to_its_annotation(case):
    """Through the source's own box geometry: pixels -> seconds and hertz equal the annotation's
    `sample_start / fs`, `(sample_start + sample_count) / fs` and frequency edges."""
    nfft, hop, fs, fc, offset, count, start, length, lower, upper = case
    annotation = {"core:sample_start": offset + start, "core:sample_count": length,
                  "core:freq_lower_edge": lower, "core:freq_upper_edge": upper}
    with tempfile.TemporaryDirectory() as directory:
        meta = recording(Path(directory), "rec", count, fs, [annotation],
                         [{"core:sample_start": offset, "core:frequency": fc}], **{
                             "core:offset": offset})
        table = load_table(f"sigmf:{meta}?nfft={nfft}&hop={hop}")
    assert len(table) == 1 and table.clipped == 0
    axes = table.physical_axes(0)
    assert axes.seconds_per_column == hop / fs and axes.hertz_per_row == fs / nfft
    t_start, t_stop, f_low, f_high = (float(v[0]) for v in table.units.box_extents(
        table.image, table.x1, table.y1, table.x2, table.y2))
    assert t_start == pytest.approx((offset + start) / fs, rel=1e-12, abs=1e-15)
    assert t_stop == pytest.approx((offset + start + length) / fs, rel=1e-12, abs=1e-15)
    scale = max(abs(fc), fs)
    assert f_low == pytest.approx(lower, rel=1e-12, abs=1e-12 * scale)
    assert f_high == pytest.approx(upper, rel=1e-12, abs=1e-12 * scale)
    # and the view's inverse: seconds and hertz back to the stored pixels
    assert float(axes.column(t_start)) == pytest.approx(table.x1[0], abs=1e-6)
    assert float(axes.row(f_high)) == pytest.approx(table.y1[0], abs=1e-6)
    # the image spans the whole recording and the whole band
    assert axes.time(table.image_widths[0]) >= (offset + count) / fs * (1 - 1e-12)
    assert axes.frequency(table.image_heights[0]) == pytest.approx(fc - fs / 2, abs=1e-9 * scale)


def test_recordings_with_different_rates_and_centres(tmp_path):
    """Each recording has its own units; no common pixel size then."""
    one = {"core:sample_start": 100, "core:sample_count": 300, "core:freq_lower_edge": 915.1e6,
           "core:freq_upper_edge": 915.2e6}
    two = {"core:sample_start": 2000, "core:sample_count": 500, "core:freq_lower_edge": 2.4395e9,
           "core:freq_upper_edge": 2.4405e9}
    recording(tmp_path, "a", 4096, 1e6, [one], [{"core:sample_start": 0,
                                                 "core:frequency": 915e6}])
    recording(tmp_path, "b", 8192, 4e6, [two], [{"core:sample_start": 0,
                                                 "core:frequency": 2.44e9}])
    table = load_table(f"sigmf:{tmp_path}?nfft=256&hop=128")
    a, b = table.physical_axes(0), table.physical_axes(1)
    assert (a.seconds_per_column, a.hertz_per_row, a.frequency_of_row0) == (128e-6, 1e6 / 256,
                                                                            915.5e6)
    assert (b.seconds_per_column, b.hertz_per_row, b.frequency_of_row0) == (32e-6, 4e6 / 256,
                                                                            2.442e9)
    extents = np.stack(table.units.box_extents(table.image, table.x1, table.y1, table.x2,
                                               table.y2), axis=1)
    np.testing.assert_allclose(extents, [[100e-6, 400e-6, 915.1e6, 915.2e6],
                                         [500e-6, 625e-6, 2.4395e9, 2.4405e9]], rtol=1e-12)


def test_recording_without_centre_frequency_is_baseband(tmp_path):
    meta = recording(tmp_path, "rec", 1024, 64e3, [{"core:sample_start": 0,
                                                    "core:sample_count": 64}])
    axes = load_table(f"sigmf:{meta}?nfft=64").physical_axes(0)
    assert axes.frequency_of_row0 == 32e3 and axes.frequency(32) == 0.0


def test_retuned_recording_knows_bandwidth_not_frequency(tmp_path):
    """Captures at two centre frequencies: each box uses its own segment's fc, so the image has
    no single frequency axis; durations and bandwidths stay known."""
    annotations = [{"core:sample_start": 10, "core:sample_count": 100,
                    "core:freq_lower_edge": 100.001e6, "core:freq_upper_edge": 100.004e6},
                   {"core:sample_start": 900, "core:sample_count": 50,
                    "core:freq_lower_edge": 200.001e6, "core:freq_upper_edge": 200.002e6}]
    meta = recording(tmp_path, "rec", 1024, 16e3, annotations,
                     [{"core:sample_start": 0, "core:frequency": 100e6},
                      {"core:sample_start": 512, "core:frequency": 200e6}])
    table = load_table(f"sigmf:{meta}?nfft=16")
    axes = table.physical_axes(0)
    assert axes.knows_time and axes.knows_bandwidth and not axes.knows_frequency
    np.testing.assert_allclose(table.units.bandwidths(table.image, table.heights), [3e3, 1e3])
    _, _, f_low, f_high = table.units.box_extents(table.image, table.x1, table.y1, table.x2,
                                                  table.y2)
    assert np.isnan(f_low).all() and np.isnan(f_high).all()


def test_reference_sigmf_dataset_has_units(tmp_path):
    table = load_table(write_sigmf(tmp_path, reference_dataset(0)))
    assert table.units is not None and len(table.units) == table.image_count
    assert (table.units.seconds_per_column == 100 / 1e6).all()


# --- options for the other kinds -----------------------------------------------------------------

TORCHSIG = "hz_per_row=19531.25&s_per_col=0.0000512"


def test_demo_with_units():
    table = load_table(f"demo?images=4&{TORCHSIG}")
    axes = table.physical_axes(0)
    assert axes.seconds_per_column == 5.12e-5 and axes.hertz_per_row == 19531.25
    assert axes.frequency_of_row0 == 512 * 19531.25 / 2  # centred on 0 Hz by default
    assert load_table("demo?images=4").units is None  # no options: no units
    plain = load_table("demo?images=4")
    np.testing.assert_array_equal(plain.xyxy(), table.xyxy())  # boxes do not change


@pytest.mark.parametrize("writer", ["coco", "voc", "yolo"])
def test_file_formats_take_the_options(tmp_path, writer):
    dataset = reference_dataset(1)
    spec = {"coco": lambda: write_coco(tmp_path, dataset),
            "voc": lambda: write_voc(tmp_path, dataset),
            "yolo": lambda: write_yolo(tmp_path, dataset)}[writer]()
    joiner = "&" if "?" in spec else "?"
    table = load_table(f"{spec}{joiner}hz_per_row=1000&s_per_col=0.001&f0=915e6")
    plain = load_table(spec)
    np.testing.assert_array_equal(table.xyxy(), plain.xyxy())
    np.testing.assert_array_equal(table.units.frequency_of_row0, 915e6)
    t_start, _, _, f_high = table.units.box_extents(table.image, table.x1, table.y1, table.x2,
                                                    table.y2)
    np.testing.assert_allclose(t_start, table.x1 * 1e-3)
    np.testing.assert_allclose(f_high, 915e6 - table.y1 * 1000)


def test_one_axis_alone():
    table = load_table("demo?images=2&s_per_col=0.001")
    axes = table.physical_axes(0)
    assert axes.knows_time and not axes.knows_bandwidth


@pytest.mark.parametrize("options, message", [
    ("hz_per_row=0", "option 'hz_per_row' must be hertz per image row, a positive number"),
    ("hz_per_row=-5", "must be hertz per image row"),
    ("s_per_col=abc", "option 's_per_col' must be seconds per image column"),
    ("s_per_col=true", "option 's_per_col' must be"),
    ("s_per_col=inf", "option 's_per_col' must be"),
    ("hz_per_row=1&f0=nan", "option 'f0' must be hertz at the upper edge of the top row"),
    ("f0=915e6", "option 'f0' needs 'hz_per_row'"),
    ("hz_per_rows=5", "unknown option 'hz_per_rows' for a demo dataset; known options: images, "
                      "seed (and hz_per_row, s_per_col, f0 for physical units)"),
])
def test_bad_unit_options_are_refused(options, message):
    with pytest.raises(InputError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load_table(f"demo?images=2&{options}")


def test_sigmf_refuses_the_options(tmp_path):
    spec = write_sigmf(tmp_path, reference_dataset(0))
    with pytest.raises(InputError, match="'hz_per_row': a sigmf dataset takes its physical units "
                                         "from its own files"):
        open_source(f"{spec}&hz_per_row=1000")
    with pytest.raises(InputError) as caught:
        open_source(f"{spec}&colour=red")
    assert "hz_per_row" not in str(caught.value)  # sigmf's known options are its own


def test_a_python_loader_never_receives_them():
    source = open_source(f"python:resources.em_loader_demo:load?split=train&{TORCHSIG}&f0=5")
    assert source.spec.options == {"split": "train"}
    assert source.spec.text.endswith("&f0=5")  # the table keeps the SPEC as written
    assert source.pixel_scale.hertz_per_row == 19531.25
    assert source.pixel_scale.frequency_of_row0 == 5.0
    assert math.isclose(source.pixel_scale.seconds_per_column, 5.12e-5)
