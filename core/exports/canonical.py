"""The canonical config as written by Anchor Inspector itself: JSON or YAML (`load_config` reads
both back to the same config)."""

from __future__ import annotations

from core.anchor_config import AnchorConfig, config_text


def export_json(config: AnchorConfig) -> str:
    return config_text(config)


def export_yaml(config: AnchorConfig) -> str:
    return config_text(config, yaml_syntax=True)
