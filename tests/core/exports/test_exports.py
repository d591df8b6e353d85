"""Exports: every format for each framework's default and a tuned config, read back the way the
framework reads it and turned into anchors by transcriptions of the frameworks' own generators
(torchvision, detectron2, mmdet, keras-retinanet; stub modules record the Python snippets'
arguments), which must equal `generate_anchors`; refusals; the `export` command."""

from __future__ import annotations

import ast
import configparser
import dataclasses
import json
import math
import sys
import types

import numpy as np
import pytest
import yaml
from hypothesis import event, given, settings
from hypothesis import strategies as st

from cli import run_command
from core.anchor_config import (
    AnchorConfig,
    config_from_dict,
    default_config,
    load_config,
    load_preset,
)
from core.anchor_generation import generate_anchors
from core.errors import InputError
from core.exports import (
    EXPORTERS,
    SUFFIXES,
    TARGETS,
    export_problems,
    export_text,
    nearest_expressible,
)
from core.frameworks import FRAMEWORKS

SPEC_FORMATS = ["json", "yaml", "keras-cv", "keras-hub", "torchvision", "detectron2", "mmdet",
                "keras-retinanet"]
TUNED_RATIOS = (0.0989, 0.376, 3.0362, 9.5392)  # width / height
IMAGE_SIZES = [(512, 512), (300, 500), (333, 517)]


def tuned_config(framework: str) -> AnchorConfig:
    """A tuned config each framework can express: asymmetric ratios, other sizes and scales."""
    config = default_config(framework).replace(aspect_ratios=TUNED_RATIOS)
    if framework == "keras-hub":  # anchor_size 3, num_scales 2
        return config.replace(sizes=(24.0, 48.0, 96.0, 192.0, 384.0),
                              scales=(1.0, 2**0.5), low_quality_matches=True)
    config = config.replace(sizes=(24.0, 48.0, 96.0, 192.0, 384.0), scales=(1.0, 1.19, 1.41))
    if framework in ("torchvision", "mmdet"):
        config = config.replace(low_quality_matches=False, positive_iou=0.6, negative_iou=0.3)
    if framework in ("detectron2", "mmdet"):
        config = config.replace(center_offset=0.5)
    if framework == "keras-cv":
        config = config.replace(clip=False, positive_iou=0.45)
    return config


CASES = [(fw, kind) for fw in FRAMEWORKS for kind in ("default", "tuned")]


def case_config(framework: str, kind: str) -> AnchorConfig:
    return default_config(framework) if kind == "default" else tuned_config(framework)


def own_ratios(config: AnchorConfig) -> list[float]:
    if FRAMEWORKS[config.framework].ratio_meaning == "w/h":
        return list(config.aspect_ratios)
    return [1.0 / r for r in config.aspect_ratios]


# --------------------------------------------------------------------------- stub modules


class Recorder:
    """Stands in for a framework class: records how the snippet constructed it."""

    def __init__(self, *args, **kwargs):
        self.args = args
        self.kwargs = kwargs


def install_stubs(monkeypatch, attributes: dict[str, dict]) -> None:
    """Put fake modules (dotted name -> attributes) and their parents into sys.modules."""
    for dotted, attrs in attributes.items():
        parts = dotted.split(".")
        for i in range(1, len(parts) + 1):
            name = ".".join(parts[:i])
            if not isinstance(sys.modules.get(name), _Stub):
                monkeypatch.setitem(sys.modules, name, _Stub(name))
            if i > 1:
                setattr(sys.modules[".".join(parts[:i - 1])], parts[i - 1], sys.modules[name])
        for key, value in attrs.items():
            setattr(sys.modules[dotted], key, value)


class _Stub(types.ModuleType):
    pass


def run_snippet(text: str) -> dict:
    namespace: dict = {}
    exec(compile(text, "<export>", "exec"), namespace)
    return namespace


def make_class(name: str) -> type:
    return type(name, (Recorder,), {})


# --------------------------------------------------------------------------- reference generators


