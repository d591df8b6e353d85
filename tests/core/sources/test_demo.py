"""The demo dataset: deterministic boxes in the SciSRS clusters, pixels that show exactly them."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import core.sources.demo as demo
from core.errors import InputError
from core.sources import load_table, open_source
from core.sources.demo import (
    CLASS_NAMES,
    DemoSource,
    demo_pixels,
    generate_demo_boxes,
    render_demo_image,
)


@pytest.fixture(scope="module")
def default_boxes():
    return generate_demo_boxes()


def shape_of(boxes):
    w = boxes.xyxy[:, 2] - boxes.xyxy[:, 0]
    h = boxes.xyxy[:, 3] - boxes.xyxy[:, 1]
    return w, h


def test_deterministic_per_seed_and_seeds_differ():
    a, b, c = generate_demo_boxes(200, 7), generate_demo_boxes(200, 7), generate_demo_boxes(200, 8)
    for name in ("image", "cls", "xyxy", "box_index", "offsets"):
        assert np.array_equal(getattr(a, name), getattr(b, name))
    assert len(a) != len(c) or not np.array_equal(a.xyxy, c.xyxy)
    assert not np.array_equal(a.xyxy[:20], c.xyxy[:20])


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**63 - 1), start=st.integers(0, 10_000), images=st.integers(0, 60),
       skip=st.integers(0, 30))
def test_any_image_range_matches_the_longer_range(seed, start, images, skip):
    """Image i's boxes do not depend on the range it is generated in (images=N is a prefix)."""
    longer = generate_demo_boxes(skip + images, seed, start=start)
    part = generate_demo_boxes(images, seed, start=start + skip)
    lo, hi = longer.offsets[skip], longer.offsets[skip + images]
    assert part.first_image == start + skip and part.image_count == images
    assert np.array_equal(part.image, longer.image[lo:hi])
    assert np.array_equal(part.cls, longer.cls[lo:hi])
    assert np.array_equal(part.xyxy, longer.xyxy[lo:hi])
    assert np.array_equal(part.box_index, longer.box_index[lo:hi])
    assert np.array_equal(part.offsets, longer.offsets[skip:skip + images + 1] - lo)


def test_chunked_generation_equals_one_pass(monkeypatch):
    whole = generate_demo_boxes(1000, 3, start=17)
    monkeypatch.setattr(demo, "CHUNK_IMAGES", 130)
    chunked = generate_demo_boxes(1000, 3, start=17)
    for name in ("image", "cls", "xyxy", "box_index", "offsets"):
        assert np.array_equal(getattr(whole, name), getattr(chunked, name)), name


def test_layout_against_a_per_image_reference():
    boxes = generate_demo_boxes(300, 5, start=40)
    assert boxes.image_count == 300 and boxes.offsets[0] == 0 and boxes.offsets[-1] == len(boxes)
    for k in range(300):
        lo, hi = boxes.offsets[k], boxes.offsets[k + 1]
        assert 3 <= hi - lo <= 15
        assert (boxes.image[lo:hi] == 40 + k).all()
        assert boxes.box_index[lo:hi].tolist() == list(range(hi - lo))
        one = boxes.of_image(40 + k)
        assert np.array_equal(one.xyxy, boxes.xyxy[lo:hi]) and one.image_count == 1
    with pytest.raises(IndexError):
        boxes.of_image(39)


def test_boxes_inside_the_image_and_in_their_clusters(default_boxes):
    b = default_boxes
    w, h = shape_of(b)
    assert b.image_count == 3000 and 3 * 3000 <= len(b) <= 15 * 3000
    assert (b.xyxy[:, :2] >= 0).all() and (b.xyxy[:, 2:] <= 512).all()
    assert (w > 0).all() and (h > 0).all()
    for cls, name in CLASS_NAMES.items():
        m = b.cls == cls
        assert m.mean() > 0.1, name
        (w_lo, w_hi), (h_lo, h_hi) = demo.WIDTH_RANGE[cls], demo.HEIGHT_RANGE[cls]
        eps = 1e-9  # x2 - x1 of x2 = x1 + w rounds in the last bits
        assert w_lo - eps <= w[m].min() and w[m].max() <= w_hi + eps, name
        assert h_lo - eps <= h[m].min() and h[m].max() <= h_hi + eps, name
    assert not np.array_equal(b.xyxy, np.round(b.xyxy))  # float coordinates, not a pixel grid
    assert len(np.unique(b.cls)) == 4 and set(np.unique(b.cls)) <= set(CLASS_NAMES)


@pytest.mark.parametrize("seed", [0, 1, 12345])
def test_cluster_shares(seed):
    w, h = shape_of(generate_demo_boxes(3000, seed))
    flat, thin = (w / h >= 4).mean(), (w / h <= 0.25).mean()
    assert flat >= 0.10 and thin >= 0.10
    assert flat >= 0.2 and thin >= 0.2  # comfortably above the floor


