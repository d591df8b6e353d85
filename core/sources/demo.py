"""The built-in demo dataset: synthetic RF spectrograms whose boxes look like SciSRS v2 (em-loader).

Images are 512 x 512: rows are frequency (highest frequency in row 0), columns are time. Four
signal classes follow the clusters of the public em-loader width/height scatter (w along time, h
along frequency, pixels): wideband blocks, short burst ticks, tall pulse lines and flat
narrowband strips: the shapes that default RetinaNet anchors often leave uncovered.

Every random number is a hash of (seed, image, box slot, field), so the boxes of any image range
come out of one vectorised pass and image `i` is the same whatever range it is generated in:
`demo?images=50` is the first 50 images of `demo`. Pixels are rendered per image on demand.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from core.errors import InputError
from core.sources.base import BoxBatch, Source, SourceSpec
from core.sources.options import check_options

IMAGE_HEIGHT = 512  # pixels = frequency bins
IMAGE_WIDTH = 512  # pixels = time frames
DEFAULT_IMAGES = 3000
DEFAULT_SEED = 0
MAX_IMAGES = 1_000_000
BATCH_IMAGES = 500  # images per BoxBatch (progress granularity)
CHUNK_IMAGES = 50_000  # images per vectorised generation pass (bounds memory for huge datasets)
BOXES_PER_IMAGE = (3, 15)  # inclusive

WIDEBAND, BURST, PULSE, NARROWBAND = 0, 1, 2, 3
CLASS_NAMES = {WIDEBAND: "wideband", BURST: "burst", PULSE: "pulse", NARROWBAND: "narrowband"}

# One row per class: share of boxes, width range and height range in pixels, and a skew exponent
# per range (u ** skew with u uniform in [0, 1): > 1 favours the low end).
#   wideband:   OFDM-like blocks and chirps spanning ~90 bins and 75-330 frames
#   burst:      short frequency-hopping bursts, a few frames long and 10-22 bins wide
#   pulse:      radar-like pulse trains, a few frames long and ~100 bins tall
#   narrowband: carriers 1-21 bins wide that last 80-88 frames
CLASS_SHARE = np.array([0.18, 0.27, 0.25, 0.30])
WIDTH_RANGE = np.array([[75.0, 330.0], [5.0, 10.0], [6.0, 11.0], [80.0, 88.0]])
HEIGHT_RANGE = np.array([[77.0, 103.0], [10.0, 22.0], [100.0, 104.0], [1.0, 21.0]])
WIDTH_SKEW = np.array([1.6, 1.0, 1.0, 1.0])
HEIGHT_SKEW = np.array([1.0, 1.0, 1.0, 1.8])
PULSE_INTERVAL = (24.0, 84.0)  # frames between the starts of consecutive pulses of a train

NOISE_FLOOR_DB = -100.0


@dataclass(frozen=True)
class DemoBoxes:
    """Boxes of the images `first_image .. first_image + image_count - 1`, sorted by image.

    `xyxy` is float64 pixel x1, y1, x2, y2 (x = time column, y = frequency row, row 0 = highest
    frequency); `box_index` is the position of a box within its image; the boxes of the k-th image
    of the range are `offsets[k]:offsets[k + 1]`.
    """

    first_image: int
    image: np.ndarray  # int64 image number within the seed's dataset
    cls: np.ndarray  # int32 class id, see CLASS_NAMES
    xyxy: np.ndarray  # (n, 4) float64 pixels
    box_index: np.ndarray  # int32
    offsets: np.ndarray  # (image_count + 1,) int64

    def __len__(self) -> int:
        return len(self.cls)

    @property
    def image_count(self) -> int:
        return len(self.offsets) - 1

    def of_image(self, image: int) -> DemoBoxes:
        """The boxes of one image, by its number in the dataset (not its position in the range)."""
        k = image - self.first_image
        if not 0 <= k < self.image_count:
            raise IndexError(f"image {image} is not in {self.first_image}.."
                             f"{self.first_image + self.image_count - 1}")
        lo, hi = int(self.offsets[k]), int(self.offsets[k + 1])
        return DemoBoxes(first_image=image, image=self.image[lo:hi], cls=self.cls[lo:hi],
                         xyxy=self.xyxy[lo:hi], box_index=self.box_index[lo:hi],
                         offsets=np.array([0, hi - lo], np.int64))


# --- counter-based random numbers: splitmix64 of (seed, image, slot, field) ----------------------

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)

# fields of image-level draws (slot 0) and of box-level draws (slot = box_index + 1)
_COUNT, _TRAIN_WIDTH, _TRAIN_INTERVAL, _TRAIN_PHASE, _TRAIN_ROW = range(5)
_CLASS, _WIDTH, _HEIGHT, _LEFT, _TOP, _JITTER = range(6)
_FIELDS = 8


def _mix(z: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser: a bijective avalanche hash of uint64 arrays (wraps on overflow)."""
    z = z + _GOLDEN
    z = (z ^ (z >> np.uint64(30))) * _MIX1
    z = (z ^ (z >> np.uint64(27))) * _MIX2
    return z ^ (z >> np.uint64(31))


