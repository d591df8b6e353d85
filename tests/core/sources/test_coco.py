"""The coco: source: round trips, id kinds, file-order box_index, skips, malformed input, pixels."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import core.sources.coco as coco
from core.errors import InputError
from core.sources import load_table, stream_table
from core.sources.base import parse_spec
from core.sources.coco import CocoSource
from tests.core.sources.writers.coco_writer import coco_document, coco_pixels, write_coco
from tests.core.sources.writers.common import ReferenceDataset, reference_dataset


def open_coco(spec: str) -> CocoSource:
    return CocoSource(parse_spec(spec))


def load(spec: str, **kwargs):
    return load_table(open_coco(spec), **kwargs)


def within_image_rank(image: np.ndarray) -> np.ndarray:
    """Position of each reference box among its image's boxes (the reference is grouped)."""
    return np.arange(len(image)) - np.searchsorted(image, image)


def assert_matches(table, dataset: ReferenceDataset, ids=None) -> None:
    """The table holds exactly the reference boxes (0.01 px), ids, sizes, classes, positions."""
    expected_ids = dataset.image_ids if ids is None else ids
    assert table.image_ids.tolist() == list(expected_ids)
    np.testing.assert_array_equal(table.image_heights, dataset.heights)
    np.testing.assert_array_equal(table.image_widths, dataset.widths)
    assert len(table) == len(dataset.image)
    assert table.skipped == {} and table.clipped == 0
    # match rows by (image, box_index): the table may hold boxes in file order
    got = np.lexsort((table.box_index, table.image))
    want = np.lexsort((within_image_rank(dataset.image), dataset.image))
    np.testing.assert_array_equal(table.image[got], dataset.image[want])
    np.testing.assert_array_equal(table.box_index[got], within_image_rank(dataset.image)[want])
    np.testing.assert_array_equal(table.cls[got], dataset.cls[want])
    np.testing.assert_allclose(table.xyxy()[got], dataset.xyxy[want], atol=0.01, rtol=0)
    assert table.class_names == dataset.class_names


def write_json(path: Path, document) -> str:
    path.write_text(json.dumps(document))
    return f"coco:{path}"


def small_document(**changes) -> dict:
    """Two images (ids 7 and 3), three boxes; `changes` replace top-level keys."""
    document = {
        "images": [{"id": 7, "file_name": "a.png", "width": 100, "height": 50},
                   {"id": 3, "file_name": "b.png", "width": 80, "height": 60}],
        "annotations": [
            {"id": 1, "image_id": 7, "category_id": 1, "bbox": [10, 5, 20, 10]},
            {"id": 2, "image_id": 3, "category_id": 2, "bbox": [1.5, 2.5, 3.25, 4.75]},
            {"id": 3, "image_id": 7, "category_id": 1, "bbox": [0, 0, 100, 50]},
        ],
        "categories": [{"id": 1, "name": "carrier"}, {"id": 2, "name": "burst"}],
    }
    document.update(changes)
    return document


# --- round trips ---------------------------------------------------------------------------------

@pytest.mark.parametrize("seed", range(5))
def test_reference_round_trip(tmp_path, seed):
    dataset = reference_dataset(seed, images=7)
    table = load(write_coco(tmp_path, dataset))
    assert_matches(table, dataset)
    assert table.spec.startswith("coco:")


def test_round_trip_interleaved_annotations_keeps_box_index_in_file_order(tmp_path):
    dataset = reference_dataset(3, images=8)
    document = coco_document(dataset, interleave=True, seed=5)
    # the writer really interleaved: consecutive annotations change image many times
    image_ids = [a["image_id"] for a in document["annotations"]]
    changes = sum(a != b for a, b in zip(image_ids, image_ids[1:], strict=False))
    assert changes > len(dataset.image_ids)
    table = load(write_coco(tmp_path, dataset, interleave=True))
    assert_matches(table, dataset)


