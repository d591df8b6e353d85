"""Anchor Inspector's engine: box tables, anchors, coverage and sources. Never imports Qt."""
