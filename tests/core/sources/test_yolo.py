"""The yolo: source: data.yaml and labels-folder layouts, round trips, malformed input, pixels."""

from __future__ import annotations

import dataclasses
import os
import time
from pathlib import Path

import numpy as np
import pytest
import yaml
from PIL import Image

from core.boxes import RELATIVE_TOLERANCE
from core.errors import InputError
from core.sources import load_table, stream_table
from core.sources.base import parse_spec
from core.sources.yolo import YoloSource, label_path_for, parse_label_texts
from tests.core.sources.writers.common import ReferenceDataset, reference_dataset
from tests.core.sources.writers.yolo_writer import reference_pixels, write_yolo


def load(spec: str, **kwargs):
    return load_table(YoloSource(parse_spec(spec)), **kwargs)


def assert_matches(table, dataset: ReferenceDataset) -> None:
    """The table holds exactly the reference boxes (to 0.01 px), ids, sizes and positions."""
    assert table.image_ids.tolist() == [str(i) for i in dataset.image_ids]
    assert table.image_heights.tolist() == dataset.heights.tolist()
    assert table.image_widths.tolist() == dataset.widths.tolist()
    assert len(table) == len(dataset.cls)
    order = np.lexsort((table.box_index, table.image))
    assert table.image[order].tolist() == dataset.image.tolist()
    assert table.cls[order].tolist() == dataset.cls.tolist()
    expected_index = np.concatenate([np.arange(n) for n in np.bincount(dataset.image)])
    assert table.box_index[order].tolist() == expected_index.tolist()
    np.testing.assert_allclose(table.xyxy(order), dataset.xyxy, rtol=0, atol=0.01)
    assert table.skipped == {} and table.clipped == 0


def uniform_dataset(seed: int = 3) -> ReferenceDataset:
    """A reference dataset whose images all have one size (for size=WxH)."""
    data = reference_dataset(seed)
    heights = np.full_like(data.heights, 150)
    widths = np.full_like(data.widths, 250)
    scale = np.stack([widths[data.image] / data.widths[data.image],
                      heights[data.image] / data.heights[data.image]] * 2, 1)
    return dataclasses.replace(data, heights=heights, widths=widths,
                               xyxy=np.round(data.xyxy * scale, 2))


def expect_error(spec_or_call, *parts: str) -> InputError:
    with pytest.raises(InputError) as caught:
        spec_or_call() if callable(spec_or_call) else load(spec_or_call)
    for part in parts:
        assert part in str(caught.value), (part, str(caught.value))
    return caught.value


# --- round trips ------------------------------------------------------------------------------

@pytest.mark.parametrize("names", ["list", "dict"])
@pytest.mark.parametrize("seed", [0, 1, 7])
def test_data_yaml_round_trip(tmp_path, names, seed):
    data = reference_dataset(seed)
    table = load(write_yolo(tmp_path, data, names=names))
    assert_matches(table, data)
    assert table.class_names == data.class_names


def test_data_yaml_without_path_uses_its_folder_and_absolute_path_works(tmp_path):
    data = reference_dataset(2)
    write_yolo(tmp_path, data)
    config = yaml.safe_load((tmp_path / "data.yaml").read_text())
    del config["path"]
    (tmp_path / "dataset" / "here.yaml").write_text(yaml.safe_dump(config))
    assert_matches(load(f"yolo:{tmp_path / 'dataset' / 'here.yaml'}"), data)
    config["path"] = str(tmp_path / "dataset")
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "abs.yaml").write_text(yaml.safe_dump(config))
    assert_matches(load(f"yolo:{tmp_path / 'elsewhere' / 'abs.yaml'}"), data)


def test_split_option_and_txt_image_list(tmp_path):
    data = reference_dataset(4)
    write_yolo(tmp_path, data)
    root = tmp_path / "dataset"
    listed = [f"./images/train/{i}.png" for i in data.image_ids[:3]]
    (root / "val.txt").write_text("\n".join(listed) + "\n\n")
    config = yaml.safe_load((tmp_path / "data.yaml").read_text())
    config["val"] = "val.txt"
    config["test"] = ["images/train"]
    (tmp_path / "data.yaml").write_text(yaml.safe_dump(config))
    val = load(f"yolo:{tmp_path / 'data.yaml'}?split=val")
    assert val.image_ids.tolist() == [str(i) for i in data.image_ids[:3]]
    assert len(val) == int(np.isin(data.image, [0, 1, 2]).sum())
    assert_matches(load(f"yolo:{tmp_path / 'data.yaml'}?split=test"), data)


