"""`tfrecord:GLOB`: TF Object Detection API records (normalized boxes), parsed in whole batches.

Reads `tf.train.Example` records with the TF OD API features:

- `image/height`, `image/width` (int64, required: a record without them is an InputError);
- `image/source_id`, else `image/filename` (bytes): the image id as a string; a record with
  neither is named `FILE:RECORD`;
- `image/object/bbox/xmin|ymin|xmax|ymax` (float, normalized to [0, 1]; relative values beyond
  `RELATIVE_TOLERANCE` are skipped as "relative_out_of_range");
- `image/object/class/label` (int64): kept AS GIVEN, i.e. 1-based as the TF OD API writes it
  (0 is its background); boxes of a record without labels get class 0;
- `image/object/class/text` (bytes): class names, `{label: text}` from the first record using it;
- `image/encoded`: the picture, decoded only by `pixels(i)` (Pillow: PNG, JPEG, ...).

GLOB may be a file, a glob pattern (`**` allowed) or a folder (its `*.tfrecord*` / `*.record*`
files); files are read in sorted order. Query options: `compression=GZIP|ZLIB` (default: GZIP for
`*.gz` files, else none), `batch=N` records per parse step (default 1024).

Loading never goes one `Example` at a time through Python: one tf.data pipeline over all files
batches the serialized records, `tf.io.parse_example` parses each batch into ragged features, and
numpy converts them whole. On a parse or read error the failing file is re-read record by record
to name the exact file and record in the InputError.
"""

from __future__ import annotations

import glob
import io
import os
import struct
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from core.errors import InputError
from core.sources.base import BoxBatch, Source, SourceSpec
from core.sources.options import check_options
from core.sources.tensors import convert_boxes, error_text, tf_error_text, to_luminance
from core.tensorflow_import import import_tensorflow

DEFAULT_BATCH = 1024
HEADER_BYTES = 12  # uint64 length + uint32 masked CRC of the length
FOOTER_BYTES = 4  # uint32 masked CRC of the data
BOX_KEYS = ("image/object/bbox/xmin", "image/object/bbox/ymin", "image/object/bbox/xmax",
            "image/object/bbox/ymax")
LABEL_KEY = "image/object/class/label"
TEXT_KEY = "image/object/class/text"
OPTIONS = ("compression", "batch")


def _features(tf) -> dict:
    """The features read while loading (never `image/encoded`): all ragged, so a missing or
    repeated value is found per record instead of failing a whole batch."""
    def ragged(dtype):
        return tf.io.RaggedFeature(dtype, row_splits_dtype=tf.int64)

    features = {"image/height": ragged(tf.int64), "image/width": ragged(tf.int64),
                "image/source_id": ragged(tf.string), "image/filename": ragged(tf.string),
                LABEL_KEY: ragged(tf.int64), TEXT_KEY: ragged(tf.string)}
    features.update({key: ragged(tf.float32) for key in BOX_KEYS})
    return features


def _per_record(values: np.ndarray, lengths: np.ndarray, empty) -> np.ndarray:
    """The single value of each record with exactly one value, `empty` for the others."""
    out = np.full(len(lengths), empty, dtype=object if isinstance(empty, bytes) else values.dtype)
    starts = np.cumsum(lengths) - lengths
    single = lengths == 1
    out[single] = values[starts[single]]
    return out


