"""`sigmf:` source: annotations become boxes to the pixel of the rendered spectrogram, the sigmf
package's silent traps become clear errors or counted skips, and nothing reads samples early."""

import json
import time
import warnings

import numpy as np
import pytest
import sigmf
from sigmf.sigmffile import SigMFFile

import core.sources
import core.sources.sigmf_source as sigmf_source
from cli import run_command
from core.errors import InputError
from core.sources import load_table
from core.sources.base import parse_spec
from core.sources.sigmf_source import SigMFSource
from tests.core.sources.writers.common import reference_dataset
from tests.core.sources.writers.sigmf_writer import (
    HOP,
    SIGNAL_POWER_DB,
    box_to_annotation,
    sigmf_nfft,
    write_recording,
    write_sigmf,
)

NFFT = 64
FS = 64_000.0  # one FFT bin = 1 kHz at nfft 64
BIN = FS / NFFT
FC = 2.4e9
FRAMES = 40
N = NFFT * FRAMES


def open_sigmf(spec):
    return SigMFSource(parse_spec(spec))


def load(spec, **kwargs):
    source = open_sigmf(spec)
    return source, load_table(source, **kwargs)


def row_frequency(row, nfft=NFFT, fs=FS):
    """Baseband frequency (Hz) at the centre of image row `row`."""
    return fs / 2 - (row + 0.5) * fs / nfft


def tone(row, first, last, amplitude=1.0, count=N, nfft=NFFT, fs=FS):
    """A complex tone at the centre of `row`, on samples [first, last)."""
    samples = np.zeros(count, np.complex128)
    n = np.arange(first, last)
    samples[first:last] = amplitude * np.exp(2j * np.pi * row_frequency(row, nfft, fs) / fs * n)
    return samples


def noise(count=N, power=1e-4, seed=0):
    rng = np.random.default_rng(seed)
    return (rng.normal(size=count) + 1j * rng.normal(size=count)) * np.sqrt(power / 2)


def one_row_annotation(row, first, last, centre=FC, label=None):
    """An annotation exactly one row tall (the row's frequency cell) over samples [first, last)."""
    f = centre + row_frequency(row)
    annotation = {"core:sample_start": first, "core:sample_count": last - first,
                  "core:freq_lower_edge": f - BIN / 2, "core:freq_upper_edge": f + BIN / 2}
    if label is not None:
        annotation["core:label"] = label
    return annotation


def base_meta(annotations=None, **global_info):
    info = {"core:datatype": "cf32_le", "core:sample_rate": FS, "core:version": "1.2.0"}
    info.update(global_info)
    return {"global": info, "captures": [{"core:sample_start": 0, "core:frequency": FC}],
            "annotations": annotations if annotations is not None else [
                one_row_annotation(5, 2 * NFFT, 10 * NFFT, label="burst"),
                one_row_annotation(40, 12 * NFFT, 30 * NFFT, label="carrier"),
                {"core:sample_start": 31 * NFFT, "core:sample_count": 4 * NFFT}]}


def write(tmp_path, meta, samples=None, name="rec", datatype=None):
    """Write a recording; `datatype` (if given) both encodes the samples and goes in the meta."""
    samples = noise() if samples is None else samples
    if datatype is not None:
        meta = {**meta, "global": {**meta["global"], "core:datatype": datatype}}
    datatype = meta["global"].get("core:datatype", "cf32_le")
    return write_recording(tmp_path / name, samples, meta, datatype)


def expect_error(spec, *parts):
    with pytest.raises(InputError) as caught:
        load(spec)
    message = str(caught.value)
    for part in parts:
        assert part in message, message
    return message


# --- round trip ----------------------------------------------------------------------------------

