"""The STFT sweep: each point is exactly `analyze(load_table(spec at that nfft and hop))`, the hop
follows the spec's ratio (or the given one) within 1..nfft, only `sigmf:` datasets are swept, and
signals show the trend their physics predicts (a carrier grows taller in rows as nfft grows)."""

import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.analysis import ModelInput, analyze
from core.anchor_config import default_config
from core.errors import InputError
from core.sources import load_table, parse_spec
from core.stft_sweep import (
    StftPoint,
    best_point,
    hop_for,
    spec_at,
    spec_hop_ratio,
    stft_sweep,
)
from tests.core.sources.writers.common import reference_dataset
from tests.core.sources.writers.sigmf_writer import HOP, sigmf_nfft, write_sigmf

CONFIG = default_config("keras-cv")
FS = 1.0e6  # Hz
FC = 1.0e9  # Hz
SAMPLES = 1_000_000  # 1 s
CARRIER_HZ = 5.0e3
CARRIER_SAMPLES = 200_000  # 0.2 s
BURST_HZ = 500.0e3
BURST_SAMPLES = 2_000  # 2 ms


def write_boxes_only(folder, annotations, name="rec", sample_rate=FS, samples=SAMPLES):
    """A recording whose data file is sparse (zeros): only its size matters for boxes."""
    folder.mkdir(parents=True, exist_ok=True)
    meta = {"global": {"core:datatype": "cf32_le", "core:sample_rate": sample_rate,
                       "core:version": "1.2.0"},
            "captures": [{"core:sample_start": 0, "core:frequency": FC}],
            "annotations": annotations}
    meta_path = folder / f"{name}.sigmf-meta"
    meta_path.write_text(json.dumps(meta))
    with open(folder / f"{name}.sigmf-data", "wb") as data:
        data.truncate(samples * 8)
    return meta_path


def carriers_and_bursts(folder):
    """Four 5 kHz x 0.2 s carriers and four 500 kHz x 2 ms bursts at 1 MS/s."""
    annotations = []
    for k in range(4):
        low = FC - 400e3 + k * 200e3
        annotations.append({"core:sample_start": 100_000 + k * 200_000,
                            "core:sample_count": CARRIER_SAMPLES, "core:freq_lower_edge": low,
                            "core:freq_upper_edge": low + CARRIER_HZ, "core:label": "carrier"})
        annotations.append({"core:sample_start": 50_000 + k * 230_000,
                            "core:sample_count": BURST_SAMPLES,
                            "core:freq_lower_edge": FC - BURST_HZ / 2,
                            "core:freq_upper_edge": FC + BURST_HZ / 2, "core:label": "burst"})
    return write_boxes_only(folder, annotations)


def reference_spec(tmp_path, seed=0):
    """Several recordings with real samples (tests/core/sources/writers), nfft ~200, hop 100."""
    return write_sigmf(tmp_path, reference_dataset(seed, images=6))


# --- exactness of the orchestration ----------------------------------------------------------


@pytest.mark.parametrize(("framework", "model_input"), [
    ("keras-cv", ModelInput()), ("keras-cv", ModelInput((256, 384), "stretch")),
    ("torchvision", ModelInput())])  # torchvision's low-quality matches: recall != best possible
