"""The `tfrecord:` source: TF OD API records round trip, malformed files named, pixels decoded."""

import gzip
import os

import numpy as np
import pytest

from core.boxes import SKIP_REASONS
from core.errors import InputError
from core.sources import load_table
from core.sources.base import parse_spec
from tests.core.sources.writers.common import reference_dataset

pytest.importorskip("tensorflow")
from core.sources.tfrecord import TFRecordSource  # noqa: E402
from tests.core.sources.writers.tfrecord_writer import (  # noqa: E402
    example_bytes,
    reference_features,
    reference_pixels,
    write_records,
    write_tfrecord,
)

TOLERANCE = 0.01  # pixels


@pytest.fixture(scope="module")
def reference():
    return reference_dataset(seed=3, images=7)


@pytest.fixture(scope="module")
def written(reference, tmp_path_factory):
    spec = write_tfrecord(tmp_path_factory.mktemp("tfrecord"), reference)
    source = TFRecordSource(parse_spec(spec))
    return source, load_table(source)


def load(spec: str):
    return load_table(TFRecordSource(parse_spec(spec)))


def test_round_trip_of_the_reference_dataset(reference, written):
    source, table = written
    assert len(source.files) == 2  # the glob matched both shards
    assert table.image_ids.tolist() == [str(i) for i in reference.image_ids]
    assert table.image_heights.tolist() == reference.heights.tolist()
    assert table.image_widths.tolist() == reference.widths.tolist()
    assert len(table) == len(reference.cls) and table.skipped == {} and table.clipped == 0
    assert np.array_equal(table.image, reference.image)
    np.testing.assert_allclose(table.xyxy(), reference.xyxy, atol=TOLERANCE, rtol=0)
    assert np.array_equal(table.cls, reference.cls + 1)  # TF OD API labels are kept, 1-based
    assert table.class_names == {k + 1: name for k, name in reference.class_names.items()}
    expected_index = np.concatenate([np.arange(n) for n in np.bincount(reference.image)])
    assert np.array_equal(table.box_index, expected_index)


def test_pixels_are_the_decoded_png_of_that_image(reference, written):
    source, _ = written
    for k in (5, 0, 6):
        pixels = source.pixels(k)
        assert pixels.dtype == np.float32
        assert np.array_equal(pixels, reference_pixels(reference, k))
    with pytest.raises(IndexError):
        source.pixels(len(reference.image_ids))


def test_gzip_files_fallback_ids_missing_labels_and_no_pixels(reference, tmp_path):
    features = [reference_features(reference, k) for k in range(3)]
    del features[0]["image/source_id"]  # -> filename
    del features[1]["image/source_id"], features[1]["image/filename"]  # -> FILE:RECORD
    del features[1]["image/encoded"]
    del features[2]["image/object/class/label"], features[2]["image/object/class/text"]
    path = tmp_path / "plain.tfrecord"
    write_records(path, [example_bytes(f) for f in features])
    (tmp_path / "packed.tfrecord.gz").write_bytes(gzip.compress(path.read_bytes()))
    os.remove(path)
    source = TFRecordSource(parse_spec(f"tfrecord:{tmp_path}"))  # a folder: its record files
    table = load_table(source)
    assert table.image_ids.tolist() == [f"image_{reference.image_ids[0]}.png",
                                        "packed.tfrecord.gz:1", str(reference.image_ids[2])]
    rows = reference.image < 3
    np.testing.assert_allclose(table.xyxy(), reference.xyxy[rows], atol=TOLERANCE, rtol=0)
    assert np.array_equal(table.cls[table.image == 2], np.zeros((reference.image == 2).sum()))
    assert source.pixels(1) is None  # no image/encoded: "no pixels"
    assert np.array_equal(source.pixels(2), reference_pixels(reference, 2))


def test_bad_boxes_are_skipped_and_counted(reference, tmp_path):
    features = reference_features(reference, 0)
    n = len(features["image/object/bbox/xmin"])
    assert n >= 2
    features["image/object/bbox/xmax"][0] = 1.5  # relative, far outside [0, 1]
    features["image/object/bbox/ymin"][1] = float("nan")
    write_records(tmp_path / "bad.tfrecord", [example_bytes(features)])
    table = load(f"tfrecord:{tmp_path}/bad.tfrecord")
    assert table.skipped == {"relative_out_of_range": 1, "non_finite": 1}
    assert len(table) == n - 2 and set(table.skipped) <= set(SKIP_REASONS)


