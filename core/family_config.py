"""Configs of the detector families whose positives come from static geometry rather than an IoU
matcher over a RetinaNet anchor grid (docs/families.md): YOLOv5 anchors, FCOS, ATSS and YOLOv8's
candidate stage. One table, `FAMILIES`, holds what differs between them: the parameters, their
file keys, the real code each rule was checked in and what a "positive" counts.

The file format is the canonical one (`format`, `framework`) with the family's own keys, e.g.
`{"format": "anchor-inspector/1", "framework": "yolov5", "strides": [8, 16, 32],
"anchors": [[[10, 13], [16, 30], [33, 23]], ...], "anchor_t": 4.0}`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from core.assigners import atss, fcos, yolov5, yolov8
from core.errors import InputError

FORMAT = "anchor-inspector/1"


@dataclass(frozen=True)
class Family:
    """One row of the family table. `keys` maps file keys to parameter fields with a parser;
    `positives` says what the real code counts as a box's positives; `sources` the files and
    functions each rule was checked in (tests/fixtures/assigners)."""

    name: str
    label: str
    params: type
    assigner: Any  # the module with assign_image(boxes, image_hw, params)
    keys: dict[str, Callable[[Any, str], Any]]
    positives: str
    sources: tuple[str, ...]
    note: str = ""


@dataclass(frozen=True)
class FamilyConfig:
    """A family (`framework`, a key of FAMILIES) and its parameters (that family's dataclass)."""

    framework: str
    params: Any

    @property
    def family(self) -> Family:
        return FAMILIES[self.framework]

    @property
    def anchors_per_location(self) -> int:
        """Anchors (or points) per grid location and level: YOLOv5's anchors per level, else 1."""
        if isinstance(self.params, yolov5.Yolov5Params):
            return len(self.params.anchors[0])
        return 1


# --------------------------------------------------------------------------- value parsers


def _fail(problem: str, source: str, key: str) -> InputError:
    return InputError(f"{key}: {problem}", file=source)


def _positive(value: Any, key: str, source: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        raise _fail(f"must be a positive number, got {value!r}", source, key)
    return float(value)


def _positive_tuple(value: Any, key: str, source: str) -> tuple[float, ...]:
    if not isinstance(value, list | tuple) or not value:
        raise _fail(f"must be a non-empty list of positive numbers, got {value!r}", source, key)
    return tuple(_positive(v, key, source) for v in value)


def _int_tuple(value: Any, key: str, source: str) -> tuple[int, ...]:
    values = _positive_tuple(value, key, source)
    if any(not v.is_integer() for v in values):
        raise _fail(f"must be whole numbers, got {value!r}", source, key)
    return tuple(int(v) for v in values)


def _count(value: Any, key: str, source: str) -> int:
    number = _positive(value, key, source)
    if not number.is_integer():
        raise _fail(f"must be a whole number, got {value!r}", source, key)
    return int(number)


def _anchor_pairs(value: Any, key: str, source: str) -> tuple[tuple[tuple[float, float], ...], ...]:
    """Per level a list of [w, h] pairs (pixels), or per level a flat [w, h, w, h, ...] list as
    a YOLOv5 model yaml writes them."""
    if not isinstance(value, list | tuple) or not value:
        raise _fail("must be a list of levels, each a list of [w, h] pairs", source, key)
    levels = []
    for level in value:
        if not isinstance(level, list | tuple) or not level:
            raise _fail(f"each level must be a list of [w, h] pairs, got {level!r}", source, key)
        if all(isinstance(v, list | tuple) for v in level):
            flat = [v for pair in level for v in pair]
            if any(len(pair) != 2 for pair in level):
                raise _fail(f"each anchor must be a [w, h] pair, got {level!r}", source, key)
        else:
            flat = list(level)
            if len(flat) % 2:
                raise _fail(f"a flat level needs w, h pairs, got {level!r}", source, key)
        numbers = [_positive(v, key, source) for v in flat]
        levels.append(tuple(zip(numbers[::2], numbers[1::2], strict=True)))
    if len({len(level) for level in levels}) > 1:
        raise _fail("every level needs the same number of anchors (YOLOv5's head)", source, key)
    return tuple(levels)


def _semantics(value: Any, key: str, source: str) -> str:
    if value in yolov8.YOLOV8_SEMANTICS:
        return str(value)
    try:
        return yolov8.semantics_for_version(str(value))
    except ValueError:
        raise _fail(f"must be one of {', '.join(yolov8.YOLOV8_SEMANTICS)} or an ultralytics "
                    f"version, got {value!r}", source, key) from None


def _real(value: Any, key: str, source: str) -> float:
    return _positive(value, key, source)


FAMILIES: dict[str, Family] = {
    family.name: family
    for family in (
        Family(
            name="yolov5", label="YOLOv5 (ultralytics)", params=yolov5.Yolov5Params,
            assigner=yolov5,
            keys={"strides": _int_tuple, "anchors": _anchor_pairs, "anchor_t": _real},
            positives="build_targets entries: (level, anchor, cell) triples, the box's cell and "
                      "up to two neighbour cells for every anchor within anchor_t",
            sources=("yolov5/utils/loss.py ComputeLoss.build_targets",
                     "yolov5/utils/autoanchor.py check_anchors (metric), check_anchor_order"),
        ),
        Family(
            name="fcos", label="FCOS (torchvision)", params=fcos.FcosParams, assigner=fcos,
            keys={"levels": _int_tuple, "anchor_sizes": _positive_tuple,
                  "center_sampling_radius": _real},
            positives="anchor points assigned to the box (matched_idxs)",
            sources=("torchvision/models/detection/fcos.py FCOS.compute_loss",
                     "torchvision/models/detection/anchor_utils.py AnchorGenerator"),
        ),
        Family(
            name="atss", label="ATSS (mmdet)", params=atss.AtssParams, assigner=atss,
            keys={"strides": _int_tuple, "octave_base_scale": _real, "topk": _count},
            positives="anchors assigned to the box (assigned_gt_inds)",
            sources=("mmdet/models/task_modules/assigners/atss_assigner.py ATSSAssigner.assign",
                     "mmdet/models/task_modules/prior_generators/anchor_generator.py"),
        ),
        Family(
            name="yolov8", label="YOLOv8 candidates (ultralytics)", params=yolov8.Yolov8Params,
            assigner=yolov8, keys={"strides": _int_tuple, "semantics": _semantics},
            positives="candidate anchor points (a necessary condition: the task-aligned "
                      "assignment then picks at most topk of them)",
            sources=("ultralytics/utils/tal.py TaskAlignedAssigner.select_candidates_in_gts",
                     "ultralytics/utils/tal.py make_anchors"),
            note="recall = boxes with at least one candidate point: necessary for a positive, "
                 "not the full task-aligned assignment",
        ),
    )
}


def is_family(framework: str) -> bool:
    return framework in FAMILIES


def family_from_dict(d: dict, source: str = "config") -> FamilyConfig:
    """Validate a family config dict (`format`, `framework` and the family's keys, each optional:
    missing keys take the family's defaults); InputError naming `source`, the key and the
    problem."""
    family = FAMILIES[d["framework"]]
    allowed = ("format", "framework", *family.keys)
    unknown = [key for key in d if key not in allowed]
    if unknown:
        raise _fail(f"unknown key for framework {family.name}; allowed: {', '.join(allowed)}",
                    source, str(unknown[0]))
    if d.get("format") != FORMAT:
        raise _fail(f"must be {FORMAT!r}, got {d.get('format')!r}", source, "format")
    values = {key: parse(d[key], key, source) for key, parse in family.keys.items() if key in d}
    try:
        params = family.params(**values)
    except (TypeError, ValueError) as error:
        raise InputError(str(error), file=source) from None
    return FamilyConfig(family.name, params)


def family_to_dict(config: FamilyConfig) -> dict[str, Any]:
    """The canonical dict of a family config (every key written)."""
    d: dict[str, Any] = {"format": FORMAT, "framework": config.framework}
    for key in config.family.keys:
        value = getattr(config.params, key)
        d[key] = _plain(value)
    return d


def _plain(value: Any) -> Any:
    """Tuples as lists, integral floats as ints (sizes read as 32, not 32.0)."""
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def default_family_config(framework: str) -> FamilyConfig:
    """The family's own defaults (yolov5s anchors at 640; torchvision fcos_resnet50_fpn; mmdet
    atss_r50_fpn; ultralytics' strides with the newest candidate rule)."""
    return FamilyConfig(framework, FAMILIES[framework].params())


def with_params(config: FamilyConfig, **changes: Any) -> FamilyConfig:
    return FamilyConfig(config.framework, dataclasses.replace(config.params, **changes))