def padded(extent: int, divisor: int = 32) -> int:
    return -(-extent // divisor) * divisor


def torchvision_reference(generator: Recorder, levels, height: int, width: int) -> np.ndarray:
    """torchvision `AnchorGenerator` (float32): `generate_anchors` + `grid_anchors`, the image
    tensor padded to 32, feature maps ceil(padded / 2**level), stride = padded // feature."""
    sizes, ratios = generator.kwargs["sizes"], generator.kwargs["aspect_ratios"]
    ph, pw = padded(height), padded(width)
    out = []
    for level, scales, aspect in zip(levels, sizes, ratios, strict=True):
        scales = np.asarray(scales, np.float32)
        h_ratios = np.sqrt(np.asarray(aspect, np.float32))
        w_ratios = np.float32(1) / h_ratios
        ws = (w_ratios[:, None] * scales[None, :]).reshape(-1)
        hs = (h_ratios[:, None] * scales[None, :]).reshape(-1)
        base = np.round(np.stack([-ws, -hs, ws, hs], axis=1) / np.float32(2))
        gh, gw = math.ceil(ph / 2**level), math.ceil(pw / 2**level)
        sy, sx = ph // gh, pw // gw
        shift_y, shift_x = np.meshgrid(np.arange(gh, dtype=np.float32) * sy,
                                       np.arange(gw, dtype=np.float32) * sx, indexing="ij")
        shifts = np.stack([shift_x, shift_y, shift_x, shift_y], axis=-1).reshape(-1, 1, 4)
        out.append((shifts + base[None]).reshape(-1, 4))
    return np.concatenate(out).astype(np.float64)


def detectron2_reference(cfg: dict, height: int, width: int) -> np.ndarray:
    """detectron2 `DefaultAnchorGenerator`: `generate_cell_anchors` (for size: for ratio) on a
    grid `arange(offset * stride, grid * stride, stride)`; padding to 32 (FPN)."""
    generator = cfg["MODEL"]["ANCHOR_GENERATOR"]
    levels = [int(name[1:]) for name in cfg["MODEL"]["RETINANET"]["IN_FEATURES"]]
    ratios_per_level = generator["ASPECT_RATIOS"] * (len(levels)
                                                     if len(generator["ASPECT_RATIOS"]) == 1
                                                     else 1)
    offset = generator["OFFSET"]
    ph, pw = padded(height), padded(width)
    out = []
    for level, sizes, ratios in zip(levels, generator["SIZES"], ratios_per_level, strict=True):
        cell = []
        for size in sizes:
            area = size**2.0
            for ratio in ratios:
                w = math.sqrt(area / ratio)
                h = ratio * w
                cell.append([-w / 2.0, -h / 2.0, w / 2.0, h / 2.0])
        cell = np.asarray(cell, np.float32)
        stride = 2**level
        gh, gw = math.ceil(ph / stride), math.ceil(pw / stride)
        xs = np.arange(offset * stride, gw * stride, stride, dtype=np.float32)
        ys = np.arange(offset * stride, gh * stride, stride, dtype=np.float32)
        shift_y, shift_x = np.meshgrid(ys, xs, indexing="ij")
        shifts = np.stack([shift_x, shift_y, shift_x, shift_y], axis=-1).reshape(-1, 1, 4)
        out.append((shifts + cell[None]).reshape(-1, 4))
    return np.concatenate(out).astype(np.float64)


def mmdet_reference(args: dict, levels, height: int, width: int) -> np.ndarray:
    """mmdet `AnchorGenerator.gen_single_level_base_anchors` + `single_level_grid_priors`
    (float32), feature maps ceil(padded / 2**level), images padded to 32."""
    strides = args["strides"]
    base_sizes = args.get("base_sizes", strides)
    if "scales" in args:
        scales = np.asarray(args["scales"], np.float32)
    else:
        n = args["scales_per_octave"]
        scales = (np.array([2 ** (i / n) for i in range(n)]) * args["octave_base_scale"]) \
            .astype(np.float32)
    ratios = np.asarray(args["ratios"], np.float32)
    offset = args.get("center_offset", 0.0)
    centers = args.get("centers")
    ph, pw = padded(height), padded(width)
    out = []
    for i, (level, stride, base) in enumerate(zip(levels, strides, base_sizes, strict=True)):
        xc, yc = centers[i] if centers is not None else (offset * base, offset * base)
        h_ratios = np.sqrt(ratios)
        w_ratios = np.float32(1) / h_ratios
        ws = (base * w_ratios[:, None] * scales[None, :]).reshape(-1)
        hs = (base * h_ratios[:, None] * scales[None, :]).reshape(-1)
        anchors = np.stack([xc - 0.5 * ws, yc - 0.5 * hs, xc + 0.5 * ws, yc + 0.5 * hs], axis=-1)
        gh, gw = math.ceil(ph / 2**level), math.ceil(pw / 2**level)
        shift_x = np.arange(gw, dtype=np.float32) * stride
        shift_y = np.arange(gh, dtype=np.float32) * stride
        xx = np.tile(shift_x, gh)
        yy = np.repeat(shift_y, gw)
        shifts = np.stack([xx, yy, xx, yy], axis=-1)
        out.append((anchors[None, :, :] + shifts[:, None, :]).reshape(-1, 4))
    return np.concatenate(out).astype(np.float64)


def keras_retinanet_reference(ini: configparser.ConfigParser, height: int,
                              width: int) -> np.ndarray:
    """fizyr `parse_anchor_parameters` (ratios/scales float32, sizes/strides int) and
    `anchors_for_shape` with `guess_shapes`, `generate_anchors` and `shift`."""
    section = ini["anchor_parameters"]
    ratios = np.array(list(map(float, section["ratios"].split(" "))), np.float32)
    scales = np.array(list(map(float, section["scales"].split(" "))), np.float32)
    sizes = list(map(int, section["sizes"].split(" ")))
    strides = list(map(int, section["strides"].split(" ")))
    levels = list(map(int, ini["pyramid_levels"]["P"].split(" ")))
    out = []
    for idx, level in enumerate(levels):
        shape = (np.array([height, width]) + 2**level - 1) // (2**level)
        anchors = np.zeros((len(ratios) * len(scales), 4))
        anchors[:, 2:] = sizes[idx] * np.tile(scales, (2, len(ratios))).T
        areas = anchors[:, 2] * anchors[:, 3]
        anchors[:, 2] = np.sqrt(areas / np.repeat(ratios, len(scales)))
        anchors[:, 3] = anchors[:, 2] * np.repeat(ratios, len(scales))
        anchors[:, 0::2] -= np.tile(anchors[:, 2] * 0.5, (2, 1)).T
        anchors[:, 1::2] -= np.tile(anchors[:, 3] * 0.5, (2, 1)).T
        shift_x, shift_y = np.meshgrid((np.arange(shape[1]) + 0.5) * strides[idx],
                                       (np.arange(shape[0]) + 0.5) * strides[idx])
        shifts = np.vstack((shift_x.ravel(), shift_y.ravel(),
                            shift_x.ravel(), shift_y.ravel())).T
        out.append((anchors.reshape((1, -1, 4)) + shifts.reshape((-1, 1, 4))).reshape(-1, 4))
    return np.concatenate(out)


def assert_same_anchors(theirs: np.ndarray, config: AnchorConfig, height: int, width: int):
    ours = generate_anchors(config, height, width)
    assert theirs.shape == ours.shape
    np.testing.assert_allclose(theirs, ours, rtol=1e-5, atol=1e-3)


# --------------------------------------------------------------------------- registry, canonical


def test_registry_lists_the_spec_formats():
    assert list(EXPORTERS) == SPEC_FORMATS
    assert set(SUFFIXES) == set(SPEC_FORMATS)
    assert {t.framework for t in TARGETS.values()} == set(FRAMEWORKS)


@pytest.mark.parametrize("fmt", ["json", "yaml"])
@pytest.mark.parametrize("framework,kind", CASES)
def test_canonical_round_trips_through_load_config(tmp_path, fmt, framework, kind):
    config = case_config(framework, kind)
    path = tmp_path / f"config.{fmt}"
    path.write_text(export_text(config, fmt), encoding="utf-8")
    assert load_config(path) == config


def test_canonical_keeps_seed_preset_exactly(tmp_path):
    config = load_preset("seed-notebook")
    for fmt in ("json", "yaml"):
        path = tmp_path / f"seed.{fmt}"
        path.write_text(export_text(config, fmt), encoding="utf-8")
        assert load_config(path) == config


# --------------------------------------------------------------------------- framework snippets


@pytest.mark.parametrize("kind", ["default", "tuned"])
def test_keras_cv_snippet_arguments(monkeypatch, kind):
    config = case_config("keras-cv", kind)
    generator_class, encoder_class = make_class("AnchorGenerator"), make_class("LabelEncoder")
    install_stubs(monkeypatch, {"keras_cv": {
        "layers": types.SimpleNamespace(AnchorGenerator=generator_class),
        "models": types.SimpleNamespace(
            retinanet=types.SimpleNamespace(LabelEncoder=encoder_class))}})
    text = export_text(config, "keras-cv")
    assert "Anchor Inspector" in text and "width / height" in text
    namespace = run_snippet(text)
    kwargs = namespace["anchor_generator"].kwargs
    assert kwargs["aspect_ratios"] == list(config.aspect_ratios)  # keras-cv's ratio is w/h
    assert kwargs["sizes"] == list(config.sizes)
    assert kwargs["scales"] == list(config.scales)
    assert kwargs["strides"] == list(config.strides)
    assert kwargs["clip_boxes"] is (config.clip is not False)
    encoder = namespace["label_encoder"].kwargs
    assert encoder["anchor_generator"] is namespace["anchor_generator"]
    assert (encoder["positive_threshold"], encoder["negative_threshold"]) == \
        (config.positive_iou, config.negative_iou)


@pytest.mark.parametrize("kind", ["default", "tuned"])
def test_keras_hub_snippet_arguments(monkeypatch, kind):
    config = case_config("keras-hub", kind)
    install_stubs(monkeypatch, {
        "keras_hub": {"layers": types.SimpleNamespace(
            AnchorGenerator=make_class("AnchorGenerator"))},
        "keras_hub.src.models.retinanet.retinanet_label_encoder": {
            "RetinaNetLabelEncoder": make_class("RetinaNetLabelEncoder")},
    })
    text = export_text(config, "keras-hub")
    assert "height / width" in text
    namespace = run_snippet(text)
    kwargs = namespace["anchor_generator"].kwargs
    assert kwargs["aspect_ratios"] == own_ratios(config)  # h/w = 1 / r, exactly
    assert (kwargs["min_level"], kwargs["max_level"]) == (config.levels[0], config.levels[-1])
    n = kwargs["num_scales"]
    sizes = [kwargs["anchor_size"] * 2.0**lv for lv in config.levels]
    assert sizes == list(config.sizes)
    np.testing.assert_allclose([2 ** (i / n) for i in range(n)], config.scales, rtol=1e-12)
    encoder = namespace["label_encoder"].kwargs
    assert (encoder["positive_threshold"], encoder["negative_threshold"]) == \
        (config.positive_iou, config.negative_iou)
    assert encoder["box_matcher_force_match_for_each_col"] is bool(config.low_quality_matches)


@pytest.mark.parametrize("kind", ["default", "tuned"])
def test_torchvision_snippet_reproduces_anchors(monkeypatch, kind):
    config = case_config("torchvision", kind)
    install_stubs(monkeypatch, {
        "torchvision.models.detection.anchor_utils": {
            "AnchorGenerator": make_class("AnchorGenerator")},
        "torchvision.models.detection._utils": {"Matcher": make_class("Matcher")},
    })
    text = export_text(config, "torchvision")
    assert "height / width" in text
    namespace = run_snippet(text)
    generator = namespace["anchor_generator"]
    for level_ratios in generator.kwargs["aspect_ratios"]:
        assert list(level_ratios) == own_ratios(config)
    for height, width in IMAGE_SIZES:
        assert_same_anchors(torchvision_reference(generator, config.levels, height, width),
                            config, height, width)
    matcher = namespace["proposal_matcher"]
    assert matcher.args == (config.positive_iou, config.negative_iou)
    assert matcher.kwargs["allow_low_quality_matches"] is (config.low_quality_matches is not False)
    kwargs = namespace["retinanet_kwargs"]
    assert (kwargs["fg_iou_thresh"], kwargs["bg_iou_thresh"]) == \
        (config.positive_iou, config.negative_iou)


@pytest.mark.parametrize("kind", ["default", "tuned"])
def test_detectron2_yaml_reproduces_anchors(kind):
    config = case_config("detectron2", kind)
    text = export_text(config, "detectron2")
    cfg = yaml.safe_load(text)
    generator = cfg["MODEL"]["ANCHOR_GENERATOR"]
    assert generator["ASPECT_RATIOS"] == [own_ratios(config)]
    assert isinstance(generator["OFFSET"], float)  # yacs refuses an int where 0.0 is the default
    assert cfg["MODEL"]["RETINANET"]["IOU_THRESHOLDS"] == [config.negative_iou,
                                                           config.positive_iou]
    assert cfg["MODEL"]["RETINANET"]["IOU_LABELS"] == [0, -1, 1]
    for height, width in IMAGE_SIZES:
        assert_same_anchors(detectron2_reference(cfg, height, width), config, height, width)


@pytest.mark.parametrize("kind", ["default", "tuned"])
def test_mmdet_fragment_reproduces_anchors(kind):
    config = case_config("mmdet", kind)
    text = export_text(config, "mmdet")
    ast.parse(text)
    model = run_snippet(text)["model"]
    args = model["bbox_head"]["anchor_generator"]
    assert args["type"] == "AnchorGenerator"
    assert args["ratios"] == own_ratios(config)
    if kind == "default":  # RetinaNet's own form
        assert (args["octave_base_scale"], args["scales_per_octave"]) == (4, 3)
    for height, width in IMAGE_SIZES:
        assert_same_anchors(mmdet_reference(args, config.levels, height, width),
                            config, height, width)
    assigner = model["train_cfg"]["assigner"]
    assert assigner["type"] == "MaxIoUAssigner"
    assert (assigner["pos_iou_thr"], assigner["neg_iou_thr"]) == \
        (config.positive_iou, config.negative_iou)
    assert assigner["min_pos_iou"] == 0
    assert assigner["match_low_quality"] is (config.low_quality_matches is not False)


def test_mmdet_offset_with_own_base_sizes_uses_centers():
    config = tuned_config("mmdet")
    args = run_snippet(export_text(config, "mmdet"))["model"]["bbox_head"]["anchor_generator"]
    assert args["base_sizes"] == list(config.sizes)
    assert "center_offset" not in args  # mmdet forbids centers with a non-zero center_offset
    assert args["centers"][0] == (0.5 * config.strides[0],) * 2


@pytest.mark.parametrize("kind", ["default", "tuned"])
def test_keras_retinanet_ini_reproduces_anchors(kind):
    config = case_config("keras-retinanet", kind)
    text = export_text(config, "keras-retinanet")
    ini = configparser.ConfigParser()
    ini.read_string(text)
    assert set(ini["anchor_parameters"]) == {"sizes", "strides", "ratios", "scales"}
    ratios = list(map(float, ini["anchor_parameters"]["ratios"].split(" ")))
    assert ratios == own_ratios(config)
    for height, width in IMAGE_SIZES:
        assert_same_anchors(keras_retinanet_reference(ini, height, width), config, height, width)


@pytest.mark.parametrize("framework,kind", CASES)
def test_every_format_exports_every_framework_config(framework, kind):
    config = case_config(framework, kind)
    fmt = framework  # each framework's own format
    assert export_problems(config, fmt) == []
    assert nearest_expressible(config, fmt) == config
    text = export_text(config, fmt)
    assert text.startswith("# Anchor configuration for ")
    meaning = "width / height, as in" if framework == "keras-cv" else "height / width: each is 1"
    assert meaning in text


@pytest.mark.parametrize("fmt", list(TARGETS))
def test_cross_framework_export_warns_in_header(fmt):
    config = default_config("keras-cv" if fmt != "keras-cv" else "torchvision")
    if fmt == "keras-hub":
        config = config.replace(aspect_ratios=(0.5, 1.0, 2.0))
    text = export_text(config, fmt)
    assert "NOTE: tuned for" in text and f'framework "{fmt}"' in text


# --------------------------------------------------------------------------- refusals

NEAREST = "Nearest expressible config: "


def refusal(config: AnchorConfig, fmt: str) -> tuple[str, AnchorConfig]:
    with pytest.raises(InputError) as caught:
        export_text(config, fmt)
    message = str(caught.value)
    assert "\n" not in message and f"cannot export to {fmt}" in message
    suggestion = config_from_dict(json.loads(message.split(NEAREST, 1)[1]))
    assert export_problems(suggestion, fmt) == []
    export_text(suggestion, fmt)  # the suggestion itself exports
    return message, suggestion


def test_keras_hub_refuses_free_sizes_and_scales():
    config = default_config("keras-hub").replace(sizes=(24.0, 50.0, 96.0, 192.0, 384.0),
                                                 scales=(1.0, 1.19, 1.41))
    message, nearest = refusal(config, "keras-hub")
    assert "sizes must be anchor_size * 2**level" in message
    assert "scales must be 2**(i/3)" in message
    assert nearest.scales == (1.0, 2 ** (1 / 3), 2 ** (2 / 3))
    anchor_size = nearest.sizes[0] / 8
    assert nearest.sizes == tuple(anchor_size * 2.0**lv for lv in nearest.levels)
    assert 3.0 < anchor_size < 3.2
    assert nearest.aspect_ratios == config.aspect_ratios


def test_keras_hub_refuses_gapped_levels():
    config = default_config("keras-hub").replace(
        levels=(3, 5, 7), strides=(8.0, 32.0, 128.0), sizes=(32.0, 128.0, 512.0))
    message, nearest = refusal(config, "keras-hub")
    assert "levels must be consecutive" in message
    assert nearest.levels == (3, 4, 5) and nearest.strides == (8.0, 16.0, 32.0)


@pytest.mark.parametrize("fmt", ["torchvision", "detectron2", "mmdet", "keras-retinanet",
                                 "keras-hub"])
def test_strides_other_than_two_to_the_level_are_refused(fmt):
    config = default_config(fmt).replace(strides=(8.0, 16.0, 32.0, 64.0, 100.0))
    message, nearest = refusal(config, fmt)
    assert "stride = 2**level" in message and "stride 100 != 2**7" in message
    assert nearest.strides == (8.0, 16.0, 32.0, 64.0, 128.0)


def test_strides_that_are_powers_of_two_move_the_levels():
    config = default_config("torchvision").replace(levels=(0, 1, 2, 3, 4))
    _, nearest = refusal(config, "torchvision")
    assert nearest.levels == (3, 4, 5, 6, 7) and nearest.strides == config.strides


@pytest.mark.parametrize("fmt", ["torchvision", "detectron2", "mmdet", "keras-retinanet",
                                 "keras-hub"])
def test_clipping_from_keras_cv_is_refused_elsewhere(fmt):
    config = load_preset("seed-notebook")  # keras-cv, clip: true
    if fmt == "keras-hub":
        config = config.replace(scales=(1.0, 2 ** (1 / 3), 2 ** (2 / 3)))
    message, nearest = refusal(config, fmt)
    assert "clip" in message and nearest.clip is None and nearest.framework == fmt
    assert nearest.aspect_ratios == config.aspect_ratios


def test_keras_retinanet_refuses_fractional_sizes_and_thresholds():
    config = default_config("keras-retinanet").replace(
        sizes=(24.5, 48.0, 96.0, 192.0, 384.0), positive_iou=0.6)
    message, nearest = refusal(config, "keras-retinanet")
    assert "whole pixels" in message and "sizes 24.5" in message
    assert "thresholds" in message
    assert nearest.sizes[0] == 24.0 and nearest.positive_iou == 0.5


def test_detectron2_yaml_cannot_turn_off_low_quality_matches():
    config = default_config("detectron2").replace(low_quality_matches=False)
    message, nearest = refusal(config, "detectron2")
    assert "low_quality_matches" in message and nearest.low_quality_matches is None


def test_fixed_centre_offset_is_refused_when_moving_framework():
    config = default_config("detectron2").replace(center_offset=0.5)
    message, nearest = refusal(config, "torchvision")
    assert "center_offset" in message and nearest.center_offset is None


def test_unknown_format_is_an_input_error():
    with pytest.raises(InputError, match="unknown export format 'onnx'; formats: json"):
        export_text(default_config(), "onnx")


def test_ratios_round_trip_with_all_digits():
    config = default_config("torchvision").replace(aspect_ratios=(1 / 3, 0.0989, 7.123456789012))
    text = export_text(config, "torchvision")
    assert repr(1.0 / 0.0989) in text and repr(1.0 / 7.123456789012) in text
    assert repr(1.0 / (1 / 3)) in text


# --------------------------------------------------------------------------- CLI


def test_cli_prints_to_stdout(capsys):
    assert run_command(["export", "--config", "torchvision-retinanet", "--to",
                        "torchvision"]) == 0
    out = capsys.readouterr().out
    assert out == export_text(load_preset("torchvision-retinanet"), "torchvision")


def test_cli_writes_out_file_atomically(tmp_path, capsys):
    source = tmp_path / "tuned.json"
    source.write_text(export_text(tuned_config("detectron2"), "json"), encoding="utf-8")
    out = tmp_path / "retinanet_anchors.yaml"
    assert run_command(["export", "--config", str(source), "--to", "detectron2",
                        "--out", str(out)]) == 0
    captured = capsys.readouterr()
    assert captured.out == ""
    assert out.read_text(encoding="utf-8") == export_text(tuned_config("detectron2"),
                                                          "detectron2")
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_cli_yaml_out_round_trips(tmp_path):
    out = tmp_path / "seed.yaml"
    assert run_command(["export", "--config", "seed-notebook", "--to", "yaml",
                        "--out", str(out)]) == 0
    assert load_config(out) == load_preset("seed-notebook")


def test_cli_bad_config_exits_2_with_one_line(tmp_path, capsys):
    bad = tmp_path / "bad.json"
    bad.write_text('{"format": "anchor-inspector/1", "framework": "keras-cv"}', encoding="utf-8")
    assert run_command(["export", "--config", str(bad), "--to", "keras-cv"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and str(bad) in lines[0] and "levels" in lines[0]


def test_cli_inexpressible_config_exits_2_naming_the_file(tmp_path, capsys):
    source = tmp_path / "hub.json"
    config = dataclasses.replace(default_config("keras-hub"), scales=(1.0, 1.19, 1.41))
    source.write_text(export_text(config, "json"), encoding="utf-8")
    assert run_command(["export", "--config", str(source), "--to", "keras-hub"]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(f"error: {source}: cannot export to keras-hub: scales must be")
    assert NEAREST in lines[0]


def test_cli_unknown_format_exits_2(capsys):
    assert run_command(["export", "--config", "keras-cv-retinanet", "--to", "onnx"]) == 2
    assert "unknown export format 'onnx'" in capsys.readouterr().err


# --------------------------------------------------------------------------- any config

@st.composite
def any_config(draw) -> AnchorConfig:
    count = draw(st.integers(1, 5))
    levels = draw(st.lists(st.integers(0, 8), min_size=count, max_size=count, unique=True))
    positive = st.floats(0.3, 600.0, allow_nan=False, allow_infinity=False)
    d = {
        "format": "anchor-inspector/1", "framework": draw(st.sampled_from(list(FRAMEWORKS))),
        "levels": levels,
        "strides": draw(st.lists(st.sampled_from([1, 2, 4, 6, 8, 16, 32, 64, 100, 128, 256]),
                                 min_size=count, max_size=count)),
        "sizes": draw(st.lists(positive, min_size=count, max_size=count)),
        "scales": draw(st.lists(st.floats(0.5, 3.0), min_size=1, max_size=4)),
        "aspect_ratios": draw(st.lists(st.floats(0.05, 20.0), min_size=1, max_size=6)),
        "positive_iou": draw(st.sampled_from([0.5, 0.6, 0.7])),
        "negative_iou": draw(st.sampled_from([0.3, 0.4, 0.5])),
    }
    if draw(st.booleans()):  # mostly expressible grids
        d["strides"] = [2**lv for lv in levels]
    config = config_from_dict(d)
    fw = FRAMEWORKS[config.framework]
    if fw.center_offset_limits is not None:
        config = config.replace(center_offset=draw(st.sampled_from([None, 0.0, 0.25, 0.5])))
    if fw.clip_configurable:
        config = config.replace(clip=draw(st.sampled_from([None, True, False])))
    if fw.low_quality_configurable:
        config = config.replace(low_quality_matches=draw(st.sampled_from([None, True, False])))
    return config


def assert_reproduces_anchors(config: AnchorConfig, text: str, fmt: str) -> None:
    """Where the test has a transcription of the framework's generator, compare anchors."""
    height, width = 70, 97
    if fmt == "detectron2":
        theirs = detectron2_reference(yaml.safe_load(text), height, width)
    elif fmt == "mmdet":
        args = run_snippet(text)["model"]["bbox_head"]["anchor_generator"]
        theirs = mmdet_reference(args, config.levels, height, width)
    elif fmt == "keras-retinanet":
        ini = configparser.ConfigParser()
        ini.read_string(text)
        theirs = keras_retinanet_reference(ini, height, width)
    else:
        return
    event(f"anchors compared: {fmt}")
    assert_same_anchors(theirs, config, height, width)


@settings(max_examples=120, deadline=None)
@given(config=any_config(), fmt=st.sampled_from(SPEC_FORMATS))
def test_any_config_exports_or_offers_a_nearest_config_that_reproduces_anchors(config, fmt):
    nearest = nearest_expressible(config, fmt)
    assert export_problems(nearest, fmt) == []
    assert nearest.aspect_ratios == config.aspect_ratios
    if export_problems(config, fmt):
        with pytest.raises(InputError, match="Nearest expressible config: {"):
            export_text(config, fmt)
    else:
        moved = dataclasses.replace(config, framework=TARGETS[fmt].framework) \
            if fmt in TARGETS else config
        assert nearest == moved
    assert_reproduces_anchors(nearest, export_text(nearest, fmt), fmt)


@pytest.mark.parametrize("fmt", ["yaml", "keras-cv", "keras-hub", "torchvision", "detectron2",
                                 "mmdet", "keras-retinanet"])
def test_every_export_states_the_head_against_the_pretrained_one(fmt):
    framework = fmt if fmt in FRAMEWORKS else "keras-cv"
    base = default_config(framework)
    same = export_text(base, fmt)
    assert "Head: 9 anchors per location" in same and "load unchanged" in same
    six = nearest_expressible(base.replace(aspect_ratios=(0.5, 2.0)), fmt)
    text = " ".join(line.lstrip("# ") for line in export_text(six, fmt).splitlines()
                    if line.startswith("#"))
    assert "HEAD: 6 anchors per location" in text and "pretrained" in text
    for layer in FRAMEWORKS[framework].head_output_layers:
        assert layer in text
