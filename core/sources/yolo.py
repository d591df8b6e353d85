"""`yolo:` source: Ultralytics YOLO txt labels (normalized `cls xc yc w h`) as pixel boxes.

Two layouts (docs/datasets.md):
- `yolo:data.yaml[?split=train]` — an Ultralytics dataset yaml: `path` (dataset root, relative to
  the yaml's folder when relative; the yaml's folder when absent), `train` / `val` / `test` (image
  folders, `.txt` lists of image paths, or lists of those, relative to `path`), `names` (list or
  {id: name}; `nc` alone also works). Labels are where Ultralytics looks for them: the image path
  with its last `/images/` replaced by `/labels/` and the suffix by `.txt`. An image without a label
  file is an image without boxes.
- `yolo:LABELS_DIR?images=DIR` — label files (`*.txt`, recursively) matched by stem with the image
  files under DIR (a relative DIR is taken from the working directory, else beside LABELS_DIR),
  or `yolo:LABELS_DIR?size=WxH` when there are no images. A `classes.txt` in LABELS_DIR (one name
  per line, as LabelImg writes it) gives the class names.

Options: `split` (yaml only), `images`, `size=WxH` (every image has this size; image headers are
then not read, even when images exist), `classes=a,b,c` (class names, overriding the yaml's /
classes.txt). In the labels-folder layout, images are the union of label and image stems; a label
file with neither an image nor `size=` cannot be placed, so its boxes are skipped and counted as
`unknown_image` (an error under --strict).

Label lines, per line: 5 columns = `cls xc yc w h`, relative to the image width (x) and height
(y); 6 columns = the same plus a confidence (prediction files), which is ignored; an odd count of at
least 7 = `cls x1 y1 x2 y2 ...`, an Ultralytics segmentation polygon, whose bounding box is used (as
Ultralytics does for detection); with `kpt_shape` in the yaml (pose datasets) the keypoint columns
after the first 5 are ignored. Anything else is an InputError naming the file and line. Blank lines
are ignored. Image ids are the image file's stem (the label file's stem without images);
`box_index` counts box lines of a file from 0.

Bad input: wrong column count, a non-number, a class id that is not a whole number >= 0 (or not
below the yaml's class count) -> InputError with file and line. A centre outside [0, 1] or a width
or height above 1 (beyond RELATIVE_TOLERANCE), or any polygon point outside [0, 1] -> skipped as
`relative_out_of_range`; width or height <= 0 -> skipped by the table builder (non_positive_size).
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.boxes import RELATIVE_TOLERANCE, reason_code
from core.errors import InputError
from core.sources.base import BoxBatch, Source, SourceSpec
from core.sources.image_files import (
    IMAGE_SUFFIXES,
    files_under,
    image_pixels,
    images_by_stem,
    list_images,
    missing_image_reason,
    read_image_size,
    read_label_text,
    read_text,
)
from core.sources.options import (
    check_options,
    folder_option,
    parse_classes_option,
    parse_size_option,
)
from core.sources.tensors import positions

BATCH_FILES = 512  # label files per streamed batch
BOX_COLUMNS = 5  # cls xc yc w h


# --- label files --------------------------------------------------------------------------------

def label_path_for(image: Path | str) -> str:
    """Where Ultralytics looks for an image's labels: last `/images/` -> `/labels/`, `.txt`."""
    text = os.fspath(image)
    images, labels = f"{os.sep}images{os.sep}", f"{os.sep}labels{os.sep}"
    if images in text:
        head, _, tail = text.rpartition(images)
        text = head + labels + tail
    return os.path.splitext(text)[0] + ".txt"


# --- label text -> arrays -----------------------------------------------------------------------

@functools.cache
def _uniform_columns(columns: int) -> re.Pattern:
    """A regex matching a whole text whose every non-blank line has exactly `columns` fields."""
    line = r"[ \t]*" + r"\S+[ \t]+" * (columns - 1) + r"\S+[ \t]*"
    return re.compile(rf"(?:(?:{line}|[ \t]*)\n)*(?:{line}|[ \t]*)")


def _box_lines(text: str) -> list[tuple[int, list[str]]]:
    """(1-based line number, fields) of every non-blank line."""
    return [(number, fields) for number, line in enumerate(text.split("\n"), 1)
            if (fields := line.split())]


