"""Dataset sources: `open_source(SPEC)` picks one by kind; `load_table` streams it into a BoxTable."""

from __future__ import annotations

import importlib

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

# kind -> "module:class"; modules are imported only when that kind is opened (TensorFlow stays lazy)
SOURCE_KINDS = {
    "demo": "core.sources.demo:DemoSource",
}

__all__ = ["BoxBatch", "Cancelled", "Source", "SourceSpec", "load_table", "open_source",
           "parse_spec"]


def open_source(spec: str | SourceSpec) -> Source:
    """The source for a dataset SPEC string; InputError for an unknown kind."""
    parsed = parse_spec(spec) if isinstance(spec, str) else spec
    if parsed.kind not in SOURCE_KINDS:
        raise InputError(
            f"unknown dataset kind {parsed.kind!r}; known kinds: {', '.join(SOURCE_KINDS)}",
            file=parsed.text)
    module_name, class_name = SOURCE_KINDS[parsed.kind].split(":")
    return getattr(importlib.import_module(module_name), class_name)(parsed)


def load_table(
    source: str | Source,
    *,
    strict: bool = False,
    progress: ProgressCallback | None = None,
    cancelled: CancelCheck | None = None,
    on_batch=None,
) -> BoxTable:
    """Stream a source into a validated BoxTable.

    `progress(done, total)` is called after each batch; `cancelled()` is polled between batches
    and raises `Cancelled` when true; `on_batch(builder)` lets a viewer show boxes as they arrive.
    """
    source = open_source(source) if isinstance(source, str) else source
    builder = BoxTableBuilder(source.spec.text, strict=strict)
    for batch in source.batches():
        if cancelled is not None and cancelled():
            raise Cancelled()
        if batch.image_offset is None:
            first = builder.add_images(batch.image_ids, batch.image_heights, batch.image_widths)
            image = batch.image + first
        else:
            if len(batch.image_ids):
                builder.add_images(batch.image_ids, batch.image_heights, batch.image_widths)
            image = batch.image + batch.image_offset
        builder.add_boxes(image, batch.xyxy, batch.cls, batch.box_index, batch.reasons,
                          file=batch.file)
        if progress is not None:
            progress(batch.done, batch.total)
        if on_batch is not None:
            on_batch(builder)
    builder.class_names = dict(source.class_names)
    return builder.build()
