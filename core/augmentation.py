"""Coverage under training augmentation (docs/augmentation.md): the random resize / crop / scale a
training pipeline applies, drawn many times with a seed, and the exact coverage of each draw.

Three models, each reproducing its library's box geometry (the code it follows is named in its
docstring):
- `JitteredResize`: keras-cv's `JitteredResize` layer (the RetinaNet recipes' scale jitter).
- `RandomCrop`: a crop of fixed size at a uniformly random integer offset, boxes clipped to it.
- `YoloScale`: YOLOv5's training path without mosaic — `load_image` + `letterbox` to `imgsz`,
  `random_perspective`'s random scale (and translation), then its `box_candidates` filter.

Every augmentation starts from the image the model input gives (`ModelInput`: `--input-size` and
`--resize`; without them each source image as it is) and ends at its own output size, for which
the anchors are generated. Per draw and image the random parameters come from
`numpy.random.default_rng([seed, draw])`, so a seed fixes every draw and the first k draws do not
depend on how many are taken. The augmented boxes do not depend on the anchor config:
`AugmentedSession` puts many draws through one coverage-engine pass (each draw's images are
images of the pass), in chunks of draws that bound the memory.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace

import numpy as np

from core.analysis import ModelInput, grids_for, match_rule
from core.anchor_config import AnchorConfig
from core.boxes import BoxTable
from core.coverage import CoverageEngine
from core.errors import InputError
from core.input_mapping import map_boxes_to_input

# Why an augmentation dropped a box, one bit each: YOLO's filter can fail a box on several tests.
KEPT = 0
OUTSIDE = 1  # no area left inside the output image (JitteredResize, RandomCrop)
CROP_AREA = 2  # RandomCrop: area left inside the crop below `min_area` of the box's area
TOO_SMALL = 4  # box_candidates: width or height <= wh_thr pixels
AREA_RATIO = 8  # box_candidates: area / (area before, times scale^2) <= area_thr
ASPECT_RATIO = 16  # box_candidates: max(w / h, h / w) >= ar_thr
DROP_REASONS = {OUTSIDE: "outside", CROP_AREA: "crop_area", TOO_SMALL: "too_small",
                AREA_RATIO: "area_ratio", ASPECT_RATIO: "aspect_ratio"}

DEFAULT_DRAWS = 32  # demo: dataset recall ± well under 0.1 pp, about 2 s (docs/augmentation.md)
BOX_CANDIDATES_EPS = 1e-16  # box_candidates' eps

F32 = np.float32
NATIVE = ModelInput()  # every image at its own size


@dataclass(frozen=True)
class AugmentedBoxes:
    """One draw: every box in output pixels (x1, y1, x2, y2 [N] float64; meaningless where
    dropped), the output size of every image ([images] int64) and `dropped` [N] uint8, the
    drop-reason bits (KEPT: the box stays)."""

    x1: np.ndarray
    y1: np.ndarray
    x2: np.ndarray
    y2: np.ndarray
    image_heights: np.ndarray
    image_widths: np.ndarray
    dropped: np.ndarray


def _output(x1, y1, x2, y2, size: tuple[int, int], images: int, dropped) -> AugmentedBoxes:
    heights = np.full(images, size[0], np.int64)
    widths = np.full(images, size[1], np.int64)
    return AugmentedBoxes(*(np.asarray(v, np.float64) for v in (x1, y1, x2, y2)), heights,
                          widths, np.asarray(dropped, np.uint8))


@dataclass(frozen=True)
class JitteredResize:
    """keras-cv `JitteredResize(target_size, scale_factor, crop_size)`, geometry as in
    keras_cv/src/layers/preprocessing/jittered_resize.py (`get_random_transformation_batch`,
    `augment_bounding_boxes`) and `bounding_box.clip_to_image`, in float32 as there:

    1. `factor` ~ U(scale_factor) (per image); `scaled = round(image_hw * factor)` — the factor
       multiplies the input image's own size, not `target_size`;
       `scale = min(scaled_h / h, scaled_w / w)`; `scaled = round(image_hw * scale)`;
       per-axis `image_scale = scaled / image_hw`.
    2. offset per axis `= int(max(scaled - crop_size, 0) * u)`, u ~ U[0, 1).
    3. boxes `* image_scale - offset`; clipped through relative coordinates
       (`/ target`, clip to [0, 1], `* target`); a box with no area left is dropped (keras-cv
       gives it class -1). Rounding is half-to-even, as `tf.round`.
    The image is cropped to `crop_size` and padded (right, bottom) to `target_size`; boxes are
    clipped to `target_size` (with `crop_size` smaller, a box may reach into the padding, as in
    keras-cv). Sizes are (height, width).
    """

    target_size: tuple[int, int]
    scale_factor: tuple[float, float]
    crop_size: tuple[int, int] | None = None

    kind = "jitter"
    reasons = (OUTSIDE,)

    @property
    def output_size(self) -> tuple[int, int]:
        return self.target_size

    def describe(self) -> str:
        lo, hi = self.scale_factor
        crop = f", crop {_hw(self.crop_size)}" if self.crop_size else ""
        return (f"keras-cv JitteredResize to {_hw(self.target_size)}, scale factor "
                f"{lo:g}-{hi:g} of the input image{crop}")

    def draw(self, rng: np.random.Generator, images: int) -> dict[str, np.ndarray]:
        """`factor` [images] float32 as tf.random.uniform(minval, maxval) makes it
        (`u * (max - min) + min`), `offset_u` [images, 2] float32 in [0, 1), (y, x)."""
        lo, hi = F32(self.scale_factor[0]), F32(self.scale_factor[1])
        factor = rng.random(images, dtype=F32) * (hi - lo) + lo
        return {"factor": factor, "offset_u": rng.random((images, 2), dtype=F32)}

    def scaled_geometry(self, image_heights, image_widths, factor, offset_u
                        ) -> tuple[np.ndarray, np.ndarray]:
        """(`image_scale` [images, 2], `offset` [images, 2]) float32, (y, x): step 1 and 2."""
        shape = np.stack([image_heights, image_widths], axis=1).astype(F32)  # [images, 2] (h, w)
        scaled = np.round(shape * np.asarray(factor, F32)[:, None])
        ratio = scaled / shape
        scale = np.where(ratio[:, 0] < ratio[:, 1], ratio[:, 0], ratio[:, 1])
        scaled = np.round(shape * scale[:, None])
        image_scale = scaled / shape
        crop = np.asarray(self.crop_size or self.target_size, F32)
        max_offset = np.maximum(scaled - crop, F32(0))
        offset = (max_offset * np.asarray(offset_u, F32)).astype(np.int32).astype(F32)
        return image_scale, offset

    def apply(self, x1, y1, x2, y2, image, image_heights, image_widths,
              params: dict[str, np.ndarray]) -> AugmentedBoxes:
        image_scale, offset = self.scaled_geometry(image_heights, image_widths,
                                                   params["factor"], params["offset_u"])
        sy, sx = image_scale[image, 0], image_scale[image, 1]
        oy, ox = offset[image, 0], offset[image, 1]
        th, tw = F32(self.target_size[0]), F32(self.target_size[1])
        # [N] float32 each; relative, clipped to [0, 1]
        rx1 = np.clip((np.asarray(x1, F32) * sx - ox) / tw, F32(0), F32(1))
        ry1 = np.clip((np.asarray(y1, F32) * sy - oy) / th, F32(0), F32(1))
        rx2 = np.clip((np.asarray(x2, F32) * sx - ox) / tw, F32(0), F32(1))
        ry2 = np.clip((np.asarray(y2, F32) * sy - oy) / th, F32(0), F32(1))
        px1, py1, px2, py2 = rx1 * tw, ry1 * th, rx2 * tw, ry2 * th
        # keras-cv's test is on relative widths; the pixel test only guards float32 rounding
        empty = (rx2 - rx1 <= 0) | (ry2 - ry1 <= 0) | (px2 <= px1) | (py2 <= py1)
        return _output(px1, py1, px2, py2, self.target_size, len(image_heights),
                       np.where(empty, OUTSIDE, KEPT))


@dataclass(frozen=True)
class RandomCrop:
    """A `size` (height, width) crop at a uniformly random whole-pixel offset, as torchvision's
    `RandomCrop.get_params` draws it (`randint(0, h - th + 1)`); an image smaller than the crop
    along an axis sits at offset 0 and is padded right / below. Boxes are clipped to the crop; a
    box with no area left is dropped (`outside`), one keeping less than `min_area` of its area is
    dropped (`crop_area`), as albumentations' `min_visibility` does."""

    size: tuple[int, int]
    min_area: float = 0.0

    kind = "crop"
    reasons = (OUTSIDE, CROP_AREA)

    @property
    def output_size(self) -> tuple[int, int]:
        return self.size

    def describe(self) -> str:
        return (f"random crop {_hw(self.size)}, boxes keeping < {self.min_area:g} of their area "
                "dropped")

    def draw(self, rng: np.random.Generator, images: int) -> dict[str, np.ndarray]:
        """`offset_u` [images, 2] float64 in [0, 1), (y, x)."""
        return {"offset_u": rng.random((images, 2))}

    def offsets(self, image_heights, image_widths, offset_u) -> np.ndarray:
        """[images, 2] whole-pixel offsets (y, x): floor(u * (free + 1)), free = max(size_in -
        crop, 0), so every offset 0..free is equally likely."""
        shape = np.stack([image_heights, image_widths], axis=1).astype(np.int64)
        free = np.maximum(shape - np.asarray(self.size, np.int64), 0)
        return np.floor(np.asarray(offset_u) * (free + 1)).astype(np.int64)

    def apply(self, x1, y1, x2, y2, image, image_heights, image_widths,
              params: dict[str, np.ndarray]) -> AugmentedBoxes:
        offset = self.offsets(image_heights, image_widths, params["offset_u"])
        oy, ox = offset[image, 0], offset[image, 1]
        ch, cw = self.size
        cx1, cx2 = np.clip(x1 - ox, 0, cw), np.clip(x2 - ox, 0, cw)
        cy1, cy2 = np.clip(y1 - oy, 0, ch), np.clip(y2 - oy, 0, ch)
        w, h = cx2 - cx1, cy2 - cy1
        outside = (w <= 0) | (h <= 0)
        small = ~outside & (w * h < self.min_area * ((x2 - x1) * (y2 - y1)))
        dropped = np.where(outside, OUTSIDE, np.where(small, CROP_AREA, KEPT))
        return _output(cx1, cy1, cx2, cy2, self.size, len(image_heights), dropped)


