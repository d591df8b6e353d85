"""One reference dataset written in every format and loaded back: the same boxes, classes, order
and skipped boxes from every source.

The reference (`reference_dataset(seed)`, a few seeds) is written with each format's own test
writer (coco, yolo, voc, tfrecord, sigmf) and, for `python:`, by a small loader module written to
a temporary folder that builds a tf.data dataset from the reference arrays: keras-cv dict elements
`{"images", "bounding_boxes": {"boxes", "classes"}}`, boxes as `rel_xywh` (so the image tensor's
size scales them). The `python:` source refuses ragged images (a batch's images share one tensor),
so the mixed-size reference is read unbatched ("python"), and ragged batches of 4 are read with
every image at the largest size ("python-ragged"; boxes unchanged, sizes normalised to that).
Every dataset also gets one invalid box (zero width) as the last box of one image.

What is compared, and the normalisations each format needs (everything else is compared as is):
- boxes: pixel xyxy to 0.01 px in every format, SigMF included (its writer places time at
  sample = x * HOP and frequency at bin edges, both exact for boxes rounded to 0.01 px);
- box order: each image's boxes in table order are the reference's, with box_index 0, 1, ...;
- image order and sizes: images in reference order, with the reference's sizes, except SigMF,
  whose image height is always `nfft` (the writer picks the tallest reference height, rounded up
  to even; widths are the reference's), and "python-ragged" (every image the largest size);
- image ids: compared as strings (coco keeps the ints written, yolo / voc / sigmf use file stems,
  tfrecord `image/source_id` bytes); `python:` ids are positions 0..N-1 in iteration order (a
  tf.data dataset has no ids), so they are mapped to the reference id at that position;
- classes: compared through class names. Ids equal the reference's (0-based) everywhere except
  tfrecord, which keeps the TF OD API's 1-based labels as written (id = reference id + 1);
- skipped boxes: each source skips the zero-width box as `non_positive_size`, counts it once, clips
  nothing, and under `strict` names the same image and box_index.
"""

from __future__ import annotations

import dataclasses
import json
import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from core.boxes import BoxTable
from core.errors import InputError
from core.sources import load_table, open_source
from tests.core.sources.writers.coco_writer import write_coco
from tests.core.sources.writers.common import ReferenceDataset, reference_dataset
from tests.core.sources.writers.sigmf_writer import HOP, box_to_annotation, sigmf_nfft, write_sigmf
from tests.core.sources.writers.tfrecord_writer import write_tfrecord
from tests.core.sources.writers.voc_writer import voc_xml, write_voc
from tests.core.sources.writers.yolo_writer import write_yolo

SEEDS = (0, 3, 11)
TOLERANCE = 0.01  # pixels
INVALID_IMAGE = 1  # position of the image whose last box is the invalid one
# zero width, whole-pixel corners: every format writes it exactly (VOC's 1-based +1 / -1 round
# trip and SigMF's sample = x * HOP keep whole numbers exact), so each source sees width 0
INVALID_BOX = (10.0, 5.0, 10.0, 20.0)
INVALID_REASON = "non_positive_size"


def with_invalid_box(data: ReferenceDataset) -> ReferenceDataset:
    """`data` plus INVALID_BOX as the last box of image INVALID_IMAGE (rows stay grouped)."""
    at = int(np.flatnonzero(data.image == INVALID_IMAGE)[-1]) + 1
    return dataclasses.replace(
        data, image=np.insert(data.image, at, INVALID_IMAGE), cls=np.insert(data.cls, at, 0),
        xyxy=np.insert(data.xyxy, at, INVALID_BOX, axis=0))


# --- writing every format ------------------------------------------------------------------------