def _numbers(fields: list[str], file: str, line: int) -> np.ndarray:
    try:
        return np.array(fields, dtype=np.float64)
    except ValueError:
        for column, field in enumerate(fields, 1):
            try:
                float(field)
            except ValueError:
                raise InputError(f"column {column} is not a number: {field!r}", file=file,
                                 record=f"line {line}") from None
        raise


def _parse_irregular(text: str, file: str, columns: int, pose: bool
                     ) -> tuple[np.ndarray, np.ndarray]:
    """Line-by-line parse for files that are not plain 5-column boxes (confidence, polygons,
    keypoints) or that hold an error to report with its line number."""
    rows, polygon_out = [], []
    for number, fields in _box_lines(text):
        n = len(fields)
        is_box = n == columns or (not pose and n == BOX_COLUMNS + 1)  # + keypoints / confidence
        is_polygon = not pose and n >= 7 and n % 2 == 1  # segmentation: cls x1 y1 x2 y2 ...
        if not (is_box or is_polygon):
            expected = (f"{columns} columns (class x_center y_center width height + keypoints)"
                        if pose else "5 columns (class x_center y_center width height)")
            hint = " (fields are separated by spaces)" if n == 1 and "," in fields[0] else ""
            raise InputError(f"expected {expected}, found {n}{hint}", file=file,
                             record=f"line {number}")
        values = _numbers(fields, file, number)
        if is_box:
            rows.append(values[:BOX_COLUMNS])
            polygon_out.append(False)
        else:
            points = values[1:].reshape(-1, 2)
            low, high = points.min(axis=0), points.max(axis=0)
            rows.append(np.concatenate([values[:1], (low + high) / 2, high - low]))
            with np.errstate(invalid="ignore"):
                polygon_out.append(bool(((points < -RELATIVE_TOLERANCE)
                                         | (points > 1 + RELATIVE_TOLERANCE)).any()))
    return np.array(rows, np.float64).reshape(-1, BOX_COLUMNS), np.array(polygon_out, bool)


def _line_of_row(text: str, row: int) -> int:
    """1-based line number of the `row`-th non-blank line (for error messages only)."""
    return _box_lines(text)[row][0]


@dataclass
class LabelBoxes:
    """The boxes of several label files, in file order, relative to their images."""

    counts: np.ndarray  # int64 boxes per file
    cls: np.ndarray  # int32 class ids
    cxcywh: np.ndarray  # (n, 4) float64 relative centre-x, centre-y, width, height
    out_of_range: np.ndarray  # bool: relative values far outside [0, 1] -> skip these rows


def parse_label_texts(texts: list[str], files: list[str], *, columns: int = BOX_COLUMNS,
                      class_count: int | None = None) -> LabelBoxes:
    """Parse the texts of YOLO label files (`files` names them for messages) in one pass.

    Files whose every line is a plain box line go through one numpy conversion together; others
    (confidence, polygons, or an error to report with its line) are parsed line by line.
    `columns` > 5 means a pose dataset (keypoint columns ignored). Raises InputError naming the
    file and line for a line that is not a box line or a class id that is not a valid id.
    """
    pose = columns != BOX_COLUMNS
    pattern = _uniform_columns(columns)
    counts = np.zeros(len(texts), np.int64)
    tokens: list[str] = []
    irregular: dict[int, tuple[np.ndarray, np.ndarray]] = {}  # file -> (table, polygon_out)
    for k, text in enumerate(texts):
        if pattern.fullmatch(text):
            fields = text.split()
            tokens.extend(fields)
            counts[k] = len(fields) // columns
        else:
            irregular[k] = _parse_irregular(text, files[k], columns, pose)
            counts[k] = len(irregular[k][0])
    try:
        table = np.array(tokens, dtype=np.float64).reshape(-1, columns)[:, :BOX_COLUMNS]
    except ValueError:  # a non-number in a regular-looking file: find and name it
        for k, text in enumerate(texts):
            if k not in irregular:
                _parse_irregular(text, files[k], columns, pose)
        raise
    polygon_out = np.zeros(len(table), bool)
    if irregular:  # splice the line-by-line files back in file order
        starts = np.concatenate([[0], np.cumsum(np.where(
            [k in irregular for k in range(len(texts))], 0, counts))])
        tables, outs = [], []
        for k in range(len(texts)):
            if k in irregular:
                tables.append(irregular[k][0])
                outs.append(irregular[k][1])
            else:
                tables.append(table[starts[k]:starts[k + 1]])
                outs.append(polygon_out[starts[k]:starts[k + 1]])
        table, polygon_out = np.concatenate(tables), np.concatenate(outs)

    cls, cxcywh = table[:, 0], table[:, 1:]
    with np.errstate(invalid="ignore"):
        whole = np.isfinite(cls) & (cls >= 0) & (cls == np.floor(cls))
        valid = whole if class_count is None else whole & (cls < class_count)
        tol = RELATIVE_TOLERANCE
        centre, size = cxcywh[:, :2], cxcywh[:, 2:]
        out_of_range = ((((centre < -tol) | (centre > 1 + tol)).any(axis=1)
                         | (size > 1 + tol).any(axis=1) | polygon_out)
                        & np.isfinite(cxcywh).all(axis=1))  # non-finite: the builder's reason
    if not valid.all():
        row = int(np.flatnonzero(~valid)[0])
        k = int(np.searchsorted(np.cumsum(counts), row, side="right"))
        local_row = row - int(counts[:k].sum())
        problem = (f"class id {int(cls[row])} is not below the dataset's class count "
                   f"{class_count}" if whole[row] else
                   f"class id must be a whole number >= 0, got {cls[row]:g}")
        raise InputError(problem, file=files[k],
                         record=f"line {_line_of_row(texts[k], local_row)}")
    return LabelBoxes(counts, cls.astype(np.int32), cxcywh, out_of_range)