def _uniform(seed: int, image: np.ndarray, slot: np.ndarray | int, field: int) -> np.ndarray:
    """Uniform float64 in [0, 1), a pure function of (seed, image, slot, field)."""
    key = _mix(np.array([seed], np.uint64))
    h = _mix(key ^ np.asarray(image).astype(np.uint64))
    h = _mix(h ^ (np.asarray(slot).astype(np.uint64) * np.uint64(_FIELDS) + np.uint64(field)))
    return (h >> np.uint64(11)).astype(np.float64) * 2.0**-53


def _generate_chunk(images: int, seed: int, start: int) -> DemoBoxes:
    """One vectorised pass over the images `start .. start + images - 1`."""
    image_numbers = np.arange(start, start + images, dtype=np.int64)
    low, high = BOXES_PER_IMAGE
    counts = low + (_uniform(seed, image_numbers, 0, _COUNT) * (high - low + 1)).astype(np.int64)
    offsets = np.zeros(images + 1, np.int64)
    np.cumsum(counts, out=offsets[1:])
    local = np.repeat(np.arange(images), counts)  # position of each box's image in the range
    image = image_numbers[local]
    slot = np.arange(offsets[-1]) - offsets[local]

    def draw(field: int) -> np.ndarray:
        return _uniform(seed, image, slot + 1, field)

    def per_image(field: int) -> np.ndarray:
        return _uniform(seed, image_numbers, 0, field)[local]

    cls = np.searchsorted(np.cumsum(CLASS_SHARE), draw(_CLASS), side="right")
    cls = np.minimum(cls, len(CLASS_SHARE) - 1)
    (w_lo, w_hi), (h_lo, h_hi) = WIDTH_RANGE[cls].T, HEIGHT_RANGE[cls].T
    w = w_lo + (w_hi - w_lo) * draw(_WIDTH) ** WIDTH_SKEW[cls]
    h = h_lo + (h_hi - h_lo) * draw(_HEIGHT) ** HEIGHT_SKEW[cls]
    x1 = draw(_LEFT) * (IMAGE_WIDTH - w)
    y1 = draw(_TOP) * (IMAGE_HEIGHT - h)

    # Pulses of an image form one train: same band, near-equal widths, a regular interval.
    pulse = cls == PULSE
    pulses_so_far = np.cumsum(pulse)
    rank = pulses_so_far - 1 - (pulses_so_far - pulse)[offsets[:-1]][local]
    p_lo, p_hi = WIDTH_RANGE[PULSE]
    train_w = p_lo + (p_hi - p_lo) * per_image(_TRAIN_WIDTH)
    pulse_w = np.clip(train_w + 0.6 * (draw(_JITTER) - 0.5), p_lo, p_hi)
    interval = PULSE_INTERVAL[0] + (PULSE_INTERVAL[1] - PULSE_INTERVAL[0]) * per_image(
        _TRAIN_INTERVAL)
    pulse_x1 = (per_image(_TRAIN_PHASE) * interval + rank * interval) % (IMAGE_WIDTH - pulse_w)
    pulse_y1 = per_image(_TRAIN_ROW) * (IMAGE_HEIGHT - HEIGHT_RANGE[PULSE, 1])  # one top row
    w = np.where(pulse, pulse_w, w)
    x1 = np.where(pulse, pulse_x1, x1)
    y1 = np.where(pulse, pulse_y1, y1)

    xyxy = np.stack([x1, y1, x1 + w, y1 + h], axis=1)
    return DemoBoxes(first_image=start, image=image, cls=cls.astype(np.int32), xyxy=xyxy,
                     box_index=slot.astype(np.int32), offsets=offsets)