class TFRecordSource(Source):
    """`tfrecord:GLOB` — TF Object Detection API records; see the module docstring."""

    def __init__(self, spec: SourceSpec):
        super().__init__(spec)
        check_options(spec, OPTIONS, "tfrecord")
        batch = spec.options.get("batch", DEFAULT_BATCH)
        if isinstance(batch, bool) or not isinstance(batch, int) or batch < 1:
            raise InputError(f"option 'batch' must be a whole number >= 1, got {batch!r}",
                             file=spec.text)
        self.batch_records = batch
        compression = spec.options.get("compression")
        if compression is not None and str(compression).upper() not in ("GZIP", "ZLIB", ""):
            raise InputError(f"option 'compression' must be GZIP or ZLIB, got {compression!r}",
                             file=spec.text)
        self._compression = None if compression is None else str(compression).upper()
        self.files = self._match_files(spec.path)
        self._image_files: list[np.ndarray] = []  # per batch: file index of each image
        self._image_records: list[np.ndarray] = []  # per batch: record number of each image
        self._locations: tuple[np.ndarray, np.ndarray] | None = None
        self._record_offsets: dict[int, list[int]] = {}

    def _match_files(self, pattern: str) -> list[str]:
        if not pattern:
            raise InputError("tfrecord needs a file, folder or glob: tfrecord:GLOB",
                             file=self.spec.text)
        if os.path.isdir(pattern):
            found = [p for suffix in ("*.tfrecord*", "*.record*")
                     for p in glob.glob(os.path.join(glob.escape(pattern), suffix))]
        else:
            found = glob.glob(pattern, recursive=True)
        files = sorted({p for p in found if os.path.isfile(p)})
        if not files:
            raise InputError("no TFRecord files match", file=pattern)
        return files

    def compression(self, path: str) -> str:
        if self._compression is not None:
            return self._compression
        return "GZIP" if path.endswith(".gz") else ""

    # --- loading ---------------------------------------------------------------------------------

    def _pipeline(self, tf):
        features = _features(tf)
        files = self.files

        def records(file_index):
            path = tf.gather(tf.constant(files), file_index)
            compression = tf.gather(tf.constant([self.compression(f) for f in files]),
                                    file_index)
            return tf.data.TFRecordDataset(path, compression_type=compression).enumerate().map(
                lambda record, serialized: (file_index, record, serialized))

        def parse(file_index, record, serialized):
            parsed = tf.io.parse_example(serialized, features)
            return file_index, record, {key: (value.flat_values, value.row_lengths())
                                        for key, value in parsed.items()}

        return (tf.data.Dataset.range(len(files)).flat_map(records)
                .batch(self.batch_records).map(parse).prefetch(2))

    def batches(self) -> Iterator[BoxBatch]:
        tf = import_tensorflow()

        self._image_files, self._image_records = [], []
        self._locations = None
        self.class_names = {}
        done = 0
        last = (0, -1)  # (file, record) of the last record parsed
        stream = iter(self._pipeline(tf))
        while True:
            try:
                file_index, record, parsed = next(stream)
            except StopIteration:
                break
            except (tf.errors.OpError, UnicodeDecodeError) as error:
                self._diagnose(tf, last)
                raise InputError(f"reading failed after record {last[1]}: "
                                 f"{tf_error_text(error)}",
                                 file=self.files[last[0]]) from None
            file_index, record = file_index.numpy().astype(np.int32), record.numpy()
            parsed = {key: (values.numpy(), lengths.numpy())
                      for key, (values, lengths) in parsed.items()}
            batch = self._convert(file_index, record, parsed, done)
            self._image_files.append(file_index)
            self._image_records.append(record)
            self._locations = None
            labels, lengths = parsed[LABEL_KEY]
            texts, text_lengths = parsed[TEXT_KEY]
            if len(texts) and np.array_equal(lengths, text_lengths):
                self._add_names(labels, texts)
            done += len(record)
            last = (int(file_index[-1]), int(record[-1]))
            yield batch
        if done == 0:
            yield BoxBatch(image_ids=np.zeros(0, str), image_heights=np.zeros(0, np.int32),
                           image_widths=np.zeros(0, np.int32), image=np.zeros(0, np.int64),
                           xyxy=np.zeros((0, 4)), cls=np.zeros(0, np.int32),
                           box_index=np.zeros(0, np.int32), done=0, total=None,
                           file=self.files[0])

    def _record_error(self, problem: str, file_index: np.ndarray, record: np.ndarray,
                      bad: np.ndarray) -> InputError:
        k = int(np.flatnonzero(bad)[0])
        return InputError(problem, file=self.files[file_index[k]], record=f"record {record[k]}")

    def _convert(self, file_index: np.ndarray, record: np.ndarray, parsed: dict,
                 done: int) -> BoxBatch:
        """One parsed batch of records -> a BoxBatch (vectorised; errors name file and record)."""
        sizes = []
        for key in ("image/height", "image/width"):
            values, lengths = parsed[key]
            if (lengths != 1).any():
                raise self._record_error(f"{key} is missing (every record needs one)",
                                         file_index, record, lengths != 1)
            if (values <= 0).any():
                raise self._record_error(f"{key} must be positive", file_index, record,
                                         values <= 0)
            sizes.append(values)
        heights, widths = sizes
        box_lengths = parsed[BOX_KEYS[0]][1]
        for key in BOX_KEYS[1:]:
            if not np.array_equal(parsed[key][1], box_lengths):
                raise self._record_error(
                    f"{key} has another number of values than {BOX_KEYS[0]}", file_index,
                    record, parsed[key][1] != box_lengths)
        flat = np.stack([parsed[key][0] for key in BOX_KEYS], axis=1)
        labels, label_lengths = parsed[LABEL_KEY]
        unlabelled = label_lengths == 0
        mismatch = ~unlabelled & (label_lengths != box_lengths)
        if mismatch.any():
            raise self._record_error(f"{LABEL_KEY} has another number of values than the boxes",
                                     file_index, record, mismatch)
        if unlabelled.any():  # class 0 for boxes of records without labels
            cls = np.zeros(int(box_lengths.sum()), np.int64)
            cls[~np.repeat(unlabelled, box_lengths)] = labels
        else:
            cls = labels
        converted = convert_boxes(flat, box_lengths, "rel_xyxy", heights, widths)
        return BoxBatch(
            image_ids=self._image_ids(file_index, record, parsed), image_heights=heights,
            image_widths=widths, image=converted.image, xyxy=converted.xyxy,
            cls=cls.astype(np.int32), box_index=converted.box_index, reasons=converted.reasons,
            done=done + len(record), total=None, file=self.files[file_index[-1]])

    def _image_ids(self, file_index: np.ndarray, record: np.ndarray, parsed: dict) -> np.ndarray:
        """`image/source_id`, else `image/filename`, else `FILE:RECORD`, as strings."""
        ids = _per_record(*parsed["image/source_id"], b"")
        names = _per_record(*parsed["image/filename"], b"")
        missing = ids == b""
        ids[missing] = names[missing]
        for k in np.flatnonzero(ids == b""):  # rare: neither feature present
            ids[k] = f"{Path(self.files[file_index[k]]).name}:{record[k]}".encode()
        return np.char.decode(ids.astype(bytes), "utf-8", errors="replace")

    def _add_names(self, labels: np.ndarray, texts: np.ndarray) -> None:
        """`{label: text}` of labels not seen before (the first text of a label wins)."""
        unique, first = np.unique(labels, return_index=True)
        for label, k in zip(unique, first, strict=True):
            self.class_names.setdefault(int(label), texts[k].decode("utf-8", errors="replace"))

    def _image_locations(self) -> tuple[np.ndarray, np.ndarray]:
        """Per loaded image: (file index, record number within the file)."""
        if self._locations is None:
            if self._image_files:
                self._locations = (np.concatenate(self._image_files),
                                   np.concatenate(self._image_records))
            else:
                self._locations = (np.zeros(0, np.int32), np.zeros(0, np.int64))
        return self._locations

    def _diagnose(self, tf, last: tuple[int, int]) -> None:
        """Re-read from the last good record one record at a time; raise the precise error."""
        features = _features(tf)
        for file_index in range(last[0], len(self.files)):
            path = self.files[file_index]
            start = last[1] + 1 if file_index == last[0] else 0
            try:
                iterator = iter(tf.data.TFRecordDataset(
                    path, compression_type=self.compression(path)).skip(start))
            except (tf.errors.OpError, UnicodeDecodeError) as error:
                raise InputError(f"cannot read: {tf_error_text(error)}", file=path) from None
            record = start
            while True:
                try:
                    serialized = next(iterator)
                except StopIteration:
                    break
                except (tf.errors.OpError, UnicodeDecodeError) as error:
                    raise InputError(f"corrupt or not a TFRecord file: {tf_error_text(error)}",
                                     file=path, record=f"record {record}") from None
                try:
                    tf.io.parse_example(serialized[None], features)
                except (tf.errors.OpError, UnicodeDecodeError) as error:
                    raise InputError(f"not a tf.train.Example with the TF OD API features: "
                                     f"{tf_error_text(error)}", file=path,
                                     record=f"record {record}") from None
                record += 1

    # --- pixels ----------------------------------------------------------------------------------

    def pixels(self, image_index: int) -> np.ndarray | None:
        """The decoded `image/encoded` of image `image_index` as (H, W) float32 luminance (pixel
        values as stored, e.g. 0-255), or None when the record has no encoded image.

        Uncompressed files are read directly at the record's byte offset (the offsets of a file
        are found once by hopping over record headers); compressed files are read up to it."""
        image_files, image_records = self._image_locations()
        if not 0 <= image_index < len(image_records):
            raise IndexError(f"image {image_index} is not among the {len(image_records)} "
                             f"images loaded from {self.spec.text}")
        file_index = int(image_files[image_index])
        record = int(image_records[image_index])
        path = self.files[file_index]
        serialized = self._read_record(file_index, record)
        import tensorflow as tf

        try:
            parsed = tf.io.parse_single_example(
                serialized, {"image/encoded": tf.io.RaggedFeature(tf.string)})
        except (tf.errors.OpError, UnicodeDecodeError) as error:
            raise InputError(f"cannot parse the record again: {tf_error_text(error)}",
                             file=path, record=f"record {record}") from None
        encoded = parsed["image/encoded"].numpy()
        if len(encoded) == 0 or len(encoded[0]) == 0:
            return None
        try:
            from PIL import Image

            with Image.open(io.BytesIO(encoded[0])) as picture:
                if picture.mode in ("P", "PA", "LA", "CMYK", "YCbCr", "1"):
                    picture = picture.convert("RGB" if picture.mode != "LA" else "L")
                array = np.asarray(picture)
        except Exception as error:
            raise InputError(f"image/encoded cannot be decoded: {type(error).__name__}: "
                             f"{error_text(error)}", file=path, record=f"record {record}") from None
        return to_luminance(array)

    def _read_record(self, file_index: int, record: int) -> bytes:
        path = self.files[file_index]
        if self.compression(path):
            import tensorflow as tf

            dataset = tf.data.TFRecordDataset(path, compression_type=self.compression(path))
            for serialized in dataset.skip(record).take(1):
                return serialized.numpy()
            raise InputError("record not found on a second read", file=path,
                             record=f"record {record}")
        offsets = self._record_offsets.setdefault(file_index, [0])
        try:
            with open(path, "rb") as f:
                while len(offsets) <= record + 1 and offsets[-1] < os.fstat(f.fileno()).st_size:
                    f.seek(offsets[-1])
                    (length,) = struct.unpack("<Q", f.read(8))
                    offsets.append(offsets[-1] + HEADER_BYTES + length + FOOTER_BYTES)
                if len(offsets) <= record + 1:
                    raise InputError("record not found on a second read", file=path,
                                     record=f"record {record}")
                f.seek(offsets[record] + HEADER_BYTES)
                size = offsets[record + 1] - offsets[record] - HEADER_BYTES - FOOTER_BYTES
                data = f.read(size)
        except (OSError, struct.error) as error:
            raise InputError(f"cannot read the record again: {error}", file=path,
                             record=f"record {record}") from None
        if len(data) != size:
            raise InputError("file is shorter than its record headers say", file=path,
                             record=f"record {record}")
        return data