LOADER = textwrap.dedent('''
    """A user's tf.data loader over arrays saved beside it (em-loader style signature)."""
    from pathlib import Path

    import numpy as np
    import tensorflow as tf

    ARRAYS = Path(__file__).with_name("reference.npz")


    def load(bounding_box_format="rel_xywh", batch_size=None, split="train",
             common_size=False):
        """Unbatched elements, or ragged batches of `batch_size`; `common_size`: every image
        the size of the largest (boxes stay where they are), so that images can be batched."""
        assert bounding_box_format == "rel_xywh" and split == "train"
        data = np.load(ARRAYS)
        heights, widths, image, cls, xyxy = (data[k] for k in
                                             ("heights", "widths", "image", "cls", "xyxy"))
        if common_size:
            heights = np.full_like(heights, heights.max())
            widths = np.full_like(widths, widths.max())
        def elements():
            for k in range(len(heights)):
                rows = image == k
                x1, y1, x2, y2 = xyxy[rows].T
                w, h = float(widths[k]), float(heights[k])
                boxes = np.stack([x1 / w, y1 / h, (x2 - x1) / w, (y2 - y1) / h], 1)
                yield {"images": np.zeros((heights[k], widths[k], 3), np.float32),
                       "bounding_boxes": {"boxes": boxes.astype(np.float32),
                                          "classes": cls[rows].astype(np.float32)}}
        shape = (int(heights[0]), int(widths[0]), 3) if common_size else (None, None, 3)
        signature = {"images": tf.TensorSpec(shape, tf.float32),
                     "bounding_boxes": {"boxes": tf.TensorSpec((None, 4), tf.float32),
                                        "classes": tf.TensorSpec((None,), tf.float32)}}
        dataset = tf.data.Dataset.from_generator(elements, output_signature=signature)
        info = {"num_samples": len(heights), "class_names": {0: "carrier", 1: "burst",
                                                               2: "chirp"}}
        return (dataset if batch_size is None else dataset.ragged_batch(batch_size)), info
''')


def write_python_loader(directory: Path, data: ReferenceDataset, options: str) -> str:
    """The loader module and its arrays; `options` are the SPEC's query options (keyword
    arguments of `load`)."""
    directory.mkdir(parents=True, exist_ok=True)
    assert data.class_names == {0: "carrier", 1: "burst", 2: "chirp"}  # as the loader's info
    np.savez(directory / "reference.npz", heights=data.heights, widths=data.widths,
             image=data.image, cls=data.cls, xyxy=data.xyxy)
    (directory / "cross_format_loader.py").write_text(LOADER)
    return f"python:{directory / 'cross_format_loader.py'}:load?{options}"


def common_sizes(data: ReferenceDataset) -> tuple[np.ndarray, np.ndarray]:
    """Every image the size of the largest: what the ragged-batched loader gives."""
    return (np.full(len(data.heights), data.heights.max()),
            np.full(len(data.widths), data.widths.max()))


def sigmf_sizes(data: ReferenceDataset) -> tuple[np.ndarray, np.ndarray]:
    """SigMF images are `nfft` rows tall (the writer's choice); widths are the reference's."""
    return np.full(len(data.heights), sigmf_nfft(data)), data.widths


def write_sigmf_with_invalid(directory: Path, data: ReferenceDataset) -> str:
    """SigMF of the valid boxes, then the invalid annotation appended to its recording's meta
    file (the writer renders a signal per annotation and cannot render zero samples)."""
    spec = write_sigmf(directory, data)
    meta_path = (directory / "sigmf_recordings"
                 / f"{data.image_ids[INVALID_IMAGE]}.sigmf-meta")
    meta = json.loads(meta_path.read_text())
    annotation = box_to_annotation(INVALID_BOX, sigmf_nfft(data), HOP)
    annotation["core:label"] = data.class_names[0]
    meta["annotations"].append(annotation)
    meta_path.write_text(json.dumps(meta, indent=1))
    return spec


@dataclass(frozen=True)
class Format:
    """How one format is written from the reference, and how its table is normalised."""

    write: Callable[[Path, ReferenceDataset, ReferenceDataset], str]  # (dir, valid, with invalid)
    class_offset: int = 0  # loaded class id - reference class id
    ids_are_positions: bool = False  # image ids are 0..N-1, not the reference ids
    # (heights, widths) the images have in this format, when not the reference's own
    sizes: Callable[[ReferenceDataset], tuple[np.ndarray, np.ndarray]] | None = None
    tensorflow: bool = False


