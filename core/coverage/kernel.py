"""The compiled (numba) heart of the coverage engine: one pass over the images of one image size.

Per box, over the anchor columns (one level, one shape each; see `geometry.ColumnTable`):
1. bounds: an upper bound per column (a concentric anchor of the column's possible clipped
   sizes); for promising columns a lower bound, the exact IoU at the lattice point nearest the
   box (where the x- and y-overlaps peak: the overlap is a symmetric trapezoid in the centre);
2. enumeration at `tau = min(best so far, positive_iou)`: IoU >= tau needs an intersection
   I >= tau * max(A + a, (1 + tau) A) / (1 + tau) and, per axis, an overlap whose cells form a
   closed-form interval of centres (per row, from that row's exact height and y-overlap).
   Those cells get the exact IoU: the best IoU, its first anchor, the positives, and the
   candidate anchors (positives and anchors tying with the box's best).
Then the framework's matcher runs per image over the candidate anchors (`_match_image`, rules in
`matching.py`). Images with a box that overlaps no anchor at all (best IoU 0: every anchor ties)
are flagged in `image_dense` and left to the full-matrix path.

Bounds only ever skip work; they are loosened far beyond float64 rounding (`RELATIVE_SLACK`,
`CELL_SLACK`). The IoU is `inter / ((area_anchor + area_box) - inter)` in float64 on anchors
computed exactly as `LevelGrid.expand()` does, the operation order of `geometry.anchor_iou` and
the brute-force reference, so equal IoUs compare equal bit for bit.
"""

from __future__ import annotations

import warnings

import numpy as np
from numba import njit
from numba.core.errors import NumbaWarning

from core.coverage.layout import (  # noqa: F401 - module globals the jitted code reads
    C_CLIP,
    C_NX,
    C_NY,
    C_OK,
    C_OX,
    C_OY,
    C_SX,
    C_SY,
    CELL_SLACK,
    E_BOX,
    E_CELL,
    E_COLUMN,
    E_INTS,
    E_ORDER,
    F_DX1,
    F_DX2,
    F_DY1,
    F_DY2,
    F_H,
    F_HMIN,
    F_ISX,
    F_ISY,
    F_OX,
    F_OY,
    F_SX,
    F_SY,
    F_W,
    F_WMIN,
    I_BASE,
    I_CLIP,
    I_LEVEL,
    I_NX,
    I_NY,
    I_SHAPE,
    I_SHAPES,
    M_ARGMAX,
    M_FORCE_BEST,
    M_LOW_QUALITY,
    NO_ANCHOR,
    RELATIVE_SLACK,
    S_ENTRY,
    S_FORCED,
    S_ORDER,
    S_OWNER,
    S_TIE,
)


def _jit(fn):
    """`njit` with an on-disk cache when some cache location is writable, without one otherwise."""
    options = {"nogil": True, "error_model": "numpy"}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", NumbaWarning)
            return njit(cache=True, **options)(fn)
    except RuntimeError:  # numba found no writable cache directory
        return njit(**options)(fn)


@njit
def _iou(ax1, ay1, ax2, ay2, bx1, by1, bx2, by2):
    iw = max(min(ax2, bx2) - max(ax1, bx1), 0.0)
    ih = max(min(ay2, by2) - max(ay1, by1), 0.0)
    inter = iw * ih
    return inter / (((ax2 - ax1) * (ay2 - ay1) + (bx2 - bx1) * (by2 - by1)) - inter)


@njit
def _edge(offset, stride, cell, d, clip, limit):
    """One anchor edge coordinate, exactly as `LevelGrid.expand()` computes it."""
    v = (offset + cell * stride) + d
    if clip:
        v = min(max(v, 0.0), limit)
    return v


