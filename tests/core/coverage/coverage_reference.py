"""Brute-force coverage: every anchor expanded, a full IoU matrix per image, each matcher written
out the way the framework's own code does it. Slow on purpose; the fast engine must agree."""

from __future__ import annotations

import numpy as np


def iou_matrix(boxes: np.ndarray, anchors: np.ndarray) -> np.ndarray:
    """(boxes, anchors) IoU, float64, operation order as documented in core.coverage.geometry."""
    b = boxes[:, None, :]
    a = anchors[None, :, :]
    iw = np.maximum(np.minimum(a[..., 2], b[..., 2]) - np.maximum(a[..., 0], b[..., 0]), 0.0)
    ih = np.maximum(np.minimum(a[..., 3], b[..., 3]) - np.maximum(a[..., 1], b[..., 1]), 0.0)
    inter = iw * ih
    area_a = (a[..., 2] - a[..., 0]) * (a[..., 3] - a[..., 1])
    area_b = (b[..., 2] - b[..., 0]) * (b[..., 3] - b[..., 1])
    return inter / ((area_a + area_b) - inter)


def match_argmax(ious, pos):
    """Plain argmax (all frameworks' first step); returns per-anchor assigned box or -1."""
    matched_vals = ious.max(axis=0)
    matches = ious.argmax(axis=0)  # first box on ties, like torch.max / tf.argmax
    return np.where(matched_vals >= pos, matches, -1)


def match_keras_cv_force(ious, pos):
    """keras-cv BoxMatcher(force_match_for_each_col=True); similarity is (anchors, boxes) there."""
    sim = ious.T  # rows = anchors, cols = boxes
    matched_columns = sim.argmax(axis=1)
    matched_vals = sim.max(axis=1)
    positive = matched_vals >= pos
    matching_rows = sim.argmax(axis=0)  # per box, first best anchor
    mapping = np.zeros((sim.shape[1], sim.shape[0]), np.int32)  # one_hot: (cols, rows)
    mapping[np.arange(sim.shape[1]), matching_rows] = 1
    force_cols = mapping.argmax(axis=0)
    force_mask = mapping.max(axis=0).astype(bool)
    matched_columns = np.where(force_mask, force_cols, matched_columns)
    positive = np.where(force_mask, True, positive)
    return np.where(positive, matched_columns, -1)


def match_torchvision(ious, pos):
    """torchvision Matcher(allow_low_quality_matches=True) as in models/detection/_utils.py."""
    matched_vals = ious.max(axis=0)
    matches = ious.argmax(axis=0)
    all_matches = matches.copy()
    matches = np.where(matched_vals >= pos, matches, -1)
    highest_quality_foreach_gt = ious.max(axis=1)
    _, pred_inds_to_update = np.nonzero(ious == highest_quality_foreach_gt[:, None])
    matches[pred_inds_to_update] = all_matches[pred_inds_to_update]
    return matches


def match_mmdet(ious, pos, min_pos_iou=0.0):
    """mmdet MaxIoUAssigner(match_low_quality=True, gt_max_assign_all=True).assign_wrt_overlaps."""
    max_overlaps = ious.max(axis=0)
    argmax_overlaps = ious.argmax(axis=0)
    gt_max_overlaps = ious.max(axis=1)
    assigned = np.full(ious.shape[1], -1)
    pos_inds = max_overlaps >= pos
    assigned[pos_inds] = argmax_overlaps[pos_inds]
    for i in range(ious.shape[0]):
        if gt_max_overlaps[i] >= min_pos_iou:
            assigned[ious[i, :] == gt_max_overlaps[i]] = i
    return assigned


MATCHERS = {"argmax": match_argmax, "force_best": match_keras_cv_force,
            "low_quality": match_torchvision, "mmdet": match_mmdet}


def reference_coverage(x1, y1, x2, y2, image, heights, widths, grids_for_size, rule) -> dict:
    """Every per-box quantity of core.coverage.BoxCoverage, by brute force."""
    boxes = np.stack([x1, y1, x2, y2], axis=1).astype(np.float64)
    image = np.asarray(image)
    n = len(boxes)
    out = {
        "best_iou": np.zeros(n), "best_level": np.full(n, -1), "best_shape": np.full(n, -1),
        "best_row": np.full(n, -1), "best_col": np.full(n, -1),
        "best_anchor": np.full((n, 4), np.nan), "positives": np.zeros(n, np.int64),
        "matched": np.zeros(n, bool), "low_quality_only": np.zeros(n, bool),
        "ceiling_covered": np.zeros(n, bool), "level_positive_anchors": None,
    }
    level_positive = None
    for m in np.unique(image):
        rows = np.flatnonzero(image == m)  # input order = order within the image
        grids = grids_for_size(int(heights[m]), int(widths[m]))
        if level_positive is None:
            level_positive = np.zeros(len(grids), np.int64)
        ident = []  # (level, shape, row, col) of each anchor in expand order
        parts = []
        for li, g in enumerate(grids):
            parts.append(g.expand())
            jj, ii, kk = np.meshgrid(np.arange(g.ny), np.arange(g.nx), np.arange(len(g.shapes)),
                                     indexing="ij")
            ident.append(np.stack([np.full(jj.size, li), kk.ravel(), jj.ravel(), ii.ravel()], 1))
        anchors = np.concatenate(parts).reshape(-1, 4)
        ident = np.concatenate(ident).reshape(-1, 4)
        b = boxes[rows]
        out["ceiling_covered"][rows] = _ceiling(b, grids, rule.positive_iou)
        if len(anchors) == 0:
            continue
        ious = iou_matrix(b, anchors)
        first = ious.argmax(axis=1)
        out["best_iou"][rows] = ious.max(axis=1)
        out["best_level"][rows] = ident[first, 0]
        out["best_shape"][rows] = ident[first, 1]
        out["best_row"][rows] = ident[first, 2]
        out["best_col"][rows] = ident[first, 3]
        out["best_anchor"][rows] = anchors[first]
        positive = ious >= rule.positive_iou
        out["positives"][rows] = positive.sum(axis=1)
        level_positive += np.bincount(ident[np.nonzero(positive)[1], 0], minlength=len(grids))
        assigned = MATCHERS[rule.kind](ious, rule.positive_iou)
        plain = match_argmax(ious, rule.positive_iou)
        local = np.arange(len(rows))
        matched = np.isin(local, assigned)
        out["matched"][rows] = matched
        out["low_quality_only"][rows] = matched & ~np.isin(local, plain)
    out["level_positive_anchors"] = level_positive
    return out