def generate_demo_boxes(images: int = DEFAULT_IMAGES, seed: int = DEFAULT_SEED, *,
                        start: int = 0) -> DemoBoxes:
    """The boxes of demo images `start .. start + images - 1` for `seed`, in one vectorised pass.

    Any image's boxes are the same whatever range they are generated in. Boxes lie fully inside
    the 512 x 512 image; 3-15 boxes per image.
    """
    if images < 0 or start < 0 or seed < 0:
        raise ValueError("images, start and seed must be non-negative")
    if images <= CHUNK_IMAGES:
        return _generate_chunk(images, seed, start)
    parts = [_generate_chunk(min(CHUNK_IMAGES, images - first), seed, start + first)
             for first in range(0, images, CHUNK_IMAGES)]
    offsets = [np.zeros(1, np.int64)]
    for part, base in zip(parts, np.cumsum([0] + [len(p) for p in parts[:-1]]), strict=True):
        offsets.append(part.offsets[1:] + base)
    return DemoBoxes(
        first_image=start, image=np.concatenate([p.image for p in parts]),
        cls=np.concatenate([p.cls for p in parts]), xyxy=np.concatenate([p.xyxy for p in parts]),
        box_index=np.concatenate([p.box_index for p in parts]), offsets=np.concatenate(offsets))


# --- pixels --------------------------------------------------------------------------------------

_PIXEL_STREAM = 0x5EC7  # keeps the pixel random stream apart from any other use of (seed, image)
_NOISE_FRAMES = 3  # frames averaged per spectrogram column: floor power ~ chi-square, 6 dof
_NOISE_TILE = 1024  # side of the shared noise texture that images crop from


@functools.cache
def _noise_tile_db() -> np.ndarray:
    """A fixed (1024, 1024) texture of noise power in dB relative to its mean (read-only).

    Each image crops 512 x 512 of it at its own offset and orientation, which costs a copy instead
    of 262,144 random draws and logarithms per image.
    """
    rng = np.random.default_rng(_PIXEL_STREAM)
    power = rng.standard_gamma(_NOISE_FRAMES, (_NOISE_TILE, _NOISE_TILE), dtype=np.float32)
    tile = 10.0 * np.log10(power / np.float32(_NOISE_FRAMES))
    tile.flags.writeable = False
    return tile


def _coverage(lo: float, hi: float, first: int, last: int) -> np.ndarray:
    """Share of each pixel `first..last-1` (pixel k spans [k, k + 1)) that lies inside [lo, hi]."""
    k = np.arange(first, last, dtype=np.float32)
    return np.clip(np.minimum(k + 1, hi) - np.maximum(k, lo), 0.0, 1.0)


def _db_to_power(db: np.ndarray | float) -> np.ndarray:
    return np.power(np.float32(10.0), np.asarray(db, np.float32) / np.float32(10.0))


def _add_power(db: np.ndarray, power: np.ndarray) -> None:
    """In place: `db` (a view into the image, dB) += `power` (linear, noise-mean units)."""
    db[...] = 10.0 * np.log10(_db_to_power(db) + power)


