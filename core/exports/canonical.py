"""The canonical config as written by Anchor Inspector itself: JSON or YAML (`load_config` reads
both back to the same config)."""

from __future__ import annotations

from core.anchor_config import AnchorConfig, config_text
from core.exports.target import comment_lines, head_line


def export_json(config: AnchorConfig) -> str:
    return config_text(config)


def export_yaml(config: AnchorConfig) -> str:
    """The canonical YAML, with the head note as a comment (JSON has no comments)."""
    return comment_lines([head_line(config)]) + config_text(config, yaml_syntax=True)
