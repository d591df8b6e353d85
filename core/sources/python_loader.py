"""`python:module:function?k=v…`: boxes from a user's tf.data loader (em-loader style), one pass.

`python:resources.em_loader_demo:load?split=train&bounding_box_format=xywh&batch_size=9` imports
`resources.em_loader_demo` (from the current directory or PYTHONPATH; `module` may also be a path
to a `.py` file), calls `load(split="train", bounding_box_format="xywh", batch_size=9)` with every
query option as a keyword argument, and reads the `tf.data.Dataset` (or `(dataset, info)`) it
returns.

Elements: keras-cv dicts `{"images", "bounding_boxes": {"boxes", "classes"}}`, the keras-cv
training tuple `(images, {"boxes", "classes"})`, or tuples `(images, boxes)` (every class 0) and
`(images, boxes, classes)`. Batched or not is read from the rank of `boxes` ([batch, n, 4] or
[n, 4]); boxes may be `tf.RaggedTensor` or dense and padded with -1. A padding row (all four
values -1, or class -1 as keras-cv's `to_dense` writes) is skipped as "padding".

The box format is the `bounding_box_format` option (also passed to the function); without it the
boxes are read as `xyxy`. Relative formats are scaled by each image's (H, W), taken from the image
tensor's shape (all images of a batch share it). Image ids are 0..N-1 in iteration order;
`box_index` is a box's row within its element. Class names come from `info["class_names"]` when
the loader gives them; progress totals from `info["num_samples"]`, `info.splits[split]
.num_examples` or the dataset's cardinality when it is known.

Loading is ONE pass: a map in the TF runtime keeps only the image size, the flat boxes and the
classes of each element (an unbatched dataset is first `ragged_batch`ed there, so Python never
runs per image), and numpy converts whole batches. The pass cannot avoid what the loader computes
itself: a loader that decodes or renders pixels for every element costs that here too.

Pixels (`pixels(i)`): nothing is kept while loading. Image i is fetched again from the dataset:
by random access (`tf.data.experimental.at`) when the pipeline supports it (range / tensor slices
/ map / batch / ragged_batch pipelines do), which costs one element (one batch); otherwise by
iterating from element k with `skip(k)`, which costs everything up to k once per jump (stepping
forward image by image continues the same iterator). The images of the last elements fetched are
cached (CACHE_BYTES). Every fetched image's boxes are checked against the ones loaded, so a
shuffled or otherwise non-deterministic pipeline raises InputError instead of showing the wrong
picture.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
import threading
import time
from collections import OrderedDict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.box_formats import check_format
from core.errors import InputError
from core.sources.base import BoxBatch, Source, SourceSpec
from core.sources.tensors import (
    ClassValueError,
    box_fingerprints,
    class_ids,
    convert_boxes,
    error_text,
    positions,
    tf_error_text,
    to_luminance,
)
from core.tensorflow_import import import_tensorflow

DEFAULT_FORMAT = "xyxy"  # when the spec has no bounding_box_format option
REBATCH_IMAGES = 256  # an unbatched dataset is ragged-batched in TF, this many elements at a time
FLUSH_IMAGES = 512  # images per BoxBatch handed to the table builder
FLUSH_SECONDS = 0.25  # ... or sooner, so a slow pipeline still shows progress
CACHE_BYTES = 256 * 2**20  # luminance images kept for pixels()
MESSAGE_CHARS = 400  # TF error messages are cut to this length (the CLI prints one line)


@dataclass(frozen=True)
class ElementLayout:
    """What every element of the dataset looks like, read once from `element_spec`."""

    batched: bool
    has_classes: bool
    batch_size: int | None  # static batch dimension (e.g. drop_remainder=True), else None


class _StructureError(ValueError):
    """The elements are not one of the accepted structures."""


def _describe(value) -> str:
    """A short description of an element or element_spec structure, for error messages."""
    if isinstance(value, Mapping):
        return f"a dict with keys {sorted(map(str, value))}"
    if isinstance(value, tuple | list):
        return f"a {type(value).__name__} of {len(value)} ({', '.join(map(_describe, value))})"
    shape = getattr(value, "shape", None)
    if shape is not None:
        return f"{type(value).__name__} of shape {list(shape)}"
    return type(value).__name__


def pick_components(element):
    """(images, boxes, classes or None) of an element (or element_spec) in an accepted structure."""
    if isinstance(element, Mapping):
        boxes_part = element.get("bounding_boxes")
        if "images" not in element or not isinstance(boxes_part, Mapping):
            raise _StructureError(f"expected a keras-cv dict {{'images', 'bounding_boxes': "
                                  f"{{'boxes', 'classes'}}}}, got {_describe(element)}")
        if "boxes" not in boxes_part:
            raise _StructureError(f"'bounding_boxes' has no 'boxes', got {_describe(boxes_part)}")
        return element["images"], boxes_part["boxes"], boxes_part.get("classes")
    if isinstance(element, tuple | list):
        if len(element) == 2 and isinstance(element[1], Mapping):
            if "boxes" not in element[1]:
                raise _StructureError(f"the boxes dict of (images, boxes) has no 'boxes', got "
                                      f"{_describe(element[1])}")
            return element[0], element[1]["boxes"], element[1].get("classes")
        if len(element) in (2, 3) and not any(isinstance(e, Mapping | tuple | list)
                                              for e in element):
            return element[0], element[1], element[2] if len(element) == 3 else None
    raise _StructureError("expected a keras-cv dict {'images', 'bounding_boxes': {'boxes', "
                          "'classes'}} or a tuple (images, boxes[, classes]), got "
                          f"{_describe(element)}")


def element_layout(element_spec) -> ElementLayout:
    """Check the element structure once; raises _StructureError saying what is wrong."""
    import tensorflow as tf

    images, boxes, classes = pick_components(element_spec)
    for name, spec in (("images", images), ("boxes", boxes), ("classes", classes)):
        if spec is not None and not isinstance(spec, tf.TensorSpec | tf.RaggedTensorSpec):
            raise _StructureError(f"{name} must be a tensor, got {_describe(spec)}")
    rank = boxes.shape.rank
    if rank not in (2, 3):
        raise _StructureError(f"boxes must have shape [n, 4] or [batch, n, 4], got "
                              f"{boxes.shape}")
    if boxes.shape[-1] is not None and boxes.shape[-1] != 4:
        raise _StructureError(f"boxes must have 4 values per box, got shape {boxes.shape}")
    batched = rank == 3
    if isinstance(boxes, tf.RaggedTensorSpec) and (not batched or boxes.ragged_rank != 1):
        raise _StructureError(f"ragged boxes must be [batch, (n), 4] with only n ragged, got "
                              f"{boxes.shape} with ragged_rank {boxes.ragged_rank}")
    if isinstance(images, tf.RaggedTensorSpec):
        raise _StructureError("images of different sizes in one batch (ragged images) are not "
                              "supported; return the dataset unbatched")
    if images.dtype == tf.string:
        raise _StructureError("images must be decoded pixel tensors, got strings")
    image_ranks = (3, 4) if batched else (2, 3)
    if images.shape.rank not in image_ranks:
        expected = "[batch, H, W] or [batch, H, W, C]" if batched else "[H, W] or [H, W, C]"
        raise _StructureError(f"images must be {expected} to go with boxes of shape "
                              f"{boxes.shape}, got shape {images.shape}")
    batch_size = images.shape[0] if batched else None
    return ElementLayout(batched=batched, has_classes=classes is not None, batch_size=batch_size)


# --- in-graph extraction: only sizes, flat boxes and classes leave the TF runtime ----------------

def _flatten(tf, hw, boxes, classes):
    """A batch -> (hw [B, 2], flat boxes [n, D], boxes per image [B], flat classes [m] float64,
    classes per image [B]); padding rows stay in (they are counted, not dropped)."""
    count = tf.shape(hw, out_type=tf.int64)[0]
    if isinstance(boxes, tf.RaggedTensor):
        flat, lengths = boxes.flat_values, boxes.row_lengths()
    else:
        shape = tf.shape(boxes, out_type=tf.int64)
        flat = tf.reshape(boxes, tf.stack([shape[0] * shape[1], shape[2]]))
        lengths = tf.fill([count], shape[1])
    if classes is None:
        flat_classes = tf.zeros(tf.shape(flat)[:1], tf.float64)
        class_lengths = lengths
    elif isinstance(classes, tf.RaggedTensor):
        flat_classes = tf.reshape(tf.cast(classes.flat_values, tf.float64), [-1])
        ones = tf.ones_like(classes, tf.int64)  # values per image, whatever the inner shape
        class_lengths = tf.reduce_sum(ones, axis=list(range(1, classes.shape.rank)))
    else:
        flat_classes = tf.reshape(tf.cast(classes, tf.float64), [-1])
        class_lengths = tf.fill([count], tf.size(classes, out_type=tf.int64)
                                // tf.maximum(count, 1))
    return hw, flat, lengths, flat_classes, class_lengths


def _as_element(args):
    """tf.data calls map functions with a tuple element spread over the arguments."""
    return args[0] if len(args) == 1 else args


def _boxes_pipeline(tf, dataset, layout: ElementLayout):
    """The dataset reduced to (hw, flat boxes, lengths, flat classes, class lengths) batches.

    The functions have no tensor-dependent Python control flow, so autograph is skipped."""
    plain = tf.autograph.experimental.do_not_convert
    if layout.batched:
        @plain
        def extract(*args):
            images, boxes, classes = pick_components(_as_element(args))
            shape = tf.shape(images, out_type=tf.int64)
            hw = tf.tile(shape[1:3][None, :], tf.stack([shape[0], 1]))
            return _flatten(tf, hw, boxes, classes)

        reduced = dataset.map(extract, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    else:
        @plain
        def extract_one(*args):
            images, boxes, classes = pick_components(_as_element(args))
            if classes is None:
                classes = tf.zeros(tf.shape(boxes)[:1], tf.float64)
            return (tf.shape(images, out_type=tf.int64)[:2], boxes,
                    tf.reshape(tf.cast(classes, tf.float64), [-1]))

        reduced = (dataset.map(extract_one, num_parallel_calls=tf.data.AUTOTUNE,
                               deterministic=True)
                   .ragged_batch(REBATCH_IMAGES)
                   .map(plain(lambda hw, boxes, classes: _flatten(tf, hw, boxes, classes))))
    return reduced.prefetch(2)


# --- the source ----------------------------------------------------------------------------------

class _Chunk:
    """Converted boxes of consecutive images waiting to become one BoxBatch."""

    def __init__(self, first_image: int):
        self.first_image = first_image
        self.images = 0
        self.parts: list[tuple[np.ndarray, ...]] = []
        self.sizes: list[np.ndarray] = []

    def add(self, hw: np.ndarray, image: np.ndarray, xyxy: np.ndarray, cls: np.ndarray,
            box_index: np.ndarray, reasons: np.ndarray) -> None:
        self.parts.append((image + self.images, xyxy, cls, box_index, reasons))
        self.sizes.append(hw)
        self.images += len(hw)

    def batch(self, total: int | None, file: str) -> BoxBatch:
        image, xyxy, cls, box_index, reasons = (np.concatenate(p) for p in zip(*self.parts,
                                                                              strict=True))
        hw = np.concatenate(self.sizes)
        return BoxBatch(
            image_ids=np.arange(self.first_image, self.first_image + self.images, dtype=np.int64),
            image_heights=hw[:, 0].astype(np.int32), image_widths=hw[:, 1].astype(np.int32),
            image=image, xyxy=xyxy, cls=cls, box_index=box_index, reasons=reasons,
            done=self.first_image + self.images, total=total, file=file)


class PythonLoaderSource(Source):
    """`python:module:function?k=v…` — a user's tf.data loader; see the module docstring."""

    def __init__(self, spec: SourceSpec):
        super().__init__(spec)
        module_name, colon, function_name = spec.path.rpartition(":")
        if not colon or not module_name or not function_name:
            raise InputError(f"expected python:MODULE:FUNCTION (e.g. python:resources."
                             f"em_loader_demo:load?bounding_box_format=xywh), got {spec.path!r}",
                             file=spec.text)
        self.module_name, self.function_name = module_name, function_name
        self.box_format = spec.options.get("bounding_box_format", DEFAULT_FORMAT)
        try:
            check_format(str(self.box_format))
        except ValueError as error:
            raise InputError(f"option bounding_box_format: {error}", file=spec.text) from None
        self.dataset = None
        self.info = None
        self.layout: ElementLayout | None = None
        self._element_sizes: list[np.ndarray] = []  # images per dataset element, as loaded
        self._fingerprints: list[np.ndarray] = []  # per image, as loaded
        self._element_starts: np.ndarray | None = None
        self._fingerprint_table: np.ndarray | None = None
        self._lock = threading.RLock()
        self._cache: OrderedDict[int, np.ndarray] = OrderedDict()
        self._cache_bytes = 0
        self._random_access: bool | None = None  # unknown until tried
        self._access_dataset = None
        self._iterator = None
        self._next_element = 0

    # --- the loader ------------------------------------------------------------------------------

    @property
    def target(self) -> str:
        return f"{self.module_name}:{self.function_name}"

    def _import_module(self):
        import_tensorflow()  # first, quietly: a loader module imports it at its top
        name = self.module_name
        if name.endswith(".py"):
            path = Path(name)
            if not path.is_file():
                raise InputError(f"no loader file {name!r}", file=self.spec.text)
            module_spec = importlib.util.spec_from_file_location(path.stem, path)
            module = importlib.util.module_from_spec(module_spec)
            module_spec.loader.exec_module(module)
            return module
        cwd = os.getcwd()
        if cwd not in sys.path and "" not in sys.path:
            sys.path.insert(0, cwd)
        return importlib.import_module(name)

    def _call_loader(self):
        """Import the module, call the function; returns (dataset, info)."""
        try:
            module = self._import_module()
        except InputError:
            raise
        except ModuleNotFoundError as error:
            if error.name and (self.module_name == error.name
                               or self.module_name.startswith(error.name + ".")):
                problem = (f"no module named {self.module_name!r} in the current directory or "
                           f"on PYTHONPATH")
            else:
                problem = (f"importing module {self.module_name!r} failed: "
                           f"{error_text(error, MESSAGE_CHARS)}")
            raise InputError(problem, file=self.spec.text) from None
        except Exception as error:
            raise InputError(f"importing module {self.module_name!r} failed: "
                             f"{type(error).__name__}: {error_text(error, MESSAGE_CHARS)}",
                             file=self.spec.text) from None
        function = getattr(module, self.function_name, None)
        if function is None:
            raise InputError(f"module {self.module_name!r} has no function "
                             f"{self.function_name!r}", file=self.spec.text)
        if not callable(function):
            raise InputError(f"{self.target} is a {type(function).__name__}, not a function",
                             file=self.spec.text)
        kwargs = dict(self.spec.options)
        try:
            result = function(**kwargs)
        except Exception as error:
            arguments = ", ".join(f"{k}={v!r}" for k, v in kwargs.items())
            raise InputError(f"{self.target}({arguments}) raised {type(error).__name__}: "
                             f"{error_text(error, MESSAGE_CHARS)}", file=self.spec.text) from None

        import tensorflow as tf

        if isinstance(result, tf.data.Dataset):
            return result, None
        if (isinstance(result, tuple | list) and len(result) == 2
                and isinstance(result[0], tf.data.Dataset)):
            return result[0], result[1]
        raise InputError(f"{self.target} returned {_describe(result)}; expected a "
                         f"tf.data.Dataset or (dataset, info)", file=self.spec.text)

    def _total_images(self) -> int | None:
        info, layout = self.info, self.layout
        if isinstance(info, Mapping):
            for key in ("num_samples", "num_examples", "num_images"):
                value = info.get(key)
                if isinstance(value, int | np.integer) and not isinstance(value, bool):
                    return int(value)
        elif info is not None:
            try:
                split = str(self.spec.options.get("split", "train"))
                return int(info.splits[split].num_examples)
            except Exception:  # not a tfds DatasetInfo, or no such split: fall through
                pass
        cardinality = int(self.dataset.cardinality())
        if cardinality < 0:
            return None
        if not layout.batched:
            return cardinality
        return cardinality * layout.batch_size if layout.batch_size else None

    def _class_names(self) -> dict[int, str]:
        info = self.info
        names = info.get("class_names") if isinstance(info, Mapping) else getattr(
            info, "class_names", None)
        if isinstance(names, Mapping):
            return {int(k): str(v) for k, v in names.items()}
        if isinstance(names, list | tuple):
            return {k: str(v) for k, v in enumerate(names)}
        return {}

    def _open(self):
        """Call the loader (once) and check its element structure."""
        if self.dataset is None:
            dataset, info = self._call_loader()
            try:
                layout = element_layout(dataset.element_spec)
            except _StructureError as error:
                raise InputError(str(error), file=self.spec.text, record="element 0") from None
            import tensorflow as tf

            if int(dataset.cardinality()) == tf.data.INFINITE_CARDINALITY:
                raise InputError(f"{self.target} returned an endless dataset (repeat()?); the "
                                 "boxes of a dataset are read once to the end",
                                 file=self.spec.text)
            self.dataset, self.info, self.layout = dataset, info, layout
            self.class_names = self._class_names()
        return self.dataset

    # --- loading ---------------------------------------------------------------------------------

    def _element_record(self, first_element: int, elements: int) -> str:
        if elements <= 1:
            return f"element {first_element}"
        return f"elements {first_element}..{first_element + elements - 1}"

    def batches(self) -> Iterator[BoxBatch]:
        tf = import_tensorflow()

        dataset = self._open()
        layout = self.layout
        try:
            pipeline = _boxes_pipeline(tf, dataset, layout)
        except Exception as error:
            raise InputError(f"cannot read boxes from the elements "
                             f"({_describe(dataset.element_spec)}): "
                             f"{type(error).__name__}: {error_text(error, MESSAGE_CHARS)}",
                             file=self.spec.text, record="element 0") from None
        with self._lock:
            self._element_sizes, self._fingerprints = [], []
            self._element_starts = self._fingerprint_table = None
            self._cache.clear()
            self._cache_bytes = 0
        total = self._total_images()
        images_done = 0
        elements_done = 0
        chunk = _Chunk(0)
        last_flush = time.perf_counter()
        stream = iter(pipeline)
        while True:
            try:
                hw, flat, lengths, classes, class_lengths = next(stream)
            except StopIteration:
                break
            except (tf.errors.OpError, UnicodeDecodeError) as error:
                element = elements_done if layout.batched else self._failing_element(
                    tf, elements_done)
                record = (self._element_record(elements_done, REBATCH_IMAGES) if element is None
                          else f"element {element}")
                raise InputError(f"the dataset failed while producing it: "
                                 f"{tf_error_text(error)}", file=self.spec.text,
                                 record=record) from None
            hw, flat, lengths = hw.numpy(), flat.numpy(), lengths.numpy()
            classes, class_lengths = classes.numpy(), class_lengths.numpy()
            count = len(hw)
            self._check_batch(flat, lengths, classes, class_lengths, elements_done)
            try:
                cls = class_ids(np.where(classes == -1, 0, classes))
            except ClassValueError as error:
                image, box_index = positions(lengths)
                k, box = int(image[error.row]), int(box_index[error.row])
                record = (f"element {elements_done}, image {k}, box {box}" if layout.batched
                          else f"element {elements_done + k}, box {box}")
                raise InputError(str(error), file=self.spec.text, record=record) from None
            converted = convert_boxes(flat, lengths, self.box_format, hw[:, 0], hw[:, 1],
                                      classes)
            chunk.add(hw, converted.image, converted.xyxy, cls, converted.box_index,
                      converted.reasons)
            with self._lock:
                self._element_sizes.append(np.array([count]) if layout.batched
                                           else np.ones(count, np.int64))
                self._fingerprints.append(box_fingerprints(flat, lengths))
                self._element_starts = self._fingerprint_table = None
            images_done += count
            elements_done += 1 if layout.batched else count
            now = time.perf_counter()
            if chunk.images >= FLUSH_IMAGES or now - last_flush >= FLUSH_SECONDS:
                yield chunk.batch(total, self.spec.text)
                chunk, last_flush = _Chunk(images_done), now
        if chunk.images or images_done == 0:
            if chunk.images:
                yield chunk.batch(total, self.spec.text)
            else:
                yield BoxBatch(image_ids=np.zeros(0, np.int64), image_heights=np.zeros(0, np.int32),
                               image_widths=np.zeros(0, np.int32), image=np.zeros(0, np.int64),
                               xyxy=np.zeros((0, 4)), cls=np.zeros(0, np.int32),
                               box_index=np.zeros(0, np.int32), done=0, total=total,
                               file=self.spec.text)

    def _failing_element(self, tf, first: int) -> int | None:
        """After an error in the ragged-batched elements from `first` on: the element that fails
        when they are read one by one (None if none does)."""
        iterator = iter(self.dataset.skip(first).take(REBATCH_IMAGES))
        for element in range(first, first + REBATCH_IMAGES):
            try:
                next(iterator)
            except StopIteration:
                return None
            except (tf.errors.OpError, UnicodeDecodeError):
                return element
        return None

    def _check_batch(self, flat, lengths, classes, class_lengths, first_element: int) -> None:
        batched = self.layout.batched
        if flat.ndim != 2 or flat.shape[1] != 4:
            raise InputError(f"boxes must have 4 values per box, got {flat.shape[-1]}",
                             file=self.spec.text,
                             record=self._element_record(first_element,
                                                         1 if batched else len(lengths)))
        mismatch = np.flatnonzero(class_lengths != lengths)
        if len(mismatch):
            k = int(mismatch[0])
            record = (f"element {first_element}, image {k}" if batched
                      else f"element {first_element + k}")
            raise InputError(f"{int(class_lengths[k])} class values for {int(lengths[k])} boxes "
                             f"(expected one class per box)", file=self.spec.text, record=record)

    # --- pixels ----------------------------------------------------------------------------------

    def _image_map(self) -> tuple[np.ndarray, np.ndarray]:
        """(first image of each element, fingerprint of each image) as loaded so far."""
        if self._element_starts is None:
            sizes = np.concatenate(self._element_sizes) if self._element_sizes else np.zeros(0)
            starts = np.zeros(len(sizes) + 1, np.int64)
            np.cumsum(sizes, out=starts[1:])
            self._element_starts = starts
            self._fingerprint_table = (np.concatenate(self._fingerprints) if self._fingerprints
                                       else np.zeros(0))
        return self._element_starts, self._fingerprint_table

    def pixels(self, image_index: int) -> np.ndarray:
        """Image `image_index` (0-based, = its id) as (H, W) float32 luminance; see the module
        docstring for the cost. Raises IndexError for an image not loaded (yet)."""
        with self._lock:
            starts, fingerprints = self._image_map()
            if self.dataset is None or not 0 <= image_index < starts[-1]:
                raise IndexError(f"image {image_index} is not among the {int(starts[-1])} "
                                 f"images loaded from {self.spec.text}")
            if image_index in self._cache:
                self._cache.move_to_end(image_index)
                return self._cache[image_index]
            element = int(np.searchsorted(starts, image_index, side="right") - 1)
            images, flat, lengths = self._fetch_element(element)
            first = int(starts[element])
            expected = fingerprints[first : first + len(lengths)]
            if len(lengths) != int(starts[element + 1] - first) or not np.allclose(
                    box_fingerprints(flat, lengths), expected, rtol=1e-9, atol=1e-6):
                raise InputError("reading the dataset again gave other boxes for this element "
                                 "than the load did; the pipeline is not deterministic "
                                 "(shuffled?), so its pixels cannot be matched to the boxes",
                                 file=self.spec.text, record=f"element {element}")
            result = None
            for k in range(len(lengths)):
                luminance = to_luminance(images[k])
                self._remember(first + k, luminance)
                if first + k == image_index:
                    result = luminance
            return result

    def _remember(self, image_index: int, luminance: np.ndarray) -> None:
        self._cache[image_index] = luminance
        self._cache_bytes += luminance.nbytes
        while self._cache_bytes > CACHE_BYTES and len(self._cache) > 1:
            _, dropped = self._cache.popitem(last=False)
            self._cache_bytes -= dropped.nbytes

    def _fetch_element(self, element: int):
        """Element `element` again: (images [B, ...] numpy, flat raw boxes, boxes per image)."""
        import tensorflow as tf

        value = None
        if self._random_access is not False:
            if self._access_dataset is None:
                options = tf.data.Options()
                # map+batch fusion hides random access; this copy only serves pixels()
                options.experimental_optimization.map_and_batch_fusion = False
                self._access_dataset = self.dataset.with_options(options)
            try:
                value = tf.data.experimental.at(self._access_dataset, element)
                self._random_access = True
            except (tf.errors.UnimplementedError, tf.errors.FailedPreconditionError) as error:
                if self._random_access:  # it worked before: this is a real failure
                    raise self._element_error(element, error) from None
                self._random_access = False
            except (tf.errors.OpError, UnicodeDecodeError) as error:
                raise self._element_error(element, error) from None
        if value is None:
            try:
                if self._iterator is None or element != self._next_element:
                    self._iterator = iter(self.dataset.skip(element))
                value = next(self._iterator)
                self._next_element = element + 1
            except StopIteration:
                self._iterator = None
                raise InputError("the dataset ended before this element on a second pass",
                                 file=self.spec.text, record=f"element {element}") from None
            except (tf.errors.OpError, UnicodeDecodeError) as error:
                self._iterator = None
                raise self._element_error(element, error) from None
        images, boxes, classes = pick_components(value)
        if self.layout.batched:
            hw = tf.zeros([tf.shape(images)[0], 2], tf.int64)
            _, flat, lengths, _, _ = _flatten(tf, hw, boxes, classes)
            return images.numpy(), flat.numpy(), lengths.numpy()
        flat = np.asarray(boxes.numpy(), np.float64).reshape(-1, 4)
        return images.numpy()[None], flat, np.array([len(flat)])

    def _element_error(self, element: int, error) -> InputError:
        return InputError(f"the dataset failed while producing it again for pixels: "
                          f"{tf_error_text(error)}",
                          file=self.spec.text, record=f"element {element}")
