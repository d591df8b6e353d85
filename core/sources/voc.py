"""`voc:` source: Pascal VOC XML annotations (one file per image) as pixel boxes.

`voc:DIR` reads `DIR/Annotations/*.xml` when that folder exists, else `DIR/*.xml` (a single `.xml`
file works too). Images are looked up by each XML's `filename` (or, failing that, its stem) in
`images=DIR` (relative: from the working directory, else inside DIR), else `DIR/JPEGImages`,
else DIR itself; they are needed only for pixels and for a size the XML lacks.

Per XML: `size/width`, `size/height` (missing, empty or 0 -> the image file's header; no image ->
InputError naming the field), and for each direct `object` child: `name` and
`bndbox/xmin|ymin|xmax|ymax`. `part` boxes nested inside an object (VOC person layout) are not
objects and are ignored; `difficult` and `truncated` objects are kept like any other (as
detectron2 does; the box table has no flag for them).

Coordinates (option `coords`): VOC's are 1-based pixel indices, inclusive — `xmin=1, xmax=W` is the
whole width. `coords=voc` (default) maps them as detectron2's `load_voc_instances` does:
`x1 = xmin - 1, y1 = ymin - 1, x2 = xmax, y2 = ymax` (box width = xmax - xmin + 1, as in the VOC
devkit). Other loaders differ (mmdet 3 subtracts 1 from all four, the Ultralytics VOC converter
shifts the centre by 1, torchvision and tfds take the values as they are); `coords=raw` takes the
values as written, for XML whose coordinates are already continuous 0-based pixels.

Class ids: the sorted names seen in the whole dataset, or the order given by `classes=a,b,c` (then a
name outside that list is an InputError). Without `classes` the names are known only after the last
file, so batches stream images and progress first and all boxes arrive in the final batch.
Image ids are the XML file's stem (VOC's image id); `box_index` is the object's position among the
file's objects, 0-based, and messages name objects by that same index ("object 0" is the first).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.errors import InputError
from core.sources.base import BoxBatch, Source, SourceSpec
from core.sources.image_files import (
    ImageFolder,
    image_pixels,
    missing_image_reason,
    size_from_image_file,
)
from core.sources.options import check_options, folder_option, parse_classes_option
from core.sources.tensors import positions

BATCH_FILES = 256  # XML files per streamed batch
COORDINATES = ("voc", "raw")
_CORNERS = ("xmin", "ymin", "xmax", "ymax")


@dataclass
class VocAnnotation:
    """One parsed XML file: its image and its objects (coordinates as written)."""

    file: str
    image_id: str
    image_path: Path | None
    height: int
    width: int
    names: list[str]
    corners: np.ndarray  # (n, 4) float64 xmin, ymin, xmax, ymax as written in the file


def _parse_xml(path: Path):
    """The root element of an XML file, or InputError naming the file and line.

    Plain annotation files go through the stdlib's C parser (fast); a file that declares a DTD
    or entities goes through `defusedxml` when installed, which refuses entity tricks (expat
    itself also limits entity amplification), so no file can make the load hang.
    """
    import xml.etree.ElementTree as std_tree

    file = os.fspath(path)
    try:
        data = path.read_bytes()
    except OSError as error:
        raise InputError(f"cannot read the file: {error.strerror or error}", file=file) from error
    parse = std_tree.fromstring
    if b"<!DOCTYPE" in data or b"<!ENTITY" in data:
        try:
            import defusedxml.ElementTree as safe_tree

            parse = safe_tree.fromstring
        except ImportError:  # pragma: no cover - defusedxml is installed here
            pass
    try:
        return parse(data)
    except std_tree.ParseError as error:
        line, column = getattr(error, "position", (None, None))
        message = str(error).split(":")[0]
        raise InputError(f"malformed XML: {message} (column {column})", file=file,
                         record=f"line {line}" if line else None) from error
    except ValueError as error:  # defusedxml: DTDForbidden, EntitiesForbidden, ...
        raise InputError(f"refused XML: {error}", file=file) from error


def _whole_number(text: str | None, file: str, field: str) -> int | None:
    """A size field as int; None when missing, empty or 0 (unknown); InputError if not a number."""
    if text is None or not text.strip():
        return None
    try:
        value = float(text)
    except ValueError:
        raise InputError(f"not a number: {text.strip()!r}", file=file, record=field) from None
    if not np.isfinite(value) or not 0 <= value < 2**31 or value != int(value):
        raise InputError(f"must be a whole number of pixels, got {text.strip()!r}", file=file,
                         record=field)
    return int(value) or None


def find_image(images: ImageFolder, filename: str, stem: str) -> Path | None:
    """An annotation's image: the file its `filename` names, else an image with that name's
    stem and another suffix (a `.jpg` named, a `.png` stored), else one with the XML's stem."""
    return (images.find(filename) or images.find_stem(Path(filename).stem)
            or images.find_stem(stem))


