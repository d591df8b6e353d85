"""The demo dataset (26,817 boxes) under train-time augmentation, with the default number of draws:
which classes lose coverage, which boxes YOLO's filter drops, and that the dataset recall's ± is
small. Run with `-s` to see the numbers (docs/augmentation.md quotes them)."""

from __future__ import annotations

import time

import numpy as np
import pytest

from core.analysis import ModelInput, analyze
from core.anchor_config import resolve_config
from core.augmentation import (
    ASPECT_RATIO,
    DEFAULT_DRAWS,
    KEPT,
    TOO_SMALL,
    augmentation_summary,
    augmented_coverage,
    parse_augment,
)
from core.family_analysis import analyze_family
from core.sources import load_table


@pytest.fixture(scope="module")
def demo():
    return load_table("demo")


def run(table, config, spec, model_input, stored):
    start = time.perf_counter()
    result = augmented_coverage(table, config, parse_augment(spec), model_input)
    seconds = time.perf_counter() - start
    summary = augmentation_summary(table, stored.report.recall, stored.report.per_class, result)
    print(f"\n{spec} on {model_input.describe()}, {result.draws} draws: {seconds:.2f} s; recall "
          f"{100 * summary['recall_stored']:.1f} % stored -> {100 * summary['recall_expected']:.2f}"
          f" ± {100 * summary['recall_expected_pm']:.3f} pp (p10 "
          f"{100 * summary['recall_p10']:.2f} %), kept {100 * summary['recall_kept']:.1f} %; "
          f"dropped/draw {summary['drops']}")
    for name, row in summary["per_class"].items():
        print(f"  {name:<11} {100 * row['stored_recall']:5.1f} -> "
              f"{100 * row['expected_recall']:5.1f} % (kept {100 * row['kept_recall']:5.1f} %, "
              f"dropped {100 * row['dropped_share']:4.1f} %) {row['drops']}"
              + (" LOSES" if row["loses"] else ""))
    return result, summary


def test_keras_cv_jitter_costs_the_pulses(demo):
    """RetinaNet anchors fitted to the demo (`seed-notebook`) under keras-cv's JitteredResize
    (factor 0.75-1.3 of the 512 x 512 image, into 640 x 640): almost nothing is dropped, yet
    the pulses (6-11 px wide, 100-104 px tall) lose coverage: the scale alone moves them off
    their anchors."""
    config = resolve_config("seed-notebook")
    stored = analyze(demo, config)
    result, summary = run(demo, config, "jitter:640x640,0.75-1.3", ModelInput(), stored)
    assert result.draws == DEFAULT_DRAWS
    assert summary["recall_expected_pm"] <= 0.005  # the ± of the dataset recall: <= 0.5 pp
    pulse = summary["per_class"]["pulse"]
    assert pulse["loses"] and pulse["dropped_share"] < 0.001
    assert pulse["stored_recall"] - pulse["expected_recall"] > 0.03
    assert not summary["per_class"]["wideband"]["loses"]
    assert summary["recall_p10"] <= summary["recall_expected"] < summary["recall_stored"]


def test_yolo_filter_drops_narrowband_strips(demo):
    """YOLOv5's assigner on 640 letterboxed images, trained with scale 1 ± 0.5: the
    `box_candidates` filter drops the thin narrowband strips (height <= 2 px after the
    random scale), far more than any other class; aspect-ratio drops occur (boxes clipped at
    the border) but the demo's strips are at most 88:1, under ar_thr = 100."""
    config = resolve_config("yolov5", families=True)
    model_input = ModelInput((640, 640), "letterbox")
    stored = analyze_family(demo, config, model_input)
    result, summary = run(demo, config, "yolo:640,0.5", model_input, stored)
    per_class = summary["per_class"]
    strips = per_class["narrowband"]["drops"]["too_small"]
    assert strips > 5 * max(row["drops"]["too_small"] for name, row in per_class.items()
                            if name != "narrowband")
    assert summary["drops"]["aspect_ratio"] > 0
    assert set(summary["losing_classes"]) >= {"narrowband", "pulse", "burst"}
    # the strips that go: the thinnest. A strip h px tall is 1.25 h px in the letterboxed 640
    # image, at most 1.875 h px after the random scale: never kept when that is <= 2 px.
    narrow = np.array([demo.class_name(c) == "narrowband" for c in demo.cls])
    thin = narrow & (demo.heights * 1.25 * 1.5 <= 2)
    assert thin.sum() > 100
    assert (result.dropped[:, thin] != KEPT).all()
    too_small = (result.dropped & TOO_SMALL) != 0
    assert too_small[:, thin].mean() > 0.7  # the rest are outside the image
    assert too_small[:, narrow & (demo.heights > 4)].mean() < 0.01
    alone = result.dropped == ASPECT_RATIO
    print(f"  aspect-ratio drops alone (no other test failed): {int(alone.sum())}")