def render_demo_image(boxes: DemoBoxes, seed: int, index: int) -> np.ndarray:
    """The (512, 512) float32 spectrogram in dB of demo image `index`, with `boxes` drawn.

    `boxes` should be that image's boxes (`generate_demo_boxes(...).of_image(index)`). The result
    depends only on (boxes, seed, index). Power per pixel = noise floor (about -100 dB with a
    chi-square fluctuation, a few dB lower towards the band edges) + a few unlabelled continuous
    carriers + each labelled signal: wideband blocks as noise-like energy or linear chirps, bursts
    and pulses as short flat-topped bursts, narrowband strips as steady carriers; SNR varies.
    """
    rng = np.random.default_rng((seed, index, _PIXEL_STREAM))
    height, width = IMAGE_HEIGHT, IMAGE_WIDTH
    tile = _noise_tile_db()
    if rng.random() < 0.5:
        tile = tile.T
    tile = tile[:: rng.choice((-1, 1)), :: rng.choice((-1, 1))]
    oy, ox = rng.integers(0, _NOISE_TILE - height + 1), rng.integers(0, _NOISE_TILE - width + 1)
    db = tile[oy : oy + height, ox : ox + width].copy()  # noise, dB relative to the floor

    # unlabelled background carriers: continuous horizontal lines across the whole image
    carriers = rng.integers(1, 5)
    centre = rng.uniform(4, height - 4, carriers)
    sigma = rng.uniform(0.35, 0.9, carriers)
    level = rng.uniform(4, 22, carriers)
    rows = np.arange(height, dtype=np.float64) + 0.5
    profile = (_db_to_power(level) * np.exp(-0.5 * ((rows[:, None] - centre) / sigma) ** 2)).sum(1)
    lit = np.flatnonzero(profile > 1e-3)
    fading = rng.gamma(40.0, 1 / 40.0, width).astype(np.float32)
    carrier_rows = db[lit]  # a copy (fancy index): add the carriers, then write the rows back
    _add_power(carrier_rows, np.outer(profile[lit], fading))
    db[lit] = carrier_rows

    # receiver: floor level per image, a few dB of roll-off at the band edges, slow gain drift
    # (drawn before the signals, so an image rendered without boxes has the same background)
    edge = np.minimum(rows, height - rows)
    row_db = NOISE_FLOOR_DB + rng.normal(0, 1.5) - 7.0 * np.exp(-edge / 14.0)
    cols = np.arange(width, dtype=np.float64)
    col_db = 0.5 * np.sin(2 * np.pi * (cols / width * rng.uniform(0.3, 1.5) + rng.random()))

    # labelled signals, each drawn only inside the pixels its box touches
    for (x1, y1, x2, y2), cls in zip(boxes.xyxy, boxes.cls, strict=True):
        r0, r1 = int(np.floor(y1)), min(int(np.ceil(y2)), height)
        c0, c1 = int(np.floor(x1)), min(int(np.ceil(x2)), width)
        fy = _coverage(y1, y2, r0, r1)
        fx = _coverage(x1, x2, c0, c1)
        shape_size = (r1 - r0, c1 - c0)
        if cls == WIDEBAND and rng.random() < 0.35:
            # linear chirp: 1-3 sawtooth sweeps across the band, up or down, a few bins thick
            sweeps = rng.integers(1, 4)
            t = (np.arange(c0, c1, dtype=np.float32) + 0.5 - x1) / (x2 - x1)
            phase = (t * sweeps) % 1.0
            if rng.random() < 0.5:
                phase = 1.0 - phase
            centre_row = y2 - phase * (y2 - y1)
            thickness = rng.uniform(1.0, 2.2)
            r = np.arange(r0, r1, dtype=np.float32)[:, None] + 0.5
            shape = np.exp(-0.5 * ((r - centre_row) / thickness) ** 2) * fy[:, None] * fx
            _add_power(db[r0:r1, c0:c1], _db_to_power(rng.uniform(12, 22)) * shape)
            continue
        if cls == WIDEBAND:  # noise-like block (OFDM-ish): exponential texture, flat spectrum
            snr_db, texture_k, fy_shape = rng.uniform(3, 13), 1.0, fy
        elif cls == BURST:  # short hop: rounded spectrum, some fading
            hump = np.sin(np.pi * np.clip((np.arange(r0, r1) + 0.5 - y1) / (y2 - y1), 0, 1))
            snr_db, texture_k, fy_shape = rng.uniform(8, 22), 3.0, fy * (0.35 + 0.65 * hump)
        elif cls == PULSE:  # radar-like pulse: flat across its band
            snr_db, texture_k, fy_shape = rng.uniform(9, 24), 5.0, fy
        else:  # narrowband carrier: steady, slightly rounded spectrum
            hump = np.sin(np.pi * np.clip((np.arange(r0, r1) + 0.5 - y1) / (y2 - y1), 0, 1))
            shaped = 0.55 + 0.45 * hump if y2 - y1 > 3 else 1.0
            snr_db, texture_k, fy_shape = rng.uniform(8, 28), 20.0, fy * shaped
        texture = rng.standard_gamma(texture_k, shape_size, dtype=np.float32) / texture_k
        power = _db_to_power(snr_db) * np.outer(fy_shape, fx).astype(np.float32) * texture
        _add_power(db[r0:r1, c0:c1], power)

    db += row_db.astype(np.float32)[:, None]
    db += col_db.astype(np.float32)[None, :]
    return db


