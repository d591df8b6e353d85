"""Physical units of spectrogram pixels: seconds along x (columns), hertz along y (rows).

Conventions (docs/datasets.md, "Physical units"): x = 0 is the left edge of column 0 and
y = 0 the upper edge of row 0, which is the HIGHEST frequency. So for one image

    t(x) = time_of_column0 + x * seconds_per_column        (s)
    f(y) = frequency_of_row0 - y * hertz_per_row            (Hz, falls as y grows)

and a box `x1, y1, x2, y2` spans t(x1)..t(x2) and f(y2)..f(y1). A SigMF recording gives
seconds_per_column = hop / fs, time_of_column0 = core:offset / fs, hertz_per_row = fs / nfft and
frequency_of_row0 = fc + fs / 2 (`core.sources.sigmf_source`); other sources take them from the
spec options `s_per_col`, `hz_per_row`, `f0` (`PixelScale`). NaN means "not known": either axis
may be unknown on its own, and a recording whose captures tune to several centre frequencies has
a known `hertz_per_row` but no frequency origin.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

SECONDS, HERTZ, SAMPLES_PER_SECOND = "s", "Hz", "S/s"
# unit -> (prefix, factor) from the largest; what `format_quantity` and the axes choose from
UNIT_PREFIXES: dict[str, tuple[tuple[str, float], ...]] = {
    SECONDS: (("", 1.0), ("m", 1e-3), ("µ", 1e-6), ("n", 1e-9)),
    HERTZ: (("G", 1e9), ("M", 1e6), ("k", 1e3), ("", 1.0)),
    SAMPLES_PER_SECOND: (("G", 1e9), ("M", 1e6), ("k", 1e3), ("", 1.0)),
}
SIGNIFICANT_DIGITS = 3
NOT_KNOWN = "—"  # how a value that is not known reads in a table cell


# -- formatting -------------------------------------------------------------------------------
def unit_prefix(magnitude: float, unit: str) -> tuple[str, float]:
    """(prefix, factor) for showing values of about `magnitude` in `unit`: the largest prefix
    whose factor is <= |magnitude| (the smallest one for tinier values, '' for 0 or NaN)."""
    prefixes = UNIT_PREFIXES[unit]
    magnitude = abs(float(magnitude))
    if not magnitude > 0 or not math.isfinite(magnitude):
        return next(p for p in prefixes if p[1] == 1.0)
    return next((p for p in prefixes if magnitude >= p[1]), prefixes[-1])


def format_quantity(value: float, unit: str, digits: int = SIGNIFICANT_DIGITS) -> str:
    """`value` (in `unit`, s or Hz) with `digits` significant digits and an SI prefix:
    2.4e-5 s -> '24 µs', 5000 Hz -> '5 kHz', 0.9996 s -> '1 s'. NaN -> '—'."""
    value = float(value)
    if not math.isfinite(value):
        return NOT_KNOWN
    if value == 0:
        return f"0 {unit}"
    rounded = float(f"{value:.{digits}g}")  # first, so 999.96 µs becomes 1 ms, not 1e+03 µs
    prefix, factor = unit_prefix(rounded, unit)
    scaled = rounded / factor
    text = f"{scaled:.0f}" if abs(scaled) >= 10**digits else f"{scaled:.{digits}g}"
    return f"{text} {prefix}{unit}"


def format_seconds(value: float, digits: int = SIGNIFICANT_DIGITS) -> str:
    """A duration or time: `format_seconds(2.4e-5) == '24 µs'` (ns, µs, ms, s)."""
    return format_quantity(value, SECONDS, digits)


def format_hertz(value: float, digits: int = SIGNIFICANT_DIGITS) -> str:
    """A frequency or bandwidth: `format_hertz(5000) == '5 kHz'` (Hz, kHz, MHz, GHz)."""
    return format_quantity(value, HERTZ, digits)


def digits_to_resolve(value: float, resolution: float) -> int:
    """Significant digits that show `value` to within `resolution` (at least 3): a position
    such as 2.4401 GHz must not read as 2.44 GHz when the rows are 1 kHz apart."""
    value, resolution = abs(float(value)), abs(float(resolution))
    if not (value > 0 and resolution > 0 and math.isfinite(value) and math.isfinite(resolution)):
        return SIGNIFICANT_DIGITS
    return max(SIGNIFICANT_DIGITS,
               math.floor(math.log10(value)) - math.floor(math.log10(resolution)) + 1)


# -- one image -------------------------------------------------------------------------------
@dataclass(frozen=True)
class PhysicalAxes:
    """How one image's pixel coordinates map to seconds and hertz (module docstring); a NaN
    field is not known. Methods take scalars or arrays of pixel coordinates (or of s / Hz)."""

    seconds_per_column: float = math.nan  # s per unit of x
    hertz_per_row: float = math.nan  # Hz per unit of y
    time_of_column0: float = 0.0  # s at x = 0
    frequency_of_row0: float = math.nan  # Hz at y = 0 (upper edge of the top row)

    @property
    def knows_time(self) -> bool:
        return math.isfinite(self.seconds_per_column)

    @property
    def knows_bandwidth(self) -> bool:
        return math.isfinite(self.hertz_per_row)

    @property
    def knows_frequency(self) -> bool:
        """Absolute frequencies are known (not only bandwidths)."""
        return self.knows_bandwidth and math.isfinite(self.frequency_of_row0)

    def time(self, x):
        """Seconds at pixel x."""
        return self.time_of_column0 + np.asarray(x, np.float64) * self.seconds_per_column

    def column(self, seconds):
        """Pixel x at a time in seconds (the inverse of `time`)."""
        return (np.asarray(seconds, np.float64) - self.time_of_column0) / self.seconds_per_column

    def frequency(self, y):
        """Hertz at pixel y (row 0 is the highest frequency)."""
        return self.frequency_of_row0 - np.asarray(y, np.float64) * self.hertz_per_row

    def row(self, hertz):
        """Pixel y at a frequency in hertz (the inverse of `frequency`)."""
        return (self.frequency_of_row0 - np.asarray(hertz, np.float64)) / self.hertz_per_row

    def duration(self, width):
        """Seconds spanned by `width` pixels along x."""
        return np.asarray(width, np.float64) * self.seconds_per_column

    def bandwidth(self, height):
        """Hertz spanned by `height` pixels along y."""
        return np.asarray(height, np.float64) * self.hertz_per_row


# -- every image of a table ------------------------------------------------------------------
@dataclass(frozen=True)
class ImageUnits:
    """The `PhysicalAxes` fields of many images as columns, each (images,) float64, NaN where
    not known; what a `BoxTable` carries as `units`."""

    seconds_per_column: np.ndarray
    hertz_per_row: np.ndarray
    time_of_column0: np.ndarray
    frequency_of_row0: np.ndarray

    FIELDS = ("seconds_per_column", "hertz_per_row", "time_of_column0", "frequency_of_row0")

    def __len__(self) -> int:
        return len(self.seconds_per_column)

    @classmethod
    def unknown(cls, images: int) -> ImageUnits:
        nan = np.full(int(images), np.nan)
        return cls(nan, nan.copy(), np.zeros(int(images)), nan.copy())

    @classmethod
    def from_axes(cls, axes: Sequence[PhysicalAxes | None]) -> ImageUnits:
        """Columns from one `PhysicalAxes` (or None: nothing known) per image."""
        known = [a if a is not None else PhysicalAxes() for a in axes]
        return cls(*(np.array([getattr(a, name) for a in known], np.float64)
                     for name in cls.FIELDS))

    @classmethod
    def concatenate(cls, parts: Sequence[ImageUnits]) -> ImageUnits:
        if not parts:
            return cls.unknown(0)
        return cls(*(np.concatenate([getattr(p, name) for p in parts]) for name in cls.FIELDS))

    @property
    def knows_any(self) -> bool:
        """Some image has a known time or frequency scale."""
        return bool(np.isfinite(self.seconds_per_column).any()
                    or np.isfinite(self.hertz_per_row).any())

    def of_image(self, image: int) -> PhysicalAxes | None:
        """The axes of image `image`, or None when neither time nor frequency is known."""
        axes = PhysicalAxes(*(float(getattr(self, name)[image]) for name in self.FIELDS))
        return axes if axes.knows_time or axes.knows_bandwidth else None

    def box_extents(self, image, x1, y1, x2, y2) -> tuple[np.ndarray, ...]:
        """`(t_start, t_stop, f_low, f_high)` in s and Hz of boxes in pixels of images `image`
        (arrays or scalars, broadcast); NaN where the image's units are not known."""
        image = np.asarray(image, np.int64)
        dt, t0 = self.seconds_per_column[image], self.time_of_column0[image]
        df, f0 = self.hertz_per_row[image], self.frequency_of_row0[image]
        return (t0 + np.asarray(x1) * dt, t0 + np.asarray(x2) * dt,
                f0 - np.asarray(y2) * df, f0 - np.asarray(y1) * df)

    def durations(self, image, widths) -> np.ndarray:
        """Seconds of `widths` pixels of images `image` (NaN where not known)."""
        return np.asarray(widths) * self.seconds_per_column[np.asarray(image, np.int64)]

    def bandwidths(self, image, heights) -> np.ndarray:
        """Hertz of `heights` pixels of images `image` (NaN where not known)."""
        return np.asarray(heights) * self.hertz_per_row[np.asarray(image, np.int64)]


