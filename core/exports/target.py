"""What every framework exporter shares: the refusal of configs a framework cannot express (with
the nearest config it can), the "nearest" fixes, the comment header and number formatting.

An `ExportTarget` is declarative: which framework row of `core.frameworks.FRAMEWORKS` it writes
for, which extra expressibility checks its file format needs beyond the table, which fixes turn
any config into the nearest expressible one, and the function that renders the text.
"""

from __future__ import annotations

import dataclasses
import json
import math
import textwrap
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from core.anchor_config import (
    FORMAT,
    AnchorConfig,
    config_from_dict,
    config_to_dict,
    head_compatibility,
    inexpressible_reasons,
    override_problems,
)
from core.errors import InputError
from core.frameworks import FRAMEWORKS, ratios_in_convention

Reasons = Callable[[AnchorConfig], list[str]]
Fix = Callable[[AnchorConfig], AnchorConfig]


@dataclass(frozen=True)
class ExportTarget:
    """One export format for one framework.

    `render(config, tuned_for)` gets the config already moved to `framework` and known to be
    expressible, and the framework the config was tuned for (for the header's note).
    `extra_reasons` are checks the table does not hold (e.g. what one file format cannot say);
    `fixes`, applied in order, turn any config into the nearest one `framework` can express
    (each must leave an expressible config unchanged).
    """

    name: str
    framework: str
    suffix: str
    render: Callable[[AnchorConfig, str], str]
    extra_reasons: tuple[Reasons, ...] = ()
    fixes: tuple[Fix, ...] = ()

    def problems(self, config: AnchorConfig) -> list[str]:
        """Why `config` cannot be exported to this target exactly (empty: it can)."""
        moved = in_framework(config, self.framework)
        reasons = [f"{key}: {problem}" for key, problem in override_problems(moved)]
        reasons += inexpressible_reasons(moved)
        for check in self.extra_reasons:
            reasons += check(moved)
        return reasons

    def nearest(self, config: AnchorConfig) -> AnchorConfig:
        """The nearest config this target can express (the config itself if it can)."""
        moved = drop_impossible_overrides(in_framework(config, self.framework))
        for fix in self.fixes:
            moved = fix(moved)
        return config_from_dict(config_to_dict(moved), source="nearest expressible config")

    def export(self, config: AnchorConfig) -> str:
        """The target's text for `config`; InputError saying why and offering the nearest
        expressible config when the framework cannot express it."""
        problems = self.problems(config)
        if problems:
            suggestion = json.dumps(config_to_dict(self.nearest(config)))
            raise InputError(f"cannot export to {self.name}: {'; '.join(problems)}. "
                             f"Nearest expressible config: {suggestion}")
        return self.render(in_framework(config, self.framework), config.framework)


def in_framework(config: AnchorConfig, framework: str) -> AnchorConfig:
    """The same anchor settings read by `framework`, overrides kept (so impossible ones show)."""
    return config if config.framework == framework else \
        dataclasses.replace(config, framework=framework)


# --------------------------------------------------------------------------- checks and fixes


def drop_impossible_overrides(config: AnchorConfig) -> AnchorConfig:
    """Back to the framework default for every override the framework cannot do."""
    for key, _ in override_problems(config):
        config = dataclasses.replace(config, **{key: None})
    return config


def _power_of_two_exponent(value: float) -> int | None:
    exponent = round(math.log2(value)) if value > 0 else None
    return exponent if exponent is not None and exponent >= 0 and 2.0**exponent == value else None


def strides_are_backbone_downsampling(config: AnchorConfig) -> list[str]:
    """For frameworks whose feature maps come from the network: stride must be 2**level."""
    bad = [f"level {lv}: stride {s:g} != 2**{lv}"
           for lv, s in zip(config.levels, config.strides, strict=True) if s != 2.0**lv]
    return [f"the backbone fixes stride = 2**level ({'; '.join(bad)})"] if bad else []


def strides_as_powers_of_two(config: AnchorConfig) -> AnchorConfig:
    """stride = 2**level: levels follow the strides when those are distinct powers of two (the
    anchors stay the same), else strides follow the levels."""
    exponents = [_power_of_two_exponent(s) for s in config.strides]
    if None not in exponents and len(set(exponents)) == len(exponents):
        levels = tuple(int(e) for e in exponents)  # type: ignore[arg-type]
        return dataclasses.replace(config, levels=levels)
    return dataclasses.replace(config, strides=tuple(2.0**lv for lv in config.levels))


def consecutive_levels(config: AnchorConfig) -> AnchorConfig:
    """levels min_level..max_level (keeping the first level and the count), strides 2**level."""
    first = config.levels[0]
    levels = tuple(range(first, first + len(config.levels)))
    if levels == tuple(config.levels):
        return config
    return dataclasses.replace(config, levels=levels, strides=tuple(2.0**lv for lv in levels))