def test_labels_folder_with_images(tmp_path):
    data = reference_dataset(5)
    assert_matches(load(write_yolo(tmp_path, data, layout="labels")), data)


def test_labels_folder_with_size(tmp_path):
    data = uniform_dataset()
    spec = write_yolo(tmp_path, data, layout="labels", images=False)
    assert spec.endswith("?size=250x150")
    source = YoloSource(parse_spec(spec))
    assert_matches(load_table(source), data)
    assert source.pixels(0) is None


def test_labels_folder_classes_txt_and_classes_option(tmp_path):
    data = reference_dataset(1)
    spec = write_yolo(tmp_path, data, layout="labels")
    (tmp_path / "labels" / "classes.txt").write_text("carrier\nburst\nchirp\n")
    table = load(spec)
    assert_matches(table, data)  # classes.txt is not read as a label file
    assert table.class_names == {0: "carrier", 1: "burst", 2: "chirp"}
    assert load(spec + "&classes=a,b,c").class_names == {0: "a", 1: "b", 2: "c"}


def test_relative_images_option_beside_the_labels_folder(tmp_path, monkeypatch):
    data = reference_dataset(6)
    write_yolo(tmp_path / "ds", data, layout="labels")
    monkeypatch.chdir(tmp_path)
    assert_matches(load("yolo:ds/labels?images=images"), data)  # not in cwd: beside labels/
    assert_matches(load("yolo:ds/labels?images=ds/images"), data)  # in cwd


def test_shared_stems_are_refused(tmp_path):
    data = reference_dataset(0)
    spec = write_yolo(tmp_path, data, layout="labels")
    Image.new("L", (4, 4)).save(tmp_path / "images" / f"{data.image_ids[0]}.jpg")
    expect_error(spec, "two images share the stem")
    os.remove(tmp_path / "images" / f"{data.image_ids[0]}.jpg")
    (tmp_path / "labels" / "sub").mkdir()
    (tmp_path / "labels" / "sub" / f"{data.image_ids[1]}.txt").write_text("")
    expect_error(spec, "two label files share the stem")


def test_ultralytics_label_path_rule():
    image = Path("/data/images/x/images/train/a.b.jpg")
    assert label_path_for(image) == "/data/images/x/labels/train/a.b.txt"
    assert label_path_for(Path("/data/pics/a.png")) == "/data/pics/a.txt"


def test_image_without_label_file_has_no_boxes(tmp_path):
    data = reference_dataset(0)
    spec = write_yolo(tmp_path, data)
    os.remove(tmp_path / "dataset" / "labels" / "train" / f"{data.image_ids[1]}.txt")
    table = load(spec)
    assert table.image_count == len(data.image_ids)
    assert not (table.image == 1).any()
    assert len(table) == int((data.image != 1).sum()) and table.skipped == {}


def test_label_without_image_is_counted_unknown_image(tmp_path):
    data = reference_dataset(0)
    spec = write_yolo(tmp_path, data, layout="labels")
    os.remove(tmp_path / "images" / f"{data.image_ids[2]}.png")
    table = load(spec)
    lost = int((data.image == 2).sum())
    assert table.image_count == len(data.image_ids) - 1
    assert table.skipped == {"unknown_image": lost}
    expect_error(lambda: load(spec, strict=True), f"{data.image_ids[2]}.txt", "unknown_image")


def test_extra_columns_confidence_and_polygon(tmp_path):
    labels = tmp_path / "labels"
    labels.mkdir()
    (labels / "a.txt").write_text("1 0.5 0.5 0.2 0.4 0.93\n"  # prediction with confidence
                                  "2 0.1 0.2 0.3 0.2 0.3 0.6 0.1 0.6\n"  # polygon
                                  "0 0.25 0.25 0.1 0.1\n")
    table = load(f"yolo:{labels}?size=200x100")
    np.testing.assert_allclose(table.xyxy(), [[80, 30, 120, 70], [20, 20, 60, 60],
                                              [40, 20, 60, 30]], atol=1e-9)
    assert table.cls.tolist() == [1, 2, 0] and table.box_index.tolist() == [0, 1, 2]


