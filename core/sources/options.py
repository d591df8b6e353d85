"""Query options of a dataset SPEC (`KIND:PATH?key=value&...`) shared by several sources.

Each helper reads one option from a parsed `SourceSpec` and raises InputError naming the SPEC and
the option when its value is unusable; an absent option gives None (or the caller's default).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from core.errors import InputError
from core.sources.base import SourceSpec
from core.sources.image_files import locate_folder


def check_options(spec: SourceSpec, known: tuple[str, ...], kind: str) -> None:
    """InputError for the first (alphabetically) option of `spec` that is not in `known`."""
    unknown = sorted(set(spec.options) - set(known))
    if unknown:
        raise InputError(f"unknown option {unknown[0]!r} for a {kind} dataset; known options: "
                         f"{', '.join(known)}", file=spec.text)


def parse_size_option(spec: SourceSpec) -> tuple[int, int] | None:
    """`size=WxH` (pixels, `x`, `X` or `×`) -> (height, width), or None when the option is
    absent."""
    if "size" not in spec.options:
        return None
    value = str(spec.options["size"])
    match = re.fullmatch(r"\s*(\d+)\s*[xX×]\s*(\d+)\s*", value)
    if not match or not (0 < int(match[1]) < 2**31 and 0 < int(match[2]) < 2**31):
        raise InputError(f"option 'size' must be WIDTHxHEIGHT in pixels, e.g. size=512x512, "
                         f"got {value!r}", file=spec.text)
    return int(match[2]), int(match[1])


def parse_classes_option(spec: SourceSpec) -> dict[int, str] | None:
    """`classes=a,b,c` -> {0: 'a', 1: 'b', 2: 'c'}, or None when the option is absent."""
    if "classes" not in spec.options:
        return None
    names = [name.strip() for name in str(spec.options["classes"]).split(",")]
    if not all(names) or len(set(names)) != len(names):
        raise InputError("option 'classes' must be distinct non-empty names separated by commas, "
                         f"got {spec.options['classes']!r}", file=spec.text)
    return dict(enumerate(names))


def folder_option(spec: SourceSpec, name: str, beside: str | os.PathLike) -> Path:
    """An existing folder named by option `name` (e.g. `images=DIR`), found as `locate_folder`
    finds it (working directory first, else beside the dataset); InputError when there is none.
    """
    path = locate_folder(str(spec.options[name]), beside)
    if not path.is_dir():
        raise InputError(f"option {name!r}: no such folder {os.fspath(path)!r}", file=spec.text)
    return path