def cxcywh_to_pixels(cxcywh: np.ndarray, width: np.ndarray, height: np.ndarray) -> np.ndarray:
    """Relative (centre-x, centre-y, w, h) -> pixel xyxy; `width`/`height` per row or scalar."""
    cx, cy, w, h = cxcywh.T
    return np.stack([(cx - w / 2) * width, (cy - h / 2) * height,
                     (cx + w / 2) * width, (cy + h / 2) * height], axis=1)


# --- data.yaml ----------------------------------------------------------------------------------

def _load_yaml(path: Path) -> dict:
    import yaml

    text = read_text(path)
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        record = f"line {mark.line + 1}" if mark is not None else None
        problem = getattr(error, "problem", None) or str(error)
        raise InputError(f"not valid YAML: {problem}", file=os.fspath(path),
                         record=record) from error
    if not isinstance(data, dict):
        raise InputError("a dataset yaml must be a mapping with 'train'/'val' and 'names' keys",
                         file=os.fspath(path))
    return data


def _class_names_from_yaml(data: dict, file: str) -> tuple[dict[int, str], int]:
    """({id: name}, class count) from `names` (list or dict) or `nc`."""
    names = data.get("names")
    if names is None:
        nc = data.get("nc")
        if isinstance(nc, bool) or not isinstance(nc, int) or nc < 0:
            raise InputError("missing key 'names' (a list of class names or {id: name}; "
                             "'nc' alone, a class count, also works)", file=file)
        return {}, nc
    if isinstance(names, list):
        return {i: str(name) for i, name in enumerate(names)}, len(names)
    if isinstance(names, dict):
        result = {}
        for key, name in names.items():
            try:
                result[int(key)] = str(name)
            except (TypeError, ValueError):
                raise InputError(f"'names' keys must be class ids (whole numbers), got {key!r}",
                                 file=file, record="names") from None
        return result, max(result, default=-1) + 1
    raise InputError(f"'names' must be a list or a mapping, got {type(names).__name__}",
                     file=file, record="names")


def _split_images(data: dict, split: str, root: Path, file: str) -> list[Path]:
    """The image paths of one split: folders (recursive), `.txt` lists, or lists of those."""
    if split not in data or data[split] in (None, ""):
        present = [key for key in ("train", "val", "test") if data.get(key)]
        raise InputError(f"missing key {split!r} (the split to read; this yaml has "
                         f"{', '.join(present) or 'no splits'}; choose one with ?split=...)",
                         file=file)
    entries = data[split] if isinstance(data[split], list) else [data[split]]
    images: list[Path] = []
    for entry in entries:
        if not isinstance(entry, str):
            raise InputError(f"{split!r} entries must be paths, got {entry!r}", file=file,
                             record=split)
        path = Path(entry) if Path(entry).is_absolute() else root / entry
        if path.is_dir():
            images.extend(list_images(path))
        elif path.is_file() and path.suffix.lower() == ".txt":
            images.extend(_image_list(path))
        elif path.is_file() and path.suffix.lower() in IMAGE_SUFFIXES:
            images.append(path)
        else:
            raise InputError(f"{split!r} points to {os.fspath(path)!r}, which is not an image "
                             "folder or a .txt list of images", file=file, record=split)
    return images


