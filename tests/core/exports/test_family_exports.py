"""Family exports read back to the same parameters in the target's own syntax."""

import ast

import pytest
import yaml

from cli import run_command
from core.assigners.yolov5 import Yolov5Params
from core.errors import InputError
from core.exports.families import export_family_text
from core.family_config import default_family_config, with_params


def test_yolov5_block_is_a_model_yaml_anchors_list():
    config = with_params(default_family_config("yolov5"), anchor_t=3.5, anchors=(
        ((4.5, 40.0), (12.0, 8.0)), ((30.0, 61.0), (80.0, 10.0)), ((300.0, 20.0), (100, 150))))
    text = export_family_text(config, "yolov5")
    block = yaml.safe_load(text)
    assert Yolov5Params.from_yaml(block["anchors"], config.params.strides) == with_params(
        config, anchor_t=4.0).params
    assert "anchor_t: 3.5" in text and "--noautoanchor" in text


def test_fcos_snippet_carries_sizes_and_radius():
    config = with_params(default_family_config("fcos"), anchor_sizes=(6, 12, 24, 48, 96),
                         center_sampling_radius=2.0)
    tree = ast.parse(export_family_text(config, "fcos"))
    calls = {node.func.id: node for node in ast.walk(tree)
             if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)}
    sizes = ast.literal_eval(calls["AnchorGenerator"].keywords[0].value)
    assert sizes == ((6,), (12,), (24,), (48,), (96,))
    radius = [k for k in calls["dict"].keywords if k.arg == "center_sampling_radius"][0]
    assert ast.literal_eval(radius.value) == 2.0


def test_atss_fragment_is_an_mmdet_config():
    config = with_params(default_family_config("atss"), topk=7, octave_base_scale=6.0)
    namespace: dict = {}
    exec(export_family_text(config, "atss"), {"dict": dict}, namespace)  # noqa: S102
    model = namespace["model"]
    assert model["train_cfg"]["assigner"] == {"type": "ATSSAssigner", "topk": 7}
    generator = model["bbox_head"]["anchor_generator"]
    assert generator["octave_base_scale"] == 6 and generator["strides"] == [8, 16, 32, 64, 128]


def test_a_family_exports_only_to_its_own_format_and_the_canonical_files(capsys):
    with pytest.raises(InputError, match="exports to json, yaml, yolov5"):
        export_family_text(default_family_config("yolov5"), "torchvision")
    assert run_command(["export", "--config", "yolov8", "--to", "yolov8"]) == 2
    assert "json, yaml" in capsys.readouterr().err
    assert run_command(["export", "--config", "fcos", "--to", "yaml"]) == 0
    assert "framework: fcos" in capsys.readouterr().out