@njit
def _axis_best(b1, b2, offset, stride, inverse, count, d1, d2, clip, limit):
    """Largest overlap of [b1, b2] with the column's anchors along one axis, and its cell: the
    overlap is a symmetric trapezoid in the centre, so the lattice point nearest the aligned
    centre has it (up to rounding on exact ties, which the callers' slack covers)."""
    q = np.rint((((b1 + b2) * 0.5 - (d1 + d2) * 0.5) - offset) * inverse)
    cell = int(min(max(q, 0.0), count - 1.0))
    overlap = (min(_edge(offset, stride, cell, d2, clip, limit), b2)
               - max(_edge(offset, stride, cell, d1, clip, limit), b1))
    return max(overlap, 0.0), cell


@njit
def _window(b1, b2, offset, inverse, count, d1, d2, need):
    """Cells [lo, hi] whose centre lets the overlap with [b1, b2] reach `need` (a superset);
    `inverse` = 1 / stride."""
    lo = np.ceil((b1 - d2 + need - offset) * inverse - CELL_SLACK)
    hi = np.floor((b2 - d1 - need - offset) * inverse + CELL_SLACK)
    lo = max(lo, 0.0)
    hi = min(hi, count - 1.0)
    return int(lo), int(hi)


@njit
def _axis_candidates(b1, b2, offset, stride, count, clip, limit, overlaps, extents):
    """The (overlap, extent) pairs along one axis among which the ceiling's best anchor is
    (docs/ceiling.md): anchors centred on the two lattice points nearest the box middle whose
    half-width puts an edge on a box edge or, when clipped, on an image edge. Writes at most 8
    pairs into `overlaps`, `extents`; returns how many."""
    n = 0
    below = min(max(np.floor(((b1 + b2) * 0.5 - offset) / stride), 0.0), count - 1.0)
    for step in range(2):
        c = offset + min(below + step, count - 1.0) * stride
        for t in range(4):
            if t == 0:
                h = abs(c - b1)
            elif t == 1:
                h = abs(c - b2)
            elif not clip:
                break
            elif t == 2:
                h = c  # the clipped anchor's low edge on the image's
            else:
                h = limit - c  # its high edge on the image's
            if not h > 0.0:
                continue
            a1 = c - h
            a2 = c + h
            if clip:
                a1 = min(max(a1, 0.0), limit)
                a2 = min(max(a2, 0.0), limit)
            overlap = min(a2, b2) - max(a1, b1)
            if overlap > 0.0:
                overlaps[n] = overlap
                extents[n] = a2 - a1
                n += 1
    return n


@njit
def _ceiling_iou(bx1, by1, bx2, by2, levels, width, height, ox, ex, oy, ey):
    """The best IoU any anchor (any width and height) centred on a lattice point of any level,
    clipped as that level clips, reaches with the box (docs/ceiling.md). `levels` rows: see
    `layout.C_*`; `ox`..`ey`: scratch arrays of 8."""
    area = (bx2 - bx1) * (by2 - by1)
    best = 0.0
    for g in range(levels.shape[0]):
        clip = levels[g, C_CLIP] != 0.0
        nx = _axis_candidates(bx1, bx2, levels[g, C_OX], levels[g, C_SX], levels[g, C_NX],
                              clip, width, ox, ex)
        ny = _axis_candidates(by1, by2, levels[g, C_OY], levels[g, C_SY], levels[g, C_NY],
                              clip, height, oy, ey)
        for a in range(nx):
            for b in range(ny):
                inter = ox[a] * oy[b]
                v = inter / ((ex[a] * ey[b] + area) - inter)
                if v > best:
                    best = v
    return best