def test_interleaved_box_index_by_hand(tmp_path):
    document = small_document(annotations=[
        {"image_id": 3, "category_id": 1, "bbox": [0, 0, 1, 1]},
        {"image_id": 7, "category_id": 1, "bbox": [0, 0, 2, 2]},
        {"image_id": 3, "category_id": 1, "bbox": [0, 0, 3, 3]},
        {"image_id": 7, "category_id": 1, "bbox": [0, 0, 4, 4]},
        {"image_id": 3, "category_id": 1, "bbox": [0, 0, 5, 5]},
    ])
    table = load(write_json(tmp_path / "a.json", document))
    by_width = {round(float(w)): (table.image_ids[i], int(b))
                for w, i, b in zip(table.widths, table.image, table.box_index, strict=True)}
    assert by_width == {1: (3, 0), 2: (7, 0), 3: (3, 1), 4: (7, 1), 5: (3, 2)}


def test_chunks_continue_box_index_and_report_progress(tmp_path, monkeypatch):
    dataset = reference_dataset(1, images=9)
    spec = write_coco(tmp_path, dataset, interleave=True)
    monkeypatch.setattr(coco, "CHUNK_ANNOTATIONS", 4)
    progress = []
    table = load(spec, progress=lambda done, total: progress.append((done, total)))
    assert_matches(table, dataset)
    n = len(dataset.image)
    assert [done for done, _ in progress] == [*range(4, n, 4), n]
    assert {total for _, total in progress} == {n}


def test_non_contiguous_and_string_image_ids(tmp_path):
    dataset = reference_dataset(2, images=5)
    ints = [1000 * i + 7 for i in dataset.image_ids]  # sparse, not sorted by position
    ints[0], ints[-1] = ints[-1], ints[0]
    mapping = dict(zip(dataset.image_ids, ints, strict=True))
    table = load(write_coco(tmp_path / "int", dataset, image_id=mapping.get, interleave=True))
    assert table.image_ids.dtype == np.int64
    assert_matches(table, dataset, ids=ints)

    names = {i: f"capture-{i:03d}.sigmf" for i in dataset.image_ids}
    table = load(write_coco(tmp_path / "str", dataset, image_id=names.get, interleave=True))
    assert_matches(table, dataset, ids=[names[i] for i in dataset.image_ids])


def test_mixed_int_and_string_ids_are_distinct(tmp_path):
    document = small_document(
        images=[{"id": 7, "width": 100, "height": 50}, {"id": "7", "width": 80, "height": 60}],
        annotations=[{"image_id": "7", "category_id": 1, "bbox": [0, 0, 70, 10]},
                     {"image_id": 7, "category_id": 1, "bbox": [0, 0, 90, 10]},
                     {"image_id": "8", "category_id": 1, "bbox": [0, 0, 5, 5]}])
    table = load(write_json(tmp_path / "a.json", document))
    assert table.image_ids.tolist() == [7, "7"]
    assert table.image.tolist() == [1, 0]
    assert table.skipped == {"unknown_image": 1}


def test_string_annotation_id_against_int_images_is_unknown(tmp_path):
    document = small_document(annotations=[
        {"image_id": "7", "category_id": 1, "bbox": [0, 0, 5, 5]},
        {"image_id": 3, "category_id": 1, "bbox": [0, 0, 5, 5]}])
    table = load(write_json(tmp_path / "a.json", document))
    assert table.image_ids.tolist() == [7, 3] and table.image.tolist() == [1]
    assert table.skipped == {"unknown_image": 1}


def test_small_document_values(tmp_path):
    table = load(write_json(tmp_path / "a.json", small_document()))
    assert table.image_ids.tolist() == [7, 3]
    assert table.image_heights.tolist() == [50, 60] and table.image_widths.tolist() == [100, 80]
    np.testing.assert_allclose(table.xyxy(), [[10, 5, 30, 15], [1.5, 2.5, 4.75, 7.25],
                                              [0, 0, 100, 50]])
    assert table.image.tolist() == [0, 1, 0] and table.box_index.tolist() == [0, 0, 1]
    assert table.cls.tolist() == [1, 2, 1]  # COCO's category ids are the class ids
    assert table.class_names == {1: "carrier", 2: "burst"}


def test_category_without_entry_keeps_its_number(tmp_path):
    document = small_document(categories=[{"id": 1, "name": "carrier"}])
    table = load(write_json(tmp_path / "a.json", document))
    assert table.class_name(2) == "2" and table.class_name(1) == "carrier"
    table = load(write_json(tmp_path / "b.json", small_document(categories=[])))
    assert len(table) == 3 and table.class_names == {}