def parse_voc_file(path: Path, images: ImageFolder) -> VocAnnotation:
    """Parse one VOC XML file; InputError naming the file, the object and the field on bad input."""
    file = os.fspath(path)
    root = _parse_xml(path)
    if root.tag != "annotation":
        raise InputError(f"not a Pascal VOC annotation: the root element is <{root.tag}>, "
                         "expected <annotation>", file=file)
    filename = (root.findtext("filename") or "").strip()
    image_path = find_image(images, filename, path.stem)
    width = _whole_number(root.findtext("size/width"), file, "size/width")
    height = _whole_number(root.findtext("size/height"), file, "size/height")
    if width is None or height is None:
        height, width = size_from_image_file(
            image_path, "missing (or 0)", f"no image file {filename or path.stem!r} in "
            f"{os.fspath(images.root)!r} to read the size from", file=file,
            record="size/width" if width is None else "size/height")
    names, corners = [], []
    for k, obj in enumerate(root.findall("object")):
        name = (obj.findtext("name") or "").strip()
        if not name:
            raise InputError("missing field 'name'", file=file, record=f"object {k}")
        box = obj.find("bndbox")
        if box is None:
            raise InputError("missing field 'bndbox'", file=file, record=f"object {k}")
        values = []
        for corner in _CORNERS:
            text = box.findtext(corner)
            if text is None or not text.strip():
                raise InputError(f"missing field 'bndbox/{corner}'", file=file,
                                 record=f"object {k}")
            try:
                values.append(float(text))
            except ValueError:
                raise InputError(f"field 'bndbox/{corner}' is not a number: {text.strip()!r}",
                                 file=file, record=f"object {k}") from None
        names.append(name)
        corners.append(values)
    return VocAnnotation(file, path.stem, image_path, height, width, names,
                         np.array(corners, np.float64).reshape(-1, 4))