@njit
def _anchor_argmax(col_f, col_i, c, j, i, width, height, boxes, start, count):
    """Row (within the image) of the box with the highest IoU with anchor (c, j, i), first on
    ties: the frameworks' argmax over the image's boxes."""
    clip = col_i[c, I_CLIP] != 0
    ax1 = _edge(col_f[c, F_OX], col_f[c, F_SX], i, col_f[c, F_DX1], clip, width)
    ax2 = _edge(col_f[c, F_OX], col_f[c, F_SX], i, col_f[c, F_DX2], clip, width)
    ay1 = _edge(col_f[c, F_OY], col_f[c, F_SY], j, col_f[c, F_DY1], clip, height)
    ay2 = _edge(col_f[c, F_OY], col_f[c, F_SY], j, col_f[c, F_DY2], clip, height)
    top = -1.0
    owner = 0
    for q in range(count):
        r = start + q
        if boxes[r, 0] >= ax2 or boxes[r, 2] <= ax1 or boxes[r, 1] >= ay2 or boxes[r, 3] <= ay1:
            v = 0.0  # no overlap: IoU is exactly zero
        else:
            v = _iou(ax1, ay1, ax2, ay2, boxes[r, 0], boxes[r, 1], boxes[r, 2], boxes[r, 3])
        if v > top:
            top = v
            owner = q
    return owner


@njit(inline="always")
def _column_overlaps(bx1, by1, bx2, by2, col_f, col_i, c, width, height):
    """Column `c`'s best x- and y-overlap with the box, and the exact IoU of the anchor at those
    cells (0 when an overlap is 0)."""
    clip = col_i[c, I_CLIP] != 0
    ox, sx, dx1, dx2 = col_f[c, F_OX], col_f[c, F_SX], col_f[c, F_DX1], col_f[c, F_DX2]
    oy, sy, dy1, dy2 = col_f[c, F_OY], col_f[c, F_SY], col_f[c, F_DY1], col_f[c, F_DY2]
    tx, i = _axis_best(bx1, bx2, ox, sx, col_f[c, F_ISX], col_i[c, I_NX], dx1, dx2, clip, width)
    ty, j = _axis_best(by1, by2, oy, sy, col_f[c, F_ISY], col_i[c, I_NY], dy1, dy2, clip, height)
    if not (tx > 0.0 and ty > 0.0):
        return tx, ty, 0.0
    v = _iou(_edge(ox, sx, i, dx1, clip, width), _edge(oy, sy, j, dy1, clip, height),
             _edge(ox, sx, i, dx2, clip, width), _edge(oy, sy, j, dy2, clip, height),
             bx1, by1, bx2, by2)
    return tx, ty, v


@njit
def _intersection_need(tau, share, area, anchor_area):
    """Least intersection of an IoU >= tau: I (1 + tau) >= tau (A + a) and a >= I, with the
    anchor area a >= `anchor_area` and `share` = tau / (1 + tau) (loosened by the slack)."""
    return max(share * (area + anchor_area), tau * area) * (1.0 - RELATIVE_SLACK)


@njit
def _overlap_need(tau, area, overlap, extent):
    """Least overlap along one axis of an IoU >= tau, given the other axis's overlap (at most)
    `overlap` and anchor extent (at least) `extent`: from (1 + tau) Tx Ty >= tau (A + Tx h)
    with h >= `extent` along the other axis (0 when that bound is numerically unsafe)."""
    d = overlap * (1.0 + tau) - tau * extent
    if d > 1e-6 * (overlap + extent):
        return tau * area / d * (1.0 - RELATIVE_SLACK)
    return 0.0


@njit
def _near_extent(b1, b2, offset, stride, inverse, count, d1, d2, limit):
    """Smallest clipped anchor extent among the cells overlapping [b1, b2] along one axis (the
    clipped extent is concave in the centre: the minimum is at the first or last such cell)."""
    slack = RELATIVE_SLACK * (limit + 1.0)
    if b1 - d2 >= slack - d1 and b2 - d1 <= limit - d2 - slack:
        return d2 - d1  # every anchor overlapping [b1, b2] lies inside [0, limit]
    lo = max(np.ceil((b1 - d2 - offset) * inverse - CELL_SLACK), 0.0)
    hi = min(np.floor((b2 - d1 - offset) * inverse + CELL_SLACK), count - 1.0)
    if lo > hi:
        return d2 - d1
    extent = d2 - d1
    for k in (int(lo), int(hi)):
        a1 = _edge(offset, stride, k, d1, True, limit)
        a2 = _edge(offset, stride, k, d2, True, limit)
        extent = min(extent, a2 - a1)
    return max(extent, 0.0)