def test_no_annotations_still_lists_images(tmp_path):
    table = load(write_json(tmp_path / "a.json", small_document(annotations=[])))
    assert table.image_count == 2 and len(table) == 0
    table = load(write_json(tmp_path / "b.json", small_document(annotations=[], images=[])))
    assert table.image_count == 0


def test_extra_fields_and_crowd_boxes_are_kept(tmp_path):
    annotations = small_document()["annotations"]
    for a in annotations:
        a.update(iscrowd=1, area=1.0, segmentation={"counts": [1, 2], "size": [50, 100]},
                 attributes={"snr": 3.5, "tags": [None, True]})
    document = small_document(annotations=annotations, info={"year": 2024}, licenses=[{}])
    assert len(load(write_json(tmp_path / "a.json", document))) == 3


# --- skipped boxes -------------------------------------------------------------------------------

def test_unknown_image_ids_are_skipped_and_counted(tmp_path):
    annotations = small_document()["annotations"] + [
        {"image_id": 99, "category_id": 1, "bbox": [1, 1, 2, 2]},
        {"image_id": -5, "category_id": 1, "bbox": [1, 1, 2, 2]},
        {"image_id": "7", "category_id": 1, "bbox": [1, 1, 2, 2]}]
    spec = write_json(tmp_path / "a.json", small_document(annotations=annotations))
    table = load(spec)
    assert len(table) == 3 and table.skipped == {"unknown_image": 3}
    with pytest.raises(InputError) as error:
        load(spec, strict=True)
    assert "a.json" in str(error.value) and "unknown_image" in str(error.value)
    assert "box 3" in str(error.value)  # box_index of an unknown image = annotation position


def test_bad_boxes_are_skipped_by_reason_and_partial_ones_clipped(tmp_path):
    annotations = [
        {"image_id": 7, "category_id": 1, "bbox": [10, 5, 20, 10]},  # kept
        {"image_id": 7, "category_id": 1, "bbox": [10, 5, 0, 10]},  # w = 0
        {"image_id": 7, "category_id": 1, "bbox": [10, 5, 20, -1]},  # h < 0
        {"image_id": 7, "category_id": 1, "bbox": [200, 5, 20, 10]},  # right of the image
        {"image_id": 7, "category_id": 1, "bbox": [-30, 5, 20, 10]},  # left of the image
        {"image_id": 7, "category_id": 1, "bbox": [90, 40, 20, 20]},  # partly outside: clipped
    ]
    spec = write_json(tmp_path / "a.json", small_document(annotations=annotations))
    table = load(spec)
    assert table.skipped == {"non_positive_size": 2, "outside_image": 2}
    assert table.clipped == 1
    np.testing.assert_allclose(table.xyxy(), [[10, 5, 30, 15], [90, 40, 100, 50]])
    assert table.box_index.tolist() == [0, 5]  # positions in the file are kept


def test_nan_and_infinity_from_python_json_are_skipped_as_non_finite(tmp_path):
    annotations = small_document()["annotations"] + [
        {"image_id": 3, "category_id": 1, "bbox": [math.nan, 1, 2, 2]},
        {"image_id": 3, "category_id": 1, "bbox": [1, 1, math.inf, 2]},
        {"image_id": 3, "category_id": 1, "bbox": [1, -math.inf, 2, 2]}]
    path = tmp_path / "nan.json"
    path.write_text(json.dumps(small_document(annotations=annotations)))  # writes NaN/Infinity
    assert "NaN" in path.read_text() and "-Infinity" in path.read_text()
    table = load(f"coco:{path}")
    assert len(table) == 3 and table.skipped == {"non_finite": 3}
    assert table.box_index[table.image == 1].tolist() == [0]


def test_nan_file_with_a_type_error_still_names_the_record(tmp_path, monkeypatch):
    monkeypatch.setattr(coco, "CHUNK_ANNOTATIONS", 2)
    annotations = small_document()["annotations"] + [
        {"image_id": 3, "category_id": 1, "bbox": [math.nan, 1, 2, 2]},
        {"image_id": 3, "category_id": 1, "bbox": [1, 1, 2]}]
    path = tmp_path / "nan.json"
    path.write_text(json.dumps(small_document(annotations=annotations)))
    with pytest.raises(InputError, match=r"nan\.json: annotations\[4\]: bbox: .*length 4"):
        load(f"coco:{path}")


