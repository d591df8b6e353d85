"""`coco:annotations.json?images=DIR`: boxes from a COCO detection JSON file, fast and lean.

What is read: `images` [{id, file_name, width, height}], `annotations` [{image_id, category_id,
bbox [x, y, w, h] (pixels, origin top-left)}], `categories` [{id, name}]; every other field
(`segmentation`, `area`, `iscrowd`, `info`, ...) is skipped without building Python objects.

Conventions:
- image ids are kept as the file gives them (ints or strings, not necessarily contiguous);
- class ids are COCO's own `category_id`s, names from `categories` (a category id missing there
  keeps its number as its name); `iscrowd` boxes are kept like any other box;
- `box_index` is the position of the box among its image's annotations in file order; for an
  annotation whose `image_id` is not listed (skipped as "unknown_image") it is its position in
  the `annotations` array, so a `--strict` error points at the record;
- an image without width/height gets its size from its file's header; an image whose file is
  missing (or no `images=DIR`) is analysed from its boxes and has no pixels.

Decoding uses msgspec in two passes so peak memory stays small: the whole document once with the
annotations kept as raw JSON slices (no objects), then the annotations chunk by chunk into typed
records with only the three fields needed, converted to numpy columns at once. Files with NaN or
Infinity (which Python's `json.dump` writes) fall back to the standard library decoder.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Sequence
from itertools import chain
from pathlib import Path
from typing import Annotated, Any

import msgspec
import numpy as np

from core.box_formats import to_xyxy
from core.boxes import reason_code
from core.errors import InputError
from core.sources.base import BoxBatch, Source, SourceSpec
from core.sources.image_files import (
    ImageFolder,
    image_pixels,
    missing_image_reason,
    resolve_folder,
    size_from_image_file,
)
from core.sources.options import check_options

CHUNK_ANNOTATIONS = 50_000  # annotations decoded per batch: bounds memory and GIL hold time
_INT64 = msgspec.Meta(ge=-(2**63), le=2**63 - 1)
_INT32 = msgspec.Meta(ge=-(2**31), le=2**31 - 1)
ImageId = Annotated[int, _INT64] | str
ClassId = Annotated[int, _INT32]
PixelSize = Annotated[int, msgspec.Meta(gt=0, le=2**31 - 1)]
_UTF8_BOM = b"\xef\xbb\xbf"
_TOO_DEEP = "not valid JSON: nested too deeply to decode"


class _Image(msgspec.Struct, gc=False):
    id: ImageId
    file_name: str | None = None
    width: PixelSize | None = None
    height: PixelSize | None = None


class _Category(msgspec.Struct, gc=False):
    id: ClassId
    name: str | None = None


class _Annotation(msgspec.Struct, gc=False):
    image_id: ImageId
    category_id: ClassId
    bbox: tuple[float, float, float, float]


class _Document(msgspec.Struct, gc=False):
    """The first pass: annotations stay raw JSON slices of the file (no per-field objects)."""

    images: list[_Image]
    annotations: list[msgspec.Raw]
    categories: list[_Category] = msgspec.field(default_factory=list)


class _LoadedDocument(msgspec.Struct, gc=False):
    """The fallback first pass over an already decoded document (stdlib json, NaN allowed)."""

    images: list[_Image]
    annotations: list[Any]
    categories: list[_Category] = msgspec.field(default_factory=list)


_ANNOTATIONS_DECODER = msgspec.json.Decoder(list[_Annotation])
_DOCUMENT_DECODER = msgspec.json.Decoder(_Document)
_PATH = re.compile(r"^(?P<problem>.*?)(?: - at `\$(?P<path>[^`]*)`)?$", re.DOTALL)
_PATH_HEAD = re.compile(r"^(?:\.(?P<key>\w+))?(?:\[(?P<index>\d+)\])?")


class CocoSource(Source):
    """`coco:annotations.json?images=DIR` — see the module docstring for the conventions."""

    OPTIONS = ("images",)

    def __init__(self, spec: SourceSpec):
        super().__init__(spec)
        if not spec.path:
            raise InputError("the coco dataset needs the annotation file: "
                             "coco:annotations.json?images=DIR", file=spec.text)
        check_options(spec, self.OPTIONS, "coco")
        self.path = Path(spec.path).expanduser()
        images = spec.options.get("images")
        self.folder: ImageFolder = resolve_folder(None if images is None else str(images),
                                                  relative_to=self.path.parent)
        self.file_names: list[str | None] = []  # per image, filled by `batches()`

    # --- loading ---------------------------------------------------------------------------

    def batches(self) -> Iterator[BoxBatch]:
        """One batch per chunk of annotations; the first also registers every image."""
        file = str(self.path)
        images, categories, chunks, total = self._open_document(file)
        image_ids, heights, widths = self._image_columns(images, file)
        self.file_names = [image.file_name for image in images]
        self.class_names = _class_names(categories, file)
        del images, categories
        lookup = _ImageLookup(image_ids, file)
        seen = np.zeros(len(image_ids), np.int64)  # boxes per image so far, for box_index
        first = True
        for start, records in chunks:
            count = len(records)
            image = lookup.indices([a.image_id for a in records])
            cls = np.array([a.category_id for a in records], np.int32)
            xywh = np.fromiter(chain.from_iterable([a.bbox for a in records]), np.float64,
                               4 * count).reshape(count, 4)
            del records
            box_index, reasons = _box_index(image, seen, start)
            yield BoxBatch(
                image_ids=image_ids if first else image_ids[:0],
                image_heights=heights if first else heights[:0],
                image_widths=widths if first else widths[:0],
                image=image, xyxy=to_xyxy(xywh, "xywh"), cls=cls, box_index=box_index,
                reasons=reasons, done=start + count, total=total, file=file, image_offset=0)
            first = False
        if first:  # no annotations at all: still register the images
            empty = np.zeros(0, np.int64)
            yield BoxBatch(image_ids=image_ids, image_heights=heights, image_widths=widths,
                           image=empty, xyxy=np.zeros((0, 4)), cls=empty.astype(np.int32),
                           box_index=empty.astype(np.int32), done=0, total=0, file=file,
                           image_offset=0)

    def _open_document(self, file: str):
        """Read and decode the document's head; returns images, categories, an iterator of
        `(first annotation number, [_Annotation, ...])` chunks, and the annotation count."""
        try:
            data = self.path.read_bytes()
        except OSError as error:
            raise InputError(f"cannot read the annotation file: {error.strerror or error}",
                             file=file) from None
        view = memoryview(data)[len(_UTF8_BOM):] if data.startswith(_UTF8_BOM) else data
        try:
            document = _DOCUMENT_DECODER.decode(view)
        except msgspec.ValidationError as error:
            raise _validation_error(error, file) from None
        except RecursionError:
            raise InputError(_TOO_DEEP, file=file) from None
        except msgspec.DecodeError as error:
            loaded = _decode_with_stdlib(view, error, file)  # NaN / Infinity, else InputError
            document = _convert(loaded, _LoadedDocument, file, base=None)
            del loaded
            return (document.images, document.categories,
                    _converted_chunks(document.annotations, file), len(document.annotations))
        return (document.images, document.categories,
                _raw_chunks(document.annotations, file), len(document.annotations))

    def _image_columns(self, images: Sequence[_Image], file: str
                       ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Image ids (int64, str or object array), heights and widths (int32) in file order;
        sizes the file leaves out are read from the image headers."""
        heights = np.fromiter((image.height or 0 for image in images), np.int32, len(images))
        widths = np.fromiter((image.width or 0 for image in images), np.int32, len(images))
        for k in np.flatnonzero((heights == 0) | (widths == 0)):
            heights[k], widths[k] = self._size_from_file(images[k], int(k), file)
        ids = [image.id for image in images]
        kinds = set(map(type, ids))
        if kinds <= {int}:
            image_ids = np.array(ids, np.int64)
        elif kinds == {str}:
            image_ids = np.array(ids, str)
        else:
            image_ids = np.array(ids, object)
        return image_ids, heights, widths

    def _size_from_file(self, image: _Image, k: int, file: str) -> tuple[int, int]:
        root, name = self.folder.root, image.file_name
        no_file = (f"its file {name!r} is not in {root}" if root is not None and name
                   else "it has no file_name" if root is not None
                   else "no images folder was given (coco:FILE?images=DIR)")
        height, width = size_from_image_file(
            self.folder.find(name or ""), f"image {image.id!r} has no width/height",
            f"{no_file}, so its size is unknown", file=file, record=f"images[{k}]")
        return image.height or height, image.width or width

    # --- pixels ----------------------------------------------------------------------------

    def pixels(self, image_index: int) -> np.ndarray | None:
        """Luminance of image `image_index`'s file (float32), None when it has no file."""
        return image_pixels(self.file_names, image_index,
                            find=lambda name: self.folder.find(name or ""))

    def no_pixels_reason(self, image_index: int) -> str:
        name = self.file_names[image_index] if 0 <= image_index < len(self.file_names) else None
        if self.folder.root is None:
            return "no images folder given (add ?images=DIR to the dataset spec)"
        if not name:
            return "the annotation gives this image no file_name"
        return missing_image_reason(None, f"{name!r} in {self.folder.root}")