def test_pose_dataset_ignores_keypoints(tmp_path):
    data = reference_dataset(0)
    write_yolo(tmp_path, data)
    for label in (tmp_path / "dataset" / "labels" / "train").glob("*.txt"):
        label.write_text("".join(line + " 0.5 0.5 2 0.1 0.1 1\n"
                                 for line in label.read_text().splitlines()))
    config = yaml.safe_load((tmp_path / "data.yaml").read_text())
    config["kpt_shape"] = [2, 3]
    (tmp_path / "data.yaml").write_text(yaml.safe_dump(config))
    assert_matches(load(f"yolo:{tmp_path / 'data.yaml'}"), data)


def test_progress_counts_files_and_streams(tmp_path, monkeypatch):
    import core.sources.yolo as yolo

    monkeypatch.setattr(yolo, "BATCH_FILES", 2)
    data = reference_dataset(0, images=5)
    stream = stream_table(YoloSource(parse_spec(write_yolo(tmp_path, data))))
    seen = []
    try:
        while True:
            done, total, builder = next(stream)
            seen.append((done, total, builder.box_count))
    except StopIteration as finished:
        assert_matches(finished.value, data)
    assert [(d, t) for d, t, _ in seen] == [(2, 5), (4, 5), (5, 5)]
    assert 0 < seen[0][2] < seen[-1][2] == len(data.cls)


# --- pixels -----------------------------------------------------------------------------------

def test_pixels_grey_and_rgb_and_missing(tmp_path):
    data = reference_dataset(0)
    spec = write_yolo(tmp_path, data)
    source = YoloSource(parse_spec(spec))
    load_table(source)
    grey = source.pixels(1)
    assert grey.dtype == np.float32
    np.testing.assert_array_equal(grey, reference_pixels(int(data.heights[1]),
                                                         int(data.widths[1]), 1))
    rgb = np.zeros((int(data.heights[2]), int(data.widths[2]), 3), np.uint8)
    rgb[..., 0], rgb[..., 1], rgb[..., 2] = 200, 100, 50
    image_dir = tmp_path / "dataset" / "images" / "train"
    Image.fromarray(rgb).save(image_dir / f"{data.image_ids[2]}.png")
    np.testing.assert_allclose(source.pixels(2), 0.299 * 200 + 0.587 * 100 + 0.114 * 50, atol=0.5)
    os.remove(image_dir / f"{data.image_ids[3]}.png")
    assert source.pixels(3) is None
    with pytest.raises(IndexError):
        source.pixels(len(data.image_ids))


def test_size_comes_from_the_header_without_decoding(tmp_path, monkeypatch):
    data = reference_dataset(0)
    spec = write_yolo(tmp_path, data)

    def no_decode(*args, **kwargs):
        raise AssertionError("image decoded while loading boxes")

    monkeypatch.setattr(Image, "open", no_decode)
    assert_matches(load(spec), data)


# --- malformed labels: error with file + line + problem --------------------------------------

LABEL_ERRORS = [
    ("0 0.5 0.5 0.2\n", 1, "expected 5 columns"),
    ("0 0.5 0.5 0.2 0.2\n\n0 0.5 0.5 0.2 0.2 0.1 0.1 0.1\n", 3, "expected 5 columns"),
    ("0 0.5 0.5 0.2 0.2 1 2 3 4 5 6 7\n", 1, "found 12"),
    ("0\n", 1, "found 1"),
    ("0 0.5 zero 0.2 0.2\n", 1, "column 3 is not a number: 'zero'"),
    ("\n\n0 0.5 0.5 0.2 0.2\n0,0.5,0.5,0.2,0.2\n", 4, "separated by spaces"),
    ("0 0.1 0.1 0.1 0.1 0.2 0.2 x 0.3\n", 1, "column 8 is not a number"),
    ("1.5 0.5 0.5 0.2 0.2\n", 1, "class id must be a whole number"),
    ("0 0.1 0.1 0.1 0.1\n-1 0.5 0.5 0.2 0.2\n", 2, "class id must be a whole number"),
    ("nan 0.5 0.5 0.2 0.2\n", 1, "class id must be a whole number"),
    ("0 0.1 0.1 0.1 0.1\n\n 7 0.5 0.5 0.2 0.2\n", 3, "not below the dataset's class count 3"),
    ("0 " + "0.5 " * 200_001 + "\n", 1, "found 200002"),
]