def test_utf8_byte_order_mark_is_accepted(tmp_path):
    path = tmp_path / "bom.json"
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps(small_document()).encode())
    assert len(load(f"coco:{path}")) == 3


# --- malformed input ---------------------------------------------------------------------------

def _doc(**changes) -> bytes:
    return json.dumps(small_document(**changes)).encode()


def _with_annotation(index: int, **fields) -> bytes:
    document = small_document()
    annotation = dict(document["annotations"][index], **fields)
    for key in [k for k, v in fields.items() if v is ...]:
        del annotation[key]
    document["annotations"][index] = annotation
    return json.dumps(document).encode()


def _with_image(index: int, **fields) -> bytes:
    document = small_document()
    image = dict(document["images"][index], **fields)
    for key in [k for k, v in fields.items() if v is ...]:
        del image[key]
    document["images"][index] = image
    return json.dumps(document).encode()


MALFORMED = {  # name: (file content, substrings the error message must contain)
    "empty": (b"", ["not valid JSON", "ends early"]),
    "not json": (b'{"images": [}', ["not valid JSON", "line 1, column 13"]),
    "not json line 3": (b'{\n"images": [],\n  "annotations": [,]}',
                        ["line 3, column 19", "invalid character"]),
    "single quotes": (b"{'images': []}", ["not valid JSON", "line 1, column 2"]),
    "trailing garbage": (_doc() + b"\n}", ["not valid JSON", "trailing characters", "line 2"]),
    "truncated": (_doc()[:-20], ["not valid JSON", "ends early"]),
    "nan plus syntax error": (b'{"images": [], "annotations": [{"bbox": [NaN]}], x}',
                              ["not valid JSON", "line 1, column 50", "expecting property name"]),
    "deeply nested": (b'{"images": [], "annotations": [], "x": ' + b"[" * 100_000
                      + b"]" * 100_000 + b"}", ["not valid JSON", "nested too deeply"]),
    "deeply nested annotation": (
        b'{"images": [], "annotations": [{"image_id": 1, "category_id": 1, "bbox": [1, 2, 3, 4],'
        b' "segmentation": ' + b"[" * 100_000 + b"]" * 100_000 + b"}]}", ["nested too deeply"]),
    "top-level array": (b"[]", ["not a COCO detection file", "expected object, got array"]),
    "top-level string": (b'"coco"', ["not a COCO detection file", "expected object, got str"]),
    "missing images": (b'{"annotations": []}', ["missing required field images"]),
    "missing annotations": (b'{"images": []}', ["missing required field annotations"]),
    "images not a list": (_doc(images={"id": 1}), ["images: expected array, got object"]),
    "annotations null": (_doc(annotations=None), ["annotations: expected array, got null"]),
    "categories not a list": (_doc(categories="x"), ["categories: expected array, got str"]),
    "image not an object": (_doc(images=[3]), ["images[0]", "expected object, got int"]),
    "image id missing": (_with_image(1, id=...), ["images[1]", "missing required field id"]),
    "image id float": (_with_image(1, id=1.5), ["images[1]", "id: expected int | str"]),
    "image id bool": (_with_image(0, id=True), ["images[0]", "id: expected int | str, got bool"]),
    "image id null": (_with_image(0, id=None), ["images[0]", "id:", "got null"]),
    "image id too big": (_with_image(0, id=2**70), ["images[0]", "id: expected int <="]),
    "width zero": (_with_image(1, width=0), ["images[1]", "width: expected int >= 1"]),
    "height negative": (_with_image(0, height=-4), ["images[0]", "height: expected int >= 1"]),
    "width float": (_with_image(0, width=64.0), ["images[0]", "width: expected int | null"]),
    "width string": (_with_image(0, width="64"), ["images[0]", "width:", "got str"]),
    "file_name number": (_with_image(0, file_name=12), ["images[0]", "file_name:"]),
    "duplicate image id": (_doc(images=[{"id": 5, "width": 9, "height": 9}] * 3),
                           ["images[1]", "duplicate image id 5", "images[0]"]),
    "duplicate string image id": (
        _doc(images=[{"id": "a", "width": 9, "height": 9}, {"id": "b", "width": 9, "height": 9},
                     {"id": "a", "width": 9, "height": 9}]),
        ["images[2]", "duplicate image id 'a'", "images[0]"]),
    "annotation not an object": (_doc(annotations=[[1, 2, 3, 4]]),
                                 ["annotations[0]", "expected object, got array"]),
    "bbox three numbers": (_with_annotation(2, bbox=[1, 2, 3]),
                           ["annotations[2]", "bbox: expected array of length 4"]),
    "bbox five numbers": (_with_annotation(0, bbox=[1, 2, 3, 4, 5]),
                          ["annotations[0]", "bbox: expected array of length 4"]),
    "bbox string number": (_with_annotation(1, bbox=[1, "2", 3, 4]),
                           ["annotations[1]", "bbox[1]: expected float, got str"]),
    "bbox null": (_with_annotation(1, bbox=None), ["annotations[1]", "bbox:", "got null"]),
    "bbox missing": (_with_annotation(0, bbox=...),
                     ["annotations[0]", "missing required field bbox"]),
    "bbox nested": (_with_annotation(0, bbox=[[1, 2], [3, 4]]),
                    ["annotations[0]", "bbox[0]: expected float, got array"]),
    "image_id missing": (_with_annotation(2, image_id=...),
                         ["annotations[2]", "missing required field image_id"]),
    "image_id float": (_with_annotation(1, image_id=7.0), ["annotations[1]", "image_id:"]),
    "category_id missing": (_with_annotation(1, category_id=...),
                            ["annotations[1]", "missing required field category_id"]),
    "category_id string": (_with_annotation(0, category_id="1"),
                           ["annotations[0]", "category_id: expected int, got str"]),
    "category_id too big": (_with_annotation(0, category_id=2**40),
                            ["annotations[0]", "category_id: expected int <="]),
    "category name number": (_doc(categories=[{"id": 1, "name": 5}]),
                             ["categories[0]", "name: expected str | null, got int"]),
    "category id missing": (_doc(categories=[{"name": "x"}]),
                            ["categories[0]", "missing required field id"]),
    "duplicate category id": (_doc(categories=[{"id": 1, "name": "a"}, {"id": 1, "name": "b"}]),
                              ["categories[1]", "duplicate category id 1", "categories[0]"]),
}