def test_every_point_equals_a_direct_analysis(tmp_path, framework, model_input):
    config = default_config(framework)
    dataset = reference_dataset(3, images=6)
    spec = write_sigmf(tmp_path, dataset)
    base_nfft = sigmf_nfft(dataset)
    path, classes = parse_spec(spec).path, parse_spec(spec).options["classes"]
    nffts = [8, 32, 100, 256, 1024]
    points = stft_sweep(spec, config, nffts, model_input=model_input)
    assert [p.nfft for p in points] == nffts
    for point, nfft in zip(points, nffts, strict=True):
        hop = max(1, min(nfft, math.floor(nfft * HOP / base_nfft + 0.5)))
        assert point.hop == hop
        by_hand = f"sigmf:{path}?classes={classes}&nfft={nfft}&hop={hop}"
        table = load_table(by_hand)
        report = analyze(table, config, model_input).report
        assert point.images == table.image_count == len(dataset.image_ids)
        assert point.boxes == len(table)
        assert point.recall == report.recall
        assert point.best_possible_recall == report.best_possible_recall
        assert point.ceiling_recall == report.ceiling_recall
        assert point.mean_positives_per_box == report.mean_positives_per_box
        assert point.per_class_recall == {name: row.recall
                                          for name, row in report.per_class.items()}
        assert point.hz_per_row == FS / nfft
        assert point.seconds_per_column == hop / FS
        assert point.seconds >= 0
        # the point's own spec reopens the dataset at exactly this geometry
        again = load_table(point.spec)
        assert np.array_equal(again.xyxy(), table.xyxy())
        assert (again.image_heights == nfft).all()
        assert again.image_widths.tolist() == [-(-w * HOP // hop) for w in dataset.widths]
    # the sweep changes something: the numbers are not all one analysis repeated
    assert len({(p.recall, p.ceiling_recall, p.mean_positives_per_box) for p in points}) > 2
    if framework == "torchvision":
        assert any(p.recall != p.best_possible_recall for p in points)
        assert any(p.per_class_recall[name] > 0 for p in points for name in p.per_class_recall)


def test_a_sweep_point_at_the_specs_own_geometry_is_the_plain_analysis(tmp_path):
    spec = reference_spec(tmp_path, seed=1)
    options = parse_spec(spec).options
    [point] = stft_sweep(spec, CONFIG, [options["nfft"]])
    report = analyze(load_table(spec), CONFIG).report
    assert point.hop == options["hop"]
    assert (point.recall, point.ceiling_recall) == (report.recall, report.ceiling_recall)


def test_nffts_are_swept_ascending_once(tmp_path):
    meta = carriers_and_bursts(tmp_path / "rec")
    points = stft_sweep(f"sigmf:{meta}", CONFIG, [256, 64, 256, 128])
    assert [p.nfft for p in points] == [64, 128, 256]
    for bad in ([], [1], [65537], [64.0]):
        with pytest.raises(InputError, match="FFT size"):
            stft_sweep(f"sigmf:{meta}", CONFIG, bad)


# --- hop -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("nfft", "ratio", "hop"), [
    (64, 1.0, 64), (64, 0.25, 16), (100, 0.125, 13),  # 12.5 rounds half up
    (64, 1 / 4096, 1), (4096, 1 / 4096, 1), (2, 0.1, 1), (64, 0.999, 64)])
def test_hop_for_rounds_and_clamps(nfft, ratio, hop):
    assert hop_for(nfft, ratio) == hop


def test_hop_keeps_the_specs_ratio(tmp_path):
    meta = carriers_and_bursts(tmp_path / "rec")
    nffts = [64, 128, 1024]
    plain = stft_sweep(f"sigmf:{meta}", CONFIG, nffts)
    assert [p.hop for p in plain] == nffts  # no hop, no nfft: hop = nfft
    quarter = stft_sweep(f"sigmf:{meta}?nfft=512&hop=128", CONFIG, nffts)
    assert [p.hop for p in quarter] == [16, 32, 256]
    default_nfft = stft_sweep(f"sigmf:{meta}?hop=256", CONFIG, nffts)  # nfft 512 by default
    assert [p.hop for p in default_nfft] == [32, 64, 512]
    assert [p.seconds_per_column for p in quarter] == [16 / FS, 32 / FS, 256 / FS]
    assert spec_hop_ratio(f"sigmf:{meta}?nfft=512&hop=128") == 0.25


def test_an_explicit_hop_ratio_wins_and_is_clamped(tmp_path):
    meta = carriers_and_bursts(tmp_path / "rec")
    half = stft_sweep(f"sigmf:{meta}?nfft=512&hop=128", CONFIG, [64, 256], hop_ratio=0.5)
    assert [p.hop for p in half] == [32, 128]
    assert "hop=32" in half[0].spec and "nfft=64" in half[0].spec
    tiny = stft_sweep(f"sigmf:{meta}?nfft=4096&hop=1", CONFIG, [64, 8192])
    assert [p.hop for p in tiny] == [1, 2]  # 64/4096 rounds to 0: clamped to 1
    assert load_table(tiny[0].spec).image_widths.tolist() == [SAMPLES]
    for bad in (0.0, -0.5, 1.5, float("nan")):
        with pytest.raises(InputError, match="hop ratio"):
            stft_sweep(f"sigmf:{meta}", CONFIG, [64], hop_ratio=bad)


@settings(max_examples=60, deadline=None)
@given(options=st.dictionaries(
    st.sampled_from(["nfft", "hop", "window", "channel", "classes"]),
    st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=8), max_size=5),
    nfft=st.integers(2, 65536), hop=st.integers(1, 65536))