@pytest.mark.parametrize("seed", [0, 1, 2])
def test_reference_dataset_round_trip(tmp_path, seed):
    dataset = reference_dataset(seed, images=5 + seed)
    spec = write_sigmf(tmp_path, dataset)
    source, table = load(spec)
    assert table.skipped == {} and table.clipped == 0
    assert table.image_ids.tolist() == [str(i) for i in dataset.image_ids]
    assert table.image_widths.tolist() == dataset.widths.tolist()
    assert (table.image_heights == sigmf_nfft(dataset)).all()
    assert np.abs(table.xyxy() - dataset.xyxy).max() < 0.01
    assert table.image.tolist() == dataset.image.tolist()
    assert table.cls.tolist() == dataset.cls.tolist()
    assert table.class_names == dataset.class_names
    within = [list(range(k)) for k in np.bincount(dataset.image)]
    assert table.box_index.tolist() == [i for part in within for i in part]


def test_reference_dataset_pixels_show_every_box(tmp_path):
    dataset = reference_dataset(0)
    source, table = load(write_sigmf(tmp_path, dataset))
    for image in range(table.image_count):
        pixels = source.pixels(image)
        assert pixels.shape == (table.image_heights[image], table.image_widths[image])
        assert pixels.dtype == np.float32
        lit = np.zeros(pixels.shape, bool)
        for x1, y1, x2, y2 in table.xyxy(table.image == image):
            rows = slice(int(np.ceil(y1)) + 1, int(np.floor(y2)) - 1)
            cols = slice(int(np.ceil(x1)) + 1, int(np.floor(x2)) - 1)
            assert np.median(pixels[rows, cols]) > SIGNAL_POWER_DB - 6
            lit[int(y1):int(np.ceil(y2)) + 1, int(x1):int(np.ceil(x2)) + 2] = True
        assert np.median(pixels[~lit]) < 3  # the noise floor (0 dB) everywhere else


def test_tones_to_the_pixel(tmp_path):
    """Each tone fills exactly its annotation's row and columns, highest frequency in row 0."""
    tones = [(5, 2, 10), (40, 12, 30), (0, 31, 33), (63, 34, 40), (32, 0, 1)]
    samples = noise() + sum(tone(row, a * NFFT, b * NFFT) for row, a, b in tones)
    meta = base_meta([one_row_annotation(row, a * NFFT, b * NFFT) for row, a, b in tones])
    write(tmp_path, meta, samples)
    source, table = load(f"sigmf:{tmp_path}/rec.sigmf-meta?nfft={NFFT}")
    assert np.allclose(table.xyxy(), [[a, row, b, row + 1] for row, a, b in tones], atol=1e-9)
    pixels = source.pixels(0)
    assert pixels.shape == (NFFT, FRAMES)
    lit_columns = np.flatnonzero(pixels.max(axis=0) > 0)
    assert lit_columns.tolist() == sorted(c for _, a, b in tones for c in range(a, b))
    for row, a, b in tones:
        assert (pixels[:, a:b].argmax(axis=0) == row).all()