@pytest.mark.parametrize("name", MALFORMED)
def test_malformed_input_names_file_record_and_problem(tmp_path, name):
    content, expected = MALFORMED[name]
    path = tmp_path / "broken_annotations.json"
    path.write_bytes(content)
    with pytest.raises(InputError) as error:
        load(f"coco:{path}")
    message = str(error.value)
    assert message.startswith(str(path)), message
    assert "\n" not in message
    for part in expected:
        assert part in message, f"{part!r} not in {message!r}"


@pytest.mark.parametrize("chunk", [1, 2, 3, 1000])
def test_record_number_is_the_position_in_the_whole_file(tmp_path, monkeypatch, chunk):
    monkeypatch.setattr(coco, "CHUNK_ANNOTATIONS", chunk)
    annotations = [{"image_id": 7, "category_id": 1, "bbox": [1, 1, 2, 2]}] * 7
    annotations.append({"image_id": 7, "category_id": 1, "bbox": [1, 1, 2, None]})
    spec = write_json(tmp_path / "a.json", small_document(annotations=annotations))
    with pytest.raises(InputError, match=r"a\.json: annotations\[7\]: bbox\[3\]: expected float"):
        load(spec)


def test_unreadable_paths_and_bad_specs(tmp_path):
    with pytest.raises(InputError, match=r"missing\.json: cannot read the annotation file: No "):
        load(f"coco:{tmp_path / 'missing.json'}")
    with pytest.raises(InputError, match="cannot read the annotation file"):
        load(f"coco:{tmp_path}")
    with pytest.raises(InputError, match="needs the annotation file"):
        open_coco("coco:")
    with pytest.raises(InputError, match="unknown option 'image' for a coco dataset"):
        open_coco(f"coco:{tmp_path / 'a.json'}?image=x")


