"""The voc: source: round trips, the 1-based coordinate convention, malformed XML, pixels."""

from __future__ import annotations

import os
import time

import numpy as np
import pytest
from PIL import Image

from core.errors import InputError
from core.sources import load_table, stream_table
from core.sources.base import parse_spec
from core.sources.voc import VocSource
from tests.core.sources.test_yolo import assert_matches
from tests.core.sources.writers.common import reference_dataset
from tests.core.sources.writers.voc_writer import voc_xml, write_voc
from tests.core.sources.writers.yolo_writer import reference_pixels


def load(spec: str, **kwargs):
    return load_table(VocSource(parse_spec(spec)), **kwargs)


def expect_error(call, *parts: str) -> InputError:
    with pytest.raises(InputError) as caught:
        call() if callable(call) else load(call)
    for part in parts:
        assert part in str(caught.value), (part, str(caught.value))
    return caught.value


def write_one(tmp_path, xml: str, name: str = "img") -> str:
    (tmp_path / "Annotations").mkdir(exist_ok=True)
    (tmp_path / "Annotations" / f"{name}.xml").write_text(xml)
    return f"voc:{tmp_path}"


BOX = "<object><name>a</name><bndbox><xmin>11</xmin><ymin>21</ymin><xmax>30</xmax>" \
      "<ymax>40</ymax></bndbox></object>"


def annotation(body: str, size: str = "<size><width>100</width><height>80</height></size>"):
    return f"<annotation><filename>img.png</filename>{size}{body}</annotation>"


# --- round trips ------------------------------------------------------------------------------

@pytest.mark.parametrize("seed", [0, 1, 7])
def test_round_trip_with_classes_option(tmp_path, seed):
    data = reference_dataset(seed)
    table = load(write_voc(tmp_path, data))
    assert_matches(table, data)
    assert table.class_names == data.class_names


def test_class_ids_default_to_sorted_names(tmp_path):
    data = reference_dataset(2)
    spec = write_voc(tmp_path, data).split("?")[0]
    table = load(spec)
    assert table.class_names == {0: "burst", 1: "carrier", 2: "chirp"}
    names = [table.class_names[c] for c in table.cls]
    assert names == [data.class_names[c] for c in data.cls]


def test_missing_size_is_read_from_the_image_header(tmp_path):
    data = reference_dataset(3)
    assert_matches(load(write_voc(tmp_path, data, with_size=False)), data)


def test_flat_folder_single_file_and_images_option(tmp_path):
    data = reference_dataset(4)
    write_voc(tmp_path / "voc", data)
    flat = tmp_path / "flat"
    (tmp_path / "voc" / "Annotations").rename(flat)
    classes = "classes=carrier,burst,chirp"
    table = load(f"voc:{flat}?images={tmp_path / 'voc' / 'JPEGImages'}&{classes}")
    assert_matches(table, data)
    single = load(f"voc:{flat / f'{data.image_ids[0]}.xml'}?{classes}")
    assert single.image_ids.tolist() == [str(data.image_ids[0])]
    assert len(single) == int((data.image == 0).sum())


def test_one_based_inclusive_convention_and_raw(tmp_path):
    whole = ("<object><name>a</name><bndbox><xmin>1</xmin><ymin>1</ymin><xmax>100</xmax>"
             "<ymax>80</ymax></bndbox></object>")
    spec = write_one(tmp_path, annotation(whole + BOX))
    table = load(spec)  # detectron2's mapping: x1 = xmin - 1, x2 = xmax
    np.testing.assert_array_equal(table.xyxy(), [[0, 0, 100, 80], [10, 20, 30, 40]])
    assert table.clipped == 0
    raw = load(spec + "?coords=raw")
    np.testing.assert_array_equal(raw.xyxy(), [[1, 1, 100, 80], [11, 21, 30, 40]])
    expect_error(lambda: VocSource(parse_spec(spec + "?coords=zero")), "option 'coords'")


def test_difficult_kept_parts_ignored_box_index_counts_objects(tmp_path):
    person = ("<object><name>person</name><difficult>1</difficult><bndbox><xmin>5</xmin>"
              "<ymin>5</ymin><xmax>50</xmax><ymax>70</ymax></bndbox><part><name>head</name>"
              "<bndbox><xmin>10</xmin><ymin>6</ymin><xmax>20</xmax><ymax>15</ymax></bndbox>"
              "</part></object>")
    table = load(write_one(tmp_path, annotation(BOX + person)))
    assert len(table) == 2 and table.box_index.tolist() == [0, 1]
    assert table.class_names == {0: "a", 1: "person"}
    np.testing.assert_array_equal(table.xyxy()[1], [4, 4, 50, 70])