FORMATS = {
    "coco": Format(lambda d, valid, data: write_coco(d, data, pixels="none")),
    "yolo": Format(lambda d, valid, data: write_yolo(d, data)),
    "voc": Format(lambda d, valid, data: write_voc(d, data, images=False)),
    "tfrecord": Format(lambda d, valid, data: write_tfrecord(d, data), class_offset=1,
                       tensorflow=True),
    "sigmf": Format(lambda d, valid, data: write_sigmf_with_invalid(d, valid),
                    sizes=sigmf_sizes),
    # images of several sizes cannot share a batch tensor, so the reference itself is read
    # unbatched, and ragged batches (as em-loader gives them) with every image at one size
    "python": Format(lambda d, valid, data: write_python_loader(
        d, data, "bounding_box_format=rel_xywh"), ids_are_positions=True, tensorflow=True),
    "python-ragged": Format(lambda d, valid, data: write_python_loader(
        d, data, "bounding_box_format=rel_xywh&batch_size=4&common_size=true"),
        ids_are_positions=True, sizes=common_sizes, tensorflow=True),
}


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    """{(format, seed): SPEC}, each format written once per seed for the whole module."""
    specs: dict[tuple[str, int], str] = {}

    def spec(name: str, seed: int) -> str:
        if FORMATS[name].tensorflow:
            pytest.importorskip("tensorflow")
        if (name, seed) not in specs:
            valid = reference_dataset(seed)
            directory = tmp_path_factory.mktemp(f"{name}_{seed}")
            specs[name, seed] = FORMATS[name].write(directory, valid, with_invalid_box(valid))
        return specs[name, seed]

    return spec


@pytest.fixture(scope="module")
def loaded(written):
    """{(format, seed): BoxTable}, each loaded once for the module."""
    tables: dict[tuple[str, int], BoxTable] = {}

    def table(name: str, seed: int) -> BoxTable:
        if (name, seed) not in tables:
            tables[name, seed] = load_table(written(name, seed))
        return tables[name, seed]

    return table


# --- normalising a table -------------------------------------------------------------------------

def reference_ids(table: BoxTable, fmt: Format, data: ReferenceDataset) -> list[str]:
    """The table's image ids as reference ids (strings)."""
    if fmt.ids_are_positions:
        return [str(data.image_ids[int(i)]) for i in table.image_ids]
    return [str(i) for i in table.image_ids.tolist()]


def canonical_rows(table: BoxTable, fmt: Format, data: ReferenceDataset) -> list[tuple]:
    """(image id, box_index, class name, reference class id) per box, in table order."""
    ids = reference_ids(table, fmt, data)
    return [(ids[image], int(index), table.class_name(c), int(c) - fmt.class_offset)
            for image, index, c in zip(table.image.tolist(), table.box_index.tolist(),
                                       table.cls.tolist(), strict=True)]


def expected_rows(data: ReferenceDataset) -> list[tuple]:
    rows, seen = [], {}
    for image, c in zip(data.image.tolist(), data.cls.tolist(), strict=True):
        index = seen.get(image, 0)
        seen[image] = index + 1
        rows.append((str(data.image_ids[image]), index, data.class_names[c], int(c)))
    return rows


# --- the same dataset from every format ----------------------------------------------------------

@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("name", list(FORMATS))
def test_every_format_loads_the_reference(loaded, name, seed):
    fmt, data = FORMATS[name], reference_dataset(seed)
    table = loaded(name, seed)
    # images: the reference's, in its order, with its sizes (SigMF: nfft rows)
    assert reference_ids(table, fmt, data) == [str(i) for i in data.image_ids]
    heights, widths = (data.heights, data.widths) if fmt.sizes is None else fmt.sizes(data)
    np.testing.assert_array_equal(table.image_heights, heights)
    np.testing.assert_array_equal(table.image_widths, widths)
    # boxes: same images, positions, classes (through names) and order; pixels to 0.01
    assert canonical_rows(table, fmt, data) == expected_rows(data)
    assert {name_: id_ - fmt.class_offset for id_, name_ in table.class_names.items()} == {
        name_: id_ for id_, name_ in data.class_names.items()}
    np.testing.assert_allclose(table.xyxy(), data.xyxy, rtol=0, atol=TOLERANCE)


@pytest.mark.parametrize("seed", SEEDS)
def test_all_formats_agree_with_each_other(loaded, seed):
    """The same comparison between the formats themselves (each against coco), over whatever
    formats can be loaded here, so a difference shared with the reference cannot hide."""
    data = reference_dataset(seed)
    names = [n for n in FORMATS if not FORMATS[n].tensorflow or _has_tensorflow()]
    first = loaded(names[0], seed)
    for name in names[1:]:
        table = loaded(name, seed)
        assert canonical_rows(table, FORMATS[name], data) == canonical_rows(
            first, FORMATS[names[0]], data), name
        np.testing.assert_allclose(table.xyxy(), first.xyxy(), rtol=0, atol=TOLERANCE,
                                   err_msg=name)
        assert table.skipped == first.skipped and table.clipped == first.clipped, name


