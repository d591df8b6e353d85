"""Query options of a dataset SPEC (`KIND:PATH?key=value&...`) shared by several sources.

Each helper reads one option from a parsed `SourceSpec` and raises InputError naming the SPEC and
the option when its value is unusable; an absent option gives None (or the caller's default).
"""

from __future__ import annotations

import dataclasses
import math
import os
import re
from pathlib import Path

from core.errors import InputError
from core.sources.base import SourceSpec
from core.sources.image_files import locate_folder
from core.units import PixelScale

# physical units of the pixels, taken by `open_source` for every kind whose source does not know
# them itself (docs/datasets.md, "Physical units"); option -> (PixelScale field, meaning)
UNIT_OPTIONS = {
    "hz_per_row": ("hertz_per_row", "hertz per image row, a positive number"),
    "s_per_col": ("seconds_per_column", "seconds per image column, a positive number"),
    "f0": ("frequency_of_row0", "hertz at the upper edge of the top row, a number"),
}


def check_options(spec: SourceSpec, known: tuple[str, ...], kind: str,
                  units: bool = True) -> None:
    """InputError for the first (alphabetically) option of `spec` that is not in `known`; the
    message also names the unit options when the kind takes them (`units`)."""
    unknown = sorted(set(spec.options) - set(known))
    if unknown:
        also = f" (and {', '.join(UNIT_OPTIONS)} for physical units)" if units else ""
        raise InputError(f"unknown option {unknown[0]!r} for a {kind} dataset; known options: "
                         f"{', '.join(known) or 'none'}{also}", file=spec.text)


def split_unit_options(spec: SourceSpec) -> tuple[SourceSpec, PixelScale | None]:
    """`spec` without the unit options, and the `PixelScale` they give (None when there are
    none). InputError naming the option for a value that is not a finite number (`hz_per_row`
    and `s_per_col` also positive) and for `f0` without `hz_per_row`."""
    given = {name: value for name, value in spec.options.items() if name in UNIT_OPTIONS}
    if not given:
        return spec, None
    fields = {}
    for name, value in given.items():
        field, meaning = UNIT_OPTIONS[name]
        positive = name != "f0"
        if (type(value) not in (int, float) or not math.isfinite(value)
                or (positive and not value > 0)):
            raise InputError(f"option {name!r} must be {meaning}, got {value!r}", file=spec.text)
        fields[field] = float(value)
    if "f0" in given and "hz_per_row" not in given:
        raise InputError("option 'f0' needs 'hz_per_row' (the frequency step between rows)",
                         file=spec.text)
    rest = {name: value for name, value in spec.options.items() if name not in UNIT_OPTIONS}
    return dataclasses.replace(spec, options=rest), PixelScale(**fields)


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
