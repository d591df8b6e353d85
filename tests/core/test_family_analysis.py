"""A whole dataset through each detector family: the per-image orchestration (grouping, order
within the image, YOLO's padding to stride multiples, the model input) gives the real code's
per-box positive counts, recorded in tests/fixtures/assigners."""

from __future__ import annotations

import numpy as np
import pytest

from core.analysis import ModelInput
from core.assigners import yolov5, yolov8
from core.boxes import BoxTable, BoxTableBuilder
from core.family_analysis import analyze_family, assignment_size, family_coverage
from core.family_config import FamilyConfig, default_family_config
from tests.core.assigners.recordings import recording


def table_of(cases: list[dict]) -> BoxTable:
    """One image per case (its recorded size), the boxes in the recorded order; the images are
    interleaved in the table so that grouping by image is exercised."""
    builder = BoxTableBuilder("fixture")
    builder.add_images([case["id"] for case in cases], [c["image_hw"][0] for c in cases],
                       [c["image_hw"][1] for c in cases])
    image = np.concatenate([np.full(len(c["boxes_xyxy"]), i) for i, c in enumerate(cases)])
    boxes = np.concatenate([np.asarray(c["boxes_xyxy"], float) for c in cases])
    index = np.concatenate([np.arange(len(c["boxes_xyxy"])) for c in cases])
    order = np.lexsort((index, index % 3))  # interleave images, keep each image's own order
    builder.add_boxes(image[order], boxes[order], np.zeros(len(order), np.int32), index[order])
    return builder.build()


def recorded_in_table_order(table: BoxTable, cases: list[dict], counts) -> np.ndarray:
    return np.array([counts(cases[image], box) for image, box in zip(
        table.image.tolist(), table.box_index.tolist(), strict=True)])


def test_yolov5_dataset_matches_build_targets():
    cases = [c for c in recording("yolov5_build_targets.json")["cases"]
             if c["anchor_set"] == "default" and c["anchor_t"] == 4.0]
    table = table_of(cases)
    coverage = family_coverage(table, default_family_config("yolov5"))
    want = recorded_in_table_order(table, cases, lambda c, box: len(c["entries"][box]))
    assert len(table) > 300 and want.sum() > 1000
    np.testing.assert_array_equal(coverage.positives, want)


@pytest.mark.parametrize("version", ["8.3.253", "8.4.0", "8.4.190"])
def test_yolov8_dataset_matches_select_candidates(version):
    cases = recording("yolov8_candidates.json")["cases"]
    table = table_of(cases)
    config = FamilyConfig("yolov8", yolov8.Yolov8Params(
        semantics=yolov8.semantics_for_version(version)))
    coverage = family_coverage(table, config)
    want = recorded_in_table_order(table, cases,
                                   lambda c, box: c["results"][version]["count"][box])
    np.testing.assert_array_equal(coverage.positives, want)


def test_fcos_dataset_matches_compute_loss():
    cases = recording("fcos_torchvision.json")["cases"]
    table = table_of(cases)
    coverage = family_coverage(table, default_family_config("fcos"))
    want = recorded_in_table_order(table, cases, lambda c, box: len(c["positives"][box]))
    np.testing.assert_array_equal(coverage.positives, want)


def test_atss_dataset_matches_the_assigner_where_topk_is_defined():
    cases = recording("atss_mmdet.json")["cases"]
    table = table_of(cases)
    coverage = family_coverage(table, default_family_config("atss"))
    want = recorded_in_table_order(table, cases, lambda c, box: len(c["positives"][box]))
    tied = recorded_in_table_order(
        table, cases, lambda c, box: any(d["topk_tie_levels"] for d in c["gt_diagnostics"]))
    assert (~tied).sum() > 150  # whole images with a topk tie left out
    np.testing.assert_array_equal(coverage.positives[~tied], want[~tied])


def test_yolo_pads_the_input_to_its_largest_stride():
    config = default_family_config("yolov5")
    assert assignment_size(config, 500, 333) == (512, 352)
    assert assignment_size(default_family_config("fcos"), 500, 333) == (500, 333)
    builder = BoxTableBuilder("odd size")
    builder.add_images(["a"], [500], [333])
    builder.add_boxes(np.array([0]), np.array([[100.0, 100.0, 140.0, 130.0]]), np.zeros(1, int),
                      np.arange(1))
    table = builder.build()
    coverage = family_coverage(table, config)
    direct = yolov5.assign_image(np.array([[100.0, 100.0, 140.0, 130.0]]), (512, 352),
                                 config.params)
    assert coverage.positives.tolist() == direct.positives.tolist() and direct.positives[0] > 0


def test_report_counts_misses_by_reason_and_the_model_input():
    builder = BoxTableBuilder("two boxes")
    builder.add_images(["a"], [256], [256])
    builder.add_boxes(np.array([0, 0]), np.array([[10.0, 10.0, 60.0, 50.0],
                                                  [0.0, 100.0, 250.0, 101.5]]),
                      np.array([0, 1]), np.arange(2))
    table = builder.build()
    config = FamilyConfig("yolov5", yolov5.Yolov5Params(anchor_t=2.0))
    result = analyze_family(table, config)
    assert result.report.recall == 0.5 and result.report.uncovered_boxes == 1
    assert result.report.misses == {"w/h ratio outside anchor_t of every anchor": 1}
    assert set(result.report.extra) == {"autoanchor_best_possible_recall",
                                        "autoanchor_anchors_above_threshold"}
    stretched = analyze_family(table, config, ModelInput((256, 64), "stretch"))
    assert stretched.report.recall != result.report.recall or \
        stretched.coverage.positives.tolist() != result.coverage.positives.tolist()
