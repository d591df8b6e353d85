"""keras-cv export: a Python snippet building `keras_cv.layers.AnchorGenerator` (ratios are
width / height there, as in Anchor Inspector) and the RetinaNet label encoder with its
BoxMatcher thresholds (keras-cv's RetinaNet never forces matches)."""

from __future__ import annotations

from core.anchor_config import AnchorConfig, effective_clip
from core.exports.target import ExportTarget, header, numbers, own_ratios, real, reals


def render(config: AnchorConfig, tuned_for: str) -> str:
    return (
        header(config, tuned_for)
        + "import keras_cv\n"
        "\n"
        "BOUNDING_BOX_FORMAT = \"xyxy\"  # the box format of your model and dataset\n"
        "\n"
        "anchor_generator = keras_cv.layers.AnchorGenerator(\n"
        "    bounding_box_format=BOUNDING_BOX_FORMAT,\n"
        f"    sizes=[{numbers(config.sizes)}],\n"
        f"    scales=[{reals(config.scales)}],\n"
        f"    aspect_ratios=[{reals(own_ratios(config))}],  # width / height\n"
        f"    strides=[{numbers(config.strides)}],\n"
        f"    clip_boxes={effective_clip(config)},\n"
        ")\n"
        "# BoxMatcher thresholds [negative, positive]; keras-cv's RetinaNet never forces matches.\n"
        "label_encoder = keras_cv.models.retinanet.LabelEncoder(\n"
        "    bounding_box_format=BOUNDING_BOX_FORMAT,\n"
        "    anchor_generator=anchor_generator,\n"
        f"    positive_threshold={real(config.positive_iou)},\n"
        f"    negative_threshold={real(config.negative_iou)},\n"
        "    box_variance=[0.1, 0.1, 0.2, 0.2],\n"
        ")\n"
        "# model = keras_cv.models.RetinaNet(backbone=..., num_classes=...,\n"
        "#     bounding_box_format=BOUNDING_BOX_FORMAT, label_encoder=label_encoder)\n"
    )


TARGET = ExportTarget(name="keras-cv", framework="keras-cv", suffix=".py", render=render)