def box_candidate_reasons(w1, h1, w2, h2, wh_thr: float = 2, ar_thr: float = 100,
                          area_thr: float = 0.1, eps: float = BOX_CANDIDATES_EPS) -> np.ndarray:
    """[n] uint8 drop-reason bits of YOLOv5's `box_candidates(box1, box2, wh_thr=2, ar_thr=100,
    area_thr=0.1, eps=1e-16)` (utils/augmentations.py; ultralytics' RandomPerspective has the
    same test). w1, h1: the box before, times the random scale (pixels); w2, h2: after the
    transform and clipping. It keeps a box when
    `w2 > wh_thr and h2 > wh_thr and w2 * h2 / (w1 * h1 + eps) > area_thr and
    max(w2 / (h2 + eps), h2 / (w2 + eps)) < ar_thr`; each failed test sets its bit."""
    w1, h1, w2, h2 = (np.asarray(v, np.float64) for v in (w1, h1, w2, h2))
    ar = np.maximum(w2 / (h2 + eps), h2 / (w2 + eps))
    reasons = np.where((w2 > wh_thr) & (h2 > wh_thr), KEPT, TOO_SMALL)
    reasons |= np.where(w2 * h2 / (w1 * h1 + eps) > area_thr, KEPT, AREA_RATIO)
    reasons |= np.where(ar < ar_thr, KEPT, ASPECT_RATIO)
    return reasons.astype(np.uint8)


