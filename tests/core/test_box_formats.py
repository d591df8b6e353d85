"""keras-cv box formats round-trip through pixel xyxy, with keras-cv's meanings."""

import numpy as np
import pytest

from core.box_formats import FORMATS, from_xyxy, to_xyxy


@pytest.mark.parametrize("fmt", FORMATS)
def test_round_trip(fmt):
    rng = np.random.default_rng(1)
    x1y1 = rng.uniform(0, 400, (50, 2))
    xyxy = np.concatenate([x1y1, x1y1 + rng.uniform(1, 100, (50, 2))], axis=1)
    width, height = 640.0, 480.0
    back = to_xyxy(from_xyxy(xyxy, fmt, width, height), fmt, width, height)
    np.testing.assert_allclose(back, xyxy, rtol=0, atol=1e-9)


def test_known_values():
    box = np.array([[10.0, 20.0, 30.0, 60.0]])  # x1 y1 x2 y2 on a 100 (w) x 200 (h) image
    assert from_xyxy(box, "xywh").tolist() == [[10, 20, 20, 40]]
    assert from_xyxy(box, "yxyx").tolist() == [[20, 10, 60, 30]]
    assert from_xyxy(box, "center_xywh").tolist() == [[20, 40, 20, 40]]
    assert from_xyxy(box, "center_yxhw").tolist() == [[40, 20, 40, 20]]
    assert from_xyxy(box, "rel_xyxy", 100, 200).tolist() == [[0.1, 0.1, 0.3, 0.3]]
    assert from_xyxy(box, "rel_yxyx", 100, 200).tolist() == [[0.1, 0.1, 0.3, 0.3]]
    assert from_xyxy(box, "rel_xywh", 100, 200).tolist() == [[0.1, 0.1, 0.2, 0.2]]


def test_unknown_format():
    with pytest.raises(ValueError, match="unknown box format"):
        to_xyxy(np.zeros((1, 4)), "xyzw")