def _orphan_labels(data: dict, split: str, root: Path, images: list[Path]) -> list[str]:
    """Label files in the label folders of a split's image folders that no listed image owns:
    Ultralytics never reads them, so their boxes would vanish without a word. (Splits given as
    `.txt` lists share label folders with other splits, so they are not searched.)"""
    entries = data[split] if isinstance(data[split], list) else [data[split]]
    owned = {label_path_for(image) for image in images}
    orphans = set()
    for entry in entries:
        path = Path(entry) if Path(entry).is_absolute() else root / entry
        if path.is_dir():
            label_dir = os.path.dirname(label_path_for(os.path.join(os.fspath(path), "x")))
            if os.path.isdir(label_dir):
                orphans.update(label for label in files_under(label_dir, frozenset({".txt"}))
                               if label not in owned
                               and os.path.basename(label) != "classes.txt")
    return sorted(orphans)


def _image_list(path: Path) -> list[Path]:
    """Image paths listed one per line in a `.txt` file, relative ones from the file's folder."""
    images = []
    for line in read_text(path).split("\n"):
        line = line.strip()
        if line and Path(line).suffix.lower() in IMAGE_SUFFIXES:
            image = Path(line)
            images.append(image if image.is_absolute() else path.parent / image)
    return images


# --- the source ---------------------------------------------------------------------------------

