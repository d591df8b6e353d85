"""Exports of an anchor config: the canonical file (json, yaml) and ready code or config for each
framework. `EXPORTERS` maps a format name to `config -> text`; a config the format's framework
cannot express is refused with an InputError naming why and offering the nearest config."""

from __future__ import annotations

from collections.abc import Callable

from core.anchor_config import AnchorConfig
from core.errors import InputError
from core.exports import (
    canonical,
    detectron2,
    keras_cv,
    keras_hub,
    keras_retinanet,
    mmdet,
    torchvision,
)
from core.exports.target import ExportTarget

TARGETS: dict[str, ExportTarget] = {
    target.name: target
    for target in (keras_cv.TARGET, keras_hub.TARGET, torchvision.TARGET, detectron2.TARGET,
                   mmdet.TARGET, keras_retinanet.TARGET)
}
"""The framework exports, by format name (each names its framework row in FRAMEWORKS)."""

EXPORTERS: dict[str, Callable[[AnchorConfig], str]] = {
    "json": canonical.export_json,
    "yaml": canonical.export_yaml,
    **{name: target.export for name, target in TARGETS.items()},
}
"""Format name -> function(config) -> text, in menu order."""

SUFFIXES: dict[str, str] = {"json": ".json", "yaml": ".yaml",
                            **{name: target.suffix for name, target in TARGETS.items()}}
"""The usual file name suffix of each format (for save dialogs)."""


def _check_format(fmt: str) -> None:
    if fmt not in EXPORTERS:
        raise InputError(f"unknown export format {fmt!r}; formats: {', '.join(EXPORTERS)}")


def export_text(config: AnchorConfig, fmt: str) -> str:
    """The text of `config` in format `fmt`; InputError for an unknown format or a config the
    format's framework cannot express (the message says why and gives the nearest config)."""
    _check_format(fmt)
    return EXPORTERS[fmt](config)


def export_problems(config: AnchorConfig, fmt: str) -> list[str]:
    """Why `config` cannot be exported to `fmt` (empty: it can)."""
    _check_format(fmt)
    return TARGETS[fmt].problems(config) if fmt in TARGETS else []


def nearest_expressible(config: AnchorConfig, fmt: str) -> AnchorConfig:
    """The nearest config `fmt` can express (in its framework); the config itself for json/yaml."""
    _check_format(fmt)
    return TARGETS[fmt].nearest(config) if fmt in TARGETS else config