@njit(inline="always")
def _near_extents(bx1, by1, bx2, by2, area, col_f, col_i, c, width, height):
    """Column `c`'s smallest anchor width and height near the box (loosened by the slack) and
    the area bound of its IoU with them."""
    wmin = col_f[c, F_WMIN]
    hmin = col_f[c, F_HMIN]
    if col_i[c, I_CLIP] != 0:
        wmin = _near_extent(bx1, bx2, col_f[c, F_OX], col_f[c, F_SX], col_f[c, F_ISX],
                            col_i[c, I_NX], col_f[c, F_DX1], col_f[c, F_DX2],
                            width) * (1.0 - RELATIVE_SLACK)
        hmin = _near_extent(by1, by2, col_f[c, F_OY], col_f[c, F_SY], col_f[c, F_ISY],
                            col_i[c, I_NY], col_f[c, F_DY1], col_f[c, F_DY2],
                            height) * (1.0 - RELATIVE_SLACK)
    return wmin, hmin, _shape_bound(bx2 - bx1, by2 - by1, area, col_f[c, F_W], col_f[c, F_H], wmin,
                                    hmin)


@njit
def _shape_bound(bw, bh, area, aw, ah, wmin, hmin):
    """Upper bound of the IoU of a bw x bh box with the column's anchors, whose (clipped) width
    lies in [wmin, aw] and height in [hmin, ah]: the IoU of a concentric anchor, which is
    largest at the width nearest bw and the height nearest bh."""
    w = min(max(bw, wmin), aw)
    h = min(max(bh, hmin), ah)
    inter = min(bw, w) * min(bh, h)
    return inter / (area + w * h - inter) * (1.0 + RELATIVE_SLACK)