@dataclass(frozen=True)
class YoloScale:
    """YOLOv5's training geometry without mosaic (utils/dataloaders.py
    `LoadImagesAndLabels.__getitem__`, utils/augmentations.py `letterbox`, `random_perspective`,
    `box_candidates`), with degrees = shear = perspective = 0:

    1. `load_image`: r = imgsz / max(h0, w0); if r != 1 the image becomes
       (ceil(h0 * r), ceil(w0 * r)) = (h, w).
    2. `letterbox(new_shape=imgsz, auto=False)`: r2 = min(imgsz / h, imgsz / w), unpadded size
       round(w * r2) x round(h * r2) (half to even), centred: pad (dw, dh) = half the rest;
       boxes x' = x / w0 * (r2 * w) + dw (y alike), as `xywhn2xyxy` places the (relative)
       labels.
    3. `random_perspective`: s ~ U(1 - scale, 1 + scale), tx, ty ~ U(0.5 - translate,
       0.5 + translate) * imgsz; x'' = s * x' + (tx - s * imgsz / 2) (y alike); clipped to
       [0, imgsz].
    4. `box_candidates(box1 = box' * s, box2 = box'')` drops boxes (`box_candidate_reasons`);
       a box left with no area (moved out of the image) fails all its tests and is counted as
       `outside` only.
    Mosaic is not modelled beyond this scale effect: its tiling translates and crops much more.
    """

    imgsz: int = 640
    scale: float = 0.5
    translate: float = 0.1
    wh_thr: float = 2.0
    ar_thr: float = 100.0
    area_thr: float = 0.1

    kind = "yolo"
    reasons = (OUTSIDE, TOO_SMALL, AREA_RATIO, ASPECT_RATIO)

    @property
    def output_size(self) -> tuple[int, int]:
        return (self.imgsz, self.imgsz)

    def describe(self) -> str:
        return (f"YOLO letterbox {self.imgsz}, scale 1 ± {self.scale:g}, translate "
                f"± {self.translate:g}, box_candidates(wh_thr={self.wh_thr:g}, "
                f"ar_thr={self.ar_thr:g}, area_thr={self.area_thr:g})")

    def draw(self, rng: np.random.Generator, images: int) -> dict[str, np.ndarray]:
        """`scale` [images] ~ U(1 - scale, 1 + scale), `translate` [images, 2] (x, y) fractions
        ~ U(0.5 - translate, 0.5 + translate), float64."""
        scale = rng.uniform(1 - self.scale, 1 + self.scale, images)
        translate = rng.uniform(0.5 - self.translate, 0.5 + self.translate, (images, 2))
        return {"scale": scale, "translate": translate}

    def letterbox(self, image_heights, image_widths
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(width, height, pad_x, pad_y) [images] float64: the letterboxed image content's size
        (r2 * w, r2 * h) and the padding before it (steps 1-2); x' = x / w0 * width + pad_x."""
        h0 = np.asarray(image_heights, np.float64)
        w0 = np.asarray(image_widths, np.float64)
        r = self.imgsz / np.maximum(h0, w0)
        h = np.where(r != 1, np.ceil(h0 * r), h0)
        w = np.where(r != 1, np.ceil(w0 * r), w0)
        r2 = np.minimum(self.imgsz / h, self.imgsz / w)
        pad_x = (self.imgsz - np.round(w * r2)) / 2
        pad_y = (self.imgsz - np.round(h * r2)) / 2
        return r2 * w, r2 * h, pad_x, pad_y

    def apply(self, x1, y1, x2, y2, image, image_heights, image_widths,
              params: dict[str, np.ndarray]) -> AugmentedBoxes:
        width, height, pad_x, pad_y = self.letterbox(image_heights, image_widths)
        w0 = np.asarray(image_widths, np.float64)[image]
        h0 = np.asarray(image_heights, np.float64)[image]
        # as xywhn2xyxy: relative label times the letterboxed size, plus the padding
        lx1, lx2 = x1 / w0 * width[image] + pad_x[image], x2 / w0 * width[image] + pad_x[image]
        ly1, ly2 = y1 / h0 * height[image] + pad_y[image], y2 / h0 * height[image] + pad_y[image]
        s = params["scale"][image]
        shift_x = params["translate"][image, 0] * self.imgsz - s * self.imgsz / 2
        shift_y = params["translate"][image, 1] * self.imgsz - s * self.imgsz / 2
        size = float(self.imgsz)
        nx1, nx2 = np.clip(lx1 * s + shift_x, 0, size), np.clip(lx2 * s + shift_x, 0, size)
        ny1, ny2 = np.clip(ly1 * s + shift_y, 0, size), np.clip(ly2 * s + shift_y, 0, size)
        reasons = box_candidate_reasons(lx2 * s - lx1 * s, ly2 * s - ly1 * s, nx2 - nx1, ny2 - ny1,
                                        self.wh_thr, self.ar_thr, self.area_thr)
        # a box moved out of the image fails every test; it is counted as `outside` alone
        dropped = np.where((nx2 <= nx1) | (ny2 <= ny1), OUTSIDE, reasons)
        return _output(nx1, ny1, nx2, ny2, self.output_size, len(image_heights), dropped)


Augment = JitteredResize | RandomCrop | YoloScale
AUGMENT_KINDS = {"jitter": "jitter:HxW,LO-HI[,crop=HxW]", "crop": "crop:HxW[,MIN_AREA]",
                 "yolo": "yolo:SIZE[,SCALE][,translate=T,wh_thr=W,ar_thr=A,area_thr=R]"}


def _hw(size: tuple[int, int]) -> str:
    return f"{size[0]}x{size[1]}"


def _size(text: str, what: str) -> tuple[int, int]:
    try:
        height, width = (int(part) for part in text.lower().split("x"))
    except ValueError:
        raise InputError(f"--augment: {what} must be HxW such as 640x640, got {text!r}") from None
    if height < 1 or width < 1:
        raise InputError(f"--augment: {what} must be positive, got {text!r}")
    return height, width


def _number(text: str, what: str, low: float, high: float, *, high_open: bool = False) -> float:
    try:
        value = float(text)
    except ValueError:
        raise InputError(f"--augment: {what} must be a number, got {text!r}") from None
    if not (low <= value and (value < high if high_open else value <= high)):
        bound = f"{high:g})" if high_open else f"{high:g}]"
        raise InputError(f"--augment: {what} must be in [{low:g}, {bound}, got {text!r}")
    return value


def parse_augment(text: str) -> Augment:
    """`--augment SPEC` (docs/augmentation.md): `jitter:640x640,0.75-1.3`, `crop:512x512,0.5`,
    `yolo:640,0.5`; InputError names the problem."""
    kind, colon, rest = text.strip().partition(":")
    kind = kind.lower()
    if kind not in AUGMENT_KINDS:
        raise InputError(f"--augment: unknown kind {kind!r}; use one of "
                         + ", ".join(AUGMENT_KINDS.values()))
    parts = [p.strip() for p in rest.split(",")] if colon and rest.strip() else []
    positional = [p for p in parts if "=" not in p]
    options = dict(p.split("=", 1) for p in parts if "=" in p)
    syntax = AUGMENT_KINDS[kind]
    if not positional:
        raise InputError(f"--augment {kind}: needs a size: {syntax}")
    allowed = {"jitter": ("crop",), "crop": (),
               "yolo": ("translate", "wh_thr", "ar_thr", "area_thr")}[kind]
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        raise InputError(f"--augment {kind}: unknown option {unknown[0]!r}; syntax {syntax}")
    if kind == "jitter":
        if len(positional) != 2:
            raise InputError(f"--augment jitter: needs a size and a scale range: {syntax}")
        low_text, dash, high_text = positional[1].partition("-")
        if not dash:
            raise InputError(f"--augment jitter: scale range must be LO-HI such as 0.75-1.3, "
                             f"got {positional[1]!r}")
        low = _number(low_text, "jitter scale LO", 0, math.inf)
        high = _number(high_text, "jitter scale HI", 0, math.inf)
        if not 0 < low <= high:
            raise InputError(f"--augment jitter: scale range LO-HI needs 0 < LO <= HI, got "
                             f"{positional[1]!r}")
        crop = _size(options["crop"], "jitter crop") if "crop" in options else None
        return JitteredResize(_size(positional[0], "jitter size"), (low, high), crop)
    if kind == "crop":
        if len(positional) > 2:
            raise InputError(f"--augment crop: too many values; syntax {syntax}")
        min_area = (_number(positional[1], "crop MIN_AREA", 0, 1) if len(positional) == 2
                    else 0.0)
        return RandomCrop(_size(positional[0], "crop size"), min_area)
    if len(positional) > 2:
        raise InputError(f"--augment yolo: too many values; syntax {syntax}")
    try:
        imgsz = int(positional[0])
    except ValueError:
        raise InputError(f"--augment yolo: SIZE must be a whole number such as 640, got "
                         f"{positional[0]!r}") from None
    if imgsz < 1:
        raise InputError(f"--augment yolo: SIZE must be positive, got {imgsz}")
    scale = (_number(positional[1], "yolo SCALE", 0, 1, high_open=True) if len(positional) == 2
             else YoloScale.scale)
    values = {"translate": (0, 0.5), "wh_thr": (0, math.inf), "ar_thr": (1, math.inf),
              "area_thr": (0, 1)}
    extra = {name: _number(options[name], f"yolo {name}", *values[name])
             for name in values if name in options}
    return YoloScale(imgsz, scale, **extra)


def augment_spec(augment: Augment) -> str:
    """The `--augment` text that `parse_augment` reads back as `augment`."""
    if isinstance(augment, JitteredResize):
        lo, hi = augment.scale_factor
        crop = f",crop={_hw(augment.crop_size)}" if augment.crop_size else ""
        return f"jitter:{_hw(augment.target_size)},{lo:g}-{hi:g}{crop}"
    if isinstance(augment, RandomCrop):
        return f"crop:{_hw(augment.size)},{augment.min_area:g}"
    return (f"yolo:{augment.imgsz},{augment.scale:g},translate={augment.translate:g},"
            f"wh_thr={augment.wh_thr:g},ar_thr={augment.ar_thr:g},area_thr={augment.area_thr:g}")


def draw_parameters(augment: Augment, images: int, seed: int, draw: int
                    ) -> dict[str, np.ndarray]:
    """The random parameters of draw `draw` for every image: `augment.draw` with
    `numpy.random.default_rng([seed, draw])`."""
    return augment.draw(np.random.default_rng([seed, draw]), images)


Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class ClassChange:
    """One class under augmentation: `stored_recall` (no augmentation), `expected_recall` (mean
    over draws) with `expected_pm` (standard error of that mean across draws), `kept_recall`
    (recall among the boxes the augmentation keeps, over all draws: what the anchors do at the
    train-time scales, drops aside), `dropped_share` (share of its boxes dropped, over all
    draws), `drops` (reason -> boxes dropped per draw, mean) and `loses` (expected below stored
    by more than `LOSS_MARGIN` and by more than 2 x its ±)."""

    boxes: int
    stored_recall: float
    expected_recall: float
    expected_pm: float
    kept_recall: float
    dropped_share: float
    drops: dict[str, float]
    loses: bool


LOSS_MARGIN = 0.01  # a class "loses coverage" only if its expected recall is >= 1 pp lower


@dataclass
class AugmentedCoverage:
    """Coverage over `draws` seeded draws of `augment` (docs/augmentation.md).

    `matched` [draws, N] bool: the box gets a positive in the draw (a dropped box never does);
    `dropped` [draws, N] uint8: drop-reason bits. Per box, `probability` is the share of draws
    with a positive and `probability_pm` its binomial standard error sqrt(p (1 - p) / draws).
    Dataset recall per draw -> `recall_mean` ± `recall_pm` (standard error of the mean across
    draws), `recall_p10` (10th percentile over draws, linear interpolation).
    """

    augment: Augment
    seed: int
    matched: np.ndarray
    dropped: np.ndarray
    cls: np.ndarray = field(repr=False)

    @property
    def draws(self) -> int:
        return self.matched.shape[0]

    @property
    def probability(self) -> np.ndarray:
        return self.matched.mean(axis=0)

    @property
    def probability_pm(self) -> np.ndarray:
        p = self.probability
        return np.sqrt(p * (1 - p) / self.draws)

    @property
    def dropped_share(self) -> np.ndarray:
        """[N] share of draws in which the box is dropped."""
        return (self.dropped != KEPT).mean(axis=0)

    @property
    def recall_per_draw(self) -> np.ndarray:
        return self.matched.mean(axis=1) if self.matched.shape[1] else np.zeros(self.draws)

    @property
    def recall_mean(self) -> float:
        return float(self.recall_per_draw.mean())

    @property
    def recall_pm(self) -> float:
        return float(self.recall_per_draw.std(ddof=1) / math.sqrt(self.draws))

    @property
    def recall_p10(self) -> float:
        return float(np.percentile(self.recall_per_draw, 10))

    @property
    def dropped_per_draw(self) -> np.ndarray:
        """[draws] boxes dropped for any reason."""
        return (self.dropped != KEPT).sum(axis=1)

    def drops_per_draw(self) -> dict[str, np.ndarray]:
        """Reason -> [draws] boxes dropped for it (a box failing several tests counts in each);
        only the augmentation's own reasons."""
        return {DROP_REASONS[bit]: ((self.dropped & bit) != 0).sum(axis=1)
                for bit in self.augment.reasons}

    def class_recall(self, cls: int) -> tuple[float, float]:
        """(mean over draws, standard error of it) of the recall of class `cls`."""
        mine = self.cls == cls
        per_draw = self.matched[:, mine].mean(axis=1)
        return float(per_draw.mean()), float(per_draw.std(ddof=1) / math.sqrt(self.draws))

    def per_class(self, table: BoxTable, stored_per_class: dict) -> dict[str, ClassChange]:
        """Class name -> `ClassChange` against `stored_per_class` (name -> a report row with
        `recall`, as `CoverageReport.per_class` and `FamilyReport.per_class` hold)."""
        rows = {}
        for value in np.unique(table.cls):
            name = table.class_name(int(value))
            expected, pm = self.class_recall(int(value))
            stored = float(stored_per_class[name].recall)
            mine = table.cls == value
            dropped = self.dropped[:, mine]  # [draws, class boxes]
            kept = int((dropped == KEPT).sum())
            rows[name] = ClassChange(
                boxes=int(mine.sum()), stored_recall=stored, expected_recall=expected,
                expected_pm=pm,
                kept_recall=float(self.matched[:, mine].sum() / kept) if kept else 0.0,
                dropped_share=float((dropped != KEPT).mean()),
                drops={DROP_REASONS[bit]: float(((dropped & bit) != 0).sum() / self.draws)
                       for bit in self.augment.reasons},
                loses=bool(stored - expected > max(LOSS_MARGIN, 2 * pm)))
        return rows

    @property
    def kept_recall(self) -> float:
        """Recall among the boxes kept, over all draws."""
        kept = int((self.dropped == KEPT).sum())
        return float(self.matched.sum() / kept) if kept else 0.0


@dataclass(frozen=True)
class KeptBoxes:
    """The kept boxes of a run of draws, ready for one coverage-engine pass: `rows` [K] table
    row, `draw` [K] draw number, `xyxy` four [K] float64 in output pixels, `image` [K] image of
    the pass, `image_heights` / `image_widths` [draws * images] int64 (output size), `dropped`
    [draws, N] uint8 drop-reason bits of every box."""

    rows: np.ndarray
    draw: np.ndarray
    xyxy: list[np.ndarray]
    image: np.ndarray
    image_heights: np.ndarray
    image_widths: np.ndarray
    dropped: np.ndarray

    def engine(self) -> CoverageEngine:
        return CoverageEngine(*self.xyxy, self.image, self.image_heights, self.image_widths)


CHUNK_BOXES = 1_000_000  # boxes (all draws together) per engine pass: bounds the memory


class AugmentedSession:
    """Seeded draws of `augment` on the boxes of `table` as `model_input` gives them, and their
    exact coverage under a config. Draws are transformed again for each `compute` (cheap next to
    the coverage), a chunk of draws at a time with at most `CHUNK_BOXES` boxes: draw d's image i
    is image d * images + i of the chunk's engine."""

    def __init__(self, table: BoxTable, augment: Augment, model_input: ModelInput = NATIVE,
                 draws: int = DEFAULT_DRAWS, seed: int = 0):
        if draws < 2:
            raise InputError(f"--draws must be at least 2 (the ± needs two), got {draws}")
        if seed < 0:
            raise InputError(f"--seed must be a whole number >= 0, got {seed}")
        self.table, self.augment, self.model_input = table, augment, model_input
        self.draws, self.seed = draws, seed
        *self.boxes, self.image_heights, self.image_widths = map_boxes_to_input(
            table.x1, table.y1, table.x2, table.y2, table.image, table.image_heights,
            table.image_widths, model_input.size, model_input.resize)
        self.image = np.asarray(table.image, np.int64)

    def draw(self, d: int) -> AugmentedBoxes:
        """Draw `d`: every box transformed, with its drop reasons."""
        return self.augment.apply(*self.boxes, self.image, self.image_heights, self.image_widths,
                                  draw_parameters(self.augment, self.table.image_count,
                                                  self.seed, d))

    def chunks(self) -> list[range]:
        """The draws, in runs of at most `CHUNK_BOXES` boxes (at least one draw each)."""
        step = max(1, CHUNK_BOXES // max(1, len(self.table)))
        return [range(start, min(start + step, self.draws))
                for start in range(0, self.draws, step)]

    def compute(self, config, progress: Progress | None = None) -> AugmentedCoverage:
        """Exact coverage of every draw under `config`: an `AnchorConfig` (the framework's
        matcher, `core.coverage`) or a detector family config (`core.family_analysis`)."""
        n = len(self.table)
        matched = np.zeros((self.draws, n), bool)  # [draws, N]
        dropped = np.zeros((self.draws, n), np.uint8)  # [draws, N] reason bits
        for chunk in self.chunks():
            kept = self.kept_boxes(chunk)
            matched[kept.draw, kept.rows] = self._matched(config, kept)
            dropped[chunk.start:chunk.stop] = kept.dropped
            if progress is not None:
                progress(chunk.stop, self.draws)
        return AugmentedCoverage(self.augment, self.seed, matched, dropped,
                                 np.asarray(self.table.cls))

    def kept_boxes(self, draws: range) -> KeptBoxes:
        """The boxes the augmentation keeps in `draws`, as one engine's input (draw d's image i
        is image (d - draws.start) * images + i)."""
        images = self.table.image_count
        parts = [self.draw(d) for d in draws]
        kept = [np.flatnonzero(p.dropped == KEPT) for p in parts]
        rows = np.concatenate(kept)
        draw = np.concatenate([np.full(len(k), d) for d, k in zip(draws, kept, strict=True)])
        xyxy = [np.concatenate([getattr(p, name)[k] for p, k in zip(parts, kept, strict=True)])
                for name in ("x1", "y1", "x2", "y2")]
        return KeptBoxes(
            rows=rows, draw=draw, xyxy=xyxy,
            image=(draw - draws.start) * images + self.image[rows],
            image_heights=np.concatenate([p.image_heights for p in parts]),
            image_widths=np.concatenate([p.image_widths for p in parts]),
            dropped=np.stack([p.dropped for p in parts]))

    def _matched(self, config, kept: KeptBoxes) -> np.ndarray:
        xyxy, image, rows = kept.xyxy, kept.image, kept.rows
        heights, widths = kept.image_heights, kept.image_widths
        if isinstance(config, AnchorConfig):
            return kept.engine().compute(grids_for(config), match_rule(config)).matched
        from core.family_analysis import family_coverage

        table = self.table
        boxes = replace(
            table, image=image.astype(np.int32), cls=table.cls[rows], x1=xyxy[0], y1=xyxy[1],
            x2=xyxy[2], y2=xyxy[3], box_index=table.box_index[rows],
            image_ids=np.arange(len(heights)), image_heights=heights.astype(np.int32),
            image_widths=widths.astype(np.int32), skipped={}, clipped=0)
        return family_coverage(boxes, config, NATIVE).matched


def augmented_coverage(table: BoxTable, config, augment: Augment,
                       model_input: ModelInput = NATIVE, draws: int = DEFAULT_DRAWS,
                       seed: int = 0, progress: Progress | None = None) -> AugmentedCoverage:
    """Coverage of `table` under `config` over `draws` seeded draws of `augment`."""
    return AugmentedSession(table, augment, model_input, draws, seed).compute(config, progress)


def augmentation_summary(table: BoxTable, stored_recall: float, stored_per_class: dict,
                         result: AugmentedCoverage) -> dict:
    """The `augmented` block of `analyze --augment --json` (docs/augmentation.md): recall as
    stored and expected under the augmentation (± its standard error across draws, and the 10th
    percentile over draws), drops per reason (mean per draw) and the per-class changes."""
    per_class = result.per_class(table, stored_per_class)
    dropped = result.dropped_per_draw
    return {
        "spec": augment_spec(result.augment), "description": result.augment.describe(),
        "draws": result.draws, "seed": result.seed,
        "recall_stored": float(stored_recall), "recall_expected": result.recall_mean,
        "recall_expected_pm": result.recall_pm, "recall_p10": result.recall_p10,
        "recall_per_draw": result.recall_per_draw.tolist(),
        "recall_kept": result.kept_recall,
        "dropped_mean": float(dropped.mean()),
        "dropped_share": float(dropped.mean() / len(table)) if len(table) else 0.0,
        "drops": {reason: float(counts.mean())
                  for reason, counts in result.drops_per_draw().items()},
        "per_class": {name: asdict(row) for name, row in per_class.items()},
        "losing_classes": [name for name, row in per_class.items() if row.loses],
    }
