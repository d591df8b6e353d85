"""The canonical anchor config (docs/frameworks.md): validated loading and atomic saving,
defaults, presets.

`aspect_ratios` are always width / height here, in memory and in the UI; `core.frameworks`
translates them into each framework's own convention. Optional keys (`center_offset`, `clip`,
`low_quality_matches`) are None when the framework default applies.
"""

from __future__ import annotations

import dataclasses
import difflib
import itertools
import json
import math
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.coverage.layout import ARGMAX
from core.errors import InputError
from core.family_config import FAMILIES, FamilyConfig, family_from_dict, family_to_dict
from core.frameworks import FRAMEWORKS, common_anchor_size, is_octave_scales

FORMAT = "anchor-inspector/1"
REQUIRED_KEYS = ("format", "framework", "levels", "strides", "sizes", "scales", "aspect_ratios",
                 "positive_iou", "negative_iou")
OPTIONAL_KEYS = ("center_offset", "clip", "low_quality_matches")
PRESETS_DIR = Path(__file__).resolve().parent.parent / "resources" / "presets"
FRAMEWORK_PRESETS = {name: "keras-retinanet" if name == "keras-retinanet" else f"{name}-retinanet"
                     for name in FRAMEWORKS}
"""The preset holding each framework's RetinaNet defaults (equal to `default_config(name)`)."""


@dataclass(frozen=True)
class AnchorConfig:
    """One anchor setup: per level (levels[l], strides[l], sizes[l]) and shared scales and
    aspect ratios (width / height); anchors of level l have sizes[l] * scale for each scale."""

    framework: str
    levels: tuple[int, ...]
    strides: tuple[float, ...]
    sizes: tuple[float, ...]
    scales: tuple[float, ...]
    aspect_ratios: tuple[float, ...]  # width / height
    positive_iou: float
    negative_iou: float
    center_offset: float | None = None  # fraction of the stride; None = framework default
    clip: bool | None = None
    low_quality_matches: bool | None = None

    @property
    def anchors_per_location(self) -> int:
        return len(self.scales) * len(self.aspect_ratios)

    def replace(self, **changes: Any) -> AnchorConfig:
        """A copy with `changes` applied and validated (InputError on a bad value)."""
        return config_from_dict({**config_to_dict(dataclasses.replace(self, **changes))})


# --------------------------------------------------------------------------- validation


def _show(value: Any) -> str:
    return json.dumps(value, default=str)


def _fail(problem: str, source: str | None, key: str | None = None) -> InputError:
    return InputError(problem, file=source, record=f"key '{key}'" if key else None)


def _number(value: Any, key: str, source: str | None) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _fail(f"must be a number, got {_show(value)}", source, key)
    if not math.isfinite(value):
        raise _fail(f"must be finite, got {value}", source, key)
    return float(value)


def _positive_list(value: Any, key: str, source: str | None) -> tuple[float, ...]:
    if not isinstance(value, (list, tuple)) or not value:
        raise _fail(f"must be a non-empty list of positive numbers, got {_show(value)}",
                    source, key)
    numbers = tuple(_number(v, key, source) for v in value)
    bad = [v for v in numbers if v <= 0]
    if bad:
        raise _fail(f"must be positive, got {bad[0]:g}", source, key)
    return numbers


def _levels(value: Any, source: str | None) -> tuple[int, ...]:
    if not isinstance(value, (list, tuple)) or not value:
        raise _fail(f"must be a non-empty list of integers, got {_show(value)}",
                    source, "levels")
    levels = []
    for v in value:
        if isinstance(v, bool) or not isinstance(v, (int, float)) or v != int(v) or v < 0:
            raise _fail(f"must be non-negative integers, got {_show(v)}", source, "levels")
        levels.append(int(v))
    if len(set(levels)) != len(levels):
        raise _fail(f"must be distinct, got {levels}", source, "levels")
    return tuple(levels)


def _flag(value: Any, key: str, source: str | None) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    raise _fail(f"must be true, false or null, got {_show(value)}", source, key)


