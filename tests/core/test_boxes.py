"""Box validation: skip and count by reason, clip and count, strict mode names the box."""

import numpy as np
import pytest

from core.boxes import BoxTableBuilder, reason_code, validate_boxes
from core.errors import InputError


def test_validate_reasons_and_clipping():
    boxes = np.array([
        [10, 10, 20, 20],  # fine
        [np.nan, 0, 5, 5],  # non-finite
        [5, 5, 5, 9],  # zero width
        [120, 10, 130, 20],  # right of a 100-wide image
        [-5, 90, 10, 110],  # partly outside: clipped
        [0, 0, 100, 100],  # touches every edge, not clipped
    ], dtype=float)
    reasons, clipped, was_clipped = validate_boxes(boxes, 100, 100)
    assert reasons.tolist() == [0, reason_code("non_finite"), reason_code("non_positive_size"),
                                reason_code("outside_image"), 0, 0]
    assert was_clipped.tolist() == [False, False, False, False, True, False]
    assert clipped[4].tolist() == [0, 90, 10, 100]


def test_builder_counts_and_keeps_source_reasons():
    builder = BoxTableBuilder("test")
    first = builder.add_images(["a", "b"], [100, 50], [200, 80])
    assert first == 0
    padding = np.zeros(4, np.int8)
    padding[3] = reason_code("padding")
    builder.add_boxes(np.array([0, 1, 1, 0]),
                      np.array([[0, 0, 10, 10], [70, 40, 90, 60], [1, 1, 2, 2], [-1, -1, -1, -1]]),
                      np.array([3, 1, 2, 0]), np.array([0, 0, 1, 1]), padding)
    builder.add_boxes(np.array([7]), np.array([[0, 0, 1, 1]]), np.array([0]), np.array([0]))
    table = builder.build()
    assert len(table) == 3
    assert table.skipped == {"padding": 1, "unknown_image": 1}
    assert table.clipped == 1
    assert table.x2.tolist() == [10, 80, 2]  # second box clipped to the 80-px-wide image b
    assert table.image_ids.tolist() == ["a", "b"]
    assert table.summary()["skipped_boxes"] == 2


def test_builder_grows_over_many_batches():
    builder = BoxTableBuilder()
    for i in range(3000):
        first = builder.add_images([i], [10], [10])
        builder.add_boxes(np.array([first]), np.array([[1, 1, 2, 3]]), [0], [0])
    table = builder.build()
    assert len(table) == 3000 and table.image_count == 3000
    assert (table.image == np.arange(3000)).all()


def test_strict_names_image_and_box():
    builder = BoxTableBuilder("demo", strict=True)
    builder.add_images([17], [10], [10])
    with pytest.raises(InputError, match=r"image 17, box 4: box skipped \(non_positive_size\)"):
        builder.add_boxes(np.array([0]), np.array([[3, 3, 2, 5]]), [0], [4])


def test_smallest_box_at_picks_the_smallest_containing_box():
    builder = BoxTableBuilder()
    builder.add_images(["a", "b"], [100, 100], [100, 100])
    builder.add_boxes(np.array([0, 0, 0, 1]), np.array([[0, 0, 90, 90], [10, 10, 20, 20],
                                                        [5, 5, 50, 50], [10, 10, 20, 20]]),
                      np.zeros(4, np.int64), np.arange(4))
    table = builder.build()
    first_image = np.flatnonzero(table.image == 0)
    assert table.smallest_box_at(first_image, 15, 15) == 1  # inside all three: the smallest
    assert table.smallest_box_at(first_image, 20, 20) == 1  # edges count as inside
    assert table.smallest_box_at(first_image, 30, 30) == 2
    assert table.smallest_box_at(first_image, 95, 95) == -1
    assert table.smallest_box_at(np.flatnonzero(table.image == 1), 80, 80) == -1
