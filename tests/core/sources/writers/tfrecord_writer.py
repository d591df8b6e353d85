"""Writes a ReferenceDataset as TF Object Detection API records (two shards, grayscale PNGs)."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image

from tests.core.sources.writers.common import ReferenceDataset

SHARDS = 2


def reference_pixels(dataset: ReferenceDataset, k: int) -> np.ndarray:
    """The (H, W) uint8 picture written for the k-th image: a gradient that depends on k."""
    h, w = int(dataset.heights[k]), int(dataset.widths[k])
    rows, cols = np.mgrid[0:h, 0:w]
    return ((rows * 3 + cols * 5 + 17 * k) % 256).astype(np.uint8)


def png_bytes(pixels: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()


def example_bytes(features: dict) -> bytes:
    """A serialized tf.train.Example of {key: list of int | float | bytes}."""
    import tensorflow as tf

    def feature(values):
        if values and isinstance(values[0], bytes):
            return tf.train.Feature(bytes_list=tf.train.BytesList(value=values))
        if values and isinstance(values[0], float):
            return tf.train.Feature(float_list=tf.train.FloatList(value=values))
        return tf.train.Feature(int64_list=tf.train.Int64List(value=values))

    example = tf.train.Example(features=tf.train.Features(
        feature={key: feature(list(values)) for key, values in features.items()}))
    return example.SerializeToString()


def reference_features(dataset: ReferenceDataset, k: int) -> dict:
    """The TF OD API features of the k-th image: normalized boxes, 1-based labels, names."""
    h, w = int(dataset.heights[k]), int(dataset.widths[k])
    rows = dataset.image == k
    x1, y1, x2, y2 = dataset.xyxy[rows].T
    labels = dataset.cls[rows] + 1  # the TF OD API's labels are 1-based
    return {
        "image/height": [h], "image/width": [w],
        "image/source_id": [str(dataset.image_ids[k]).encode()],
        "image/filename": [f"image_{dataset.image_ids[k]}.png".encode()],
        "image/format": [b"png"],
        "image/encoded": [png_bytes(reference_pixels(dataset, k))],
        "image/object/bbox/xmin": [float(v) for v in x1 / w],
        "image/object/bbox/ymin": [float(v) for v in y1 / h],
        "image/object/bbox/xmax": [float(v) for v in x2 / w],
        "image/object/bbox/ymax": [float(v) for v in y2 / h],
        "image/object/class/label": [int(v) for v in labels],
        "image/object/class/text": [dataset.class_names[int(c)].encode()
                                    for c in dataset.cls[rows]],
    }


def write_records(path: str | Path, records: list[bytes]) -> None:
    import tensorflow as tf

    with tf.io.TFRecordWriter(str(path)) as writer:
        for record in records:
            writer.write(record)


def write_tfrecord(directory, dataset: ReferenceDataset) -> str:
    """Write `dataset` into `directory` as SHARDS .tfrecord files; returns the SPEC to open it.

    Labels are written 1-based (class id + 1) with the class names as `class/text`, as the TF OD
    API does; the source keeps labels as given, so it reads class id + 1.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    images = len(dataset.image_ids)
    for shard, part in enumerate(np.array_split(np.arange(images), SHARDS)):
        path = directory / f"reference-{shard:05d}-of-{SHARDS:05d}.tfrecord"
        write_records(path, [example_bytes(reference_features(dataset, int(k))) for k in part])
    return f"tfrecord:{directory}/*.tfrecord"
