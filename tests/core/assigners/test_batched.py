"""The batched assigners (`assign_images`, used by `family_coverage`) give per box exactly what the
per-image `assign_image` gives for the box's image: positives, best level and miss reason, for
every family, on random datasets full of awkward boxes (grid-aligned edges and centres, thin,
tall, tiny, zero-size, duplicate, nested, transposed, equal-area, image-sized, outside the image),
several image sizes, and many images; and ATSS's windowed nearest-prior search picks the very
candidates, in the very order, of the dense search."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.analysis import ModelInput
from core.assigners import atss, fcos, yolov5, yolov8
from core.assigners.common import OUTSIDE_CENTRE_SAMPLING, TAKEN, BoxAssignment
from core.boxes import BoxTable, BoxTableBuilder
from core.family_analysis import assignment_size, family_coverage
from core.family_config import FamilyConfig, default_family_config
from tests.core.assigners.per_image import per_image_coverage

F32 = np.float32
# A level with a single prior gives one candidate: std is nan and numpy warns, as in `match`.
pytestmark = pytest.mark.filterwarnings("ignore:Degrees of freedom <= 0:RuntimeWarning")
# (H, W): square, wide, tiny (single-cell coarse levels), strips thinner than a P3 window,
# and sizes that are not multiples of 32 (torchvision's rounded-down strides).
IMAGE_SIZES = ((512, 512), (300, 700), (64, 64), (33, 1000), (1000, 40), (128, 96), (17, 5))
CONFIGS = {
    "yolov5": default_family_config("yolov5"),
    "yolov5 anchor_t 2": FamilyConfig("yolov5", yolov5.Yolov5Params(anchor_t=2.0)),
    "yolov8": default_family_config("yolov8"),
    "yolov8 8.3": FamilyConfig("yolov8", yolov8.Yolov8Params(semantics="8.3")),
    "yolov8 8.4.0": FamilyConfig("yolov8", yolov8.Yolov8Params(semantics="8.4.0")),
    "fcos": default_family_config("fcos"),
    # Anchor sizes far above the stride: wide centre-sampling runs of many points per axis.
    "fcos wide radius": FamilyConfig("fcos", fcos.FcosParams(
        levels=(3, 4, 5), anchor_sizes=(40, 50, 300), center_sampling_radius=2.5)),
    # A radius below half a stride: points inside a box but outside the centre-sampling square.
    "fcos small radius": FamilyConfig("fcos", fcos.FcosParams(center_sampling_radius=0.3)),
    "atss": default_family_config("atss"),
    "atss topk 4": FamilyConfig("atss", atss.AtssParams(topk=4)),
    "atss topk 20, 2 levels": FamilyConfig("atss", atss.AtssParams(strides=(16, 64), topk=20)),
    "atss topk 1": FamilyConfig("atss", atss.AtssParams(topk=1)),
    "atss one level, topk 2": FamilyConfig("atss", atss.AtssParams(strides=(32,), topk=2)),
}
ASSIGNERS = {"yolov5": yolov5, "yolov8": yolov8, "fcos": fcos, "atss": atss}


def awkward_boxes(rng: np.random.Generator, n: int, image_hw: tuple[int, int],
                  outside: bool = False) -> np.ndarray:
    """[n, 4] float64 xyxy boxes of one image, mixing the kinds that decide ties and borders.
    Later boxes may copy, shrink, transpose or re-shape (same area) earlier ones. With
    `outside`, boxes may also leave the image (centres included) or have zero size."""
    h, w = image_hw
    out = np.empty((n, 4))
    for i in range(n):
        kind = rng.integers(0, 13 if outside else 11)
        if i and kind in (5, 6, 7, 8):
            x1, y1, x2, y2 = out[rng.integers(0, i)]
            cx, cy, bw, bh = (x1 + x2) / 2, (y1 + y2) / 2, x2 - x1, y2 - y1
            if kind == 6:  # nested: shrunk about its centre
                bw, bh = bw * rng.uniform(0.2, 1.0), bh * rng.uniform(0.2, 1.0)
            elif kind == 7:  # transposed about its centre: equal IoUs by symmetry
                bw, bh = bh, bw
            elif kind == 8:  # another shape of (nearly) the same area: float32 area ties
                stretch = rng.uniform(0.7, 1.4)
                bw, bh = bw * stretch, bh / stretch + rng.choice([0.0, 1e-3, 0.01])
            out[i] = cx - bw / 2, cy - bh / 2, cx + bw / 2, cy + bh / 2
            continue
        if kind in (1, 2):  # grid-aligned edges (multiples of 4 / 8), centres on half cells
            step = 4 * kind
            x1, x2 = np.sort(rng.integers(0, w // step + 2, 2)) * step
            y1, y2 = np.sort(rng.integers(0, h // step + 2, 2)) * step
            x2, y2 = max(x2, x1 + step), max(y2, y1 + step)
        elif kind == 3:  # thin and tall
            x1, y1 = rng.uniform(0, w), rng.uniform(0, h / 2)
            x2, y2 = x1 + rng.uniform(0.01, 3), y1 + rng.uniform(h / 4, h)
        elif kind == 4:  # flat and wide
            x1, y1 = rng.uniform(0, w / 2), rng.uniform(0, h)
            x2, y2 = x1 + rng.uniform(w / 4, w), y1 + rng.uniform(0.01, 3)
        elif kind == 9:  # tiny, sometimes on a grid point
            x1, y1 = rng.integers(0, w + 1) * rng.choice([1.0, 0.5]), rng.uniform(0, h)
            x2, y2 = x1 + rng.uniform(0.01, 2), y1 + rng.uniform(0.01, 2)
        elif kind == 10:  # most of the image
            x1, y1 = rng.uniform(0, w / 8), rng.uniform(0, h / 8)
            x2, y2 = rng.uniform(7 * w / 8, w), rng.uniform(7 * h / 8, h)
        elif kind == 11:  # partly or wholly outside, centre possibly far out
            x1, y1 = rng.uniform(-w, 2 * w), rng.uniform(-h, 2 * h)
            x2, y2 = x1 + rng.uniform(1, w), y1 + rng.uniform(1, h)
        elif kind == 12:  # zero width or height
            x1, y1 = rng.uniform(0, w), rng.uniform(0, h)
            x2, y2 = x1 + rng.choice([0.0, 5.0]), y1 + rng.choice([0.0, 7.0])
        else:  # anywhere, any size
            x1, y1 = rng.uniform(0, w), rng.uniform(0, h)
            x2, y2 = x1 + rng.uniform(0.5, w), y1 + rng.uniform(0.5, h)
        out[i] = x1, y1, x2, y2
    return out


def random_table(seed: int, images: int) -> BoxTable:
    """`images` images of the `IMAGE_SIZES`, 1 to 25 awkward boxes each (clipped by the table),
    rows interleaved across images and `box_index` shuffled within each image."""
    rng = np.random.default_rng(seed)
    sizes = [IMAGE_SIZES[i] for i in rng.integers(0, len(IMAGE_SIZES), images)]
    builder = BoxTableBuilder(f"random {seed}")
    builder.add_images([f"i{k}" for k in range(images)], [h for h, _ in sizes],
                       [w for _, w in sizes])
    per_image = [awkward_boxes(rng, int(rng.integers(1, 26)), hw) for hw in sizes]
    image = np.concatenate([np.full(len(b), k) for k, b in enumerate(per_image)])
    index = np.concatenate([rng.permutation(len(b)) for b in per_image])
    rows = rng.permutation(len(image))
    builder.add_boxes(image[rows], np.concatenate(per_image)[rows], np.zeros(len(rows), int),
                      index[rows])
    return builder.build()


def assert_same(ours: BoxAssignment, reference: BoxAssignment, where: str) -> None:
    for name in ("positives", "best_level", "miss_reason"):
        np.testing.assert_array_equal(getattr(ours, name), getattr(reference, name),
                                      err_msg=f"{where}: {name}")


@pytest.mark.parametrize("name", list(CONFIGS))
def test_family_coverage_equals_assign_image_per_image(name, monkeypatch):
    """Two random datasets of 150 images (about 2,000 boxes each) per config, in chunks of a few
    images (so images of one size span several `assign_images` calls). FCOS and ATSS have boxes
    whose points all went to other boxes (the cross-box resolution is exercised)."""
    monkeypatch.setattr("core.family_analysis.ASSIGN_CHUNK_BOXES", 97)
    config = CONFIGS[name]
    for seed in (1, 2):
        table = random_table(seed, 150)
        ours = family_coverage(table, config)
        reference = per_image_coverage(table, config)
        assert_same(ours, reference, f"{name} seed {seed}")
        assert ours.matched.any()
        if config.framework in ("fcos", "atss"):
            assert (ours.miss_reason == TAKEN).any()
        if name == "fcos small radius":
            assert (ours.miss_reason == OUTSIDE_CENTRE_SAMPLING).any()


@pytest.mark.parametrize("family", ["fcos", "atss"])
def test_family_coverage_with_a_model_input_and_one_chunk(family):
    """Boxes stretched or letterboxed into a model input (non-integer coordinates, one image
    size for all), all images in one call."""
    table = random_table(3, 200)
    config = CONFIGS[family]
    for model_input in (ModelInput((384, 640), "stretch"), ModelInput((512, 512), "letterbox")):
        assert_same(family_coverage(table, config, model_input),
                    per_image_coverage(table, config, model_input), f"{family} {model_input}")


@st.composite
def image_batches(draw) -> tuple[tuple[int, int], list[np.ndarray]]:
    """One image size and 1 to 6 images of 0 to 12 boxes: awkward random boxes, unclipped
    (outside the image, zero-size), plus hand-drawn ones on a 0.5 px lattice near the grid."""
    image_hw = draw(st.sampled_from(IMAGE_SIZES))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    coordinate = st.integers(-40, 1100).map(lambda v: v / 2)
    images = []
    for _ in range(draw(st.integers(1, 6))):
        boxes = awkward_boxes(rng, draw(st.integers(0, 8)), image_hw, outside=True)
        extra = draw(st.lists(st.tuples(coordinate, coordinate, coordinate, coordinate),
                              max_size=4))
        extra = np.array([[min(a, c), min(b, d), max(a, c), max(b, d)] for a, b, c, d in extra])
        images.append(np.concatenate([boxes, extra.reshape(-1, 4)]))
    return image_hw, images


@settings(max_examples=300, deadline=None)
@given(batch=image_batches(), name=st.sampled_from(list(CONFIGS)))
def test_assign_images_equals_assign_image_on_raw_boxes(batch, name):
    image_hw, images = batch
    config = CONFIGS[name]
    if config.framework in ("yolov5", "yolov8"):
        image_hw = assignment_size(config, *image_hw)
    module = ASSIGNERS[config.framework]
    boxes = np.concatenate(images)
    image = np.repeat(np.arange(len(images)) * 7 + 3, [len(b) for b in images])  # any labels
    ours = module.assign_images(boxes, image, image_hw, config.params)
    parts = [module.assign_image(b, image_hw, config.params) for b in images]
    reference = BoxAssignment(*(np.concatenate([getattr(p, f) for p in parts])
                                for f in ("positives", "best_level", "miss_reason")))
    assert_same(ours, reference, name)


@pytest.mark.parametrize("name", [name for name in CONFIGS if name.startswith("atss")])
def test_atss_window_search_picks_the_dense_candidates_in_order(name):
    """Per level the k nearest priors equal `match`'s dense stable argsort, order included (it
    decides the float32 mean), for centres inside, on half cells (distance ties), on the border
    and far outside the image; where the window search says it is sure it already has them, and
    it is unsure (the whole level is sorted) for some of the far-out centres."""
    params = CONFIGS[name].params
    rng = np.random.default_rng(7)
    sure_in_a_window = unsure = 0
    for image_hw in IMAGE_SIZES:
        h, w = image_hw
        centre = np.concatenate([
            rng.uniform([-2 * w, -2 * h], [3 * w, 3 * h], (300, 2)),
            rng.integers(-4, [w // 4 + 4, h // 4 + 4], (300, 2)) * 4.0,  # half cells, ties
            rng.uniform(0, [w, h], (300, 2))])
        half = rng.uniform(0, 60, centre.shape)
        boxes = np.concatenate([centre - half, centre + half], axis=1)
        dense = atss.match(boxes, image_hw, params).candidates  # [C, n]
        geometry = atss._prior_geometry(image_hw, params)
        box_c = (boxes.astype(F32)[:, :2] + boxes.astype(F32)[:, 2:]) / F32(2)
        found = []
        for index, level in enumerate(geometry.levels):
            dx = level.col_x[None, :] - box_c[:, 0:1]
            dy = level.row_y[None, :] - box_c[:, 1:2]
            window, sure = atss._window_nearest(dx * dx, dy * dy, level)
            rows = geometry.candidate_level == index  # this level's candidate rows
            np.testing.assert_array_equal(window[sure] + level.offset, dense[rows][:, sure].T)
            if len(level.col_x) * len(level.row_y) > 25:
                sure_in_a_window += sure.sum()
            unsure += (~sure).sum()
            found.append(atss._nearest_in_level(dx * dx, dy * dy, level))
        np.testing.assert_array_equal(np.concatenate(found, axis=1).T, dense, err_msg=name)
    assert sure_in_a_window > 1000 and unsure > 10


def test_column_sums_of_many_images_equal_each_images_torch_sum():
    """The ATSS mean of a box depends on its column's position in its own image: summing the
    columns of many images together, each the way its image would (`torch_sum_kinds`), equals
    `torch_column_sum` per image bit for bit. Values spanning 2**-30 .. 1 make every order
    difference visible; images of 1 to 70 boxes reach every kind of column."""
    rng = np.random.default_rng(11)
    for rows in (45, 7, 9, 1, 100):
        counts = [*range(1, 71), *rng.integers(1, 70, 30)]
        blocks = [(2.0 ** rng.uniform(-30, 0, (rows, n))).astype(F32) for n in counts]
        kinds = np.concatenate([atss.torch_sum_kinds(n) for n in counts])
        together = atss.column_sums_by_kind(np.concatenate(blocks, axis=1), kinds)
        each = np.concatenate([atss.torch_column_sum(b) for b in blocks])
        assert together.tobytes() == each.tobytes()
        assert set(kinds.tolist()) == {atss.INNER_SUM, atss.CASCADE_SUM, atss.ROW_SUM}
    # The order matters for such values: summing every column as a lone column differs.
    alone = atss.column_sums_by_kind(np.concatenate(blocks, axis=1), np.zeros_like(kinds))
    assert alone.tobytes() != together.tobytes()