def demo_pixels(index: int, seed: int = DEFAULT_SEED) -> np.ndarray:
    """The (512, 512) float32 dB spectrogram of demo image `index` for `seed`."""
    return render_demo_image(generate_demo_boxes(1, seed, start=index), seed, index)


# --- the source ----------------------------------------------------------------------------------

def _int_option(spec: SourceSpec, name: str, default: int, low: int, high: int) -> int:
    value = spec.options.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise InputError(f"option {name!r} must be a whole number from {low} to {high}, "
                         f"got {value!r}", file=spec.text)
    return value


class DemoSource(Source):
    """`demo?images=N&seed=S`: the synthetic dataset (default 3000 images, seed 0)."""

    OPTIONS = ("images", "seed")

    def __init__(self, spec: SourceSpec):
        super().__init__(spec)
        if spec.path:
            raise InputError(f"the demo dataset takes no path, got {spec.path!r} "
                             "(use demo?images=N&seed=S)", file=spec.text)
        check_options(spec, self.OPTIONS, "demo")
        self.images = _int_option(spec, "images", DEFAULT_IMAGES, 1, MAX_IMAGES)
        self.seed = _int_option(spec, "seed", DEFAULT_SEED, 0, 2**63 - 1)
        self.class_names = dict(CLASS_NAMES)

    def batches(self) -> Iterator[BoxBatch]:
        heights = np.full(BATCH_IMAGES, IMAGE_HEIGHT, np.int32)
        widths = np.full(BATCH_IMAGES, IMAGE_WIDTH, np.int32)
        for chunk_start in range(0, self.images, CHUNK_IMAGES):
            chunk_stop = min(chunk_start + CHUNK_IMAGES, self.images)
            boxes = generate_demo_boxes(chunk_stop - chunk_start, self.seed, start=chunk_start)
            for first in range(chunk_start, chunk_stop, BATCH_IMAGES):
                stop = min(first + BATCH_IMAGES, chunk_stop)
                lo = boxes.offsets[first - chunk_start]
                hi = boxes.offsets[stop - chunk_start]
                count = stop - first
                yield BoxBatch(
                    image_ids=np.arange(first, stop, dtype=np.int64),
                    image_heights=heights[:count], image_widths=widths[:count],
                    image=boxes.image[lo:hi] - first, xyxy=boxes.xyxy[lo:hi],
                    cls=boxes.cls[lo:hi], box_index=boxes.box_index[lo:hi],
                    done=stop, total=self.images)

    def pixels(self, image_index: int) -> np.ndarray:
        """The spectrogram (dB) of image `image_index` (0-based, same as its image id)."""
        if not 0 <= image_index < self.images:
            raise IndexError(f"demo image {image_index} out of range 0..{self.images - 1}")
        return demo_pixels(int(image_index), self.seed)