def _common(values: np.ndarray) -> float:
    """The value every entry has (relative tolerance 1e-9), else NaN (also for no entries)."""
    if not len(values) or not np.isfinite(values).all():
        return math.nan
    first = float(values[0])
    return first if np.allclose(values, first, rtol=1e-9, atol=0.0) else math.nan


@dataclass(frozen=True)
class PixelSize:
    """Seconds and hertz of one pixel (NaN: that axis is not known), the same for every image:
    what turns an anchor size in pixels into a duration and a bandwidth."""

    seconds: float
    hertz: float

    def extent(self, width: float, height: float | None = None) -> str:
        """'16 µs × 62.5 kHz': duration x bandwidth of a `width` x `height` pixel shape
        (square when `height` is None); an unknown axis is left out."""
        height = width if height is None else height
        parts = []
        if math.isfinite(self.seconds):
            parts.append(format_seconds(width * self.seconds))
        if math.isfinite(self.hertz):
            parts.append(format_hertz(height * self.hertz))
        return " × ".join(parts)

    def describe(self, width: float, height: float | None = None) -> str:
        """'32 px = 16 µs × 62.5 kHz' (pixels to 3 significant digits, then `extent`)."""
        size = (f"{width:.3g} px" if height is None or height == width
                else f"{width:.3g} × {height:.3g} px")
        return f"{size} = {self.extent(width, height)}"


