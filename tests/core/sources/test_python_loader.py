"""The `python:` source: em-loader style tf.data loaders in every layout, errors, pixels."""

import sys
import textwrap

import numpy as np
import pytest

from core.box_formats import FORMATS
from core.errors import InputError
from core.sources import load_table
from core.sources.base import parse_spec
from core.sources.demo import CLASS_NAMES, demo_pixels, generate_demo_boxes

pytest.importorskip("tensorflow")
from core.sources.python_loader import PythonLoaderSource  # noqa: E402

IMAGES = 3
PAD = 16  # rows of a dense padded element (the demo has at most 15 boxes per image)
TOLERANCE = 0.01  # pixels
MODULE = "anchor_inspector_test_loaders"

# Loaders over the demo em-loader module, in every element layout the source accepts, and loaders
# that are wrong in one way each. Written to a temporary folder and imported by name.
LOADERS = textwrap.dedent(f'''
    import numpy as np
    import tensorflow as tf
    from resources.em_loader_demo import load as demo_load

    PAD = {PAD}

    def ragged(bounding_box_format, batch_size=None, images={IMAGES}):
        return demo_load(bounding_box_format, batch_size=batch_size, images=images)

    def dense(bounding_box_format, batch_size=None, images={IMAGES}):
        """Boxes and classes padded with -1 to PAD rows."""
        dataset, info = demo_load(bounding_box_format, batch_size=batch_size, images=images)
        def pad(element):
            boxes = element["bounding_boxes"]["boxes"]
            classes = element["bounding_boxes"]["classes"]
            if batch_size is None:
                n = tf.shape(boxes)[0]
                boxes = tf.pad(boxes, [[0, PAD - n], [0, 0]], constant_values=-1)
                classes = tf.pad(classes, [[0, PAD - n]], constant_values=-1)
            else:
                boxes = boxes.to_tensor(-1, shape=[None, PAD, 4])
                classes = classes.to_tensor(-1, shape=[None, PAD])
            return {{"images": element["images"],
                    "bounding_boxes": {{"boxes": boxes, "classes": classes}}}}
        return dataset.map(pad), info

    def pairs(bounding_box_format, batch_size=None, padded=False):
        """(images, boxes) tuples, no classes, no info."""
        dataset, _ = (dense if padded else ragged)(bounding_box_format, batch_size)
        return dataset.map(lambda e: (e["images"], e["bounding_boxes"]["boxes"]))

    def triples(bounding_box_format, batch_size=None):
        dataset, info = ragged(bounding_box_format, batch_size)
        return dataset.map(lambda e: (e["images"], e["bounding_boxes"]["boxes"],
                                      e["bounding_boxes"]["classes"])), info

    def keras_tuples(bounding_box_format, batch_size=None):
        dataset, info = ragged(bounding_box_format, batch_size)
        return dataset.map(lambda e: (e["images"], e["bounding_boxes"])), info

    def generated(bounding_box_format="xyxy", shuffled=False):
        """A from_generator pipeline (no random access); `shuffled` reshuffles every pass."""
        dataset, _ = demo_load(bounding_box_format, images={IMAGES})
        elements = list(dataset.as_numpy_iterator())
        def produce():
            yield from elements
        out = tf.data.Dataset.from_generator(produce, output_signature=dataset.element_spec)
        return out.shuffle(8, reshuffle_each_iteration=True) if shuffled else out

    def small(boxes, classes=None, size=(8, 10), batch=None):
        images = np.zeros((len(boxes),) + size, np.float32)
        parts = (images, np.asarray(boxes, np.float32))
        if classes is not None:
            parts += (np.asarray(classes, np.float32),)
        dataset = tf.data.Dataset.from_tensor_slices(parts)
        return dataset if batch is None else dataset.batch(batch)

    def relative(bounding_box_format="rel_xyxy"):
        return small([[[0.1, 0.2, 0.5, 0.6], [0.1, 0.2, 1.5, 0.6], [0.0, 0.0, 1.0005, 1.0]]],
                     [[0, 1, 2]])

    def fractional_class():
        return small([[[1, 1, 3, 3]], [[1, 1, 3, 3]]], [[0], [1.5]])

    def class_count(batch_size=None):
        boxes = np.ones((3, 2, 4), np.float32)
        images = np.zeros((3, 8, 8), np.float32)
        dataset = tf.data.Dataset.from_tensor_slices((images, boxes)).map(
            lambda i, b: (i, b, tf.zeros([tf.shape(b)[0] + 1])))
        return dataset if batch_size is None else dataset.batch(batch_size)

    def failing():
        def fail(k):
            if k == 2:
                raise ValueError("sensor file 2 is unreadable")
            return np.zeros((8, 8), np.float32)
        def element(k):
            image = tf.numpy_function(fail, [k], tf.float32)
            image.set_shape((8, 8))
            return image, tf.constant([[1.0, 1.0, 4.0, 4.0]])
        return tf.data.Dataset.range(4).map(element)

    def wrong_keys():
        return tf.data.Dataset.from_tensor_slices(
            {{"image": np.zeros((2, 8, 8)), "objects": {{"bbox": np.zeros((2, 1, 4))}}}})

    def wrong_rank():
        return tf.data.Dataset.from_tensor_slices((np.zeros((2, 8, 8)), np.zeros((2, 4))))

    def five_values():
        return tf.data.Dataset.from_tensor_slices((np.zeros((2, 8, 8)), np.zeros((2, 3, 5))))

    def endless():
        return small([[[1, 1, 3, 3]]]).repeat()

    def not_a_dataset():
        return [1, 2, 3]

    def raises(split="train"):
        raise RuntimeError(f"no split named {{split}}")

    not_a_function = 42
''')