def test_positive_frequency_tone_in_upper_half(tmp_path):
    samples = np.exp(2j * np.pi * 5_000 / FS * np.arange(N))  # +5 kHz above the centre
    meta = base_meta([{"core:sample_start": 0, "core:freq_lower_edge": FC + 4_000,
                       "core:freq_upper_edge": FC + 6_000}])
    write(tmp_path, meta, samples)
    source, table = load(f"sigmf:{tmp_path}/rec.sigmf-meta?nfft={NFFT}")
    brightest = source.pixels(0).argmax(axis=0)
    assert (brightest < NFFT // 2).all() and (brightest == 26).all()  # 32 - 5 - 0.5 -> row 26
    assert np.allclose(table.xyxy()[0], [0, 26, FRAMES, 28])


def test_smaller_hop_keeps_tones_centred_in_their_boxes(tmp_path):
    samples = noise() + tone(20, 10 * NFFT, 14 * NFFT)
    write(tmp_path, base_meta([one_row_annotation(20, 10 * NFFT, 14 * NFFT)]), samples)
    source, table = load(f"sigmf:{tmp_path}/rec.sigmf-meta?nfft={NFFT}&hop=16")
    x1, y1, x2, y2 = table.xyxy()[0]
    assert (x1, x2) == (40, 56) and table.image_widths[0] == N // 16
    pixels = source.pixels(0)
    power = 10 ** (pixels[20] / 10)
    lit = np.flatnonzero(pixels[20] > 0)
    spill = (NFFT - 16) // 2 / 16  # half a window of smearing on each side, in columns
    assert lit.min() >= x1 - spill - 1 and lit.max() + 1 <= x2 + spill + 1
    centre = (power * (np.arange(len(power)) + 0.5)).sum() / power.sum()
    assert abs(centre - (x1 + x2) / 2) < 0.5


# --- folders, archives, the package's own writer -------------------------------------------------

def test_folder_of_recordings_sorted_by_name(tmp_path):
    for name, row in (("b", 7), ("a", 3), ("sub/c", 50)):
        write(tmp_path, base_meta([one_row_annotation(row, 0, N, label=f"sig{row}")]),
              noise() + tone(row, 0, N), name=name)
    (tmp_path / "notes.txt").write_text("not a recording")
    source, table = load(f"sigmf:{tmp_path}?nfft={NFFT}")
    assert table.image_ids.tolist() == ["a", "b", "sub/c"]
    assert table.y1.tolist() == [3, 7, 50]
    assert table.class_names == {0: "sig3", 1: "sig7", 2: "sig50"}
    assert [int(source.pixels(i).argmax(axis=0)[0]) for i in range(3)] == [3, 7, 50]
    # the data file path and the stem name the same recording
    for path in (tmp_path / "a.sigmf-data", tmp_path / "a"):
        assert load(f"sigmf:{path}?nfft={NFFT}")[1].y1.tolist() == [3]


def test_recordings_written_by_the_sigmf_package_load(tmp_path):
    samples = (noise() + tone(12, 5 * NFFT, 9 * NFFT)).astype(np.complex64)
    recording = sigmf.fromarray(samples)
    recording.sample_rate = FS
    recording.add_capture(0, metadata={sigmf.FREQUENCY_KEY: FC})
    annotation = one_row_annotation(12, 5 * NFFT, 9 * NFFT, label="tone")
    recording.add_annotation(5 * NFFT, length=4 * NFFT, metadata={
        k: v for k, v in annotation.items() if k not in ("core:sample_start", "core:sample_count")})
    recording.tofile(tmp_path / "pkg")
    (tmp_path / "arc").mkdir()
    recording.tofile(tmp_path / "arc" / "pkg.sigmf")  # an uncompressed archive
    for path in (tmp_path / "pkg.sigmf-meta", tmp_path / "arc" / "pkg.sigmf", tmp_path / "arc"):
        source, table = load(f"sigmf:{path}?nfft={NFFT}")
        assert table.image_ids.tolist() == ["pkg"]
        assert np.allclose(table.xyxy(), [[5, 12, 9, 13]])
        assert table.class_names == {0: "tone"}
        pixels = source.pixels(0)
        assert (pixels[:, 5:9].argmax(axis=0) == 12).all() and pixels.shape == (NFFT, FRAMES)


def test_compressed_archive_is_refused_with_a_reason(tmp_path):
    (tmp_path / "x.sigmf.gz").write_bytes(b"")
    expect_error(f"sigmf:{tmp_path}/x.sigmf.gz", "x.sigmf.gz", "compressed")


# --- the package's traps -------------------------------------------------------------------------

def test_missing_sample_rate_is_an_error(tmp_path):
    meta = base_meta()
    del meta["global"]["core:sample_rate"]
    path = write(tmp_path, meta)
    SigMFFile(metadata=json.loads(path.read_text())).validate()  # the package: silently valid
    expect_error(f"sigmf:{path}", str(path), "global", "missing required key 'core:sample_rate'")


def test_missing_data_file_is_an_error(tmp_path):
    path = write(tmp_path, base_meta())
    (tmp_path / "rec.sigmf-data").unlink()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert sigmf.fromfile(path).sample_count == 0  # the package: zero samples, no error
    expect_error(f"sigmf:{path}", str(path), f"missing data file {tmp_path / 'rec.sigmf-data'}")


@pytest.mark.parametrize("datatype", ["cf16_le", "xx32", "cf32_xx", "", 5, None, "cf33_le"])
def test_unsupported_datatype_is_an_error(tmp_path, datatype):
    meta = base_meta()
    path = write(tmp_path, meta)
    meta = json.loads(path.read_text())
    if datatype is None:
        del meta["global"]["core:datatype"]
    else:
        meta["global"]["core:datatype"] = datatype
    path.write_text(json.dumps(meta))
    if datatype == "cf16_le":
        with pytest.raises(TypeError):  # the package: a bare TypeError
            sigmf.fromfile(path, skip_checksum=True)
    problem = ("missing required key 'core:datatype'" if datatype is None else
               f"unsupported core:datatype {datatype!r}")
    expect_error(f"sigmf:{path}", str(path), "global", problem)


def test_annotation_past_the_data_end_is_skipped_or_clipped(tmp_path):
    annotations = [one_row_annotation(3, N - NFFT, N + 10 * NFFT),  # overhangs: clipped
                   one_row_annotation(4, N, N + NFFT),  # starts at the end: outside
                   one_row_annotation(5, N + 7, N + 99),  # entirely after: outside
                   one_row_annotation(6, 0, NFFT)]
    path = write(tmp_path, base_meta(annotations))
    with pytest.warns(UserWarning, match="ends before the final annotation"):  # the package
        sigmf.fromfile(path, skip_checksum=True)
    _, table = load(f"sigmf:{path}?nfft={NFFT}")
    assert table.skipped == {"outside_image": 2} and table.clipped == 1
    assert table.box_index.tolist() == [0, 3]
    assert np.allclose(table.xyxy(), [[FRAMES - 1, 3, FRAMES, 4], [0, 6, 1, 7]])
    strict_error = r"rec.sigmf-meta: image rec, box 1: box skipped \(outside_image\)"
    with pytest.raises(InputError, match=strict_error):
        load(f"sigmf:{path}?nfft={NFFT}", strict=True)


@pytest.mark.parametrize("text,position", [
    ('{"global": {"core:datatype": "cf32_le",}}', "line 1, column"),
    ('{\n  "global": {\n    "core:sample_rate": NaN\n  }\n}', "line 3, column"),
    ("", "line 1, column 1"),
    ('{"global": {}} trailing', "line 1, column"),
])
def test_invalid_json_names_file_and_position(tmp_path, text, position):
    write(tmp_path, base_meta())
    path = tmp_path / "rec.sigmf-meta"
    path.write_text(text)
    expect_error(f"sigmf:{path}", str(path), position, "invalid JSON")


def test_non_utf8_meta_is_invalid_json(tmp_path):
    write(tmp_path, base_meta())
    path = tmp_path / "rec.sigmf-meta"
    path.write_bytes(b'{"global": "\xff\xfe"}')
    expect_error(f"sigmf:{path}", str(path), "invalid JSON", "line 1")


# --- frequency mapping ---------------------------------------------------------------------------

def test_each_annotation_uses_its_capture_segments_centre_frequency(tmp_path):
    second = 20 * NFFT  # the receiver retunes 10 kHz up at sample 1280
    band = FC + row_frequency(10) + np.array([-BIN / 2, BIN / 2])  # a fixed RF band
    samples = noise() + tone(10, 0, 8 * NFFT) + tone(20, second + 4 * NFFT, second + 12 * NFFT)
    annotations = [{"core:sample_start": s, "core:sample_count": 8 * NFFT,
                    "core:freq_lower_edge": band[0], "core:freq_upper_edge": band[1]}
                   for s in (0, second + 4 * NFFT)]
    meta = base_meta(annotations)
    meta["captures"] = [{"core:sample_start": second, "core:frequency": FC + 10_000},
                        {"core:sample_start": 0, "core:frequency": FC}]  # out of order
    write(tmp_path, meta, samples)
    source, table = load(f"sigmf:{tmp_path}/rec.sigmf-meta?nfft={NFFT}")
    assert np.allclose(table.xyxy(), [[0, 10, 8, 11], [24, 20, 32, 21]])
    pixels = source.pixels(0)
    assert (pixels[:, 0:8].argmax(axis=0) == 10).all()
    assert (pixels[:, 24:32].argmax(axis=0) == 20).all()


def test_centre_frequency_fallbacks(tmp_path):
    band = {"core:freq_lower_edge": 1_000.0, "core:freq_upper_edge": 3_000.0}
    meta = base_meta([{"core:sample_start": 0, **band}])
    meta["captures"] = [{"core:sample_start": NFFT * 5, "core:frequency": 10_000.0}]
    path = write(tmp_path, meta)  # annotation before the first capture: that capture
    assert np.allclose(load(f"sigmf:{path}?nfft={NFFT}")[1].xyxy(), [[0, 39, FRAMES, 41]])
    meta["captures"] = [{"core:sample_start": 0}]  # no core:frequency anywhere: 0 Hz baseband
    path.write_text(json.dumps(meta))
    assert np.allclose(load(f"sigmf:{path}?nfft={NFFT}")[1].xyxy(), [[0, 29, FRAMES, 31]])
    meta["captures"] = []
    meta["global"]["core:frequency"] = 2_000.0  # non-standard global centre frequency
    path.write_text(json.dumps(meta))
    assert np.allclose(load(f"sigmf:{path}?nfft={NFFT}")[1].xyxy(), [[0, 31, FRAMES, 33]])


def test_missing_edges_and_count_mean_full_band_and_to_the_end(tmp_path):
    annotations = [{"core:sample_start": 100},
                   {"core:sample_start": 0, "core:sample_count": 64, "core:freq_lower_edge": FC},
                   {"core:sample_start": 0, "core:sample_count": 64, "core:freq_upper_edge": FC},
                   # after the last sample, though inside the zero-padded last column: outside
                   {"core:sample_start": N - 3, "core:sample_count": 2}]
    path = write(tmp_path, base_meta(annotations), noise(count=N - 5))
    _, table = load(f"sigmf:{path}?nfft={NFFT}")
    assert table.image_widths.tolist() == [FRAMES]  # ceil((N - 5) / 64)
    assert np.allclose(table.xyxy(), [[100 / NFFT, 0, (N - 5) / NFFT, NFFT],
                                      [0, 0, 1, NFFT / 2], [0, NFFT / 2, 1, NFFT]])
    assert table.clipped == 0 and table.skipped == {"outside_image": 1}


def test_offset_edges_out_of_band_and_degenerate_annotations(tmp_path):
    annotations = [
        {"core:sample_start": 1000, "core:sample_count": 64},  # offset 1000: x = 0..1
        {"core:sample_start": 1064, "core:sample_count": 0},  # zero length
        {"core:sample_start": 1064, "core:freq_lower_edge": FC + 5_000,
         "core:freq_upper_edge": FC + 1_000},  # upper below lower
        {"core:sample_start": 1064, "core:freq_lower_edge": FC + 40_000,
         "core:freq_upper_edge": FC + 50_000},  # above the band: outside
        {"core:sample_start": 1064, "core:freq_lower_edge": FC + 30_000,
         "core:freq_upper_edge": FC + 50_000},  # partly above: clipped
        {"core:sample_start": 900, "core:sample_count": 128}]  # before the offset: clipped
    path = write(tmp_path, base_meta(annotations, **{"core:offset": 1000}))
    _, table = load(f"sigmf:{path}?nfft={NFFT}")
    assert table.skipped == {"non_positive_size": 2, "outside_image": 1}
    assert table.clipped == 2 and table.box_index.tolist() == [0, 4, 5]
    assert np.allclose(table.xyxy(), [[0, 0, 1, NFFT], [1, 0, FRAMES, 2],
                                      [0, 0, 28 / 64, NFFT]])


# --- options -------------------------------------------------------------------------------------

def test_nfft_hop_and_window_options(tmp_path):
    path = write(tmp_path, base_meta(), noise() + tone(5, 2 * NFFT, 10 * NFFT))
    for query, shape in (("", (512, 5)), ("nfft=128", (128, 20)), ("nfft=128&hop=32", (128, 80)),
                         ("nfft=64&hop=64&window=kaiser,8", (64, 40)),
                         ("nfft=64&window=blackman", (64, 40)), ("nfft=63&hop=7", (63, 366))):
        source, table = load(f"sigmf:{path}?{query}")
        assert (table.image_heights[0], table.image_widths[0]) == shape
        assert source.pixels(0).shape == shape
    boxcar = open_sigmf(f"sigmf:{path}?nfft=64&window=boxcar")
    hann = open_sigmf(f"sigmf:{path}?nfft=64")
    load_table(boxcar), load_table(hann)
    assert not np.allclose(boxcar.pixels(0), hann.pixels(0))


@pytest.mark.parametrize("query,option", [
    ("nfft=1", "'nfft'"), ("nfft=abc", "'nfft'"), ("nfft=100000", "'nfft'"), ("nfft=1.5", "'nfft'"),
    ("hop=0", "'hop'"), ("nfft=64&hop=65", "'hop'"), ("hop=true", "'hop'"),
    ("window=nonsense", "'window'"), ("window=kaiser,x", "'window'"), ("window=", "'window'"),
    ("window=3", "'window'"), ("channel=-1", "'channel'"), ("channel=1", "'channel'"),
    ("classes=a,,b", "'classes'"), ("classes=a,a", "'classes'"), ("colour=red", "'colour'"),
])
def test_bad_option_values_name_the_option(tmp_path, query, option):
    path = write(tmp_path, base_meta())
    expect_error(f"sigmf:{path}?{query}", option)


def test_classes_option_pins_ids_and_unlabelled_annotations(tmp_path):
    path = write(tmp_path, base_meta())  # labels: burst, carrier, (none)
    _, table = load(f"sigmf:{path}?nfft={NFFT}")
    assert table.class_names == {0: "burst", 1: "carrier", 2: "unlabelled"}
    assert table.cls.tolist() == [0, 1, 2]
    _, table = load(f"sigmf:{path}?nfft={NFFT}&classes=carrier,chirp")
    assert table.class_names == {0: "carrier", 1: "chirp", 2: "burst", 3: "unlabelled"}
    assert table.cls.tolist() == [2, 0, 3]
    path.write_text(json.dumps(base_meta([{"core:sample_start": 0}])))
    _, table = load(f"sigmf:{path}?nfft={NFFT}")
    assert table.cls.tolist() == [0] and table.class_names == {0: "unlabelled"}


# --- malformed corpus ----------------------------------------------------------------------------

def _set(path, value):
    def mutate(meta):
        target = meta
        for key in path[:-1]:
            target = target[key]
        if value is _DELETE:
            del target[path[-1]]
        else:
            target[path[-1]] = value
        return meta
    return mutate


_DELETE = object()
ANNOTATION = ("annotations", 1)

MALFORMED = [
    ("top level array", lambda m: [m], ["must be a JSON object"]),
    ("no global", _set(("global",), _DELETE), ["missing required section 'global'"]),
    ("global not object", _set(("global",), []), ["'global' must be a JSON object"]),
    ("annotations not list", _set(("annotations",), {}), ["'annotations' must be a JSON array"]),
    ("captures not list", _set(("captures",), 3), ["'captures' must be a JSON array"]),
    ("annotation not object", _set(ANNOTATION, 7), ["annotation 1", "JSON object"]),
    ("capture not object", _set(("captures", 0), "x"), ["capture 0", "JSON object"]),
    ("no sample_start", _set(ANNOTATION + ("core:sample_start",), _DELETE),
     ["annotation 1", "missing required key 'core:sample_start'"]),
    ("negative sample_start", _set(ANNOTATION + ("core:sample_start",), -5),
     ["annotation 1", "'core:sample_start' must be a whole number >= 0, got -5"]),
    ("text sample_start", _set(ANNOTATION + ("core:sample_start",), "12"),
     ["annotation 1", "'core:sample_start'", "'12'"]),
    ("float sample_start", _set(ANNOTATION + ("core:sample_start",), 1.5),
     ["annotation 1", "'core:sample_start'"]),
    ("null sample_count", _set(ANNOTATION + ("core:sample_count",), None),
     ["annotation 1", "'core:sample_count'", "None"]),
    ("bool sample_count", _set(ANNOTATION + ("core:sample_count",), True),
     ["annotation 1", "'core:sample_count'"]),
    ("text edge", _set(ANNOTATION + ("core:freq_lower_edge",), "2.4 GHz"),
     ["annotation 1", "'core:freq_lower_edge' must be a number"]),
    ("number label", _set(ANNOTATION + ("core:label",), 3),
     ["annotation 1", "'core:label' must be a string"]),
    ("capture without start", _set(("captures", 0, "core:sample_start"), _DELETE),
     ["capture 0", "'core:sample_start'"]),
    ("text capture frequency", _set(("captures", 0, "core:frequency"), "2.4e9"),
     ["capture 0", "'core:frequency' must be a number"]),
    ("zero sample rate", _set(("global", "core:sample_rate"), 0),
     ["global", "'core:sample_rate' must be a positive number"]),
    ("text sample rate", _set(("global", "core:sample_rate"), "64k"),
     ["global", "'core:sample_rate'"]),
    ("zero channels", _set(("global", "core:num_channels"), 0), ["global", "core:num_channels"]),
    ("negative offset", _set(("global", "core:offset"), -1), ["global", "'core:offset'"]),
    ("text global frequency", _set(("global", "core:frequency"), "x"),
     ["global", "'core:frequency' must be a number"]),
    ("dataset file missing", _set(("global", "core:dataset"), "elsewhere.bin"),
     ["global", "missing data file", "elsewhere.bin"]),
    ("metadata only", _set(("global", "core:metadata_only"), True), ["metadata-only"]),
    ("trailing bytes eat the data", _set(("global", "core:trailing_bytes"), N * 8),
     ["holds no samples"]),
]


@pytest.mark.parametrize("name,mutate,parts", MALFORMED, ids=[c[0] for c in MALFORMED])
def test_malformed_metadata_is_an_input_error(tmp_path, name, mutate, parts):
    path = write(tmp_path, base_meta())
    meta = mutate(json.loads(path.read_text()))
    path.write_text(json.dumps(meta))
    if name == "metadata only":
        (tmp_path / "rec.sigmf-data").unlink()
    expect_error(f"sigmf:{path}", str(path), *parts)


def test_empty_data_missing_paths_and_empty_folders(tmp_path):
    path = write(tmp_path, base_meta(), noise(count=0))
    expect_error(f"sigmf:{path}", str(path), "holds no samples")
    expect_error(f"sigmf:{tmp_path}/nothing.sigmf-meta", "nothing.sigmf-meta", "no such file")
    (tmp_path / "empty").mkdir()
    expect_error(f"sigmf:{tmp_path}/empty", "empty", "no .sigmf-meta")
    expect_error("sigmf:", "needs a path")
    (tmp_path / "bad.sigmf").write_bytes(b"not a tar archive at all" * 50)
    expect_error(f"sigmf:{tmp_path}/bad.sigmf", "bad.sigmf", "cannot read the archive")


# --- data: never read while loading boxes; every datatype for pixels ------------------------------

def test_loading_boxes_never_reads_samples(tmp_path, monkeypatch):
    path = write(tmp_path, base_meta([{"core:sample_start": 2**32, "core:sample_count": 2**20}]))
    with open(tmp_path / "rec.sigmf-data", "r+b") as data:
        data.truncate(8 << 30)  # 8 GiB, sparse: reading it would take far too long

    def forbidden(*args, **kwargs):
        raise AssertionError("samples read while loading boxes")

    monkeypatch.setattr(np, "fromfile", forbidden)
    monkeypatch.setattr(np, "memmap", forbidden)
    monkeypatch.setattr(sigmf.sigmffile.SigMFFile, "read_samples", forbidden)
    monkeypatch.setattr(sigmf_source, "spectrogram_db_from_reader", forbidden)
    start = time.perf_counter()
    _, table = load(f"sigmf:{path}")
    assert time.perf_counter() - start < 5
    assert table.image_widths.tolist() == [(8 << 30) // 8 // 512]
    assert np.allclose(table.xyxy(), [[2**32 / 512, 0, (2**32 + 2**20) / 512, 512]])


@pytest.mark.parametrize("datatype", ["cf32_le", "cf32_be", "cf64_le", "ci32_le", "ci16_le",
                                      "ci16_be", "ci8", "cu8", "cu16_le"])
def test_complex_datatypes_render_the_same_tone(tmp_path, datatype):
    samples = 0.5 * tone(17, 0, N) + noise(power=1e-4)
    write(tmp_path, base_meta(), samples, datatype=datatype)
    source, _ = load(f"sigmf:{tmp_path}/rec.sigmf-meta?nfft={NFFT}")
    pixels = source.pixels(0)
    assert pixels.shape == (NFFT, FRAMES) and np.isfinite(pixels).all()
    assert (pixels.argmax(axis=0) == 17).all()


@pytest.mark.parametrize("datatype", ["rf32_le", "rf64_be", "ri16_le", "ri8", "ru8", "ru32_le"])
def test_real_datatypes_render_a_mirrored_spectrum(tmp_path, datatype):
    samples = 0.5 * np.cos(2 * np.pi * row_frequency(17) / FS * np.arange(N))
    write(tmp_path, base_meta(), samples + 0.001, datatype=datatype)
    source, table = load(f"sigmf:{tmp_path}/rec.sigmf-meta?nfft={NFFT}")
    assert table.image_widths.tolist() == [FRAMES]
    pixels = source.pixels(0)
    assert set(np.argsort(pixels[:, 3])[-2:].tolist()) == {17, NFFT - 1 - 17}


def test_channel_option_picks_one_channel(tmp_path):
    samples = np.stack([tone(9, 0, N), tone(44, 0, N)], axis=1)
    write(tmp_path, base_meta(**{"core:num_channels": 2}), samples)
    for channel, row in ((0, 9), (1, 44)):
        source, table = load(f"sigmf:{tmp_path}/rec.sigmf-meta?nfft={NFFT}&channel={channel}")
        assert table.image_widths.tolist() == [FRAMES]
        assert (source.pixels(0).argmax(axis=0) == row).all()


def test_long_recordings_are_capped_and_gone_data_has_no_pixels(tmp_path, monkeypatch):
    path = write(tmp_path, base_meta())
    monkeypatch.setattr(sigmf_source, "MAX_PIXELS", NFFT * 10)
    source, table = load(f"sigmf:{path}?nfft={NFFT}")
    assert table.image_widths.tolist() == [FRAMES]
    assert source.pixels(0).shape == (NFFT, 10)  # 4 frames per column, same time span
    (tmp_path / "rec.sigmf-data").unlink()
    assert source.pixels(0) is None


def test_pixels_without_loading_first(tmp_path):
    path = write(tmp_path, base_meta(), noise() + tone(5, 0, N))
    source = open_sigmf(f"sigmf:{path}?nfft={NFFT}")
    assert (source.pixels(0).argmax(axis=0) == 5).all()


def test_stats_command_end_to_end(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(core.sources.SOURCE_KINDS, "sigmf", "core.sources.sigmf_source:SigMFSource")
    spec = write_sigmf(tmp_path, reference_dataset(4))
    assert run_command(["stats", "--dataset", spec, "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["dataset"]["boxes"] == len(reference_dataset(4).xyxy)
    path = write(tmp_path, {"global": {"core:datatype": "cf16_le", "core:sample_rate": FS}})
    assert run_command(["stats", "--dataset", f"sigmf:{path}"]) == 2
    error = capsys.readouterr().err.strip()
    assert error.count("\n") == 0 and str(path) in error and "cf16_le" in error


def test_writer_annotations_invert_the_mapping():
    annotation = box_to_annotation([1.25, 3.5, 7.75, 9.0], nfft=128, hop=HOP)
    assert annotation["core:sample_start"] == 125 and annotation["core:sample_count"] == 650
