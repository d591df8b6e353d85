"""Files behind the file-based sources (COCO, YOLO, VOC): find images, size them, read pixels,
read label text files.

Sizes come from the file header (`imagesize`, no decode), so loading boxes stays fast; pixels are
decoded with Pillow only when an image is shown. Sizes are `(height, width)` in pixels.

EXIF orientation, one convention for sizes and pixels: the image as it is displayed. A header size
is the EXIF-rotated size (imagesize's default, as Ultralytics' `exif_size`), and decoded pixels
are turned by `ImageOps.exif_transpose` the same way, so a rotated JPEG's pixels always have the
size its boxes were validated against (annotation tools draw boxes on the displayed image).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, BinaryIO

import imagesize
import numpy as np

from core.errors import InputError
from core.sources.tensors import to_luminance

# Ultralytics' IMG_FORMATS (what it accepts as images), in the order a stem lookup prefers them
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp", ".dng", ".mpo",
                  ".pfm", ".heic")
_IMAGE_SUFFIX_SET = frozenset(IMAGE_SUFFIXES)


# --- finding image files ------------------------------------------------------------------------

class ImageFolder:
    """The folder a dataset's images live in; `find` / `find_stem` map a name from a label file to
    an image file in it.

    `root=None` means the dataset has no images folder: every lookup finds nothing ("no pixels").
    Lookups touch the file system only when called, never while boxes load without them.
    """

    def __init__(self, root: str | os.PathLike | None):
        self.root = None if root is None else Path(root)
        self._by_stem: dict[str, Path] | None = None

    def __repr__(self) -> str:
        return f"ImageFolder({str(self.root)!r})" if self.root is not None else "ImageFolder(None)"

    def find(self, name: str) -> Path | None:
        """The existing file for `name` (a path relative to the folder, as a label file names
        it), else the file of that base name directly in the folder, else None."""
        if self.root is None or not name:
            return None
        candidate = self.root / name
        if candidate.is_file():
            return candidate
        flat = self.root / Path(name.replace("\\", "/")).name
        return flat if flat.is_file() else None

    def find_stem(self, stem: str) -> Path | None:
        """The image file directly in the folder whose name is `stem` + an IMAGE_SUFFIXES suffix
        (any case; the earliest suffix in IMAGE_SUFFIXES wins), else None. The folder is listed
        once, on the first call."""
        if self.root is None or not stem:
            return None
        if self._by_stem is None:
            self._by_stem = _images_by_stem_in(self.root)
        return self._by_stem.get(stem)


def _images_by_stem_in(folder: Path) -> dict[str, Path]:
    """The image files directly in `folder` by stem, the preferred suffix for a repeated stem."""
    rank = {suffix: k for k, suffix in enumerate(IMAGE_SUFFIXES)}
    found: dict[str, Path] = {}
    try:
        entries = sorted(os.scandir(folder), key=lambda entry: entry.name)
    except OSError:  # no such folder, or not readable: nothing to find
        return found
    for entry in entries:
        stem, suffix = os.path.splitext(entry.name)
        suffix = suffix.lower()
        if suffix not in rank or not entry.is_file():
            continue
        if stem not in found or rank[suffix] < rank[found[stem].suffix.lower()]:
            found[stem] = Path(entry.path)
    return found


def locate_folder(option: str | os.PathLike, relative_to: str | os.PathLike) -> Path:
    """The folder an option such as `images=DIR` means: DIR itself when it is absolute or exists
    from the working directory, else `relative_to / DIR` when that exists (the dataset's folder),
    else DIR as given (which may not exist), so a SPEC works from anywhere."""
    path = Path(option).expanduser()
    if not path.is_absolute() and not path.is_dir():
        beside = Path(relative_to) / path
        if beside.is_dir():
            return beside
    return path


def resolve_folder(option: str | None, relative_to: str | os.PathLike) -> ImageFolder:
    """The images folder named by an optional SPEC option (see `locate_folder`); no option means
    no images. A folder that does not exist is kept and simply finds nothing."""
    if option is None or option == "":
        return ImageFolder(None)
    return ImageFolder(locate_folder(option, relative_to))


def files_under(directory: str | os.PathLike, suffixes: frozenset[str]) -> list[str]:
    """Paths (str, sorted) of the files under `directory`, recursively, whose lower-case suffix
    is in `suffixes` (os.walk + strings: much faster than sorting pathlib objects)."""
    found = []
    for folder, _, names in os.walk(directory):
        found.extend(os.path.join(folder, name) for name in names
                     if os.path.splitext(name)[1].lower() in suffixes)
    found.sort()
    return found


def list_images(directory: str | os.PathLike) -> list[Path]:
    """Image files (IMAGE_SUFFIXES, any case) under `directory`, recursively, sorted by path."""
    return [Path(p) for p in files_under(directory, _IMAGE_SUFFIX_SET)]


def images_by_stem(directory: str | os.PathLike) -> dict[str, Path]:
    """Image files under `directory` (recursively) keyed by stem, for matching label files by
    name; InputError when two share a stem (the match would be ambiguous)."""
    found: dict[str, Path] = {}
    for path in list_images(directory):
        if path.stem in found:
            raise InputError(f"two images share the stem {path.stem!r} ({found[path.stem]} and "
                             f"{path}), so labels cannot be matched to them by name",
                             file=os.fspath(directory))
        found[path.stem] = path
    return found


# --- sizes and pixels ---------------------------------------------------------------------------

def read_image_size(path: str | os.PathLike) -> tuple[int, int]:
    """`(height, width)` of an image file as displayed (EXIF orientation applied), read from its
    header only (no pixel decode).

    InputError (naming the file) if it is missing, cannot be read or its format is unknown.
    """
    file = os.fspath(path)
    try:
        width, height = imagesize.get(file)
    except FileNotFoundError:
        raise InputError("cannot read the image size: image file not found", file=file) from None
    except (OSError, ValueError, IndexError) as error:  # imagesize raises these on bad headers
        raise InputError(f"cannot read the image size: {error}", file=file) from None
    if width <= 0 or height <= 0:
        raise InputError("cannot read the image size: unknown or damaged image header (not an "
                         "image, or truncated)", file=file)
    return int(height), int(width)


def size_from_image_file(path: Path | None, lacking: str, no_file: str, *, file: str,
                         record: str) -> tuple[int, int]:
    """`(height, width)` from the header of the image behind an annotation record that gives no
    size. InputError naming the annotation `file` and `record` (not the image) when `path` is
    None (`no_file` says why) or its header cannot tell; `lacking` says what the record lacks."""
    if path is None:
        raise InputError(f"{lacking}, and {no_file}", file=file, record=record)
    try:
        return read_image_size(path)
    except InputError as error:
        raise InputError(f"{lacking}, and its image {os.fspath(path)!r} is unreadable: "
                         f"{error.problem}", file=file, record=record) from None


def read_luminance(image_file: str | os.PathLike | BinaryIO, *, name: str | None = None
                   ) -> np.ndarray:
    """The (H, W) float32 pixels of an image file (a path, or an open binary file such as encoded
    bytes in a BytesIO) as displayed (EXIF orientation applied): grey values as stored (8-bit
    0..255, 16-bit 0..65535, float images unchanged), colour converted to BT.601 luminance, alpha
    dropped.

    InputError naming the file (or `name`) if the file is missing or cannot be decoded.
    """
    from PIL import Image, ImageOps, UnidentifiedImageError  # Pillow only when pixels are wanted

    file = name or (os.fspath(image_file) if isinstance(image_file, str | os.PathLike)
                    else "image")
    try:
        with Image.open(image_file) as image:
            image.load()
            image = ImageOps.exif_transpose(image)
            mode = image.mode
            if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F", "L"):
                pixels = np.asarray(image, dtype=np.float32)
            elif mode in ("1", "LA", "La"):
                pixels = np.asarray(image.convert("L"), dtype=np.float32)
            else:  # RGB, RGBA, P, CMYK, YCbCr, ...: luminance of the RGB rendering
                pixels = to_luminance(np.asarray(image.convert("RGB")))
    except FileNotFoundError:
        raise InputError("image file not found", file=file) from None
    except (OSError, UnidentifiedImageError, ValueError, Image.DecompressionBombError) as error:
        raise InputError(f"cannot decode the image: {error}", file=file) from None
    return np.ascontiguousarray(pixels.reshape(pixels.shape[:2]), dtype=np.float32)


def image_pixels(images: Sequence, image_index: int,
                 find: Callable[[Any], Path | None] | None = None) -> np.ndarray | None:
    """`Source.pixels` of a file-based source that keeps one entry per loaded image: an image
    path (or None), or a name that `find` turns into one. The luminance of image `image_index`,
    None when it has no file (or the file is gone); IndexError for an index outside `images`."""
    if not 0 <= image_index < len(images):
        raise IndexError(f"image {image_index} out of range 0..{len(images) - 1}")
    path = images[image_index] if find is None else find(images[image_index])
    if path is None or not Path(path).is_file():
        return None
    return read_luminance(path)


def missing_image_reason(path: Path | None, looked_for: str) -> str:
    """Why an image-file source has no pixels for an image: `path` is the file it resolved to
    (None: none), `looked_for` says what it searched."""
    if path is None:
        return f"no image file found: looked for {looked_for}"
    return f"image file not found: {path}"


# --- label text files ---------------------------------------------------------------------------

def read_label_text(path: str | os.PathLike) -> str | None:
    """A text file's content (UTF-8, BOM tolerated, any newline read as "\\n"), or None when the
    file does not exist (e.g. an image without a label file has no boxes); InputError naming the
    file when it cannot be read or is not UTF-8."""
    file = os.fspath(path)
    try:
        with open(file, encoding="utf-8-sig") as handle:
            return handle.read()
    except FileNotFoundError:
        return None
    except UnicodeDecodeError as error:
        raise InputError(f"not UTF-8 text ({error.reason} at byte {error.start})",
                         file=file) from error
    except OSError as error:
        raise InputError(f"cannot read the file: {error.strerror or error}", file=file) from error


def read_text(path: str | os.PathLike) -> str:
    """A required text file's content (as `read_label_text`), InputError when it is missing."""
    text = read_label_text(path)
    if text is None:
        raise InputError("file not found", file=os.fspath(path))
    return text