def test_streaming_with_classes_and_deferred_without(tmp_path, monkeypatch):
    import core.sources.voc as voc

    monkeypatch.setattr(voc, "BATCH_FILES", 2)
    data = reference_dataset(0, images=5)
    spec = write_voc(tmp_path, data)

    def progress(spec):
        stream = stream_table(VocSource(parse_spec(spec)))
        seen = []
        try:
            while True:
                done, total, builder = next(stream)
                seen.append((done, total, builder.image_count, builder.box_count))
        except StopIteration as finished:
            return seen, finished.value

    seen, table = progress(spec)
    assert_matches(table, data)
    assert [s[:3] for s in seen] == [(2, 5, 2), (4, 5, 4), (5, 5, 5)]
    assert 0 < seen[0][3] < seen[-1][3] == len(data.cls)
    seen, table = progress(spec.split("?")[0])
    assert [s[:3] for s in seen] == [(2, 5, 2), (4, 5, 4), (5, 5, 5), (5, 5, 5)]
    assert [s[3] for s in seen] == [0, 0, 0, len(data.cls)]  # boxes once all names are known


# --- pixels -----------------------------------------------------------------------------------

def test_pixels(tmp_path):
    data = reference_dataset(0)
    source = VocSource(parse_spec(write_voc(tmp_path, data)))
    load_table(source)
    pixels = source.pixels(2)
    assert pixels.dtype == np.float32
    np.testing.assert_array_equal(pixels, reference_pixels(int(data.heights[2]),
                                                           int(data.widths[2]), 2))
    Image.new("RGB", (int(data.widths[1]), int(data.heights[1])), (0, 255, 0)).save(
        tmp_path / "JPEGImages" / f"{data.image_ids[1]}.png")
    np.testing.assert_allclose(source.pixels(1), 0.587 * 255, atol=0.5)
    os.remove(tmp_path / "JPEGImages" / f"{data.image_ids[0]}.png")
    assert source.pixels(0) is None
    (tmp_path / "JPEGImages" / f"{data.image_ids[3]}.png").write_bytes(b"garbage")
    expect_error(lambda: source.pixels(3), f"{data.image_ids[3]}.png", "cannot decode")


def test_image_found_by_stem_when_filename_is_wrong(tmp_path):
    Image.new("L", (30, 20)).save(tmp_path / "img.jpg")
    xml = annotation(BOX, size="").replace("img.png", "renamed.png")
    (tmp_path / "img.xml").write_text(xml)
    source = VocSource(parse_spec(f"voc:{tmp_path}"))
    table = load_table(source)
    assert (table.image_heights[0], table.image_widths[0]) == (20, 30)
    assert source.pixels(0).shape == (20, 30)


# --- malformed input: error with file + record + problem ---------------------------------------

BOMB = ('<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
        '<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
        '<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">'
        '<!ENTITY lol9 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">]>'
        '<annotation><filename>&lol9;</filename></annotation>')

XML_ERRORS = [
    ("<annotation>\n<size>\n<width>100</width>\n</annotation>", "line 4", "malformed XML"),
    ("", "line 1", "malformed XML"),
    ("<annotation><object>", "line 1", "malformed XML"),
    ("<voc></voc>", None, "root element is <voc>"),
    (annotation(BOX, size=""), "size/width", "missing (or 0)"),
    (annotation(BOX, size="<size><width>100</width></size>"), "size/height", "missing (or 0)"),
    (annotation(BOX, size="<size><width>wide</width><height>8</height></size>"), "size/width",
     "not a number: 'wide'"),
    (annotation(BOX, size="<size><width>10.5</width><height>8</height></size>"), "size/width",
     "whole number"),
    (annotation(BOX, size="<size><width>1e30</width><height>8</height></size>"), "size/width",
     "whole number"),
    (annotation(BOX + "<object><bndbox><xmin>1</xmin></bndbox></object>"), "object 1",
     "missing field 'name'"),
    (annotation("<object><name>a</name></object>"), "object 0", "missing field 'bndbox'"),
    (annotation(BOX + BOX.replace("<ymax>40</ymax>", "")), "object 1",
     "missing field 'bndbox/ymax'"),
    (annotation(BOX + BOX + BOX.replace("<xmax>30</xmax>", "<xmax>3O</xmax>")), "object 2",
     "field 'bndbox/xmax' is not a number: '3O'"),
    (annotation(BOX.replace("<xmin>11</xmin>", "<xmin> </xmin>")), "object 0",
     "missing field 'bndbox/xmin'"),
    (BOMB, None, "refused XML"),
]