@pytest.fixture(scope="module", autouse=True)
def loaders_module(tmp_path_factory):
    folder = tmp_path_factory.mktemp("loaders")
    (folder / f"{MODULE}.py").write_text(LOADERS)
    sys.path.insert(0, str(folder))
    yield folder
    sys.path.remove(str(folder))
    sys.modules.pop(MODULE, None)


@pytest.fixture(scope="module")
def reference():
    return generate_demo_boxes(IMAGES, 0)


def source(function: str, **options) -> PythonLoaderSource:
    query = "&".join(f"{k}={v}" for k, v in options.items())
    return PythonLoaderSource(parse_spec(f"python:{MODULE}:{function}?{query}"))


def load(function: str, **options):
    return load_table(source(function, **options))


def assert_demo_boxes(table, reference, cls=True):
    assert table.image_ids.tolist() == list(range(IMAGES))
    assert (table.image_heights == 512).all() and (table.image_widths == 512).all()
    assert np.array_equal(table.image, np.repeat(np.arange(IMAGES), np.diff(reference.offsets)))
    np.testing.assert_allclose(table.xyxy(), reference.xyxy, atol=TOLERANCE, rtol=0)
    assert np.array_equal(table.box_index, reference.box_index)
    assert np.array_equal(table.cls, reference.cls if cls else np.zeros(len(reference.cls)))


@pytest.mark.parametrize("batch_size", [None, 2], ids=["unbatched", "batched"])
@pytest.mark.parametrize("layout", ["ragged", "dense"])
@pytest.mark.parametrize("fmt", FORMATS)
def test_every_format_and_layout_gives_the_demo_boxes(fmt, layout, batch_size, reference):
    options = {"bounding_box_format": fmt} | ({"batch_size": batch_size} if batch_size else {})
    progress = []
    table = load_table(source(layout, **options), progress=lambda d, t: progress.append((d, t)))
    assert_demo_boxes(table, reference)
    padding = PAD * IMAGES - len(reference.cls) if layout == "dense" else 0
    assert table.skipped == ({"padding": padding} if padding else {})
    assert table.class_names == CLASS_NAMES
    assert progress[-1] == (IMAGES, IMAGES)  # total from info["num_samples"]


@pytest.mark.parametrize("batch_size", [None, 2], ids=["unbatched", "batched"])
def test_tuples_without_classes_and_a_bare_dataset(batch_size, reference):
    options = {"bounding_box_format": "xywh"} | ({"batch_size": batch_size} if batch_size else {})
    table = load("pairs", **options)
    assert_demo_boxes(table, reference, cls=False)
    assert table.class_names == {} and table.skipped == {}
    padded = load("pairs", padded=True, **options)  # all -1 rows are padding even without classes
    assert_demo_boxes(padded, reference, cls=False)
    assert padded.skipped == {"padding": PAD * IMAGES - len(reference.cls)}


def test_triples_keras_tuples_and_default_format(reference):
    assert_demo_boxes(load("triples", bounding_box_format="center_xywh", batch_size=2), reference)
    assert_demo_boxes(load("keras_tuples", bounding_box_format="rel_yxyx"), reference)
    # no bounding_box_format option: the boxes are read as xyxy
    spec = parse_spec(f"python:{MODULE}:generated")
    assert PythonLoaderSource(spec).box_format == "xyxy"
    assert_demo_boxes(load_table(PythonLoaderSource(spec)), reference)