def test_pulses_of_an_image_form_a_train():
    b = generate_demo_boxes(500, 2)
    pulse = b.cls == demo.PULSE
    trains = 0
    for k in range(b.image_count):
        lo, hi = b.offsets[k], b.offsets[k + 1]
        p = pulse[lo:hi]
        if p.sum() >= 2:
            trains += 1
            assert np.ptp(b.xyxy[lo:hi][p, 1]) == 0  # one band: the same top row
            w = b.xyxy[lo:hi][p, 2] - b.xyxy[lo:hi][p, 0]
            assert np.ptp(w) <= 0.6 + 1e-9  # near-equal pulse widths
    assert trains > 100


def test_some_boxes_overlap(default_boxes):
    overlaps = 0
    for k in range(50):
        b = default_boxes.of_image(k)
        x1, y1, x2, y2 = (b.xyxy[:, i] for i in range(4))
        ix = np.minimum(x2[:, None], x2) - np.maximum(x1[:, None], x1)
        iy = np.minimum(y2[:, None], y2) - np.maximum(y1[:, None], y1)
        hit = (ix > 0) & (iy > 0)
        overlaps += int(hit.sum() - len(b)) // 2
    assert overlaps > 5


def test_pixels_deterministic_shape_dtype_finite():
    a, b = demo_pixels(3, seed=1), demo_pixels(3, seed=1)
    assert a.shape == (512, 512) and a.dtype == np.float32 and np.isfinite(a).all()
    assert np.array_equal(a, b)
    assert not np.array_equal(a, demo_pixels(3, seed=2))
    assert not np.array_equal(a, demo_pixels(4, seed=1))
    assert -110 < np.median(a) < -90  # a noise floor around -100 dB
    assert a.max() - np.median(a) > 10  # with signals well above it


@pytest.mark.parametrize("index", [0, 1, 2, 7, 11, 250])
def test_signals_are_drawn_exactly_inside_their_boxes(index):
    seed = 4
    boxes = generate_demo_boxes(1, seed, start=index)
    with_signals = render_demo_image(boxes, seed, index)
    background = render_demo_image(generate_demo_boxes(0, seed, start=index), seed, index)
    added = with_signals - background
    footprint = np.zeros((512, 512), bool)
    for x1, y1, x2, y2 in boxes.xyxy:
        r0, r1, c0, c1 = int(np.floor(y1)), int(np.ceil(y2)), int(np.floor(x1)), int(np.ceil(x2))
        footprint[r0:r1, c0:c1] = True
        assert added[r0:r1, c0:c1].max() > 3  # every box shows a signal at least 3 dB up
    assert (added[~footprint] == 0).all()  # nothing outside the boxes' pixels changes
    assert added[footprint].min() > -1e-3  # signals only add power
    assert -105 < np.median(background) < -95 and (background > -150).all()


def test_source_batches_and_load_table(monkeypatch):
    monkeypatch.setattr(demo, "CHUNK_IMAGES", 700)  # batches that cross generation chunks
    source = open_source("demo?images=1600&seed=9")
    assert isinstance(source, DemoSource) and source.class_names == CLASS_NAMES
    batches = list(source.batches())
    assert [b.done for b in batches] == [500, 700, 1200, 1400, 1600]
    assert all(b.total == 1600 for b in batches)
    ids = np.concatenate([b.image_ids for b in batches])
    assert ids.tolist() == list(range(1600))
    reference = generate_demo_boxes(1600, 9)
    assert np.array_equal(np.concatenate([b.xyxy for b in batches]), reference.xyxy)
    assert np.array_equal(np.concatenate([b.image + b.image_ids[0] for b in batches]),
                          reference.image)
    for b in batches:
        assert (b.image_heights == 512).all() and (b.image_widths == 512).all()
        assert len(b.image_heights) == len(b.image_ids)


def test_load_table_end_to_end():
    table = load_table("demo?images=50")
    reference = generate_demo_boxes(50, 0)
    assert table.image_count == 50 and len(table) == len(reference)
    assert table.image_ids.tolist() == list(range(50))
    assert np.array_equal(table.xyxy(), reference.xyxy)
    assert np.array_equal(table.box_index, reference.box_index)
    assert np.array_equal(table.cls, reference.cls)
    assert table.class_names == CLASS_NAMES and table.skipped == {} and table.clipped == 0
    default = open_source("demo")
    assert default.images == 3000 and default.seed == 0


def test_source_pixels():
    source = open_source("demo?images=20&seed=6")
    assert np.array_equal(source.pixels(19), demo_pixels(19, seed=6))
    with pytest.raises(IndexError):
        source.pixels(20)


@pytest.mark.parametrize("spec, option", [
    ("demo?images=0", "images"),
    ("demo?images=-3", "images"),
    ("demo?images=abc", "images"),
    ("demo?images=2.5", "images"),
    ("demo?images=true", "images"),
    ("demo?images=", "images"),
    ("demo?images=1000001", "images"),
    ("demo?seed=-1", "seed"),
    ("demo?seed=x", "seed"),
    ("demo?images=5&colour=red", "colour"),
    ("demo:some/path", "path"),
])
def test_bad_options_name_the_option(spec, option):
    with pytest.raises(InputError) as error:
        open_source(spec)
    assert option in str(error.value) and spec in str(error.value)
