"""An em-loader (SciSRS) compatible `load()` over the built-in demo spectrograms, no download.

Drop-in for `em_loader.load` so the `python:` dataset path runs for real:
`python:resources.em_loader_demo:load?split=train&bounding_box_format=xywh&batch_size=9`.

Elements are keras-cv dicts like the public em-loader's::

    {"images": float32 [512, 512, 1],             # spectrogram in dB, ONE channel (see below)
     "bounding_boxes": {"boxes": float32 [n, 4],  # in `bounding_box_format`
                        "classes": float32 [n]}}  # 0 wideband, 1 burst, 2 pulse, 3 narrowband

With `batch_size`, batches are ragged exactly as em-loader's `dense_to_ragged_batch`: "images"
dense [b, 512, 512, 1], "boxes" and "classes" `tf.RaggedTensor`s. The public em-loader returns
RGB PNG pixels (3 channels, 0-255); here the single channel holds the same dB values as
`DemoSource.pixels`, so the picture matches the `demo` source. Relative formats are relative to
the 512 x 512 image.

Splits: "train" is demo images 0..n-1 of `seed`, the very images `demo?images=n&seed=S` lists
(same boxes, same pixels); "test" is images from TEST_FIRST_IMAGE on, past any `demo` dataset,
so the two splits never share an image.
"""

from __future__ import annotations

import numpy as np

from core.box_formats import check_format, from_xyxy
from core.sources.demo import (
    CLASS_NAMES,
    DEFAULT_SEED,
    IMAGE_HEIGHT,
    IMAGE_WIDTH,
    MAX_IMAGES,
    generate_demo_boxes,
    render_demo_image,
)

SPLIT_IMAGES = {"train": 3000, "test": 600}  # default number of images per split
TEST_FIRST_IMAGE = MAX_IMAGES  # first demo image of the test split
SPLIT_FIRST_IMAGE = {"train": 0, "test": TEST_FIRST_IMAGE}
VERSION = 2


def load(bounding_box_format: str, batch_size: int | None = None, split: str = "train",
         version: int = VERSION, *, images: int | None = None, seed: int = DEFAULT_SEED):
    """`(dataset, info)` like `em_loader.load`, with boxes in `bounding_box_format` (keras-cv).

    `images` overrides the split's size (default 3000 train / 600 test); `seed` picks another demo
    dataset. `info` is a dict: `num_samples` (as em-loader: images in this split), `split`, `splits`
    (default images per split),
    `first_image` (demo image number of element 0), `seed`, `bounding_box_format`,
    `image_shape` (512, 512, 1), `class_names` {id: name}, `pixel_units` "dB".
    Bad arguments raise ValueError, as em-loader does.
    """
    try:
        check_format(bounding_box_format)
    except ValueError as error:
        raise ValueError(f"bounding_box_format: {error}") from None
    if split not in SPLIT_IMAGES:
        raise ValueError(f"split must be one of {', '.join(SPLIT_IMAGES)}, got {split!r}")
    if version != VERSION:
        raise ValueError(f"only version={VERSION} exists, got version={version!r}")
    count = SPLIT_IMAGES[split] if images is None else images
    for name, value, low in (("images", count, 1), ("seed", seed, 0),
                             ("batch_size", 1 if batch_size is None else batch_size, 1)):
        if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < low:
            raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
    if count > MAX_IMAGES:
        raise ValueError(f"images must be at most {MAX_IMAGES}, got {count}")

    import tensorflow as tf

    first = SPLIT_FIRST_IMAGE[split]
    boxes = generate_demo_boxes(int(count), int(seed), start=first)
    formatted = from_xyxy(boxes.xyxy, bounding_box_format, IMAGE_WIDTH, IMAGE_HEIGHT)
    all_boxes = tf.constant(formatted.astype(np.float32))
    all_classes = tf.constant(boxes.cls.astype(np.float32))
    offsets = tf.constant(boxes.offsets)

    def pixels(k: np.ndarray) -> np.ndarray:
        image = first + int(k)
        return render_demo_image(boxes.of_image(image), int(seed), image)[:, :, None]

    def element(k):
        image = tf.numpy_function(pixels, [k], tf.float32, stateful=False)
        image = tf.ensure_shape(image, (IMAGE_HEIGHT, IMAGE_WIDTH, 1))
        lo, hi = offsets[k], offsets[k + 1]
        return {"images": image,
                "bounding_boxes": {"boxes": all_boxes[lo:hi], "classes": all_classes[lo:hi]}}

    dataset = tf.data.Dataset.range(count).map(element, num_parallel_calls=tf.data.AUTOTUNE,
                                               deterministic=True)
    if batch_size is not None:
        dataset = dataset.ragged_batch(batch_size)  # = em-loader's dense_to_ragged_batch
    info = {
        "num_samples": int(count), "split": split, "splits": dict(SPLIT_IMAGES),
        "first_image": first, "seed": int(seed), "bounding_box_format": bounding_box_format,
        "image_shape": (IMAGE_HEIGHT, IMAGE_WIDTH, 1), "class_names": dict(CLASS_NAMES),
        "pixel_units": "dB",
    }
    return dataset, info