class VocSource(Source):
    """`voc:DIR[?images=DIR&classes=a,b,c&coords=voc|raw]`: Pascal VOC XML annotations."""

    OPTIONS = ("images", "classes", "coords")

    def __init__(self, spec: SourceSpec):
        super().__init__(spec)
        check_options(spec, self.OPTIONS, "voc")
        if not spec.path:
            raise InputError("voc needs a folder: voc:DIR (with Annotations/ or *.xml)",
                             file=spec.text)
        root = Path(spec.path)
        if root.is_file() and root.suffix.lower() == ".xml":
            self.files, folder = [root], root.parent
        elif root.is_dir():
            annotations = root / "Annotations"
            folder = annotations if annotations.is_dir() else root
            self.files = sorted((p for p in folder.iterdir() if p.suffix.lower() == ".xml"),
                                key=os.fspath)
            if not self.files:
                raise InputError("no .xml annotation files found", file=os.fspath(folder))
        else:
            raise InputError("no such folder (expected a VOC folder with Annotations/ or a "
                             "folder of .xml files)", file=spec.path)
        if "images" in spec.options:
            images = folder_option(spec, "images", root if root.is_dir() else root.parent)
        elif (root / "JPEGImages").is_dir():
            images = root / "JPEGImages"
        else:
            images = root if root.is_dir() else folder
        self.images = ImageFolder(images)
        self.coords = str(spec.options.get("coords", "voc"))
        if self.coords not in COORDINATES:
            raise InputError(f"option 'coords' must be one of {', '.join(COORDINATES)}, got "
                             f"{self.coords!r}", file=spec.text)
        classes = parse_classes_option(spec)
        self._class_ids = None if classes is None else {n: i for i, n in classes.items()}
        self.class_names = classes or {}
        self._image_paths: list[Path | None] = []

    def to_pixels(self, corners: np.ndarray) -> np.ndarray:
        """VOC corners as written -> pixel xyxy under the `coords` convention."""
        if self.coords == "raw":
            return corners.copy()
        return corners - np.array([1.0, 1.0, 0.0, 0.0])

    def batches(self) -> Iterator[BoxBatch]:
        total = len(self.files)
        self._image_paths = []
        deferred: list[tuple[int, VocAnnotation]] = []  # (table index of image, annotation)
        streaming = self._class_ids is not None
        for first in range(0, total, BATCH_FILES):
            files = self.files[first:first + BATCH_FILES]
            parsed = [parse_voc_file(path, self.images) for path in files]
            offset = len(self._image_paths)
            self._image_paths.extend(a.image_path for a in parsed)
            if streaming:
                boxes = self._boxes(list(enumerate(parsed, offset)), self._class_ids)
            else:
                deferred.extend(enumerate(parsed, offset))
                boxes = self._boxes([], {})
            yield BoxBatch(
                image_ids=np.array([a.image_id for a in parsed], dtype=str),
                image_heights=np.array([a.height for a in parsed], np.int32),
                image_widths=np.array([a.width for a in parsed], np.int32),
                **boxes, done=first + len(files), total=total,
                file=os.fspath(files[0]) if len(files) == 1 else os.fspath(files[0].parent),
                image_offset=0)
        if not streaming:
            names = sorted({name for _, a in deferred for name in a.names})
            self.class_names = dict(enumerate(names))
            ids = {name: i for i, name in enumerate(names)}
            yield BoxBatch(image_ids=np.zeros(0, str), image_heights=np.zeros(0, np.int32),
                           image_widths=np.zeros(0, np.int32), **self._boxes(deferred, ids),
                           done=total, total=total, file=os.fspath(self.files[0].parent),
                           image_offset=0)

    def _boxes(self, annotations: list[tuple[int, VocAnnotation]], class_ids: dict[str, int]
               ) -> dict[str, np.ndarray]:
        """The box columns of a BoxBatch (with table image indices) for these annotations."""
        counts = np.array([len(a.names) for _, a in annotations], np.int64)
        image = np.repeat(np.array([index for index, _ in annotations], np.int64), counts)
        corners = (np.concatenate([a.corners for _, a in annotations]) if annotations
                   else np.zeros((0, 4)))
        cls = np.zeros(len(image), np.int32)
        row = 0
        for _, annotation in annotations:
            for k, name in enumerate(annotation.names):
                if name not in class_ids:
                    raise InputError(f"class {name!r} is not in the 'classes' option "
                                     f"({', '.join(class_ids)})",
                                     file=annotation.file, record=f"object {k}")
                cls[row] = class_ids[name]
                row += 1
        return {"image": image, "xyxy": self.to_pixels(corners), "cls": cls,
                "box_index": positions(counts)[1]}

    def pixels(self, image_index: int) -> np.ndarray | None:
        """Luminance (float32) of image `image_index` in load order; None when it has no file."""
        return image_pixels(self._image_paths, image_index)

    def no_pixels_reason(self, image_index: int) -> str:
        paths = self._image_paths
        path = paths[image_index] if 0 <= image_index < len(paths) else None
        return missing_image_reason(path, "the XML's <filename> (or its stem) in the images "
                                          "folder (images=DIR, else DIR/JPEGImages)")