def integer_sizes(config: AnchorConfig) -> AnchorConfig:
    """Sizes and strides rounded to whole pixels (at least 1)."""
    return dataclasses.replace(
        config, sizes=tuple(float(max(1, round(s))) for s in config.sizes),
        strides=tuple(float(max(1, round(s))) for s in config.strides))


def non_integer_sizes(config: AnchorConfig) -> list[str]:
    """For formats that read sizes and strides as integers."""
    bad = [f"{key} {v:g}" for key in ("sizes", "strides") for v in getattr(config, key)
           if not float(v).is_integer()]
    return [f"sizes and strides must be whole pixels ({', '.join(bad)})"] if bad else []


def framework_thresholds(config: AnchorConfig) -> AnchorConfig:
    """The framework's own positive / negative IoU thresholds."""
    fw = FRAMEWORKS[config.framework]
    return dataclasses.replace(config, positive_iou=fw.positive_iou, negative_iou=fw.negative_iou)


def thresholds_fixed(where: str) -> Reasons:
    """A check for formats that cannot set the matcher thresholds (`where` says who fixes them)."""
    def check(config: AnchorConfig) -> list[str]:
        fw = FRAMEWORKS[config.framework]
        if (config.positive_iou, config.negative_iou) == (fw.positive_iou, fw.negative_iou):
            return []
        return [f"{where} fixes the IoU thresholds at {fw.positive_iou:g} / "
                f"{fw.negative_iou:g}; got {config.positive_iou:g} / {config.negative_iou:g}"]
    return check


# --------------------------------------------------------------------------- text


def own_ratios(config: AnchorConfig) -> list[float]:
    """The config's width / height ratios in its framework's own meaning (h/w is 1 / r)."""
    return ratios_in_convention(config.aspect_ratios, FRAMEWORKS[config.framework].ratio_meaning)


def number(value: float) -> str:
    """Whole numbers as ints (32), others with every digit needed to read back the same float."""
    value = float(value)
    return str(int(value)) if value.is_integer() and abs(value) < 2**53 else repr(value)


def real(value: float) -> str:
    """A float that reads back exactly and always looks like a float (2.0, 0.4)."""
    return repr(float(value))


def numbers(values: Sequence[float], separator: str = ", ") -> str:
    return separator.join(number(v) for v in values)


def reals(values: Sequence[float], separator: str = ", ") -> str:
    return separator.join(real(v) for v in values)


HEADER_WIDTH = 96  # header comment lines wrap here (long numbers lists stay whole)


def header(config: AnchorConfig, tuned_for: str | None = None, comment: str = "#") -> str:
    """The comment lines every exported file starts with: who wrote it, the framework's ratio
    convention, the canonical settings, the anchors per location against the pretrained head,
    and a note when the config was tuned for another
    framework (`tuned_for`) than the one it is written for (`config.framework`)."""
    fw = FRAMEWORKS[config.framework]
    if fw.ratio_meaning == "w/h":
        convention = f"{fw.label} aspect ratios are width / height, as in Anchor Inspector."
    else:
        convention = (f"{fw.label} aspect ratios are height / width: each is 1 / r of "
                      "Anchor Inspector's width / height ratio r.")
    lines = [
        f"Anchor configuration for {fw.label}, exported by Anchor Inspector ({FORMAT}).",
        convention,
        f"Anchor Inspector aspect ratios (width / height): {numbers(config.aspect_ratios)}",
        f"levels {numbers(config.levels)}; sizes {numbers(config.sizes)}; "
        f"scales {numbers(config.scales)}",
    ]
    if tuned_for is not None and tuned_for != config.framework:
        lines.append(f"NOTE: tuned for {FRAMEWORKS[tuned_for].label}; {fw.label} places, rounds "
                     f"and matches anchors its own way: check coverage with framework "
                     f"\"{config.framework}\".")
    lines.append(head_line(config))
    return comment_lines(lines, comment)


def head_line(config: AnchorConfig) -> str:
    """The anchors per location against the framework's pretrained head (upper case when the
    head's output convolutions must be re-initialised)."""
    fits, note = head_compatibility(config)
    return ("Head: " if fits else "HEAD: ") + note


def comment_lines(lines: list[str], comment: str = "#") -> str:
    """`lines` as comment lines wrapped at HEADER_WIDTH (long number lists stay whole)."""
    return "".join(f"{comment} {part}\n" for line in lines
                   for part in textwrap.wrap(line, HEADER_WIDTH, break_long_words=False))