def _without(reference, k, *keys):
    features = reference_features(reference, k)
    for key in keys:
        del features[key]
    return features


def _corrupt_cases(reference, directory):
    """(name, spec, record, problem) for each malformed input, written into `directory`."""
    good = example_bytes(reference_features(reference, 0))
    cases = []

    def records(name, payloads, record, problem):
        write_records(directory / f"{name}.tfrecord", payloads)
        cases.append((name, f"tfrecord:{directory}/{name}.tfrecord", record, problem))

    (directory / "text.tfrecord").write_text("not a record file\n" * 5)
    cases.append(("text", f"tfrecord:{directory}/text.tfrecord", "record 0", "corrupt"))
    records("garbage", [good, b"\xff\xfe garbage \x00\x01 not a proto"], "record 1",
            "not a tf.train.Example")
    records("no_height", [good, example_bytes(_without(reference, 1, "image/height"))],
            "record 1", "image/height is missing")
    records("no_width", [good, good, example_bytes(_without(reference, 1, "image/width"))],
            "record 2", "image/width is missing")
    float_height = reference_features(reference, 1)
    float_height["image/height"] = [1.5]
    records("float_height", [example_bytes(float_height)], "record 0", "image/height")
    zero_width = reference_features(reference, 1)
    zero_width["image/width"] = [0]
    records("zero_width", [good, example_bytes(zero_width)], "record 1", "must be positive")
    short_box = reference_features(reference, 2)
    short_box["image/object/bbox/ymax"] = short_box["image/object/bbox/ymax"][:-1]
    records("short_box", [good, good, good, example_bytes(short_box)], "record 3",
            "another number of values")
    extra_label = reference_features(reference, 2)
    extra_label["image/object/class/label"] = extra_label["image/object/class/label"] + [1]
    records("extra_label", [example_bytes(extra_label)], "record 0", "class/label")
    write_records(directory / "truncated.tfrecord", [good, good, good])
    data = (directory / "truncated.tfrecord").read_bytes()
    (directory / "truncated.tfrecord").write_bytes(data[: len(data) - 40])
    cases.append(("truncated", f"tfrecord:{directory}/truncated.tfrecord", "record 2",
                  "corrupt"))
    write_records(directory / "flipped.tfrecord", [good, good])
    data = bytearray((directory / "flipped.tfrecord").read_bytes())
    data[len(data) // 2 + 100] ^= 0xFF  # inside the second record's data: CRC mismatch
    (directory / "flipped.tfrecord").write_bytes(bytes(data))
    cases.append(("flipped", f"tfrecord:{directory}/flipped.tfrecord", "record 1", "corrupt"))
    return cases


CASES = ("text", "garbage", "no_height", "no_width", "float_height", "zero_width", "short_box",
         "extra_label", "truncated", "flipped")


@pytest.fixture(scope="module")
def corrupt_cases(reference, tmp_path_factory):
    cases = _corrupt_cases(reference, tmp_path_factory.mktemp("corrupt"))
    assert tuple(name for name, *_ in cases) == CASES
    return {name: rest for name, *rest in cases}


@pytest.mark.parametrize("name", CASES)
def test_malformed_input_names_file_record_and_problem(name, corrupt_cases):
    spec, record, problem = corrupt_cases[name]
    with pytest.raises(InputError) as caught:
        load(spec)
    message = str(caught.value)
    assert f"{name}.tfrecord" in message and record in message and problem in message, message
    assert "\n" not in message and "Traceback" not in message


def test_a_glob_without_files_and_bad_options_are_errors(tmp_path):
    with pytest.raises(InputError, match="no TFRecord files match"):
        TFRecordSource(parse_spec(f"tfrecord:{tmp_path}/*.tfrecord"))
    (tmp_path / "a.tfrecord").write_bytes(b"")
    with pytest.raises(InputError, match="unknown option 'images'"):
        TFRecordSource(parse_spec(f"tfrecord:{tmp_path}/a.tfrecord?images=3"))
    table = load(f"tfrecord:{tmp_path}/a.tfrecord")  # an empty file is an empty dataset
    assert table.image_count == 0 and len(table) == 0