class YoloSource(Source):
    """`yolo:data.yaml?split=train` or `yolo:LABELS_DIR?images=DIR` / `?size=WxH`."""

    OPTIONS = ("split", "images", "size", "classes")

    def __init__(self, spec: SourceSpec):
        super().__init__(spec)
        check_options(spec, self.OPTIONS, "yolo")
        if not spec.path:
            raise InputError("yolo needs a path: yolo:data.yaml or yolo:LABELS_DIR?images=DIR",
                             file=spec.text)
        self.size = parse_size_option(spec)
        self.columns = BOX_COLUMNS
        self.class_count: int | None = None
        path = Path(spec.path)
        if path.is_file():
            self._init_yaml(path)
        elif path.is_dir():
            self._init_labels_dir(path)
        else:
            raise InputError("no such file or folder (expected a data.yaml or a labels folder)",
                             file=spec.path)
        classes = parse_classes_option(spec)
        if classes is not None:
            self.class_names = classes
        self._image_paths: list[Path | None] = []

    def _init_yaml(self, path: Path) -> None:
        file = os.fspath(path)
        if path.suffix.lower() not in (".yaml", ".yml"):
            raise InputError("expected a dataset .yaml file or a labels folder", file=file)
        if "images" in self.spec.options:
            raise InputError("option 'images' is for yolo:LABELS_DIR; a data.yaml lists its "
                             "image folders itself", file=self.spec.text)
        data = _load_yaml(path)
        root = data.get("path")
        if root in (None, ""):
            root = path.parent
        elif not isinstance(root, str):
            raise InputError(f"'path' must be a folder path, got {root!r}", file=file,
                             record="path")
        root = Path(root) if Path(root).is_absolute() else path.parent / root
        self.class_names, self.class_count = _class_names_from_yaml(data, file)
        kpt_shape = data.get("kpt_shape")
        if kpt_shape is not None:
            try:
                self.columns = BOX_COLUMNS + int(np.prod([int(k) for k in kpt_shape]))
            except (TypeError, ValueError):
                raise InputError(f"'kpt_shape' must be [keypoints, dims], got {kpt_shape!r}",
                                 file=file, record="kpt_shape") from None
        split = str(self.spec.options.get("split", "train"))
        images = _split_images(data, split, root, file)
        if not images:
            raise InputError(f"split {split!r} lists no image files", file=file, record=split)
        self._entries = [(p.stem, p, label_path_for(p)) for p in images]
        # label files without an image: their boxes are counted as skipped (unknown_image)
        self._entries += [(Path(label).stem, None, label)
                          for label in _orphan_labels(data, split, root, images)]
        self._where = os.fspath(path)

    def _init_labels_dir(self, path: Path) -> None:
        if "split" in self.spec.options:
            raise InputError("option 'split' is for a data.yaml; a labels folder is one split",
                             file=self.spec.text)
        labels: dict[str, str] = {}
        names_file = path / "classes.txt"
        for label in files_under(path, frozenset({".txt"})):
            if label == os.fspath(names_file):
                continue
            stem = os.path.splitext(os.path.basename(label))[0]
            if stem in labels:
                raise InputError(f"two label files share the stem {stem!r} "
                                 f"({labels[stem]} and {label})", file=os.fspath(path))
            labels[stem] = label
        if names_file.is_file():
            names = [line.strip() for line in read_text(names_file).split("\n") if line.strip()]
            self.class_names = dict(enumerate(names))
        images: dict[str, Path] = {}
        if "images" in self.spec.options:
            images_dir = folder_option(self.spec, "images", path.parent)
            images = images_by_stem(images_dir)
        elif self.size is None:
            raise InputError("a labels folder needs the images' sizes: set images=DIR (the "
                             "image files) or size=WxH (one size for every image)",
                             file=self.spec.text)
        stems = sorted(set(labels) | set(images))
        if not stems:
            raise InputError("no label files (*.txt) and no images found", file=os.fspath(path))
        self._entries = [(stem, images.get(stem), labels.get(stem)) for stem in stems]
        self._where = os.fspath(path)

    def batches(self) -> Iterator[BoxBatch]:
        total = len(self._entries)
        self._image_paths = []
        for first in range(0, total, BATCH_FILES):
            yield from self._batch(first, self._entries[first:first + BATCH_FILES], total)

    def _batch(self, first: int, entries: list, total: int) -> Iterator[BoxBatch]:
        ids, heights, widths, paths = [], [], [], []
        texts, files, owners = [], [], []  # label files read, and their image (-1: orphan)
        for stem, image_path, label_path in entries:
            if self.size is not None:
                size = self.size
            elif image_path is not None:
                size = read_image_size(image_path)
            else:
                size = None  # a label file without image and without size=
            text = None if label_path is None else read_label_text(label_path)
            if text is not None:
                texts.append(text)
                files.append(label_path)
                owners.append(len(ids) if size is not None else -1)
            if size is not None:
                ids.append(stem)
                heights.append(size[0])
                widths.append(size[1])
                paths.append(image_path)
        self._image_paths.extend(paths)
        heights_arr = np.array(heights, np.int32)
        widths_arr = np.array(widths, np.int32)
        labels = parse_label_texts(texts, files, columns=self.columns,
                                   class_count=self.class_count)
        label_file, box_index = positions(labels.counts)
        image = np.array(owners, np.int64)[label_file]
        orphan = image < 0
        safe = np.where(orphan, 0, image)
        xyxy = cxcywh_to_pixels(labels.cxcywh, widths_arr[safe] if len(ids) else 1.0,
                                heights_arr[safe] if len(ids) else 1.0)
        reasons = np.where(labels.out_of_range, reason_code("relative_out_of_range"), 0)
        done = first + len(entries)
        kept = ~orphan
        folders = {os.path.dirname(f) for f in files}  # named in --strict messages
        where = folders.pop() if len(folders) == 1 else self._where
        yield BoxBatch(image_ids=np.array(ids, dtype=str), image_heights=heights_arr,
                       image_widths=widths_arr, image=image[kept], xyxy=xyxy[kept],
                       cls=labels.cls[kept], box_index=box_index[kept],
                       reasons=reasons[kept].astype(np.int8), done=done, total=total,
                       file=where)
        for k in np.flatnonzero(np.array(owners) < 0):
            # boxes of a label file with no image and no size=: skipped as unknown_image
            rows = label_file == k
            n = int(labels.counts[k])
            yield BoxBatch(image_ids=np.zeros(0, str), image_heights=np.zeros(0, np.int32),
                           image_widths=np.zeros(0, np.int32), image=np.full(n, -1, np.int64),
                           xyxy=xyxy[rows], cls=labels.cls[rows], box_index=box_index[rows],
                           reasons=np.full(n, reason_code("unknown_image"), np.int8),
                           done=done, total=total, file=files[k], image_offset=0)

    def pixels(self, image_index: int) -> np.ndarray | None:
        """Luminance (float32) of image `image_index` in load order; None when it has no file."""
        return image_pixels(self._image_paths, image_index)

    def no_pixels_reason(self, image_index: int) -> str:
        paths = self._image_paths
        path = paths[image_index] if 0 <= image_index < len(paths) else None
        return missing_image_reason(path, "an image of the same name beside the labels "
                                          "(or in the images folder)")