def config_from_dict(d: Any, source: str = "config") -> AnchorConfig:
    """Validate a canonical config dict; InputError naming `source`, the key and the problem."""
    if not isinstance(d, dict):
        raise _fail(f"must be a JSON object, got {type(d).__name__}", source)
    if d.get("framework") in FAMILIES:
        raise _fail(f"{d['framework']} is a detector family (docs/families.md): this needs a "
                    f"RetinaNet-style config (frameworks: {', '.join(FRAMEWORKS)})", source,
                    "framework")
    unknown = [k for k in d if k not in REQUIRED_KEYS + OPTIONAL_KEYS]
    if unknown:
        close = difflib.get_close_matches(str(unknown[0]), REQUIRED_KEYS + OPTIONAL_KEYS, n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else \
            f"; allowed: {', '.join(REQUIRED_KEYS + OPTIONAL_KEYS)}"
        raise _fail(f"unknown key{hint}", source, str(unknown[0]))
    missing = [k for k in REQUIRED_KEYS if k not in d]
    if missing:
        raise _fail("missing", source, missing[0])
    if d["format"] != FORMAT:
        raise _fail(f"must be {FORMAT!r}, got {_show(d['format'])}", source, "format")
    if d["framework"] not in FRAMEWORKS:
        raise _fail(f"unknown framework {_show(d['framework'])}; known: "
                    f"{', '.join(FRAMEWORKS)}", source, "framework")
    levels = _levels(d["levels"], source)
    strides = _positive_list(d["strides"], "strides", source)
    sizes = _positive_list(d["sizes"], "sizes", source)
    for key, values in (("strides", strides), ("sizes", sizes)):
        if len(values) != len(levels):
            raise _fail(f"has {len(values)} values but levels has {len(levels)}", source, key)
    scales = _positive_list(d["scales"], "scales", source)
    ratios = _positive_list(d["aspect_ratios"], "aspect_ratios", source)
    thresholds = {}
    for key in ("positive_iou", "negative_iou"):
        value = _number(d[key], key, source)
        if not 0.0 < value <= 1.0:
            raise _fail(f"must be in (0, 1], got {value:g}", source, key)
        thresholds[key] = value
    if thresholds["negative_iou"] > thresholds["positive_iou"]:
        raise _fail(f"must not exceed positive_iou ({thresholds['positive_iou']:g}), got "
                    f"{thresholds['negative_iou']:g}", source, "negative_iou")
    offset = d.get("center_offset")
    if offset is not None:
        offset = _number(offset, "center_offset", source)
    config = AnchorConfig(
        framework=d["framework"], levels=levels, strides=strides, sizes=sizes, scales=scales,
        aspect_ratios=ratios, positive_iou=thresholds["positive_iou"],
        negative_iou=thresholds["negative_iou"], center_offset=offset,
        clip=_flag(d.get("clip"), "clip", source),
        low_quality_matches=_flag(d.get("low_quality_matches"), "low_quality_matches", source),
    )
    check_overrides(config, source)
    return config


def any_config_from_dict(d: Any, source: str = "config") -> AnchorConfig | FamilyConfig:
    """A RetinaNet-style config or a detector family's (by its `framework`)."""
    if isinstance(d, dict) and d.get("framework") in FAMILIES:
        return family_from_dict(d, source)
    return config_from_dict(d, source)


def _plain(value: float) -> int | float:
    """Integral floats as ints, so sizes and strides read as 32, not 32.0."""
    return int(value) if float(value).is_integer() else float(value)


def config_to_dict(config: AnchorConfig) -> dict[str, Any]:
    """The canonical dict, keys in canonical order; optional keys only when set."""
    d: dict[str, Any] = {
        "format": FORMAT,
        "framework": config.framework,
        "levels": [int(v) for v in config.levels],
        "strides": [_plain(v) for v in config.strides],
        "sizes": [_plain(v) for v in config.sizes],
        "scales": [float(v) for v in config.scales],
        "aspect_ratios": [float(v) for v in config.aspect_ratios],
        "positive_iou": float(config.positive_iou),
        "negative_iou": float(config.negative_iou),
    }
    for key in OPTIONAL_KEYS:
        value = getattr(config, key)
        if value is not None:
            d[key] = value
    return d


def default_config(framework: str = "keras-cv") -> AnchorConfig:
    """The framework's own RetinaNet defaults in canonical form (ratios converted to w/h, in the
    framework's per-location order)."""
    if framework not in FRAMEWORKS:
        raise InputError(f"unknown framework {framework!r}; known: {', '.join(FRAMEWORKS)}")
    fw = FRAMEWORKS[framework]
    return AnchorConfig(
        framework=framework, levels=tuple(fw.defaults["levels"]),
        strides=tuple(float(v) for v in fw.defaults["strides"]),
        sizes=tuple(float(v) for v in fw.defaults["sizes"]),
        scales=tuple(float(v) for v in fw.defaults["scales"]),
        aspect_ratios=tuple(float(v) for v in fw.defaults["aspect_ratios"]),
        positive_iou=fw.positive_iou, negative_iou=fw.negative_iou,
    )


def with_framework(config: AnchorConfig, framework: str) -> AnchorConfig:
    """The same anchors under another framework, dropping overrides the new one cannot do."""
    if framework not in FRAMEWORKS:
        raise InputError(f"unknown framework {framework!r}; known: {', '.join(FRAMEWORKS)}")
    moved = dataclasses.replace(config, framework=framework)
    for key, _ in override_problems(moved):
        moved = dataclasses.replace(moved, **{key: None})
    return moved


# --------------------------------------------------------------------------- files


def _is_yaml_name(path: Path) -> bool:
    return path.suffix.lower() in (".yaml", ".yml")


def _parse_yaml(text: str, source: str) -> Any:
    import yaml

    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"line {mark.line + 1} column {mark.column + 1}: " if mark else ""
        problem = getattr(error, "problem", None) or str(error).splitlines()[0]
        raise InputError(f"invalid YAML: {where}{problem}", file=source) from None


def parse_config_text(text: str, source: str = "config", yaml_syntax: bool | None = None) -> Any:
    """Parse JSON (or YAML when `yaml_syntax`, or when None and the text is not a JSON object)."""
    if yaml_syntax:
        return _parse_yaml(text, source)
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        if yaml_syntax is None and not text.lstrip().startswith(("{", "[")):
            return _parse_yaml(text, source)
        raise InputError(f"invalid JSON: line {error.lineno} column {error.colno}: {error.msg}",
                         file=source) from None


def load_config(path: str | os.PathLike, families: bool = False) -> AnchorConfig:
    """Load and validate a config file: JSON, or YAML for .yaml/.yml or YAML-looking content.
    With `families`, a detector family's config (`FamilyConfig`) is accepted too."""
    path = Path(path)
    source = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError("no such file", file=source) from None
    except (OSError, UnicodeDecodeError) as error:
        raise InputError(f"cannot read: {error}", file=source) from None
    suffix = path.suffix.lower()
    yaml_syntax = True if _is_yaml_name(path) else (False if suffix == ".json" else None)
    parse = any_config_from_dict if families else config_from_dict
    return parse(parse_config_text(text, source, yaml_syntax), source=source)


def config_text(config: AnchorConfig | FamilyConfig, yaml_syntax: bool = False) -> str:
    """The config as canonical JSON (one key per line, lists inline) or YAML text."""
    d = family_to_dict(config) if isinstance(config, FamilyConfig) else config_to_dict(config)
    if yaml_syntax:
        import yaml

        return yaml.safe_dump(d, sort_keys=False, default_flow_style=None)
    lines = [f"  {json.dumps(k)}: {_show(v)}" for k, v in d.items()]
    return "{\n" + ",\n".join(lines) + "\n}\n"


def save_config(config: AnchorConfig | FamilyConfig, path: str | os.PathLike) -> None:
    """Write atomically (temp file in the same folder, then os.replace): YAML for .yaml/.yml,
    else JSON."""
    path = Path(path)
    text = config_text(config, yaml_syntax=_is_yaml_name(path))
    write_atomic(path, text.encode("utf-8"))


def _file_mode(path: Path) -> int:
    """Keep an existing file's permissions; new files get the usual 0o666 minus the umask."""
    try:
        return path.stat().st_mode & 0o777
    except OSError:
        return 0o666 & ~_UMASK


_UMASK = os.umask(0o022)
os.umask(_UMASK)


def write_atomic(path: str | os.PathLike, data: bytes) -> None:
    """Replace `path` with `data` so readers never see a half-written file."""
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    mode = _file_mode(path)
    handle, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(temp, mode)
        os.replace(temp, path)
    except BaseException:
        if os.path.exists(temp):
            os.unlink(temp)
        raise


# --------------------------------------------------------------------------- presets


def list_presets(families: bool = False) -> list[str]:
    """Names of the shipped presets (`resources/presets/NAME.json`); a detector family's preset
    is named after the family (`yolov5`, `fcos`, `atss`, `yolov8`) and listed with `families`."""
    return sorted(p.stem for p in PRESETS_DIR.glob("*.json")
                  if families or p.stem not in FAMILIES)


def load_preset(name: str, families: bool = False) -> AnchorConfig:
    """A shipped preset by name (e.g. 'keras-cv-retinanet', 'seed-notebook'; with `families`
    also 'yolov5', 'fcos', 'atss', 'yolov8')."""
    if name in FAMILIES and not families:
        raise InputError(f"preset {name!r} is a detector family (docs/families.md): this needs a "
                         "RetinaNet-style config")
    if name not in list_presets(families):
        raise InputError(f"unknown preset {name!r}; presets: "
                         f"{', '.join(list_presets(families))}")
    return load_config(PRESETS_DIR / f"{name}.json", families)


def resolve_config(spec: str | os.PathLike | None, families: bool = False) -> AnchorConfig:
    """A config from a file path or a preset name; None gives the keras-cv default. With
    `families`, detector-family configs and presets are accepted too."""
    if spec is None:
        return default_config("keras-cv")
    path = Path(spec)
    if path.exists() or path.suffix.lower() in (".json", ".yaml", ".yml"):
        return load_config(path, families)
    if str(spec) in list_presets(families=True):
        return load_preset(str(spec), families)
    raise InputError(f"no such file or preset; presets: {', '.join(list_presets(families))}",
                     file=str(spec))


# --------------------------------------------------------------------------- framework rules
# What a whole config means under its framework (the table's rules take plain values).


def level_shapes(config: AnchorConfig, level_index: int):
    """Level `level_index`'s per-location anchor shapes under the config's framework: (A, 4)
    offsets x1, y1, x2, y2 from the anchor centre, in the framework's order."""
    return FRAMEWORKS[config.framework].anchor_shapes(
        config.levels[level_index], config.sizes[level_index], config.scales,
        config.aspect_ratios)


def keras_hub_parameters(config: AnchorConfig) -> tuple[float, int] | None:
    """(anchor_size, num_scales) if keras-hub's AnchorGenerator can express the config's sizes and
    scales, else None."""
    anchor_size = common_anchor_size(config.levels, config.sizes)
    if anchor_size is None or not is_octave_scales(config.scales):
        return None
    return anchor_size, len(config.scales)


def override_problems(config: AnchorConfig) -> list[tuple[str, str]]:
    """(key, problem) for each optional override the config's framework cannot do."""
    fw = FRAMEWORKS[config.framework]
    problems = []
    offset = config.center_offset
    if offset is not None:
        limits = fw.center_offset_limits
        if limits is None:
            if offset != fw.center_offset:
                problems.append(("center_offset", f"{fw.label} fixes the centre offset at "
                                 f"{fw.center_offset:g} of the stride; got {offset:g}"))
        else:
            low, high, inclusive = limits
            if not (low <= offset and (offset <= high if inclusive else offset < high)):
                bracket = "]" if inclusive else ")"
                problems.append(("center_offset", f"must be in [{low:g}, {high:g}{bracket} for "
                                 f"{fw.label}; got {offset:g}"))
    if config.clip is not None and config.clip != fw.clip and not fw.clip_configurable:
        state = "always clips" if fw.clip else "never clips"
        problems.append(("clip", f"{fw.label} {state} anchors; clip={config.clip} "
                         "is not possible"))
    lq = config.low_quality_matches
    if lq is not None and lq != fw.low_quality_matches and not fw.low_quality_configurable:
        state = "always uses" if fw.low_quality_matches else "cannot use"
        problems.append(("low_quality_matches", f"{fw.label}'s RetinaNet {state} low-quality "
                         "(forced) matches"))
    return problems


def check_overrides(config: AnchorConfig, source: str | None = None) -> None:
    """Raise InputError naming the key if an override is impossible in the config's framework."""
    problems = override_problems(config)
    if problems:
        key, problem = problems[0]
        raise InputError(problem, file=source, record=f"key '{key}'")


def effective_center_offset(config: AnchorConfig) -> float:
    """Centre of the first anchor, as a fraction of the stride."""
    fw = FRAMEWORKS[config.framework]
    return fw.center_offset if config.center_offset is None else float(config.center_offset)


def effective_clip(config: AnchorConfig) -> bool:
    fw = FRAMEWORKS[config.framework]
    return fw.clip if config.clip is None else bool(config.clip)


def effective_low_quality(config: AnchorConfig) -> bool:
    fw = FRAMEWORKS[config.framework]
    return fw.low_quality_matches if config.low_quality_matches is None else \
        bool(config.low_quality_matches)


def matcher_for(config: AnchorConfig) -> str:
    """The matcher (one of MATCHERS) the config's framework uses, honouring `low_quality_matches`.
    InputError if the override is one the framework cannot do."""
    check_overrides(config)
    fw = FRAMEWORKS[config.framework]
    if effective_low_quality(config):
        assert fw.low_quality_matcher is not None
        return fw.low_quality_matcher
    return ARGMAX


def inexpressible_reasons(config: AnchorConfig) -> list[str]:
    """Why the config cannot be written for its framework exactly (empty list: it can)."""
    return FRAMEWORKS[config.framework].inexpressible_reasons(
        config.levels, config.strides, config.sizes, config.scales)


def head_compatibility(config: AnchorConfig) -> tuple[bool, str]:
    """(fits, note): whether the config's anchors per location match the framework's pretrained
    RetinaNet head, in words for reports and exports (docs/optimizer.md#the-detection-head)."""
    fw = FRAMEWORKS[config.framework]
    count, pretrained = config.anchors_per_location, fw.pretrained_anchors_per_location
    if count == pretrained:
        return True, (f"{count} anchors per location, as the pretrained {fw.label} RetinaNet "
                      "head: its pretrained weights load unchanged.")
    classification, regression = fw.head_output_layers
    return False, (f"{count} anchors per location, the pretrained {fw.label} RetinaNet head has "
                   f"{pretrained}: its classification and box-regression output convolutions "
                   f"({classification}, {regression}) change shape and are re-initialised; the "
                   "backbone, the FPN and the rest of the head still load their pretrained "
                   "weights.")


def sizes_out_of_order(config: AnchorConfig) -> str | None:
    """A note when the sizes do not increase with the level (finer levels with larger anchors):
    legal, but each level then serves another size band than usual (docs/optimizer.md)."""
    order = sorted(range(len(config.levels)), key=lambda i: config.strides[i])
    sizes = [config.sizes[i] for i in order]
    if all(a < b for a, b in itertools.pairwise(sizes)):
        return None
    return ("sizes do not increase with the level: levels now serve different size bands than "
            "the usual small-on-fine order (optimize --monotonic-sizes keeps them increasing)")