# --- decoding helpers ----------------------------------------------------------------------------

def _raw_chunks(raws: list[msgspec.Raw], file: str) -> Iterator[tuple[int, list[_Annotation]]]:
    """Decode the raw annotation slices chunk by chunk into typed records."""
    for start in range(0, len(raws), CHUNK_ANNOTATIONS):
        text = b"[" + b",".join(raws[start : start + CHUNK_ANNOTATIONS]) + b"]"
        try:
            annotations = _ANNOTATIONS_DECODER.decode(text)
        except msgspec.ValidationError as error:
            raise _validation_error(error, file, base=("annotations", start)) from None
        except (msgspec.DecodeError, RecursionError) as error:  # unexpected: pass 1 checked
            raise InputError(_TOO_DEEP if isinstance(error, RecursionError) else
                             f"not valid JSON: {error}", file=file,
                             record=f"annotations[{start}..]") from None
        del text
        yield start, annotations
        del annotations  # before the next chunk is decoded


def _converted_chunks(items: list, file: str) -> Iterator[tuple[int, list[_Annotation]]]:
    """The fallback path's chunks: already decoded annotation objects, type-checked."""
    for start in range(0, len(items), CHUNK_ANNOTATIONS):
        yield start, _convert(items[start : start + CHUNK_ANNOTATIONS], list[_Annotation], file,
                              base=("annotations", start))