def _has_tensorflow() -> bool:
    import importlib.util

    return importlib.util.find_spec("tensorflow") is not None


# --- the invalid box: skipped, counted, named the same way everywhere ----------------------------

@pytest.mark.parametrize("name", list(FORMATS))
def test_every_format_skips_and_counts_the_invalid_box(loaded, written, name):
    seed = SEEDS[0]
    fmt, data = FORMATS[name], reference_dataset(seed)
    table = loaded(name, seed)
    assert table.skipped == {INVALID_REASON: 1}
    assert table.clipped == 0
    assert len(table) == len(data.cls)
    with pytest.raises(InputError, match=INVALID_REASON) as caught:
        load_table(written(name, seed), strict=True)
    image_id = INVALID_IMAGE if fmt.ids_are_positions else data.image_ids[INVALID_IMAGE]
    box_index = int((data.image == INVALID_IMAGE).sum())  # after the image's valid boxes
    assert caught.value.record == f"image {image_id}, box {box_index}"


# --- EXIF orientation: header sizes and decoded pixels agree in every image-file source ----------

STORED_HEIGHT, STORED_WIDTH = 24, 40  # as stored in the JPEG; EXIF 6 displays it 40 x 24


def write_rotated_jpeg(path: Path) -> None:
    """A JPEG stored 24 x 40 with EXIF orientation 6 (display rotated 90° clockwise)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    stored = np.zeros((STORED_HEIGHT, STORED_WIDTH), np.uint8)
    stored[:, : STORED_WIDTH // 2] = 255  # bright left half: the top half once displayed
    exif = Image.Exif()
    exif[0x0112] = 6
    Image.fromarray(stored).save(path, quality=95, exif=exif)


def test_rotated_jpeg_size_and_pixels_agree_in_every_image_file_source(tmp_path):
    displayed = (STORED_WIDTH, STORED_HEIGHT)  # (height, width) after EXIF rotation
    box = [[2.0, 3.0, 12.0, 30.0]]  # fits the displayed image only (y2 = 30 > 24)
    data = ReferenceDataset([7], np.array([displayed[0]]), np.array([displayed[1]]),
                            np.array([0]), np.array([0]), np.array(box), {0: "carrier"})
    # coco without width/height, voc without <size>, yolo labels + images: sizes from the header
    coco = tmp_path / "coco"
    coco_spec = write_coco(coco, data, pixels="none", without_size=[0])
    document = json.loads((coco / "annotations.json").read_text())
    document["images"][0]["file_name"] = "frame_7.jpg"
    (coco / "annotations.json").write_text(json.dumps(document))
    write_rotated_jpeg(coco / "images" / "frame_7.jpg")
    voc = tmp_path / "voc"
    (voc / "Annotations").mkdir(parents=True)
    (voc / "Annotations" / "7.xml").write_text(voc_xml("7.jpg", None, None, ["carrier"],
                                                       np.array(box) + [1, 1, 0, 0]))
    write_rotated_jpeg(voc / "JPEGImages" / "7.jpg")
    yolo = tmp_path / "yolo"
    labels_spec = write_yolo(yolo, data, layout="labels", images=False).split("?")[0]
    write_rotated_jpeg(yolo / "images" / "7.jpg")
    for spec in (coco_spec, f"voc:{voc}", f"{labels_spec}?images={yolo / 'images'}"):
        source = open_source(spec)
        table = load_table(source)
        assert (int(table.image_heights[0]), int(table.image_widths[0])) == displayed, spec
        assert table.skipped == {} and table.clipped == 0, spec
        np.testing.assert_allclose(table.xyxy(), box, atol=1e-6)
        pixels = source.pixels(0)
        assert pixels.shape == displayed, spec
        # clockwise turn: the stored left half (bright) is now the top half
        half = displayed[0] // 2
        assert pixels[: half - 2].min() > 200 and pixels[half + 2:].max() < 60, spec
