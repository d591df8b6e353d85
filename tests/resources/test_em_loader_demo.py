"""The em-loader-compatible demo module: keras-cv dicts, ragged batches, boxes in every format."""

import subprocess
import sys

import numpy as np
import pytest

from core.box_formats import FORMATS, RELATIVE_FORMATS, to_xyxy
from core.sources.demo import CLASS_NAMES, demo_pixels, generate_demo_boxes

tf = pytest.importorskip("tensorflow")
from resources.em_loader_demo import TEST_FIRST_IMAGE, load  # noqa: E402

IMAGES = 5
TOLERANCE = 1e-3  # pixels; boxes travel as float32


@pytest.fixture(scope="module")
def reference():
    return generate_demo_boxes(IMAGES, 0)


@pytest.fixture(scope="module")
def convert_format():
    """keras-cv's own converter, the definition of the format names."""
    bounding_box = pytest.importorskip("keras_cv.bounding_box")
    return bounding_box.convert_format


def unbatched(fmt, **kwargs):
    dataset, info = load(fmt, images=IMAGES, **kwargs)
    return list(dataset.as_numpy_iterator()), info


@pytest.mark.parametrize("fmt", FORMATS)
def test_unbatched_boxes_round_trip_in_every_format(fmt, reference, convert_format):
    elements, info = unbatched(fmt)
    assert info["num_samples"] == IMAGES and info["bounding_box_format"] == fmt
    assert len(elements) == IMAGES
    image_shape = np.zeros((512, 512, 1), np.float32)
    for k, element in enumerate(elements):
        expected = reference.of_image(k)
        boxes, classes = element["bounding_boxes"]["boxes"], element["bounding_boxes"]["classes"]
        assert boxes.dtype == np.float32 and boxes.shape == (len(expected), 4)
        assert classes.dtype == np.float32 and np.array_equal(classes, expected.cls)
        ours = to_xyxy(boxes, fmt, 512, 512)
        np.testing.assert_allclose(ours, expected.xyxy, atol=TOLERANCE, rtol=0)
        # keras-cv reads our numbers as the same boxes, and writes its format as we do
        theirs = np.asarray(convert_format(boxes, source=fmt, target="xyxy", images=image_shape))
        np.testing.assert_allclose(theirs, expected.xyxy, atol=TOLERANCE, rtol=0)
        written = np.asarray(convert_format(expected.xyxy.astype(np.float32), source="xyxy",
                                            target=fmt, images=image_shape))
        scale = 1 / 512 if fmt in RELATIVE_FORMATS else 1.0
        np.testing.assert_allclose(written, boxes, atol=TOLERANCE * scale, rtol=0)
    assert elements[0]["images"].shape == (512, 512, 1)
    assert elements[0]["images"].dtype == np.float32


@pytest.mark.parametrize("fmt", FORMATS)
def test_batches_are_ragged_and_round_trip(fmt, reference):
    dataset, info = load(fmt, batch_size=2, images=IMAGES)
    batches = list(dataset)
    assert [len(b["images"]) for b in batches] == [2, 2, 1]
    boxes, classes = [], []
    for batch in batches:
        assert isinstance(batch["bounding_boxes"]["boxes"], tf.RaggedTensor)
        assert isinstance(batch["bounding_boxes"]["classes"], tf.RaggedTensor)
        assert not isinstance(batch["images"], tf.RaggedTensor)
        assert batch["images"].shape[1:] == (512, 512, 1)
        assert batch["bounding_boxes"]["boxes"].shape[-1] == 4
        boxes.append(batch["bounding_boxes"]["boxes"].flat_values.numpy())
        classes.append(batch["bounding_boxes"]["classes"].flat_values.numpy())
    lengths = np.concatenate([b["bounding_boxes"]["boxes"].row_lengths().numpy()
                              for b in batches])
    assert lengths.tolist() == np.diff(reference.offsets).tolist()
    np.testing.assert_allclose(to_xyxy(np.concatenate(boxes), fmt, 512, 512), reference.xyxy,
                               atol=TOLERANCE, rtol=0)
    assert np.array_equal(np.concatenate(classes), reference.cls)


def test_train_split_is_the_demo_source_and_test_split_is_disjoint(reference):
    train, train_info = unbatched("xyxy")
    test, test_info = unbatched("xyxy", split="test")
    assert np.array_equal(train[1]["images"][:, :, 0], demo_pixels(1, seed=0))
    assert np.array_equal(test[0]["images"][:, :, 0], demo_pixels(TEST_FIRST_IMAGE, seed=0))
    expected_test = generate_demo_boxes(IMAGES, 0, start=TEST_FIRST_IMAGE)
    got_test = np.concatenate([e["bounding_boxes"]["boxes"] for e in test])
    np.testing.assert_allclose(got_test, expected_test.xyxy, atol=TOLERANCE, rtol=0)
    assert train_info["first_image"] == 0 and test_info["first_image"] == TEST_FIRST_IMAGE
    assert train_info["class_names"] == CLASS_NAMES and train_info["image_shape"] == (512, 512, 1)
    assert train_info["splits"] == {"train": 3000, "test": 600}
    # deterministic: the same call gives the same data; another seed gives other data
    again, _ = unbatched("xyxy")
    assert all(np.array_equal(a["bounding_boxes"]["boxes"], b["bounding_boxes"]["boxes"])
               for a, b in zip(train, again, strict=True))
    other, _ = unbatched("xyxy", seed=1)
    assert not np.array_equal(other[0]["bounding_boxes"]["boxes"],
                              train[0]["bounding_boxes"]["boxes"])


def test_default_split_sizes():
    assert load("xyxy")[1]["num_samples"] == 3000
    assert load("xyxy", split="test")[1]["num_samples"] == 600


@pytest.mark.parametrize("kwargs, word", [
    ({"bounding_box_format": "xyz"}, "bounding_box_format"),
    ({"bounding_box_format": "xyxy", "split": "val"}, "split"),
    ({"bounding_box_format": "xyxy", "version": 1}, "version"),
    ({"bounding_box_format": "xyxy", "images": 0}, "images"),
    ({"bounding_box_format": "xyxy", "seed": -1}, "seed"),
    ({"bounding_box_format": "xyxy", "batch_size": 0}, "batch_size"),
])
def test_bad_arguments(kwargs, word):
    with pytest.raises(ValueError, match=word):
        load(**kwargs)


def test_importing_the_module_does_not_import_tensorflow():
    probe = ("import sys, resources.em_loader_demo; "
             "print('tensorflow' in sys.modules, 'keras' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "False"]