def _ceiling(boxes, grids, pos):
    return ceiling_iou_reference(boxes, grids) >= pos


def _axis_pairs(b1, b2, centres, half_widths, clip, limit):
    """(overlap, extent) of anchors centred at each of `centres` with each of `half_widths`
    (an array per centre, or one for all), clipped to [0, limit] when `clip`; overlap > 0 only."""
    c = centres[:, None]
    a1, a2 = c - half_widths, c + half_widths
    if clip:
        a1, a2 = np.clip(a1, 0.0, limit), np.clip(a2, 0.0, limit)
    overlap = np.minimum(a2, b2) - np.maximum(a1, b1)
    keep = (overlap > 0.0) & (half_widths > 0.0)
    return overlap[keep], (a2 - a1)[keep]


def _best_of_pairs(ox, ex, oy, ey, area):
    if not len(ox) or not len(oy):
        return 0.0
    inter = ox[:, None] * oy[None, :]
    return float((inter / ((ex[:, None] * ey[None, :] + area) - inter)).max())


def ceiling_iou_reference(boxes, grids):
    """The ceiling by its breakpoint argument (docs/ceiling.md) but over EVERY lattice point of
    every level, not only the two nearest the box middle: the engine must equal it."""
    result = np.zeros(len(boxes))
    for g in (g for g in grids if g.nx > 0 and g.ny > 0):
        cxs, cys = g.centers_x(), g.centers_y()
        for n, (x1, y1, x2, y2) in enumerate(boxes):
            hx = [np.abs(cxs - x1), np.abs(cxs - x2)]
            hy = [np.abs(cys - y1), np.abs(cys - y2)]
            if g.clip:
                hx += [cxs, g.image_width - cxs]
                hy += [cys, g.image_height - cys]
            ox, ex = _axis_pairs(x1, x2, cxs, np.stack(hx, 1), g.clip, g.image_width)
            oy, ey = _axis_pairs(y1, y2, cys, np.stack(hy, 1), g.clip, g.image_height)
            result[n] = max(result[n], _best_of_pairs(ox, ex, oy, ey, (x2 - x1) * (y2 - y1)))
    return result


def _front(overlap, extent):
    """The (overlap, extent) pairs no other pair beats on both (more overlap, less extent):
    the IoU rises with the overlap and falls with the extent, so only these can be best."""
    order = np.lexsort((-overlap, extent))  # by extent, then the larger overlap first
    overlap, extent = overlap[order], extent[order]
    keep = overlap > np.maximum.accumulate(np.r_[-1.0, overlap[:-1]])
    return overlap[keep], extent[keep]


def ceiling_iou_dense(boxes, grids, steps=160, reach=3):
    """Brute force: anchors of every half-width on a dense grid (linear and geometric, to the
    image size) x every half-height, centred on the lattice points within `reach` strides of
    the box. No breakpoint argument: the engine's ceiling must never be below it."""
    result = np.zeros(len(boxes))
    for g in (g for g in grids if g.nx > 0 and g.ny > 0):
        cxs, cys = g.centers_x(), g.centers_y()
        top = float(max(g.image_width, g.image_height)) * 1.5
        dense = np.unique(np.r_[np.linspace(0.01, top, steps), np.geomspace(0.01, top, steps)])
        for n, (x1, y1, x2, y2) in enumerate(boxes):
            near_x = cxs[(cxs > x1 - reach * g.stride_x) & (cxs < x2 + reach * g.stride_x)]
            near_y = cys[(cys > y1 - reach * g.stride_y) & (cys < y2 + reach * g.stride_y)]
            ox, ex = _front(*_axis_pairs(x1, x2, near_x, dense[None, :], g.clip, g.image_width))
            oy, ey = _front(*_axis_pairs(y1, y2, near_y, dense[None, :], g.clip,
                                         g.image_height))
            result[n] = max(result[n], _best_of_pairs(ox, ex, oy, ey, (x2 - x1) * (y2 - y1)))
    return result