# --- sizes from image files, pixels --------------------------------------------------------------

def test_missing_size_is_read_from_the_image_header(tmp_path):
    dataset = reference_dataset(4, images=6)
    spec = write_coco(tmp_path, dataset, pixels="all", without_size=[1, 4])
    assert_matches(load(spec), dataset)


def test_missing_size_without_image_file_is_an_error(tmp_path):
    dataset = reference_dataset(4, images=6)
    spec = write_coco(tmp_path, dataset, pixels="some", without_size=[3])  # image 3 has no file
    with pytest.raises(InputError) as error:
        load(spec)
    message = str(error.value)
    assert "annotations.json: images[3]" in message and "frame_13.png" in message
    assert "no width/height" in message
    with pytest.raises(InputError, match=r"images\[3\].*no images folder was given"):
        load(spec.split("?")[0])


def test_missing_size_with_broken_image_file_is_an_error(tmp_path):
    dataset = reference_dataset(4, images=3)
    spec = write_coco(tmp_path, dataset, pixels="none", without_size=[2])
    (tmp_path / "images" / "frame_12.png").write_bytes(b"not an image at all")
    with pytest.raises(InputError, match=r"images\[2\].*frame_12\.png.*cannot read the image"):
        load(spec)


def test_one_missing_size_side_keeps_the_given_one(tmp_path):
    Image.fromarray(np.zeros((40, 30), np.uint8)).save(tmp_path / "a.png")
    document = small_document(images=[{"id": 7, "file_name": "a.png", "width": 100}])
    spec = write_json(tmp_path / "a.json", document) + f"?images={tmp_path}"
    table = load(spec)
    assert table.image_widths.tolist() == [100] and table.image_heights.tolist() == [40]


def test_pixels_for_present_files_none_for_missing(tmp_path):
    dataset = reference_dataset(0, images=5)
    source = open_coco(write_coco(tmp_path, dataset, pixels="some"))
    with pytest.raises(IndexError):
        source.pixels(0)  # nothing loaded yet
    load_table(source)
    for k in range(5):
        pixels = source.pixels(k)
        if k % 2 == 0:
            assert pixels.dtype == np.float32
            assert pixels.shape == (dataset.heights[k], dataset.widths[k])
            expected = coco_pixels(int(dataset.heights[k]), int(dataset.widths[k]), k)
            np.testing.assert_array_equal(pixels, expected.astype(np.float32))
        else:
            assert pixels is None
    with pytest.raises(IndexError):
        source.pixels(5)


def test_no_images_folder_means_no_pixels(tmp_path):
    dataset = reference_dataset(0, images=3)
    spec = write_coco(tmp_path, dataset, pixels="all").split("?")[0]
    source = open_coco(spec)
    assert_matches(load_table(source), dataset)
    assert [source.pixels(k) for k in range(3)] == [None, None, None]


def test_relative_images_folder_is_found_beside_the_annotation_file(tmp_path, monkeypatch):
    dataset = reference_dataset(0, images=2)
    write_coco(tmp_path / "set", dataset, pixels="all")
    monkeypatch.chdir(tmp_path)
    source = open_coco("coco:set/annotations.json?images=images")  # images/ is beside the JSON
    load_table(source)
    assert source.pixels(0) is not None


def test_loading_reads_no_pixels(tmp_path, monkeypatch):
    dataset = reference_dataset(0, images=4)
    spec = write_coco(tmp_path, dataset, pixels="all", without_size=[0])

    def refuse(*args, **kwargs):
        raise AssertionError("pixels decoded while loading boxes")

    monkeypatch.setattr(Image, "open", refuse)
    assert_matches(load(spec), dataset)


def test_stream_yields_images_first_then_boxes_in_chunks(tmp_path, monkeypatch):
    monkeypatch.setattr(coco, "CHUNK_ANNOTATIONS", 5)
    dataset = reference_dataset(2, images=6)
    stream = stream_table(open_coco(write_coco(tmp_path, dataset)))
    _, _, builder = next(stream)
    assert builder.image_count == 6  # every image registered with the first batch
    steps = 1 + sum(1 for _ in stream)
    assert steps == -(-len(dataset.image) // 5)