def pixel_size(units: ImageUnits | None, image_heights: np.ndarray, image_widths: np.ndarray,
               input_size: tuple[int, int] | None = None, resize: str = "stretch"
               ) -> PixelSize | None:
    """Seconds and hertz of one pixel the detector sees, when every image agrees.

    Without `input_size` that is an image pixel; with it (HxW, the model input) a model-input
    pixel, which spans W / (W mapped) image columns and H / (H mapped) rows
    (`core.input_mapping`) — so all images must then also have the same size. None when no
    axis is known or the images disagree.
    """
    if units is None or not len(units):
        return None
    seconds = _common(units.seconds_per_column)
    hertz = _common(units.hertz_per_row)
    if input_size is not None and not (math.isnan(seconds) and math.isnan(hertz)):
        from core.input_mapping import map_boxes_to_image

        heights, widths = np.asarray(image_heights), np.asarray(image_widths)
        if not len(heights) or heights.min() != heights.max() or widths.min() != widths.max():
            return None
        unit_box = map_boxes_to_image(np.array([[0.0, 0.0, 1.0, 1.0]]), int(heights[0]),
                                      int(widths[0]), input_size, resize)[0]
        seconds *= unit_box[2] - unit_box[0]
        hertz *= unit_box[3] - unit_box[1]
    if math.isnan(seconds) and math.isnan(hertz):
        return None
    return PixelSize(seconds, hertz)


def physical_ranges(units: ImageUnits | None, image: np.ndarray, widths: np.ndarray,
                    heights: np.ndarray) -> dict | None:
    """Box durations (s) and bandwidths (Hz) over the boxes whose images know them:
    `{"duration_s": {"boxes", "min", "p50", "max"}, "bandwidth_hz": {...}}` (a key only when
    some box has that unit); None when no box has either."""
    if units is None:
        return None
    ranges = {}
    for key, values in (("duration_s", units.durations(image, widths)),
                        ("bandwidth_hz", units.bandwidths(image, heights))):
        known = values[np.isfinite(values)]
        if len(known):
            ranges[key] = {"boxes": int(len(known)), "min": float(known.min()),
                           "p50": float(np.median(known)), "max": float(known.max())}
    return ranges or None


# -- units from spec options -----------------------------------------------------------------
@dataclass(frozen=True)
class PixelScale:
    """Physical units given by spec options for every image of a non-SigMF source:
    `s_per_col` (seconds per column), `hz_per_row` (hertz per row) and `f0` (hertz at the upper
    edge of the top row). Without `f0` each image is centred on 0 Hz (its top row's upper edge
    is height x hz_per_row / 2): complex baseband, as a SigMF recording without a centre
    frequency. Time starts at 0 s at the left edge of every image."""

    seconds_per_column: float = math.nan
    hertz_per_row: float = math.nan
    frequency_of_row0: float | None = None

    def image_units(self, image_heights: np.ndarray) -> ImageUnits:
        """The columns for images of these heights (pixels)."""
        heights = np.asarray(image_heights, np.float64).reshape(-1)
        n = len(heights)
        top = (heights * self.hertz_per_row / 2 if self.frequency_of_row0 is None
               else np.full(n, float(self.frequency_of_row0)))
        return ImageUnits(np.full(n, self.seconds_per_column), np.full(n, self.hertz_per_row),
                          np.zeros(n), top)