def _convert(value: object, kind: Any, file: str, base: tuple[str, int] | None):
    try:
        return msgspec.convert(value, kind)
    except msgspec.ValidationError as error:
        raise _validation_error(error, file, base=base) from None


def _decode_with_stdlib(data: bytes | memoryview, error: msgspec.DecodeError, file: str) -> object:
    """Python's json accepts NaN and Infinity, which msgspec refuses; used only for such files.
    Any other syntax error is reported with its line and column."""
    match = re.search(r"\(byte (\d+)\)", str(error))
    position = int(match.group(1)) if match else None
    problem = str(error).replace("JSON is malformed: ", "")
    if position is not None:
        token = bytes(data[position : position + 8])
        if token.startswith(b"NaN") or token.startswith(b"Infinity"):
            try:
                return json.loads(bytes(data))
            except json.JSONDecodeError as stdlib_error:  # the error after the NaN
                position = stdlib_error.pos
                problem = f"{stdlib_error.msg[:1].lower()}{stdlib_error.msg[1:]} (byte {position})"
            except (ValueError, RecursionError):
                pass  # report msgspec's error
    if "truncated" in problem.lower():
        problem = "the file ends early (truncated or empty)"
    record = None
    if position is not None:
        before = bytes(data[:position])
        line, column = before.count(b"\n") + 1, position - before.rfind(b"\n")
        record = f"line {line}, column {column}"
        problem = re.sub(r"\s*\(byte \d+\)", "", problem) + f" (byte {position})"
    raise InputError(f"not valid JSON: {problem}", file=file, record=record)


