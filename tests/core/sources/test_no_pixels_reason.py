"""A file-based source that has no pixels for an image says why: no images folder, or which
file it looked for."""

from __future__ import annotations

import numpy as np

from core.sources import load_table, open_source
from tests.core.sources.writers.coco_writer import write_coco
from tests.core.sources.writers.common import reference_dataset
from tests.core.sources.writers.voc_writer import write_voc
from tests.core.sources.writers.yolo_writer import write_yolo


def loaded(spec):
    source = open_source(spec)
    table = load_table(source)
    return source, table


def test_coco_names_the_missing_folder_or_file(tmp_path):
    spec = write_coco(tmp_path, reference_dataset(1, images=4), pixels="some")
    source, table = loaded(spec)
    missing = [k for k in range(table.image_count) if source.pixels(k) is None]
    assert missing  # every other image has no file
    reason = source.no_pixels_reason(missing[0])
    assert "no image file found" in reason and "frame_" in reason and "images" in reason
    source, _ = loaded(spec.partition("?")[0])
    assert source.no_pixels_reason(0).startswith("no images folder given")


def test_yolo_and_voc_say_what_they_looked_for(tmp_path):
    dataset = reference_dataset(2, images=3)
    size = f"{int(dataset.widths[0])}x{int(dataset.heights[0])}"
    dataset.widths[:] = dataset.widths[0]
    dataset.heights[:] = dataset.heights[0]
    spec = write_yolo(tmp_path / "y", dataset, layout="labels", images=False)
    source, table = loaded(spec if "size=" in spec else f"{spec}?size={size}")
    assert source.pixels(0) is None
    assert source.no_pixels_reason(0).startswith("no image file found: looked for")
    source, table = loaded(write_voc(tmp_path / "v", dataset, images=False))
    assert all(source.pixels(k) is None for k in range(table.image_count))
    assert "<filename>" in source.no_pixels_reason(0)
    assert np.all(table.image_widths > 0)


def test_sources_without_pixels_say_so():
    source, _ = loaded("demo?images=2")
    assert source.no_pixels_reason(0)  # never empty, even where pixels always exist
