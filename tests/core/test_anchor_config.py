"""AnchorConfig: validation messages that name file and key, round trips, presets, the framework
table's override rules and matcher choice."""

from __future__ import annotations

import json
import os
import stat

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.anchor_config import (
    FRAMEWORK_PRESETS,
    AnchorConfig,
    config_from_dict,
    config_to_dict,
    default_config,
    inexpressible_reasons,
    list_presets,
    load_config,
    load_preset,
    matcher_for,
    resolve_config,
    save_config,
    with_framework,
)
from core.errors import InputError
from core.frameworks import FRAMEWORKS, MATCHERS

SPEC_EXAMPLE = {"format": "anchor-inspector/1", "framework": "keras-cv",
                "levels": [3, 4, 5, 6, 7], "strides": [8, 16, 32, 64, 128],
                "sizes": [32, 64, 128, 256, 512], "scales": [1.0, 1.2599, 1.5874],
                "aspect_ratios": [0.5, 1.0, 2.0], "positive_iou": 0.5, "negative_iou": 0.4}


def test_spec_example_loads_with_tuples():
    config = config_from_dict(SPEC_EXAMPLE)
    assert config.levels == (3, 4, 5, 6, 7) and isinstance(config.scales, tuple)
    assert config.center_offset is None and config.clip is None
    assert config_to_dict(config) == SPEC_EXAMPLE
    assert list(config_to_dict(config)) == list(SPEC_EXAMPLE)  # canonical key order


def _error(change: dict, drop: str | None = None) -> str:
    d = {**SPEC_EXAMPLE, **change}
    if drop:
        del d[drop]
    with pytest.raises(InputError) as info:
        config_from_dict(d, source="my.json")
    message = str(info.value)
    assert message.startswith("my.json: ")
    return message


@pytest.mark.parametrize("change,key,words", [
    ({"formt": 1}, "formt", "did you mean 'format'"),
    ({"format": "anchor-inspector/2"}, "format", "anchor-inspector/1"),
    ({"framework": "yolo"}, "framework", "keras-hub"),
    ({"scales": []}, "scales", "non-empty"),
    ({"aspect_ratios": [0.5, -1]}, "aspect_ratios", "positive"),
    ({"sizes": [32, 64, 0, 256, 512]}, "sizes", "positive"),
    ({"strides": [8, 16, 32, 64]}, "strides", "levels has 5"),
    ({"sizes": [32, 64]}, "sizes", "levels has 5"),
    ({"scales": [1.0, "2"]}, "scales", "number"),
    ({"scales": [True]}, "scales", "number"),
    ({"scales": 1.0}, "scales", "list"),
    ({"positive_iou": 0.0}, "positive_iou", "(0, 1]"),
    ({"positive_iou": 1.5}, "positive_iou", "(0, 1]"),
    ({"negative_iou": 0.6}, "negative_iou", "positive_iou"),
    ({"levels": [3, 3, 5, 6, 7]}, "levels", "distinct"),
    ({"levels": [3, 4.5, 5, 6, 7]}, "levels", "integers"),
    ({"clip": "yes"}, "clip", "true, false"),
    ({"center_offset": 0.0}, "center_offset", "fixes the centre offset"),
    ({"low_quality_matches": True}, "low_quality_matches", "cannot use"),
])
def test_validation_names_file_key_and_problem(change, key, words):
    message = _error(change)
    assert f"'{key}'" in message and words in message


def test_missing_key_is_named():
    assert "'negative_iou'" in _error({}, drop="negative_iou")


def test_not_an_object():
    with pytest.raises(InputError, match="JSON object"):
        config_from_dict([1, 2])


def test_thresholds_may_be_equal_and_detectron2_default_is_fine():
    config_from_dict({**SPEC_EXAMPLE, "negative_iou": 0.5})
    assert default_config("detectron2").negative_iou < default_config("detectron2").positive_iou


