"""The anchors the viewer draws over one image, in that image's pixels: a box's best anchor,
every positive anchor of a box, the anchors of the grid cell under a point.

Anchors live in model-input pixels (docs/datasets.md, model input); the image on screen is in
its own pixels. This module maps between the two and asks the framework's grids, so the window
only turns the arrays it returns into drawn items.
"""

from __future__ import annotations

from collections import OrderedDict

import numpy as np

from core.analysis import ModelInput
from core.anchor_config import AnchorConfig
from core.anchor_generation import level_grids
from core.anchor_grid import LevelGrid
from core.boxes import BoxTable
from core.coverage import anchors_in_cell, positive_anchors_of_box
from core.input_mapping import map_boxes_to_image, map_boxes_to_input

GRIDS_KEPT = 16  # (config, input size) pairs whose grids are kept


class ImageAnchors:
    """Anchor geometry for the images of one table under one model input."""

    def __init__(self, table: BoxTable, model_input: ModelInput | None = None):
        self.table = table
        self.model_input = model_input or ModelInput()
        self._grids: OrderedDict[tuple, list[LevelGrid]] = OrderedDict()

    def model_size(self, index: int) -> tuple[int, int]:
        """(height, width) image `index` has at the model's input."""
        if self.model_input.size is not None:
            return self.model_input.size
        return int(self.table.image_heights[index]), int(self.table.image_widths[index])

    def grids(self, config: AnchorConfig, index: int) -> list[LevelGrid]:
        """The matchable anchor grids of image `index`'s input size."""
        key = (config, *self.model_size(index))
        if key not in self._grids:
            self._grids[key] = level_grids(config, key[1], key[2], matchable_only=True)
            while len(self._grids) > GRIDS_KEPT:
                self._grids.popitem(last=False)
        self._grids.move_to_end(key)
        return self._grids[key]

    def to_image(self, xyxy: np.ndarray, index: int) -> np.ndarray:
        """(k, 4) model-input boxes -> image `index`'s pixels."""
        table = self.table
        return map_boxes_to_image(np.asarray(xyxy, np.float64).reshape(-1, 4),
                                  int(table.image_heights[index]), int(table.image_widths[index]),
                                  self.model_input.size, self.model_input.resize)

    def to_model(self, xyxy: np.ndarray, index: int) -> np.ndarray:
        """(k, 4) boxes in image `index`'s pixels -> model-input pixels."""
        xyxy = np.asarray(xyxy, np.float64).reshape(-1, 4)
        table = self.table
        mapped = map_boxes_to_input(*xyxy.T, np.zeros(len(xyxy), np.int64),
                                    table.image_heights[index:index + 1],
                                    table.image_widths[index:index + 1], self.model_input.size,
                                    self.model_input.resize)
        return np.stack(mapped[:4], axis=1)

    def positives_of_box(self, row: int, config: AnchorConfig) -> np.ndarray:
        """Every anchor with IoU >= `config.positive_iou` with table row `row`, (k, 4) in its
        image's pixels."""
        index = int(self.table.image[row])
        model_box = self.to_model(self.table.xyxy(np.array([row])), index)[0]
        found = positive_anchors_of_box(model_box, self.grids(config, index),
                                        config.positive_iou)
        return self.to_image(found.xyxy, index)

    def cell_anchors(self, index: int, config: AnchorConfig, level: int, x: float,
                     y: float) -> np.ndarray:
        """The anchors of level `level` (index into the config's levels) at the grid cell
        nearest the point (x, y) of image `index`'s pixels, (A, 4) in those pixels; empty when
        the level has no cells."""
        grids = self.grids(config, index)
        if not 0 <= level < len(grids):
            return np.zeros((0, 4))
        mx, my = self.to_model(np.array([[x, y, x, y]]), index)[0][:2]
        return self.to_image(anchors_in_cell(grids, level, mx, my), index)