def test_spec_at_changes_only_nfft_and_hop(options, nfft, hop):
    from urllib.parse import urlencode

    spec = "sigmf:some dir/rec.sigmf-meta" + (f"?{urlencode(options)}" if options else "")
    moved = parse_spec(spec_at(spec, nfft, hop))
    original = parse_spec(spec)
    assert moved.kind == "sigmf" and moved.path == original.path
    assert moved.options == {**original.options, "nfft": nfft, "hop": hop}


# --- refusals --------------------------------------------------------------------------------


@pytest.mark.parametrize("spec", ["demo?images=3", "coco:annotations.json?images=imgs"])
def test_other_kinds_are_refused_naming_the_spec(spec):
    with pytest.raises(InputError) as caught:
        stft_sweep(spec, CONFIG, [64])
    message = str(caught.value)
    assert spec in message and "sigmf" in message and parse_spec(spec).kind in message


def test_bad_sigmf_options_are_reported_before_sweeping(tmp_path):
    meta = carriers_and_bursts(tmp_path / "rec")
    with pytest.raises(InputError, match="unknown option 'size'"):
        stft_sweep(f"sigmf:{meta}?size=3", CONFIG, [64])
    with pytest.raises(InputError, match="option 'hop'"):
        stft_sweep(f"sigmf:{meta}?nfft=64&hop=65", CONFIG, [64])


# --- physics: what becomes coverable where ---------------------------------------------------


def test_carriers_grow_taller_and_bursts_narrower_as_nfft_grows(tmp_path):
    meta = carriers_and_bursts(tmp_path / "rec")
    nffts = [16, 64, 256, 1024, 4096, 8192]
    points = stft_sweep(f"sigmf:{meta}", CONFIG, nffts)
    for point in points:
        table = load_table(point.spec)
        carrier = table.cls == 0
        heights, widths = table.y2 - table.y1, table.x2 - table.x1
        # 5 kHz in rows of fs / nfft Hz; 0.2 s in columns of hop / fs s
        assert np.allclose(heights[carrier], CARRIER_HZ / (FS / point.nfft))
        assert np.allclose(widths[carrier], CARRIER_SAMPLES / point.hop)
        assert np.allclose(heights[~carrier], BURST_HZ / (FS / point.nfft))
        assert point.hz_per_row * point.nfft == FS
    carrier = [p.per_class_recall["carrier"] for p in points]
    burst = [p.per_class_recall["burst"] for p in points]
    # a carrier under a pixel tall (nfft <= 64) or 200 x 1 px cannot match 32-512 px anchors;
    # at 4096 it is 20 x 49 px, at 8192 41 x 24 px
    assert carrier == [0, 0, 0, 0, 1, 1]
    # a burst is 32 x 31 px at nfft 64 and under a column wide from 4096 on
    assert burst == [0, 1, 0, 0, 0, 0]
    assert best_point(points).nfft == 64  # ties on recall 0.5: the smaller nfft


def test_mixed_sample_rates_have_no_single_unit(tmp_path):
    folder = tmp_path / "mixed"
    annotation = {"core:sample_start": 0, "core:sample_count": 1000,
                  "core:freq_lower_edge": FC - 1e3, "core:freq_upper_edge": FC + 1e3}
    write_boxes_only(folder, [annotation], "a", sample_rate=FS, samples=10_000)
    write_boxes_only(folder, [annotation], "b", sample_rate=2 * FS, samples=10_000)
    [point] = stft_sweep(f"sigmf:{folder}", CONFIG, [64])
    assert point.images == 2 and point.boxes == 2
    assert point.hz_per_row is None and point.seconds_per_column is None
    write_boxes_only(folder, [annotation], "b", sample_rate=FS, samples=10_000)
    [point] = stft_sweep(f"sigmf:{folder}", CONFIG, [64])
    assert point.hz_per_row == FS / 64 and point.seconds_per_column == 64 / FS


def test_progress_and_cancel(tmp_path):
    meta = carriers_and_bursts(tmp_path / "rec")
    seen = []
    points = stft_sweep(f"sigmf:{meta}", CONFIG, [64, 128, 256],
                        progress=lambda fraction, message: seen.append((fraction, message)))
    assert [f for f, _ in seen] == pytest.approx([1 / 3, 2 / 3, 1])
    assert seen[0][1].startswith("nfft 64")
    stop_after = iter([False, False, True, True])
    partial = stft_sweep(f"sigmf:{meta}", CONFIG, [64, 128, 256],
                         cancelled=lambda: next(stop_after))
    assert [p.nfft for p in partial] == [64]
    assert partial[0] == StftPoint(**{**points[0].to_dict(), "seconds": partial[0].seconds})