def cover_images(image_lo, image_hi, inputs, out):
    """Coverage of the boxes of images `image_lo .. image_hi - 1` of one size group.

    `inputs` (`layout.KernelInputs`) and `out` (`layout.KernelOutputs`) name every array with
    its shape and unit. Each thread takes its own image range; they write disjoint rows.
    """
    image_start, image_count, boxes, index = (inputs.image_start, inputs.image_count,
                                              inputs.boxes, inputs.index)
    col_f, col_i, width, height = inputs.col_f, inputs.col_i, inputs.width, inputs.height
    ceiling_levels, kind, positive_iou = inputs.ceiling_levels, inputs.kind, inputs.positive_iou
    with_ceiling = inputs.with_ceiling
    best_iou, best_level, best_shape, best_row, best_col, best_anchor = (
        out.best_iou, out.best_level, out.best_shape, out.best_row, out.best_col, out.best_anchor)
    positives, matched, low_quality_only, ceiling_iou = (
        out.positives, out.matched, out.low_quality_only, out.ceiling_iou)
    image_level_positives, image_dense = out.image_level_positives, out.image_dense
    columns = col_f.shape[0]
    pos = positive_iou
    keep_ties = kind != M_ARGMAX  # plain argmax assigns positives only
    most = 0
    for m in range(image_lo, image_hi):
        most = max(most, image_count[m])
    tx = np.empty(columns)
    ty = np.empty(columns)
    bound = np.empty(columns)
    box_wmin = np.empty(columns)
    box_hmin = np.empty(columns)
    box_best = np.empty(most)
    box_first = np.empty(most, np.int64)
    box_plain = np.empty(most, np.bool_)
    box_matched = np.empty(most, np.bool_)
    capacity = 256
    e_int = np.empty((capacity, E_INTS), np.int64)
    e_flt = np.empty((capacity, 2))
    hash_keys = np.empty(0, np.int64)
    slack = RELATIVE_SLACK * (width + height + 1.0)  # absolute, in pixels
    c_ox, c_ex, c_oy, c_ey = np.empty(8), np.empty(8), np.empty(8), np.empty(8)
    for m in range(image_lo, image_hi):
        start = image_start[m]
        count = image_count[m]
        entries = 0
        dense = False
        for q in range(count):
            r = start + q
            out = index[r]
            bx1, by1, bx2, by2 = boxes[r, 0], boxes[r, 1], boxes[r, 2], boxes[r, 3]
            if with_ceiling:  # else the caller has it: it depends on the lattices only
                ceiling_iou[out] = _ceiling_iou(bx1, by1, bx2, by2, ceiling_levels, width,
                                                height, c_ox, c_ex, c_oy, c_ey)
            bw = bx2 - bx1
            bh = by2 - by1
            area = bw * bh
            # lower bound of the best IoU: nearest cells, most promising column first
            top_column = 0
            for c in range(columns):
                bound[c] = _shape_bound(bw, bh, area, col_f[c, F_W], col_f[c, F_H],
                                        col_f[c, F_WMIN], col_f[c, F_HMIN])
                tx[c] = -1.0  # overlaps not computed yet
                box_wmin[c] = -1.0  # smallest anchor extents near the box not computed yet
                if bound[c] > bound[top_column]:
                    top_column = c
            lower = 0.0
            for n in range(-1, columns):
                c = top_column if n < 0 else n
                if (n >= 0 and c == top_column) or bound[c] <= lower:
                    continue
                if box_wmin[c] < 0.0:
                    box_wmin[c], box_hmin[c], bound[c] = _near_extents(
                        bx1, by1, bx2, by2, area, col_f, col_i, c, width, height)
                    if bound[c] <= lower:
                        continue
                tx[c], ty[c], v = _column_overlaps(bx1, by1, bx2, by2, col_f, col_i, c, width,
                                                   height)
                lower = max(lower, v)
            box_best[q] = 0.0
            box_first[q] = -1
            if not lower > 0.0:  # overlaps no anchor: every anchor ties, full matrix instead
                dense = True
                continue
            # every anchor with IoU >= min(best, positive_iou), the most promising column first;
            # tau rises with the best found so far (never above the final best)
            tau = min(lower, pos)
            best = -1.0
            first = NO_ANCHOR
            fc = fj = fi = 0
            count_positive = 0
            for n in range(-1, columns):
                c = top_column if n < 0 else n
                if n >= 0 and c == top_column:
                    continue
                if best > tau and tau < pos:
                    tau = min(best, pos)
                share = tau / (1.0 + tau)
                if bound[c] < tau:
                    continue
                if box_wmin[c] < 0.0:
                    box_wmin[c], box_hmin[c], bound[c] = _near_extents(
                        bx1, by1, bx2, by2, area, col_f, col_i, c, width, height)
                    if bound[c] < tau:
                        continue
                if tx[c] < 0.0:
                    tx[c], ty[c], v = _column_overlaps(bx1, by1, bx2, by2, col_f, col_i, c, width,
                                                       height)
                if not (tx[c] > 0.0 and ty[c] > 0.0):
                    continue
                wmin, hmin = box_wmin[c], box_hmin[c]
                need = _intersection_need(tau, share, area, wmin * hmin)
                tx_up = tx[c] + slack
                ty_up = ty[c] + slack
                if need > tx_up * ty_up:
                    continue
                clip = col_i[c, I_CLIP] != 0
                nx = col_i[c, I_NX]
                ox, sx, dx1, dx2 = col_f[c, F_OX], col_f[c, F_SX], col_f[c, F_DX1], col_f[c, F_DX2]
                oy, sy, dy1, dy2 = col_f[c, F_OY], col_f[c, F_SY], col_f[c, F_DY1], col_f[c, F_DY2]
                isx = col_f[c, F_ISX]
                need_y = max(need / tx_up, _overlap_need(tau, area, tx_up, wmin))
                jlo, jhi = _window(by1, by2, oy, col_f[c, F_ISY], col_i[c, I_NY], dy1, dy2, need_y)
                wfull = (dx2 - dx1) * (1.0 - RELATIVE_SLACK)
                clip_x = clip and wmin < wfull
                if clip_x:  # cells [0, left_clipped) and [right_clipped, nx) are clipped in x
                    left_clipped = int(max(np.ceil((-dx1 - ox) * isx + CELL_SLACK), 0.0))
                    right_clipped = int(min(np.floor((width - dx2 - ox) * isx - CELL_SLACK) + 1.0,
                                            nx))
                level = col_i[c, I_LEVEL]
                shapes = col_i[c, I_SHAPES]
                base = col_i[c, I_BASE] + col_i[c, I_SHAPE]
                last_ih = last_ah = -1.0
                ilo = ihi = 0
                for j in range(jlo, jhi + 1):
                    ay1 = _edge(oy, sy, j, dy1, clip, height)
                    ay2 = _edge(oy, sy, j, dy2, clip, height)
                    ih = max(min(ay2, by2) - max(ay1, by1), 0.0)
                    if not ih > 0.0:
                        continue
                    # this row's anchors: exact height and y-overlap, so a tighter x-window
                    ah = ay2 - ay1
                    if ih != last_ih or ah != last_ah:  # else the previous row's window holds
                        last_ih, last_ah = ih, ah
                        need_x = _overlap_need(tau, area, ih, ah)
                        ilo, ihi = _window(bx1, bx2, ox, isx, nx, dx1, dx2, max(
                            need_x,
                            _intersection_need(tau, share, area, wfull * ah) / (ih + slack)))
                        if clip_x:  # cells at the ends may be narrower: the looser window there
                            wlo, whi = _window(bx1, bx2, ox, isx, nx, dx1, dx2, max(
                                need_x, _intersection_need(tau, share, area, wmin * ah)
                                / (ih + slack)))
                            if wlo < left_clipped:
                                ilo = min(ilo, wlo)
                            if whi >= right_clipped:
                                ihi = max(ihi, whi)
                    for i in range(ilo, ihi + 1):
                        ax1 = _edge(ox, sx, i, dx1, clip, width)
                        ax2 = _edge(ox, sx, i, dx2, clip, width)
                        v = _iou(ax1, ay1, ax2, ay2, bx1, by1, bx2, by2)
                        if not v >= tau:
                            continue
                        cell = j * nx + i
                        order = base + cell * shapes
                        if v > best or (v == best and order < first):
                            best = v
                            first = order
                            fc, fj, fi = c, j, i
                        if v >= pos:
                            count_positive += 1
                            image_level_positives[m, level] += 1
                        elif not (keep_ties and v >= best):
                            continue  # can be neither assigned nor a tie of the final best
                        if entries == capacity:
                            capacity *= 2
                            e_int, e_flt = _grow(e_int, e_flt, entries, capacity)
                        e_int[entries, E_ORDER] = order
                        e_int[entries, E_BOX] = q
                        e_int[entries, E_COLUMN] = c
                        e_int[entries, E_CELL] = cell
                        e_flt[entries, 0] = v
                        entries += 1
            box_best[q] = best
            box_first[q] = first
            clip = col_i[fc, I_CLIP] != 0
            best_iou[out] = best
            best_level[out] = col_i[fc, I_LEVEL]
            best_shape[out] = col_i[fc, I_SHAPE]
            best_row[out] = fj
            best_col[out] = fi
            ox, sx, oy, sy = col_f[fc, F_OX], col_f[fc, F_SX], col_f[fc, F_OY], col_f[fc, F_SY]
            best_anchor[out, 0] = _edge(ox, sx, fi, col_f[fc, F_DX1], clip, width)
            best_anchor[out, 1] = _edge(oy, sy, fj, col_f[fc, F_DY1], clip, height)
            best_anchor[out, 2] = _edge(ox, sx, fi, col_f[fc, F_DX2], clip, width)
            best_anchor[out, 3] = _edge(oy, sy, fj, col_f[fc, F_DY2], clip, height)
            positives[out] = count_positive
        if dense:
            image_dense[m] = True
            continue
        size = 16
        while size < 2 * entries:
            size *= 2
        if len(hash_keys) < size:
            hash_keys = np.empty(size, np.int64)
        _match_image(e_int, e_flt, entries, hash_keys, size, box_best, box_first, box_plain,
                     box_matched, count, kind, pos, col_f, col_i, width, height, boxes, start)
        for q in range(count):
            out = index[start + q]
            matched[out] = box_matched[q]
            low_quality_only[out] = box_matched[q] and not box_plain[q]