def _validation_error(error: msgspec.ValidationError, file: str,
                      base: tuple[str, int] | None = None) -> InputError:
    """Turn msgspec's `Expected ... - at $.annotations[17].bbox` into file + record + problem.

    `base` = (array name, first index) when the decoded value was a chunk of that array.
    """
    match = _PATH.match(str(error))
    problem = match.group("problem").replace("`", "")
    problem = problem[:1].lower() + problem[1:]
    path = match.group("path") or ""
    head = _PATH_HEAD.match(path)
    key, index = head.group("key"), head.group("index")
    rest = path[head.end():].lstrip(".")
    if base is not None and key is None and index is not None:
        key, index = base[0], str(base[1] + int(index))
    if problem.startswith("object missing required field"):
        problem = "missing required field " + problem.rsplit(" ", 1)[-1]
    if key is None:
        return InputError(f"not a COCO detection file: {problem}" if not rest else
                          f"{rest}: {problem}", file=file)
    if index is None:
        return InputError(f"{key}: {problem}", file=file)
    return InputError(f"{rest}: {problem}" if rest else problem, file=file,
                      record=f"{key}[{index}]")


# --- columns -------------------------------------------------------------------------------------

class _ImageLookup:
    """Maps image ids as annotations give them to positions in the images list (-1: unknown).

    Integer ids map vectorised (sorted ids + searchsorted); string or mixed ids through a dict.
    """

    def __init__(self, image_ids: np.ndarray, file: str):
        self.image_ids = image_ids
        self.file = file
        self.integer = image_ids.dtype == np.int64
        self._positions: dict | None = None
        if self.integer:
            self.order = np.argsort(image_ids, kind="stable")
            self.sorted = image_ids[self.order]
            repeated = np.flatnonzero(self.sorted[1:] == self.sorted[:-1])
            if len(repeated):
                first, again = self.order[repeated[0]], self.order[repeated[0] + 1]
                raise InputError(f"duplicate image id {self.sorted[repeated[0]]} (also "
                                 f"images[{first}])", file=file, record=f"images[{again}]")
        else:
            self.positions()  # finds duplicates

    def positions(self) -> dict:
        if self._positions is None:
            positions: dict = {}
            for k, image_id in enumerate(self.image_ids.tolist()):
                if image_id in positions:
                    raise InputError(f"duplicate image id {image_id!r} (also "
                                     f"images[{positions[image_id]}])", file=self.file,
                                     record=f"images[{k}]")
                positions[image_id] = k
            self._positions = positions
        return self._positions

    def indices(self, ids: list) -> np.ndarray:
        """Positions of the images `ids` name, -1 for ids no image has."""
        if self.integer and set(map(type, ids)) <= {int}:
            if not len(self.sorted):
                return np.full(len(ids), -1, np.int64)
            wanted = np.array(ids, np.int64)
            slot = np.minimum(np.searchsorted(self.sorted, wanted), len(self.sorted) - 1)
            return np.where(self.sorted[slot] == wanted, self.order[slot], -1)
        get = self.positions().get
        return np.fromiter((get(image_id, -1) for image_id in ids), np.int64, len(ids))


def _box_index(image: np.ndarray, seen: np.ndarray, start: int) -> tuple[np.ndarray, np.ndarray]:
    """Position of each box among its image's annotations in file order (continuing the counts
    in `seen`, which is updated), and the skip reasons (unknown image ids)."""
    count = len(image)
    known = image >= 0
    order = np.argsort(image, kind="stable")
    grouped = image[order]
    new_group = np.ones(count, bool)
    new_group[1:] = grouped[1:] != grouped[:-1]
    group_start = np.maximum.accumulate(np.where(new_group, np.arange(count), 0))
    rank = np.empty(count, np.int64)
    rank[order] = np.arange(count) - group_start
    box_index = start + np.arange(count)  # unknown images: the annotation's own position
    box_index[known] = seen[image[known]] + rank[known]
    seen += np.bincount(image[known], minlength=len(seen))
    reasons = np.where(known, 0, reason_code("unknown_image")).astype(np.int8)
    return box_index.astype(np.int32), reasons


def _class_names(categories: Sequence[_Category], file: str) -> dict[int, str]:
    names: dict[int, str] = {}
    where: dict[int, int] = {}
    for k, category in enumerate(categories):
        if category.id in names:
            raise InputError(f"duplicate category id {category.id} (also "
                             f"categories[{where[category.id]}])", file=file,
                             record=f"categories[{k}]")
        names[category.id] = category.name if category.name is not None else str(category.id)
        where[category.id] = k
    return names