@pytest.mark.parametrize(("text", "line", "problem"), LABEL_ERRORS)
def test_malformed_label_lines_name_file_and_line(tmp_path, text, line, problem):
    data = reference_dataset(0)
    spec = write_yolo(tmp_path, data)
    label = tmp_path / "dataset" / "labels" / "train" / f"{data.image_ids[3]}.txt"
    label.write_text(text)
    started = time.perf_counter()
    error = expect_error(spec, str(label), f"line {line}", problem)
    assert error.file == str(label) and error.record == f"line {line}"
    assert time.perf_counter() - started < 10


def test_undecodable_label_file(tmp_path):
    labels = tmp_path / "labels"
    labels.mkdir()
    (labels / "a.txt").write_bytes(b"0 0.5 0.5 \xff\xfe 0.1\n")
    expect_error(f"yolo:{labels}?size=10x10", "a.txt", "not UTF-8")


# --- bad boxes: skipped and counted ----------------------------------------------------------

SKIPPED = [
    ("0 1.5 0.5 0.2 0.2", "relative_out_of_range"),
    ("0 0.5 -0.2 0.2 0.2", "relative_out_of_range"),
    ("0 0.5 0.5 1.3 0.2", "relative_out_of_range"),
    ("0 0.5 0.5 120 80", "relative_out_of_range"),  # pixel values written by mistake
    ("0 0.5 0.5 0 0.2", "non_positive_size"),
    ("0 0.5 0.5 0.2 -0.2", "non_positive_size"),
    ("0 nan 0.5 0.2 0.2", "non_finite"),
    ("0 0.5 0.5 inf 0.2", "non_finite"),
    ("0 0.1 0.1 0.1 0.1 0.3 0.1 1.4 0.3", "relative_out_of_range"),  # polygon point
]


@pytest.mark.parametrize(("line", "reason"), SKIPPED)
def test_bad_boxes_are_skipped_and_counted(tmp_path, line, reason):
    labels = tmp_path / "labels"
    labels.mkdir()
    (labels / "a.txt").write_text(f"0 0.5 0.5 0.2 0.2\n{line}\n1 0.25 0.25 0.1 0.1\n")
    table = load(f"yolo:{labels}?size=100x100&classes=a,b")
    assert table.skipped == {reason: 1}
    assert table.box_index.tolist() == [0, 2]  # positions still count the skipped line
    with pytest.raises(InputError, match=reason):
        load(f"yolo:{labels}?size=100x100", strict=True)


def test_values_within_tolerance_are_clipped_not_skipped(tmp_path):
    labels = tmp_path / "labels"
    labels.mkdir()
    edge = 1 + RELATIVE_TOLERANCE / 2
    (labels / "a.txt").write_text(f"0 {edge} 0.5 0.2 0.2\n0 0.05 0.5 0.2 0.2\n")
    table = load(f"yolo:{labels}?size=100x100")
    assert len(table) == 2 and table.skipped == {} and table.clipped == 2
    np.testing.assert_allclose(table.xyxy(), [[90.05, 40, 100, 60], [0, 40, 15, 60]])


# --- malformed yaml / options ----------------------------------------------------------------

def write_yaml(tmp_path, text: str) -> str:
    (tmp_path / "images").mkdir(exist_ok=True)
    Image.new("L", (8, 6)).save(tmp_path / "images" / "a.png")
    (tmp_path / "data.yaml").write_text(text)
    return f"yolo:{tmp_path / 'data.yaml'}"


YAML_ERRORS = [
    ("train: images\nnames: [a, b\n", "not valid YAML", "line"),
    ("- train\n- names\n", "must be a mapping", None),
    ("train: images\n", "missing key 'names'", None),
    ("names: [a]\nval: images\n", "missing key 'train'", "val"),
    ("train: nowhere\nnames: [a]\n", "not an image folder", "nowhere"),
    ("train: images\nnames: 5\n", "'names' must be a list or a mapping", None),
    ("train: images\nnames: {x: a}\n", "keys must be class ids", None),
    ("train: [3]\nnames: [a]\n", "entries must be paths", None),
    ("train: images\nnames: [a]\nkpt_shape: seven\n", "kpt_shape", None),
]


@pytest.mark.parametrize(("text", "problem", "detail"), YAML_ERRORS)
def test_malformed_yaml(tmp_path, text, problem, detail):
    spec = write_yaml(tmp_path, text)
    error = expect_error(spec, "data.yaml", problem)
    if detail:
        assert detail in str(error)


