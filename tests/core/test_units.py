"""Physical units: SI formatting, the pixel <-> s/Hz mapping of one image and of many, the size of
one (model-input) pixel, box ranges, and units given as spec options."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.input_mapping import map_boxes_to_input
from core.units import (
    ImageUnits,
    PhysicalAxes,
    PixelScale,
    PixelSize,
    digits_to_resolve,
    format_hertz,
    format_seconds,
    physical_ranges,
    pixel_size,
    unit_prefix,
)

# --- formatting ----------------------------------------------------------------------------------


@pytest.mark.parametrize("value, text", [
    (2.4e-5, "24 µs"), (5.12e-5, "51.2 µs"), (1.6384e-3, "1.64 ms"), (0.5, "500 ms"),
    (1.0, "1 s"), (12.345, "12.3 s"), (1234.5, "1230 s"), (3e-9, "3 ns"), (2e-12, "0.002 ns"),
    (0.0, "0 s"), (-2.5e-3, "-2.5 ms"),
    (0.99996, "1 s"),  # rounded before the prefix is chosen: not "1e+03 ms"
    (9.9996e-4, "1 ms"), (math.nan, "—"), (math.inf, "—"),
])
def test_format_seconds(value, text):
    assert format_seconds(value) == text


@pytest.mark.parametrize("value, text", [
    (5000, "5 kHz"), (19531.25, "19.5 kHz"), (62500, "62.5 kHz"), (999.96e3, "1 MHz"),
    (2.44e9, "2.44 GHz"), (0.5, "0.5 Hz"), (12, "12 Hz"), (0, "0 Hz"), (-5e6, "-5 MHz"),
    (4.2e12, "4200 GHz"),
])
def test_format_hertz(value, text):
    assert format_hertz(value) == text


def test_positions_keep_the_digits_their_resolution_needs():
    assert format_hertz(2.4401e9) == "2.44 GHz"
    digits = digits_to_resolve(2.4401e9, 19531.25)
    assert digits == 6 and format_hertz(2.4401e9, digits) == "2.4401 GHz"
    assert format_hertz(2.440125e9, digits_to_resolve(2.440125e9, 1000)) == "2.440125 GHz"
    assert digits_to_resolve(0.001, 5.12e-5) == 3  # never fewer than 3
    assert digits_to_resolve(9.81234, 1e-5) == 6
    assert digits_to_resolve(math.nan, 1.0) == 3 and digits_to_resolve(1.0, 0.0) == 3


def test_unit_prefix():
    assert unit_prefix(2.4e9, "Hz") == ("G", 1e9)
    assert unit_prefix(999, "Hz") == ("", 1.0)
    assert unit_prefix(0.05, "s") == ("m", 1e-3)
    assert unit_prefix(1e-12, "s") == ("n", 1e-9)  # the smallest prefix for tinier values
    assert unit_prefix(0, "s") == ("", 1.0) and unit_prefix(math.nan, "Hz") == ("", 1.0)


# --- one image -----------------------------------------------------------------------------------

AXES = PhysicalAxes(seconds_per_column=5.12e-5, hertz_per_row=19531.25, time_of_column0=0.25,
                    frequency_of_row0=2.445e9)


def test_axes_conventions():
    """x = 0 is the left edge of column 0; y = 0 the upper edge of row 0, the highest frequency."""
    assert AXES.time(0) == 0.25 and AXES.time(10) == pytest.approx(0.25 + 5.12e-4)
    assert AXES.frequency(0) == 2.445e9
    assert AXES.frequency(512) == pytest.approx(2.445e9 - 10e6)  # rows go down in frequency
    assert AXES.duration(32) == pytest.approx(1.6384e-3)
    assert AXES.bandwidth(32) == 625e3
    assert AXES.knows_time and AXES.knows_bandwidth and AXES.knows_frequency
    retuned = PhysicalAxes(1e-3, 1e3)  # no frequency origin
    assert retuned.knows_bandwidth and not retuned.knows_frequency
    assert not PhysicalAxes().knows_time


@settings(max_examples=200, deadline=None)
@given(dt=st.floats(1e-9, 10.0), df=st.floats(1e-3, 1e9), t0=st.floats(-1e3, 1e3),
       f0=st.floats(-1e10, 1e10), x=st.floats(-1e5, 1e5), y=st.floats(-1e5, 1e5))
def test_pixel_physical_round_trip(dt, df, t0, f0, x, y):
    axes = PhysicalAxes(dt, df, t0, f0)
    assert axes.column(axes.time(x)) == pytest.approx(x, rel=1e-9, abs=1e-9 * (abs(t0) / dt + 1))
    assert axes.row(axes.frequency(y)) == pytest.approx(y, rel=1e-9, abs=1e-9 * (abs(f0) / df + 1))


# --- many images ---------------------------------------------------------------------------------


def test_image_units_box_extents_and_unknown_images():
    units = ImageUnits.from_axes([AXES, None, PhysicalAxes(1e-3, 1e3)])
    assert units.of_image(0) == AXES
    assert units.of_image(1) is None
    assert units.of_image(2).knows_bandwidth and not units.of_image(2).knows_frequency
    image = np.array([0, 1, 2, 0])
    x1, y1 = np.array([0.0, 1, 2, 10]), np.array([0.0, 1, 2, 256])
    x2, y2 = x1 + 32, y1 + 16
    t_start, t_stop, f_low, f_high = units.box_extents(image, x1, y1, x2, y2)
    np.testing.assert_allclose(t_start[[0, 3]], [0.25, 0.25 + 10 * 5.12e-5])
    np.testing.assert_allclose(t_stop[[0, 3]], [0.25 + 32 * 5.12e-5, 0.25 + 42 * 5.12e-5])
    np.testing.assert_allclose(f_high[[0, 3]], [2.445e9, 2.445e9 - 256 * 19531.25])
    np.testing.assert_allclose(f_low[[0, 3]], [2.445e9 - 16 * 19531.25, 2.445e9 - 272 * 19531.25])
    assert np.isnan([t_start[1], t_stop[1], f_low[1], f_high[1]]).all()
    assert t_start[2] == pytest.approx(2e-3) and np.isnan([f_low[2], f_high[2]]).all()
    np.testing.assert_allclose(units.bandwidths(image, y2 - y1), [312500, np.nan, 16e3, 312500])
    merged = ImageUnits.concatenate([units, ImageUnits.unknown(2)])
    assert len(merged) == 5 and merged.of_image(4) is None and merged.knows_any
    assert not ImageUnits.unknown(3).knows_any


def test_pixel_size_only_when_every_image_agrees():
    heights, widths = np.full(3, 512), np.full(3, 512)
    same = ImageUnits.from_axes([AXES] * 3)
    assert pixel_size(same, heights, widths) == PixelSize(5.12e-5, 19531.25)
    assert pixel_size(None, heights, widths) is None
    assert pixel_size(ImageUnits.from_axes([AXES, AXES, None]), heights, widths) is None
    other = PhysicalAxes(1e-4, 19531.25, 0.0, 1e9)  # another time scale, same frequency step
    mixed = pixel_size(ImageUnits.from_axes([AXES, other, AXES]), heights, widths)
    assert math.isnan(mixed.seconds) and mixed.hertz == 19531.25
    only_time = ImageUnits.from_axes([PhysicalAxes(seconds_per_column=1e-3)] * 3)
    time_only = pixel_size(only_time, heights, widths)
    assert time_only.seconds == 1e-3 and math.isnan(time_only.hertz)


@pytest.mark.parametrize("resize", ["stretch", "letterbox"])
def test_pixel_size_of_a_model_input_pixel(resize):
    """A model-input pixel spans what one pixel of a box mapped into the input spans."""
    units = ImageUnits.from_axes([AXES] * 2)
    heights, widths = np.array([300, 300]), np.array([700, 700])
    size = pixel_size(units, heights, widths, (256, 512), resize)
    x1, y1, x2, y2, *_ = map_boxes_to_input([0.0], [0.0], [70.0], [30.0], [0], heights, widths,
                                            (256, 512), resize)
    assert size.seconds * (x2[0] - x1[0]) == pytest.approx(70 * AXES.seconds_per_column)
    assert size.hertz * (y2[0] - y1[0]) == pytest.approx(30 * AXES.hertz_per_row)
    assert pixel_size(units, np.array([300, 301]), widths, (256, 512), resize) is None
    assert pixel_size(units, np.array([300, 301]), widths) is not None  # native: sizes may differ


def test_pixel_size_describes_anchor_sizes():
    size = PixelSize(5e-7, 1953.125)
    assert size.describe(32) == "32 px = 16 µs × 62.5 kHz"
    assert size.describe(31.6228, 8) == "31.6 × 8 px = 15.8 µs × 15.6 kHz"
    assert size.extent(1) == "500 ns × 1.95 kHz"
    assert PixelSize(math.nan, 1000.0).describe(4) == "4 px = 4 kHz"


def test_physical_ranges():
    units = ImageUnits.from_axes([PhysicalAxes(1e-3, 100.0), None])
    image = np.array([0, 0, 0, 1])
    widths, heights = np.array([1.0, 2.0, 10.0, 5.0]), np.array([4.0, 5.0, 6.0, 7.0])
    ranges = physical_ranges(units, image, widths, heights)
    assert ranges["duration_s"] == {"boxes": 3, "min": 1e-3, "p50": 2e-3, "max": 1e-2}
    assert ranges["bandwidth_hz"] == {"boxes": 3, "min": 400.0, "p50": 500.0, "max": 600.0}
    assert physical_ranges(None, image, widths, heights) is None
    assert physical_ranges(ImageUnits.unknown(2), image, widths, heights) is None


def test_pixel_scale_from_options():
    scale = PixelScale(seconds_per_column=5.12e-5, hertz_per_row=19531.25)
    units = scale.image_units(np.array([512, 256]))
    # without f0 every image is centred on 0 Hz: complex baseband
    np.testing.assert_allclose(units.frequency_of_row0, [5e6, 2.5e6])
    axes = units.of_image(0)
    assert axes.frequency(256) == 0.0 and axes.frequency(512) == -5e6
    assert axes.time(0) == 0.0
    fixed = PixelScale(hertz_per_row=1000.0, frequency_of_row0=915e6).image_units([100, 200])
    np.testing.assert_allclose(fixed.frequency_of_row0, [915e6, 915e6])
    assert np.isnan(fixed.seconds_per_column).all()
