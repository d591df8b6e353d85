"""Detector-family configs: presets with the frameworks' own defaults, files that round-trip,
bad values named by file and key, and RetinaNet-only views refusing them clearly."""

import json

import pytest

from core.anchor_config import list_presets, load_config, resolve_config, save_config
from core.assigners import yolov5
from core.errors import InputError
from core.family_config import FAMILIES, FamilyConfig, default_family_config, family_from_dict


@pytest.mark.parametrize("name", list(FAMILIES))
def test_presets_are_the_families_defaults_and_round_trip(name, tmp_path):
    config = resolve_config(name, families=True)
    assert config == default_family_config(name)
    for suffix in (".json", ".yaml"):
        path = tmp_path / f"{name}{suffix}"
        save_config(config, path)
        assert load_config(path, families=True) == config


def test_yolov5_preset_holds_the_yolov5s_anchors():
    params = resolve_config("yolov5", families=True).params
    assert params.anchors[0] == ((10, 13), (16, 30), (33, 23))
    assert params.strides == (8, 16, 32) and params.anchor_t == 4.0


def test_yolov5_anchors_read_as_a_model_yaml_writes_them():
    config = family_from_dict({"format": "anchor-inspector/1", "framework": "yolov5",
                               "anchors": [[10, 13, 16, 30, 33, 23], [30, 61, 62, 45, 59, 119],
                                           [116, 90, 156, 198, 373, 326]]})
    assert config.params.anchors == yolov5.Yolov5Params().anchors
    assert config.anchors_per_location == 3


@pytest.mark.parametrize("change,key", [
    ({"anchor_t": -1}, "anchor_t"), ({"anchor_t": 1}, "anchor_t"),
    ({"anchors": [[10, 13, 16]]}, "anchors"),
    ({"anchors": [[[10, 13]], [[1, 2], [3, 4]]]}, "anchors"), ({"strides": [8, 16.5]}, "strides"),
    ({"colour": "red"}, "colour"),
])
def test_bad_values_name_the_file_and_key(change, key, tmp_path):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({"format": "anchor-inspector/1", "framework": "yolov5", **change}))
    with pytest.raises(InputError) as error:
        load_config(path, families=True)
    assert str(path) in str(error.value) and key in str(error.value)


def test_yolov8_semantics_by_name_or_version():
    base = {"format": "anchor-inspector/1", "framework": "yolov8"}
    assert family_from_dict({**base, "semantics": "8.3.40"}).params.semantics == "8.3"
    assert family_from_dict({**base, "semantics": "8.4.100"}).params.semantics == "8.4.0"
    with pytest.raises(InputError, match="semantics"):
        family_from_dict({**base, "semantics": "7.0"})


def test_retinanet_views_refuse_family_configs_clearly(tmp_path):
    assert "yolov5" not in list_presets() and "yolov5" in list_presets(families=True)
    with pytest.raises(InputError, match="detector family"):
        resolve_config("fcos")
    path = tmp_path / "atss.json"
    save_config(default_family_config("atss"), path)
    with pytest.raises(InputError, match="detector family"):
        load_config(path)
    assert isinstance(load_config(path, families=True), FamilyConfig)