def test_yaml_nc_without_names_and_class_count_check(tmp_path):
    spec = write_yaml(tmp_path, "train: images\nnc: 2\n")
    (tmp_path / "labels").mkdir()
    (tmp_path / "labels" / "a.txt").write_text("1 0.5 0.5 0.5 0.5\n")
    assert len(load(spec)) == 1
    (tmp_path / "labels" / "a.txt").write_text("2 0.5 0.5 0.5 0.5\n")
    expect_error(spec, "a.txt", "line 1", "class count 2")


def test_split_with_no_images(tmp_path):
    (tmp_path / "empty").mkdir()
    spec = write_yaml(tmp_path, "train: empty\nnames: [a]\n")
    expect_error(spec, "data.yaml", "lists no image files")


def test_unreadable_image_header(tmp_path):
    spec = write_yaml(tmp_path, "train: images\nnames: [a]\n")
    (tmp_path / "images" / "a.png").write_bytes(b"not a png at all")
    expect_error(spec, "a.png", "cannot read the image size")


OPTION_ERRORS = [
    ("{labels}", "set images=DIR", "size=WxH"),
    ("{labels}?size=100", "option 'size' must be WIDTHxHEIGHT", None),
    ("{labels}?size=0x5", "option 'size' must be WIDTHxHEIGHT", None),
    ("{labels}?size=99999999999x5", "option 'size' must be WIDTHxHEIGHT", None),
    ("{labels}?images={labels}/nope", "option 'images': no such folder", None),
    ("{labels}?size=4x4&colour=red", "unknown option 'colour'", None),
    ("{labels}?size=4x4&split=val", "option 'split' is for a data.yaml", None),
    ("{labels}?size=4x4&classes=a,,b", "option 'classes'", None),
    ("{labels}/missing", "no such file or folder", None),
    ("", "yolo needs a path", None),
]


@pytest.mark.parametrize(("spec", "problem", "detail"), OPTION_ERRORS)
def test_option_errors(tmp_path, spec, problem, detail):
    labels = tmp_path / "labels"
    labels.mkdir()
    (labels / "a.txt").write_text("0 0.5 0.5 0.5 0.5\n")
    error = expect_error(lambda: YoloSource(parse_spec("yolo:" + spec.format(labels=labels))),
                         problem)
    if detail:
        assert detail in str(error)


def test_empty_labels_folder(tmp_path):
    expect_error(f"yolo:{tmp_path}?size=4x4", str(tmp_path), "no label files")


def test_batch_parse_names_the_right_file():
    texts = ["0 0.5 0.5 0.2 0.2\n", "0 0.5 0.5 0.2 0.2\n\n1 0.5 0.5 0.2 0.2\n5 .1 .1 .1 .1\n"]
    with pytest.raises(InputError) as caught:
        parse_label_texts(texts, ["first.txt", "second.txt"], class_count=2)
    assert caught.value.file == "second.txt" and caught.value.record == "line 4"
    boxes = parse_label_texts(["", "0 .5 .5 .1 .1 .9\n", "1 .2 .2 .1 .1\n"], ["a", "b", "c"])
    assert boxes.counts.tolist() == [0, 1, 1] and boxes.cls.tolist() == [0, 1]


def test_yaml_label_files_without_an_image_are_counted_not_dropped(tmp_path):
    """Ultralytics reads only the labels of listed images; a label file whose image is missing
    would lose its boxes without a word. They are skipped and counted, and --strict names the
    file."""
    import pytest as _pytest

    from core.errors import InputError
    from core.sources import load_table

    (tmp_path / "ds/images/train").mkdir(parents=True)
    (tmp_path / "ds/labels/train").mkdir(parents=True)
    (tmp_path / "data.yaml").write_text("path: ds\ntrain: images/train\nnames: [sig]\n")
    (tmp_path / "ds/labels/train/a.txt").write_text("0 0.5 0.5 0.2 0.2\n")
    (tmp_path / "ds/labels/train/orphan.txt").write_text("0 0.5 0.5 0.2 0.2\n0 0.1 0.1 0.1 0.1\n")
    (tmp_path / "ds/labels/train/classes.txt").write_text("sig\n")
    from PIL import Image

    Image.new("L", (64, 32)).save(tmp_path / "ds/images/train/a.png")
    table = load_table(f"yolo:{tmp_path / 'data.yaml'}")
    assert len(table) == 1 and table.image_count == 1
    assert table.skipped == {"unknown_image": 2}
    with _pytest.raises(InputError, match="orphan.txt"):
        load_table(f"yolo:{tmp_path / 'data.yaml'}", strict=True)