@pytest.mark.parametrize(("xml", "record", "problem"), XML_ERRORS)
def test_malformed_xml_names_file_record_and_problem(tmp_path, xml, record, problem):
    data = reference_dataset(0)
    spec = write_voc(tmp_path, data)
    bad = tmp_path / "Annotations" / f"{data.image_ids[4]}.xml"
    bad.write_text(xml)
    os.remove(tmp_path / "JPEGImages" / f"{data.image_ids[4]}.png")  # no size from the header
    started = time.perf_counter()
    error = expect_error(spec, str(bad), problem)
    if record:
        assert error.record == record
    assert time.perf_counter() - started < 10


def test_doctype_without_entities_is_fine(tmp_path):
    xml = '<?xml version="1.0"?>\n<!DOCTYPE annotation>\n' + annotation(BOX)
    assert len(load(write_one(tmp_path, xml))) == 1


def test_unknown_class_with_classes_option(tmp_path):
    spec = write_one(tmp_path, annotation(BOX + BOX.replace(">a<", ">zebra<")))
    error = expect_error(spec + "?classes=a,b", "img.xml", "object 1", "'zebra'")
    assert error.file == str(tmp_path / "Annotations" / "img.xml")


def test_missing_size_with_unreadable_image(tmp_path):
    spec = write_one(tmp_path, annotation(BOX, size=""))
    (tmp_path / "img.png").write_bytes(b"nope")
    expect_error(spec, "img.xml", "size/width", "unreadable")


OPTION_ERRORS = [
    ("{root}/nowhere", "no such folder"),
    ("{root}?images={root}/nope", "option 'images'"),
    ("{root}?colour=1", "unknown option 'colour'"),
    ("{root}?classes=a,a", "option 'classes'"),
    ("", "voc needs a folder"),
]


@pytest.mark.parametrize(("spec", "problem"), OPTION_ERRORS)
def test_option_errors(tmp_path, spec, problem):
    write_one(tmp_path, annotation(BOX))
    expect_error(lambda: VocSource(parse_spec("voc:" + spec.format(root=tmp_path))), problem)


def test_folder_without_xml(tmp_path):
    expect_error(lambda: VocSource(parse_spec(f"voc:{tmp_path}")), str(tmp_path),
                 "no .xml annotation files")


# --- bad boxes: skipped and counted ----------------------------------------------------------

def corners(x1, y1, x2, y2) -> str:
    return (f"<object><name>a</name><bndbox><xmin>{x1}</xmin><ymin>{y1}</ymin><xmax>{x2}</xmax>"
            f"<ymax>{y2}</ymax></bndbox></object>")


SKIPPED = [
    (corners(30, 21, 11, 40), "non_positive_size"),
    (corners(11, 21, 10, 40), "non_positive_size"),  # xmax = xmin - 1: zero width
    (corners(200, 21, 230, 40), "outside_image"),
    (corners("nan", 21, 30, 40), "non_finite"),
    (corners(11, 21, "inf", 40), "non_finite"),
]


@pytest.mark.parametrize(("obj", "reason"), SKIPPED)
def test_bad_boxes_are_skipped_and_counted(tmp_path, obj, reason):
    spec = write_one(tmp_path, annotation(BOX + obj + BOX))
    table = load(spec)
    assert table.skipped == {reason: 1} and table.box_index.tolist() == [0, 2]
    expect_error(lambda: load(spec, strict=True), reason, "box 1")


def test_single_pixel_box_is_kept_and_partly_outside_is_clipped(tmp_path):
    table = load(write_one(tmp_path, annotation(corners(5, 5, 5, 5) + corners(90, 70, 120, 95))))
    np.testing.assert_array_equal(table.xyxy(), [[4, 4, 5, 5], [89, 69, 100, 80]])
    assert table.clipped == 1 and table.skipped == {}


def test_writer_xml_is_what_the_reader_expects():
    xml = voc_xml("a.png", 10, 8, ["x"], np.array([[1.0, 2.0, 3.0, 4.0]]))
    assert "<xmin>1.0</xmin>" in xml and "<width>10</width>" in xml
