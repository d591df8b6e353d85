"""Writes a ReferenceDataset as Pascal VOC XML (Annotations/ + JPEGImages/)."""

from __future__ import annotations

from pathlib import Path
from xml.sax.saxutils import escape

import numpy as np

from tests.core.sources.writers.common import ReferenceDataset
from tests.core.sources.writers.yolo_writer import write_png


def voc_xml(filename: str, width: int | None, height: int | None, names: list[str],
            corners: np.ndarray, *, difficult: list[int] | None = None) -> str:
    """One annotation file; `corners` are written as given (xmin, ymin, xmax, ymax)."""
    size = ("" if width is None else
            f"  <size><width>{width}</width><height>{height}</height><depth>1</depth></size>\n")
    objects = []
    for k, (name, box) in enumerate(zip(names, corners, strict=True)):
        x1, y1, x2, y2 = (float(v) for v in box)
        flag = 0 if difficult is None else difficult[k]
        objects.append(
            f"  <object>\n    <name>{escape(name)}</name>\n    <pose>Unspecified</pose>\n"
            f"    <truncated>0</truncated>\n    <difficult>{flag}</difficult>\n"
            f"    <bndbox><xmin>{x1!r}</xmin><ymin>{y1!r}</ymin><xmax>{x2!r}</xmax>"
            f"<ymax>{y2!r}</ymax></bndbox>\n  </object>\n")
    return (f"<annotation>\n  <folder>VOC</folder>\n  <filename>{escape(filename)}</filename>\n"
            f"{size}{''.join(objects)}</annotation>\n")


def write_voc(directory, dataset: ReferenceDataset, *, images: bool = True,
              with_size: bool = True) -> str:
    """Serialise `dataset` as `directory/Annotations/<id>.xml` (+ `JPEGImages/<id>.png`).

    Pixel xyxy are written in VOC's 1-based inclusive convention (xmin = x1 + 1, xmax = x2),
    as floats because the reference boxes are not whole pixels. The returned SPEC names the
    classes in the dataset's id order, so class ids match the reference.
    """
    directory = Path(directory)
    (directory / "Annotations").mkdir(parents=True, exist_ok=True)
    names_by_id = [dataset.class_names[i] for i in sorted(dataset.class_names)]
    for k, image_id in enumerate(dataset.image_ids):
        rows = np.flatnonzero(dataset.image == k)
        corners = dataset.xyxy[rows] + np.array([1.0, 1.0, 0.0, 0.0])
        width, height = int(dataset.widths[k]), int(dataset.heights[k])
        xml = voc_xml(f"{image_id}.png", width if with_size else None, height,
                      [names_by_id[c] for c in dataset.cls[rows]], corners.tolist())
        (directory / "Annotations" / f"{image_id}.xml").write_text(xml)
        if images:
            write_png(directory / "JPEGImages" / f"{image_id}.png", height, width, k)
    return f"voc:{directory}?classes={','.join(names_by_id)}"