def test_invalid_json_reports_line_and_column(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text('{\n  "format": "anchor-inspector/1",\n  "levels": [3, 4,,]\n}')
    with pytest.raises(InputError) as info:
        load_config(path)
    assert str(path) in str(info.value) and "line 3 column" in str(info.value)


def test_invalid_yaml_reports_line_and_column(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("format: anchor-inspector/1\nlevels: [3, 4\nsizes: 5\n")
    with pytest.raises(InputError) as info:
        load_config(path)
    assert "invalid YAML" in str(info.value) and "line" in str(info.value)


def test_missing_file(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        load_config(tmp_path / "nope.json")


@pytest.mark.parametrize("name", ["a.json", "a.yaml", "a.yml", "a.cfg"])
def test_save_load_round_trip_all_options(tmp_path, name):
    config = default_config("detectron2").replace(center_offset=0.5, low_quality_matches=False,
                                                  aspect_ratios=(0.0989, 9.5392))
    path = tmp_path / name
    save_config(config, path)
    assert load_config(path) == config
    if name.endswith(".json"):
        assert json.loads(path.read_text())["center_offset"] == 0.5
    assert not [p for p in os.listdir(tmp_path) if p.endswith(".tmp")]
    assert stat.S_IMODE(path.stat().st_mode) & 0o044  # readable like any other file


def test_yaml_by_content_without_yaml_extension(tmp_path):
    import yaml

    path = tmp_path / "config.txt"
    path.write_text(yaml.safe_dump(SPEC_EXAMPLE))
    assert load_config(path) == config_from_dict(SPEC_EXAMPLE)


def test_save_replaces_atomically(tmp_path):
    path = tmp_path / "c.json"
    path.write_text("old")
    save_config(default_config("mmdet"), path)
    assert load_config(path) == default_config("mmdet")


@settings(max_examples=50, deadline=None)
@given(framework=st.sampled_from(sorted(FRAMEWORKS)),
       scales=st.lists(st.floats(0.01, 100, allow_nan=False), min_size=1, max_size=5),
       ratios=st.lists(st.floats(0.001, 1000, allow_nan=False), min_size=1, max_size=9),
       pos=st.floats(0.01, 1.0), frac=st.floats(0.01, 1.0))
def test_dict_round_trip(framework, scales, ratios, pos, frac):
    config = default_config(framework).replace(scales=tuple(scales), aspect_ratios=tuple(ratios),
                                               positive_iou=pos, negative_iou=pos * frac)
    assert config_from_dict(json.loads(json.dumps(config_to_dict(config)))) == config


def test_every_preset_loads_and_framework_presets_equal_defaults():
    names = list_presets()
    assert set(FRAMEWORK_PRESETS.values()) | {"seed-notebook"} == set(names)
    for framework, name in FRAMEWORK_PRESETS.items():
        assert load_preset(name) == default_config(framework)
    for name in names:
        assert isinstance(load_preset(name), AnchorConfig)


def test_seed_notebook_preset():
    seed = load_preset("seed-notebook")
    assert seed.framework == "keras-cv" and seed.clip is True
    assert seed.aspect_ratios == (0.0989, 0.3760, 0.8440, 1.9752, 3.0362, 9.5392)
    assert seed.scales == pytest.approx((1.0, 2**0.25, 2**0.5))
    assert seed.sizes == (32, 64, 128, 256, 512) and seed.strides == (8, 16, 32, 64, 128)


def test_resolve_config_file_preset_or_error(tmp_path):
    assert resolve_config("torchvision-retinanet") == default_config("torchvision")
    assert resolve_config(None) == default_config("keras-cv")
    path = tmp_path / "x.json"
    save_config(default_config("mmdet"), path)
    assert resolve_config(str(path)) == default_config("mmdet")
    with pytest.raises(InputError, match="preset"):
        resolve_config("no-such-thing")


def test_default_ratios_are_width_over_height_in_framework_order():
    """torchvision & co. write (0.5, 1, 2) as height/width: (2, 1, 0.5) as width/height."""
    assert default_config("keras-cv").aspect_ratios == (0.5, 1.0, 2.0)
    for name in ("keras-hub", "torchvision", "detectron2", "mmdet", "keras-retinanet"):
        assert default_config(name).aspect_ratios == (2.0, 1.0, 0.5)


# --------------------------------------------------------------------------- framework table


@pytest.mark.parametrize("framework,override,expected", [
    ("keras-cv", None, "argmax"),
    ("keras-cv", False, "argmax"),
    ("keras-hub", None, "argmax"),
    ("keras-hub", True, "force_best"),
    ("torchvision", None, "low_quality"),
    ("torchvision", False, "argmax"),
    ("detectron2", None, "low_quality"),
    ("mmdet", None, "mmdet"),
    ("mmdet", False, "argmax"),
    ("keras-retinanet", None, "argmax"),
])
def test_matcher_for(framework, override, expected):
    config = default_config(framework).replace(low_quality_matches=override)
    assert matcher_for(config) == expected in MATCHERS


@pytest.mark.parametrize("framework", ["keras-cv", "keras-retinanet"])
def test_matcher_refuses_impossible_low_quality(framework):
    import dataclasses

    config = dataclasses.replace(default_config(framework), low_quality_matches=True)
    with pytest.raises(InputError, match="low_quality_matches"):
        matcher_for(config)


def test_override_rules():
    assert default_config("keras-cv").replace(clip=False).clip is False
    assert default_config("detectron2").replace(center_offset=0.5).center_offset == 0.5
    assert default_config("mmdet").replace(center_offset=1.0).center_offset == 1.0
    assert default_config("torchvision").replace(clip=False).clip is False  # = its default
    for framework, change in [("detectron2", {"center_offset": 1.0}),
                              ("torchvision", {"clip": True}),
                              ("keras-hub", {"center_offset": 0.5}),
                              ("mmdet", {"center_offset": -0.1})]:
        with pytest.raises(InputError):
            default_config(framework).replace(**change)


def test_with_framework_drops_impossible_overrides():
    config = default_config("keras-cv").replace(clip=True)
    moved = with_framework(config, "torchvision")
    assert moved.framework == "torchvision" and moved.clip is None
    assert moved.aspect_ratios == config.aspect_ratios


def test_inexpressible_reasons():
    assert inexpressible_reasons(default_config("keras-hub")) == []
    typed = default_config("keras-hub").replace(scales=(1.0, 1.2599, 1.5874))
    assert inexpressible_reasons(typed) == []
    odd = default_config("keras-hub").replace(sizes=(20, 64, 128, 256, 512), scales=(1.0, 1.3))
    reasons = inexpressible_reasons(odd)
    assert any("anchor_size" in r for r in reasons) and any("2**(i/2)" in r for r in reasons)
    strided = default_config("torchvision").replace(strides=(8, 16, 32, 64, 100))
    assert any("stride" in r for r in inexpressible_reasons(strided))
    assert inexpressible_reasons(default_config("keras-cv").replace(strides=(8, 16, 32, 64, 100))) \
        == []