def test_progress_total_from_cardinality_when_there_is_no_info():
    progress = []
    load_table(source("pairs", bounding_box_format="xyxy"),
               progress=lambda d, t: progress.append((d, t)))
    assert progress[-1] == (IMAGES, IMAGES)  # unbatched: cardinality = images
    progress.clear()
    load_table(source("pairs", bounding_box_format="xyxy", batch_size=2),
               progress=lambda d, t: progress.append((d, t)))
    assert progress[-1] == (IMAGES, None)  # batches of unknown size: no total


def test_relative_values_far_outside_the_image_are_skipped():
    table = load("relative", bounding_box_format="rel_xyxy")
    assert table.skipped == {"relative_out_of_range": 1}
    assert table.clipped == 1  # 1.0005 is within the tolerance: clipped to the image
    np.testing.assert_allclose(table.xyxy()[0], [1.0, 1.6, 5.0, 4.8], atol=1e-5)
    assert table.cls.tolist() == [0, 2] and table.box_index.tolist() == [0, 2]


def test_pixels_random_access_and_sequential_match_the_demo():
    batched = source("ragged", bounding_box_format="xywh", batch_size=2)
    load_table(batched)
    for k in (2, 0, 1):
        np.testing.assert_array_equal(batched.pixels(k), demo_pixels(k))
    assert batched._random_access is True
    sequential = source("generated")
    load_table(sequential)
    for k in (1, 2, 0):
        np.testing.assert_array_equal(sequential.pixels(k), demo_pixels(k))
    assert sequential._random_access is False
    with pytest.raises(IndexError):
        sequential.pixels(IMAGES)


def test_pixels_of_a_reshuffled_pipeline_are_refused():
    shuffled = source("generated", shuffled=True)
    load_table(shuffled)
    with pytest.raises(InputError, match="not deterministic"):
        for _ in range(5):  # the chance that five reshuffles all keep the order is tiny
            for k in range(IMAGES):
                shuffled.pixels(k)
            shuffled._cache.clear()


@pytest.mark.parametrize(("spec", "record", "problem"), [
    (f"python:{MODULE}:failing", "element 2", "sensor file 2 is unreadable"),
    (f"python:{MODULE}:fractional_class", "element 1, box 0", "class 1.5 is not a whole"),
    (f"python:{MODULE}:class_count", "element 0", "3 class values for 2 boxes"),
    (f"python:{MODULE}:class_count?batch_size=2", "element 0, image 0",
     "3 class values for 2 boxes"),
    (f"python:{MODULE}:wrong_keys", "element 0", "keys ['image', 'objects']"),
    (f"python:{MODULE}:wrong_rank", "element 0", "boxes must have shape [n, 4]"),
    (f"python:{MODULE}:five_values", "element 0", "4 values per box"),
    (f"python:{MODULE}:not_a_dataset", "", "returned a list of 3"),
    (f"python:{MODULE}:endless", "", "returned an endless dataset"),
    (f"python:{MODULE}:raises?split=val", "", "raised RuntimeError: no split named val"),
    (f"python:{MODULE}:not_a_function", "", "is a int, not a function"),
    (f"python:{MODULE}:missing", "", f"module {MODULE!r} has no function 'missing'"),
    ("python:no_such_module_here:load", "", "no module named 'no_such_module_here'"),
    (f"python:{MODULE}:ragged?bounding_box_format=xyhw", "", "unknown box format 'xyhw'"),
    (f"python:{MODULE}", "", "expected python:MODULE:FUNCTION"),
])
def test_bad_loaders_name_the_spec_the_element_and_the_problem(spec, record, problem):
    with pytest.raises(InputError) as caught:
        load_table(PythonLoaderSource(parse_spec(spec)))
    message = str(caught.value)
    assert message.startswith(spec) and problem in message, message
    assert f": {record}: " in message if record else True, message
    assert "\n" not in message


def test_a_module_in_the_current_directory_is_found(tmp_path, monkeypatch):
    (tmp_path / "cwd_loader_for_test.py").write_text(
        "import tensorflow as tf\n"
        "def load():\n"
        "    return tf.data.Dataset.from_tensors((tf.zeros((4, 6)), [[1.0, 1.0, 3.0, 2.0]]))\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", [p for p in sys.path if p not in ("", str(tmp_path))])
    monkeypatch.delitem(sys.modules, "cwd_loader_for_test", raising=False)
    table = load_table(PythonLoaderSource(parse_spec("python:cwd_loader_for_test:load")))
    assert table.xyxy().tolist() == [[1.0, 1.0, 3.0, 2.0]]
    assert table.image_heights.tolist() == [4] and table.image_widths.tolist() == [6]
    by_path = PythonLoaderSource(parse_spec(f"python:{tmp_path}/cwd_loader_for_test.py:load"))
    assert len(load_table(by_path)) == 1