@njit
def _grow(e_int, e_flt, entries, capacity):
    """The entry buffers with room for `capacity` entries (element loops compile fast)."""
    grown_int = np.empty((capacity, E_INTS), np.int64)
    grown_flt = np.empty((capacity, 2))
    for e in range(entries):
        for f in range(E_INTS):
            grown_int[e, f] = e_int[e, f]
        for f in range(2):
            grown_flt[e, f] = e_flt[e, f]
    return grown_int, grown_flt


@njit
def _match_image(e_int, e_flt, entries, hash_keys, size, box_best, box_first, box_plain,
                 box_matched, count, kind, pos, col_f, col_i, width, height, boxes, start):
    """The matcher over one image's candidate anchors: fills `box_plain` (argmax step) and
    `box_matched` (after the kind's low-quality / forced / overwrite step).

    Entries (one per box and candidate anchor, boxes ascending) are gathered per anchor in a
    hash table; anchor `t` (in first-seen order) keeps its data in row `t` of the S_* columns.
    """
    for h in range(size):
        hash_keys[h] = -1
    mask = size - 1
    anchors = 0
    for e in range(entries):
        q = e_int[e, E_BOX]
        v = e_flt[e, 0]
        tie = v == box_best[q]
        if not (v >= pos or tie):
            continue
        order = e_int[e, E_ORDER]
        h = (order * 2654435761) & mask
        while hash_keys[h] >= 0 and e_int[hash_keys[h], S_ORDER] != order:
            h = (h + 1) & mask
        if hash_keys[h] < 0:  # first box with this anchor
            t = anchors
            anchors += 1
            hash_keys[h] = t
            e_int[t, S_ORDER] = order
            e_int[t, S_OWNER] = q
            e_int[t, S_TIE] = -1
            e_int[t, S_FORCED] = -1
            e_int[t, S_ENTRY] = e
            e_flt[t, 1] = v
        else:
            t = hash_keys[h]
            if v > e_flt[t, 1]:  # strictly: the lowest box keeps an argmax tie
                e_flt[t, 1] = v
                e_int[t, S_OWNER] = q
        if tie:
            e_int[t, S_TIE] = q  # the last box tying its best with this anchor
        if e_int[t, S_FORCED] < 0 and box_first[q] == order:
            e_int[t, S_FORCED] = q  # the lowest box whose first best anchor this is
    for q in range(count):
        box_plain[q] = False
        box_matched[q] = False
    for t in range(anchors):
        top = e_flt[t, 1]
        owner = e_int[t, S_OWNER]
        tie_last = e_int[t, S_TIE]
        forced = e_int[t, S_FORCED]
        if top >= pos:
            box_plain[owner] = True
        if kind == M_ARGMAX:
            if top >= pos:
                box_matched[owner] = True
        elif kind == M_FORCE_BEST:
            if forced >= 0:
                box_matched[forced] = True
            elif top >= pos:
                box_matched[owner] = True
        elif kind == M_LOW_QUALITY:  # a best-tie anchor goes to its own argmax box
            if top >= pos:
                box_matched[owner] = True
            elif tie_last >= 0:  # below the threshold for every box: the argmax may be elsewhere
                e = e_int[t, S_ENTRY]
                c = e_int[e, E_COLUMN]
                nx = col_i[c, I_NX]
                cell = e_int[e, E_CELL]
                box_matched[_anchor_argmax(col_f, col_i, c, cell // nx, cell % nx, width, height,
                                           boxes, start, count)] = True
        else:  # M_MMDET: the last box tying its best with this anchor overwrites
            if tie_last >= 0:
                box_matched[tie_last] = True
            elif top >= pos:
                box_matched[owner] = True


cover_images = _jit(cover_images)
