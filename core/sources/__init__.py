"""Dataset sources: `open_source(SPEC)` picks one by kind; `load_table` streams it in."""

from __future__ import annotations

import importlib
from collections.abc import Generator

from core.boxes import BoxTable, BoxTableBuilder
from core.errors import InputError
from core.sources.base import (
    BoxBatch,
    CancelCheck,
    Cancelled,
    ProgressCallback,
    Source,
    SourceSpec,
    parse_spec,
)
from core.sources.options import split_unit_options

# kind -> "module:class"; modules are imported only when that kind is opened (TensorFlow stays lazy)
SOURCE_KINDS = {
    "demo": "core.sources.demo:DemoSource",
    "coco": "core.sources.coco:CocoSource",
    "yolo": "core.sources.yolo:YoloSource",
    "voc": "core.sources.voc:VocSource",
    "sigmf": "core.sources.sigmf_source:SigMFSource",
    "tfrecord": "core.sources.tfrecord:TFRecordSource",
    "python": "core.sources.python_loader:PythonLoaderSource",
}

__all__ = ["BoxBatch", "Cancelled", "Source", "SourceSpec", "load_table", "open_source",
           "parse_spec", "stream_table"]


def open_source(spec: str | SourceSpec) -> Source:
    """The source for a dataset SPEC string; InputError for an unknown kind.

    The unit options (`hz_per_row`, `s_per_col`, `f0`) are taken here for every kind, so the
    source never sees them; a kind that knows its units (sigmf) refuses them."""
    parsed = parse_spec(spec) if isinstance(spec, str) else spec
    if parsed.kind not in SOURCE_KINDS:
        raise InputError(
            f"unknown dataset kind {parsed.kind!r}; known kinds: {', '.join(SOURCE_KINDS)}",
            file=parsed.text)
    module_name, class_name = SOURCE_KINDS[parsed.kind].split(":")
    source_class = getattr(importlib.import_module(module_name), class_name)
    rest, scale = split_unit_options(parsed)
    if scale is not None and source_class.knows_units:
        given = sorted(set(parsed.options) - set(rest.options))
        raise InputError(f"option {given[0]!r}: a {parsed.kind} dataset takes its physical "
                         "units from its own files, not from options", file=parsed.text)
    source = source_class(rest)
    source.pixel_scale = scale
    return source


def stream_table(
    source: str | Source, *, strict: bool = False
) -> Generator[tuple[int, int | None, BoxTableBuilder], None, BoxTable]:
    """Stream a source into a validated BoxTable, yielding `(done, total, builder)` after each
    batch so a caller can show progress, show boxes as they arrive, or stop between batches."""
    source = open_source(source) if isinstance(source, str) else source
    builder = BoxTableBuilder(source.spec.text, strict=strict)
    scale = getattr(source, "pixel_scale", None)  # a source made without `open_source`
    for batch in source.batches():
        units = batch.units
        if units is None and scale is not None:
            units = scale.image_units(batch.image_heights)
        if batch.image_offset is None:
            first = builder.add_images(batch.image_ids, batch.image_heights, batch.image_widths,
                                       units)
            image = batch.image + first
        else:
            if len(batch.image_ids):
                builder.add_images(batch.image_ids, batch.image_heights, batch.image_widths,
                                   units)
            image = batch.image + batch.image_offset
        builder.add_boxes(image, batch.xyxy, batch.cls, batch.box_index, batch.reasons,
                          file=batch.file)
        builder.class_names = dict(source.class_names)
        yield batch.done, batch.total, builder
    builder.class_names = dict(source.class_names)
    return builder.build()


def load_table(
    source: str | Source,
    *,
    strict: bool = False,
    progress: ProgressCallback | None = None,
    cancelled: CancelCheck | None = None,
) -> BoxTable:
    """Load a whole source; `progress(done, total)` after each batch, `cancelled()` polled between
    batches (raises `Cancelled` when it returns true)."""
    stream = stream_table(source, strict=strict)
    while True:
        try:
            done, total, _ = next(stream)
        except StopIteration as finished:
            return finished.value
        if progress is not None:
            progress(done, total)
        if cancelled is not None and cancelled():
            stream.close()
            raise Cancelled()
