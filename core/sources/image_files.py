"""Image files behind file-based sources (COCO, YOLO, VOC): find them, size them, read pixels.

Sizes come from the file header (`imagesize`, no decode), so loading boxes stays fast; pixels are
decoded with Pillow only when an image is shown. Sizes are `(height, width)` in pixels.
"""

from __future__ import annotations

import os
from pathlib import Path

import imagesize
import numpy as np

from core.errors import InputError

# suffixes tried, in this order, when an image is looked up by its stem (YOLO/VOC label files)
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp", ".gif")

# ITU-R BT.601 luma weights (what Pillow's convert("L") uses), for R, G, B
LUMA_WEIGHTS = np.array([0.299, 0.587, 0.114], np.float32)


class ImageFolder:
    """The folder a dataset's images live in; `find` maps a name from a label file to a file.

    `root=None` means the dataset has no images folder: every lookup finds nothing ("no pixels").
    Lookups touch the file system only when called, never while boxes load.
    """

    def __init__(self, root: str | os.PathLike | None):
        self.root = None if root is None else Path(root)

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
        """The existing file `stem` + one of IMAGE_SUFFIXES (lower or upper case), else None."""
        if self.root is None or not stem:
            return None
        for suffix in IMAGE_SUFFIXES:
            for variant in (suffix, suffix.upper()):
                candidate = self.root / f"{stem}{variant}"
                if candidate.is_file():
                    return candidate
        return None


def resolve_folder(option: str | None, relative_to: str | os.PathLike) -> ImageFolder:
    """The images folder named by a SPEC option such as `images=DIR`.

    A relative DIR is taken from the working directory when it exists there, else from the
    folder `relative_to` (the label file's folder), so specs work from anywhere.
    """
    if option is None or option == "":
        return ImageFolder(None)
    path = Path(str(option)).expanduser()
    if not path.is_absolute() and not path.is_dir():
        beside = Path(relative_to) / path
        if beside.is_dir():
            return ImageFolder(beside)
    return ImageFolder(path)


def read_image_size(path: str | os.PathLike) -> tuple[int, int]:
    """`(height, width)` of an image file read from its header only (no pixel decode).

    InputError (naming the file) if it cannot be read or its format is not recognised.
    """
    try:
        width, height = imagesize.get(os.fspath(path))
    except (OSError, ValueError, IndexError) as error:  # imagesize raises these on bad headers
        raise InputError(f"cannot read the image size: {error}", file=os.fspath(path)) from None
    if width <= 0 or height <= 0:
        raise InputError("cannot read the image size: unknown or damaged image header",
                         file=os.fspath(path))
    return int(height), int(width)


def read_luminance(path: str | os.PathLike) -> np.ndarray:
    """The (H, W) float32 pixels of an image file: grey values as stored (8-bit 0..255, 16-bit
    0..65535, float images unchanged), colour converted to BT.601 luminance, alpha dropped.

    InputError (naming the file) if the file is missing or cannot be decoded.
    """
    from PIL import Image, UnidentifiedImageError  # Pillow only when pixels are wanted

    try:
        with Image.open(path) as image:
            image.load()
            mode = image.mode
            if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F", "L"):
                pixels = np.asarray(image, dtype=np.float32)
            elif mode in ("1", "LA", "La"):
                pixels = np.asarray(image.convert("L"), dtype=np.float32)
            else:  # RGB, RGBA, P, CMYK, YCbCr, ...: luminance of the RGB rendering
                rgb = np.asarray(image.convert("RGB"), dtype=np.float32)
                pixels = rgb @ LUMA_WEIGHTS
    except FileNotFoundError:
        raise InputError("image file not found", file=os.fspath(path)) from None
    except (OSError, UnidentifiedImageError, ValueError, Image.DecompressionBombError) as error:
        raise InputError(f"cannot decode the image: {error}", file=os.fspath(path)) from None
    return np.ascontiguousarray(pixels.reshape(pixels.shape[:2]), dtype=np.float32)
