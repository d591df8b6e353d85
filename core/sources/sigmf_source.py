"""`sigmf:PATH?nfft=512&hop=512&window=hann&channel=0`: SigMF recordings as spectrogram images.

PATH is a `.sigmf-meta` file (its samples in the `.sigmf-data` beside it, or the file its
`core:dataset` names), an uncompressed one-recording `.sigmf` archive, or a folder: every
`*.sigmf-meta` and `*.sigmf` below it is one image, in order of relative path. The image id is the
recording's name (relative path without the extension); `box_index` is the annotation's position
in the meta file's `annotations` list (0-based). Read through the `sigmf` package.

Options (defaults): `nfft` (512) FFT length = image height, 2..65536; `hop` (= nfft) samples per
column, 1..nfft; `window` (`hann`) any `scipy.signal.get_window` name, parameters after commas
(`kaiser,8`); `channel` (0) which channel of a multi-channel recording is shown; `classes`
(none) comma-separated label names that get class ids 0, 1, ... in that order.

Boxes (exactly the grid of `core.spectrogram`), with N the data's sample count, fs =
`core:sample_rate`, fc = `core:frequency` of the capture segment containing the annotation's
`core:sample_start` (the first segment for an annotation before it; without one: a non-standard
global `core:frequency`, else 0 Hz = baseband), s = sample_start - `core:offset`:
- x1 = s / hop, x2 = (s + core:sample_count) / hop; without a sample_count x2 = N / hop (to the
  end of the data). Image width = ceil(N / hop) columns; an annotation that starts at or after
  the end of the data is skipped as `outside_image`; one that runs past it is clipped.
- y1 = (fc + fs/2 - core:freq_upper_edge) / (fs/nfft), y2 = (fc + fs/2 - core:freq_lower_edge) /
  (fs/nfft); image height = nfft, row 0 = highest frequency. A missing upper edge gives y1 = 0, a
  missing lower edge y2 = nfft (the full band).
- class: `core:label` names listed in `classes` get ids in that order; other labels follow in
  order of first appearance in the dataset (recordings in order, annotations in file order). An
  annotation without a label is class "unlabelled" (id 0 when no annotation has a label).

Physical units (`core.units`, per recording): seconds per column = hop / fs, time of column 0 =
core:offset / fs (so a box starts at core:sample_start / fs), hertz per row = fs / nfft, and the
top row's upper edge at fc + fs/2 — unknown (NaN) when the captures tune to several centre
frequencies, whose boxes then each use their own segment's fc.

Loading boxes reads only the meta files and the data files' sizes (N = (bytes - header_bytes -
trailing_bytes) // bytes per sample, a trailing partial sample ignored); `pixels(i)` reads the
samples (every real and complex datatype of SigMF) and computes the spectrogram, merging groups of
frames by their maximum when it would exceed MAX_PIXELS (the image then has fewer columns that
span the same time). Compressed archives (`.sigmf.gz`, ...) are not supported: the package would
decompress the samples to read the metadata.
"""

from __future__ import annotations

import re
import tarfile
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import orjson

from core.boxes import reason_code
from core.errors import InputError
from core.sources.base import BoxBatch, Source, SourceSpec
from core.sources.options import check_options
from core.spectrogram import spectrogram_db_from_reader, window_values
from core.units import ImageUnits, PhysicalAxes

DEFAULT_NFFT = 512
MAX_NFFT = 65536
DEFAULT_WINDOW = "hann"
MAX_PIXELS = 1 << 25  # 32 M pixels (128 MB of float32) per rendered spectrogram
META_EXT, DATA_EXT, ARCHIVE_EXT = ".sigmf-meta", ".sigmf-data", ".sigmf"
COMPRESSED_EXTS = (".sigmf.gz", ".sigmf.xz", ".sigmf.zip")
UNLABELLED = "unlabelled"
DATATYPE_PATTERN = re.compile(r"[cr](f32|f64|i32|i16|u32|u16|i8|u8)(_le|_be)?")
OPTIONS = ("nfft", "hop", "window", "channel", "classes")


@dataclass(frozen=True)
class RecordingLayout:
    """What loading learnt about one recording; `pixels()` reads its samples with it."""

    name: str  # the image id
    where: str  # the meta file (or `archive::member`) for messages
    meta_path: Path | None  # a meta file ...
    archive_path: Path | None  # ... or an uncompressed archive
    global_info: dict
    captures: list
    sample_count: int


def _is_number(value: object) -> bool:
    return type(value) in (int, float)


def _is_count(value: object) -> bool:
    return type(value) is int and value >= 0


def _recording_files(path: Path, spec: SourceSpec) -> list[Path]:
    """The meta files / archives a PATH names, sorted by relative path."""
    text = str(path)
    if not spec.path:
        raise InputError("sigmf needs a path: sigmf:FILE.sigmf-meta or sigmf:FOLDER",
                         file=spec.text)
    if text.lower().endswith(COMPRESSED_EXTS):
        raise InputError("compressed SigMF archives are not supported; extract it (tar -xf) or "
                         "use an uncompressed .sigmf archive", file=text)
    if path.is_dir():
        files = sorted((p for p in path.rglob("*") if p.suffix in (META_EXT, ARCHIVE_EXT)
                        and p.is_file()), key=lambda p: p.relative_to(path).as_posix())
        if not files:
            raise InputError(f"no {META_EXT} or {ARCHIVE_EXT} recordings in this folder", file=text)
        return files
    if path.suffix == DATA_EXT:
        path = path.with_suffix(META_EXT)
    elif path.suffix not in (META_EXT, ARCHIVE_EXT) and not path.exists():
        path = path.with_name(path.name + META_EXT)
    if not path.is_file():
        raise InputError("no such file or folder", file=str(path))
    return [path]


def _recording_name(file: Path, root: Path) -> str:
    relative = file.relative_to(root) if root.is_dir() else Path(file.name)
    return relative.with_suffix("").as_posix()


def _archive_data_member(members: list, info: dict) -> tarfile.TarInfo | None:
    """The archive's samples: its `.sigmf-data` member, else the one `core:dataset` names."""
    files = [m for m in members if m.isfile()]
    dataset = info.get("core:dataset")
    return next((m for m in files if m.name.endswith(DATA_EXT)), None) or next(
        (m for m in files if type(dataset) is str and dataset and m.name.endswith(dataset)), None)


def _parse_json(raw: bytes, where: str) -> dict:
    try:
        meta = orjson.loads(raw)
    except orjson.JSONDecodeError as error:
        raise InputError(f"invalid JSON: {error.msg}", file=where,
                         record=f"line {error.lineno}, column {error.colno}") from None
    if type(meta) is not dict:
        raise InputError(f"the metadata must be a JSON object, got {type(meta).__name__}",
                         file=where)
    return meta


def _section(meta: dict, key: str, kind: type, where: str, required: bool):
    if key not in meta:
        if required:
            raise InputError(f"missing required section {key!r}", file=where)
        return kind()
    value = meta[key]
    if type(value) is not kind:
        raise InputError(f"{key!r} must be a JSON {'object' if kind is dict else 'array'}, got "
                         f"{type(value).__name__}", file=where)
    return value


def sample_size(datatype: object, where: str) -> int:
    """Bytes per sample (all components of one channel) of a SigMF `core:datatype`."""
    from sigmf.error import SigMFError
    from sigmf.sigmffile import dtype_info

    if datatype is None:
        raise InputError("missing required key 'core:datatype'", file=where, record="global")
    if type(datatype) is not str or not DATATYPE_PATTERN.fullmatch(datatype):
        raise InputError(f"unsupported core:datatype {datatype!r}; SigMF datatypes are c or r, "
                         "then f32 f64 i32 i16 u32 u16 i8 u8, then _le or _be",
                         file=where, record="global")
    try:
        return int(dtype_info(datatype)["sample_size"])
    except (SigMFError, TypeError, ValueError) as error:  # the package's own refusals
        raise InputError(f"unsupported core:datatype {datatype!r} ({error})", file=where,
                         record="global") from None


def _global_number(info: dict, key: str, where: str, default: object = None, *,
                   count: bool = False, positive: bool = False):
    if key not in info:
        if default is None:
            raise InputError(f"missing required key {key!r}", file=where, record="global")
        return default
    value = info[key]
    ok = _is_count(value) if count else _is_number(value) and np.isfinite(value)
    if not ok or (positive and not value > 0):
        need = "a whole number >= 0" if count else "a positive number" if positive else "a number"
        raise InputError(f"{key!r} must be {need}, got {value!r}", file=where, record="global")
    return value


def _number_column(items: list, key: str, where: str, record: str, *, count: bool = False,
                   required: bool = False) -> np.ndarray:
    """One key of every item as float64 (NaN where absent); InputError at the first bad one."""
    values = [item.get(key) for item in items]
    check = _is_count if count else _is_number
    bad = next((i for i, v in enumerate(values) if not (check(v) or (v is None and not required
                                                                      and key not in items[i]))),
               None)
    if bad is not None:
        value = items[bad].get(key)
        if key not in items[bad]:
            problem = f"missing required key {key!r}"
        else:
            problem = (f"{key!r} must be {'a whole number >= 0' if count else 'a number'}, "
                       f"got {value!r}")
        raise InputError(problem, file=where, record=f"{record} {bad}")
    return np.array([np.nan if v is None else v for v in values], np.float64)


class SigMFSource(Source):
    """SigMF recordings: one spectrogram image per recording, one box per annotation."""

    knows_units = True  # from each recording's sample rate and centre frequency, nfft and hop

    def __init__(self, spec: SourceSpec):
        super().__init__(spec)
        check_options(spec, OPTIONS, "sigmf", units=False)
        self.nfft = self._int_option("nfft", DEFAULT_NFFT, 2, MAX_NFFT)
        self.hop = self._int_option("hop", self.nfft, 1, self.nfft)
        self.channel = self._int_option("channel", 0, 0, 1 << 16)
        self.window = spec.options.get("window", DEFAULT_WINDOW)
        if type(self.window) is not str or not self.window:
            raise InputError(f"option 'window' must be a scipy window name, got {self.window!r}",
                             file=spec.text)
        try:
            window_values(self.window, self.nfft)
        except ValueError as error:
            raise InputError(f"option 'window': {error}", file=spec.text) from None
        classes = spec.options.get("classes")
        self.fixed_classes = [] if classes is None else [c.strip() for c in str(classes).split(",")]
        if len(set(self.fixed_classes)) != len(self.fixed_classes) or "" in self.fixed_classes:
            raise InputError(f"option 'classes' must be distinct non-empty names separated by "
                             f"commas, got {classes!r}", file=spec.text)
        self.root = Path(spec.path)
        self.files = _recording_files(self.root, spec)
        self.recordings: list[RecordingLayout] = []
        self._class_ids: dict[str, int] = {}

    def _int_option(self, name: str, default: int, low: int, high: int) -> int:
        value = self.spec.options.get(name, default)
        if type(value) is not int or not low <= value <= high:
            raise InputError(f"option {name!r} must be a whole number from {low} to {high}, got "
                             f"{value!r}", file=self.spec.text)
        return value

    # -- boxes ----------------------------------------------------------------------------------
    def batches(self) -> Iterator[BoxBatch]:
        self.recordings = []
        self._class_ids = {name: i for i, name in enumerate(self.fixed_classes)}
        self.class_names = dict(enumerate(self.fixed_classes))
        for done, file in enumerate(self.files, start=1):
            name = _recording_name(file, self.root)
            if file.suffix == ARCHIVE_EXT:
                layout, annotations = self._read_archive(file, name)
            else:
                layout, annotations = self._read_meta_file(file, name)
            xyxy, cls, reasons = self._boxes(layout, annotations)
            self.recordings.append(layout)
            width = -(-layout.sample_count // self.hop)
            yield BoxBatch(
                image_ids=np.array([name]), image_heights=np.array([self.nfft], np.int32),
                image_widths=np.array([width], np.int32), image=np.zeros(len(xyxy), np.int64),
                xyxy=xyxy, cls=cls, box_index=np.arange(len(xyxy), dtype=np.int32),
                reasons=reasons, done=done, total=len(self.files), file=layout.where,
                units=ImageUnits.from_axes([self.physical_axes(layout)]))

    def _read_meta_file(self, meta_path: Path, name: str) -> tuple[RecordingLayout, list]:
        from sigmf.error import SigMFError
        from sigmf.sigmffile import get_dataset_filename_from_metadata

        where = str(meta_path)
        try:
            raw = meta_path.read_bytes()
        except OSError as error:
            raise InputError(f"cannot read the metadata: {error.strerror or error}",
                             file=where) from None
        meta = _parse_json(raw, where)
        info = _section(meta, "global", dict, where, required=True)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # core:dataset wins over a .sigmf-data: fine
                data_path = get_dataset_filename_from_metadata(meta_path, meta)
        except SigMFError as error:  # core:dataset names a file that does not exist
            raise InputError(f"missing data file: {error}", file=where, record="global") from None
        if data_path is None:
            expected = meta_path.with_suffix(DATA_EXT)
            problem = ("recording is metadata-only (core:metadata_only): no samples for a "
                       "spectrogram" if info.get("core:metadata_only") is True else
                       f"missing data file {expected}")
            raise InputError(problem, file=where)
        try:
            data_bytes = Path(data_path).stat().st_size
        except OSError as error:
            raise InputError(f"cannot read data file {data_path}: {error.strerror or error}",
                             file=where) from None
        return self._layout(meta, info, data_bytes, name, where, meta_path=meta_path)

    def _read_archive(self, archive_path: Path, name: str) -> tuple[RecordingLayout, list]:
        where = str(archive_path)
        try:
            with tarfile.open(archive_path, "r:") as tar:
                members = [m for m in tar.getmembers() if m.isfile()]
                metas = [m for m in members if m.name.endswith(META_EXT)]
                if len(metas) != 1:
                    raise InputError(f"an archive with {len(metas)} {META_EXT} files; only "
                                     "one-recording archives are supported", file=where)
                reader = tar.extractfile(metas[0])
                raw = reader.read() if reader is not None else b""
        except (tarfile.TarError, OSError) as error:
            raise InputError(f"cannot read the archive: {error}", file=where) from None
        where = f"{archive_path}::{metas[0].name}"
        meta = _parse_json(raw, where)
        info = _section(meta, "global", dict, where, required=True)
        data = _archive_data_member(members, info)
        if data is None:
            raise InputError(f"missing data file: the archive holds no {DATA_EXT} member",
                             file=where)
        return self._layout(meta, info, data.size, name, where, archive_path=archive_path)

    def _layout(self, meta: dict, info: dict, data_bytes: int, name: str, where: str,
                **paths) -> tuple[RecordingLayout, list]:
        captures = _section(meta, "captures", list, where, required=False)
        annotations = _section(meta, "annotations", list, where, required=False)
        for section, items in (("capture", captures), ("annotation", annotations)):
            bad = next((i for i, item in enumerate(items) if type(item) is not dict), None)
            if bad is not None:
                raise InputError(f"must be a JSON object, got {type(items[bad]).__name__}",
                                 file=where, record=f"{section} {bad}")
        bytes_per_sample = sample_size(info.get("core:datatype"), where)
        _global_number(info, "core:sample_rate", where, positive=True)
        channels = _global_number(info, "core:num_channels", where, 1, count=True)
        if channels < 1:
            raise InputError("'core:num_channels' must be at least 1", file=where, record="global")
        if self.channel >= channels:
            raise InputError(f"option 'channel' is {self.channel} but the recording has "
                             f"{channels} channel(s)", file=where, record="global")
        _global_number(info, "core:offset", where, 0, count=True)
        trailing = _global_number(info, "core:trailing_bytes", where, 0, count=True)
        _number_column(captures, "core:sample_start", where, "capture", count=True, required=True)
        headers = _number_column(captures, "core:header_bytes", where, "capture", count=True)
        sample_bytes = data_bytes - trailing - int(np.nansum(headers))
        sample_count = max(sample_bytes, 0) // (bytes_per_sample * channels)
        if sample_count == 0:
            raise InputError(f"the data file holds no samples ({data_bytes} bytes, "
                             f"{bytes_per_sample * channels} bytes per sample)", file=where)
        layout = RecordingLayout(
            name=name, where=where, meta_path=paths.get("meta_path"),
            archive_path=paths.get("archive_path"), global_info=dict(info),
            captures=list(captures), sample_count=sample_count)
        return layout, annotations

    def _boxes(self, layout: RecordingLayout,
               annotations: list) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Pixel xyxy, class ids and source-known skip codes of one recording's annotations."""
        where, info, n = layout.where, layout.global_info, layout.sample_count
        start = _number_column(annotations, "core:sample_start", where, "annotation", count=True,
                               required=True)
        count = _number_column(annotations, "core:sample_count", where, "annotation", count=True)
        lower = _number_column(annotations, "core:freq_lower_edge", where, "annotation")
        upper = _number_column(annotations, "core:freq_upper_edge", where, "annotation")
        centre = self._centre_frequencies(layout, start)

        sample_rate = float(info["core:sample_rate"])
        bin_width = sample_rate / self.nfft
        top = centre + sample_rate / 2
        s = start - info.get("core:offset", 0)
        x1 = s / self.hop
        x2 = np.where(np.isnan(count), n, s + count) / self.hop
        y1 = np.where(np.isnan(upper), 0.0, (top - upper) / bin_width)
        y2 = np.where(np.isnan(lower), float(self.nfft), (top - lower) / bin_width)
        xyxy = np.stack([x1, y1, x2, y2], axis=1).reshape(-1, 4)
        reasons = np.where(s >= n, reason_code("outside_image"), 0).astype(np.int8)
        return xyxy, self._class_column(annotations, where), reasons

    def physical_axes(self, layout: RecordingLayout) -> PhysicalAxes:
        """Seconds and hertz of the recording's pixels, with exactly the mapping of `_boxes`
        (module docstring); no frequency origin when its captures have several `fc`."""
        info = layout.global_info
        sample_rate = float(info["core:sample_rate"])
        starts = (_number_column(layout.captures, "core:sample_start", layout.where, "capture",
                                 count=True, required=True) if layout.captures
                  else np.zeros(1))
        centres = np.unique(self._centre_frequencies(layout, starts))
        return PhysicalAxes(
            seconds_per_column=self.hop / sample_rate, hertz_per_row=sample_rate / self.nfft,
            time_of_column0=info.get("core:offset", 0) / sample_rate,
            frequency_of_row0=centres[0] + sample_rate / 2 if len(centres) == 1 else np.nan)

    def _centre_frequencies(self, layout: RecordingLayout, start: np.ndarray) -> np.ndarray:
        """`core:frequency` of the capture segment holding each sample index (Hz)."""
        info, captures, where = layout.global_info, layout.captures, layout.where
        default = info.get("core:frequency", 0.0)
        if not _is_number(default):
            raise InputError(f"'core:frequency' must be a number, got {default!r}", file=where,
                             record="global")
        if not captures:
            return np.full(len(start), float(default))
        capture_start = _number_column(captures, "core:sample_start", where, "capture",
                                       count=True, required=True)
        frequency = _number_column(captures, "core:frequency", where, "capture")
        frequency = np.where(np.isnan(frequency), float(default), frequency)
        order = np.argsort(capture_start, kind="stable")
        segment = np.searchsorted(capture_start[order], start, side="right") - 1
        return frequency[order][np.maximum(segment, 0)]

    def _class_column(self, annotations: list, where: str) -> np.ndarray:
        labels = [a.get("core:label", UNLABELLED) for a in annotations]
        bad = next((i for i, label in enumerate(labels) if type(label) is not str), None)
        if bad is not None:
            raise InputError(f"'core:label' must be a string, got {labels[bad]!r}", file=where,
                             record=f"annotation {bad}")
        ids = self._class_ids
        for label in dict.fromkeys(labels):
            if label not in ids:
                ids[label] = len(ids)
                self.class_names[ids[label]] = label
        return np.array([ids[label] for label in labels], np.int32)

    # -- pixels ---------------------------------------------------------------------------------
    def pixels(self, image_index: int) -> np.ndarray | None:
        """The (nfft, ceil(N / hop)) float32 dB spectrogram of recording `image_index` (fewer
        columns above MAX_PIXELS, see the module docstring); None if its data file is gone."""
        if not self.recordings:
            for _ in self.batches():
                pass
        layout = self.recordings[image_index]
        data_path = layout.archive_path
        if layout.meta_path is not None:
            data_path = self._data_path(layout)
        if data_path is None or not data_path.is_file():
            return None
        recording = self._open_samples(layout, data_path)
        count = min(layout.sample_count, int(recording.sample_count))
        channels = int(layout.global_info.get("core:num_channels", 1))

        def read(start: int, stop: int) -> np.ndarray:
            stop = min(stop, count)
            if stop <= start:
                return np.zeros(0, np.complex64)
            samples = recording.read_samples(start, stop - start)
            return samples[:, self.channel] if channels > 1 else samples

        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                return spectrogram_db_from_reader(read, layout.sample_count, self.nfft, self.hop,
                                                  self.window, max_pixels=MAX_PIXELS)
        except (OSError, ValueError) as error:
            raise InputError(f"cannot read the samples: {error}", file=str(data_path)) from None

    @staticmethod
    def _data_path(layout: RecordingLayout) -> Path | None:
        from sigmf.error import SigMFError
        from sigmf.sigmffile import get_dataset_filename_from_metadata

        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                return get_dataset_filename_from_metadata(layout.meta_path,
                                                          {"global": layout.global_info})
        except SigMFError:
            return None

    def _open_samples(self, layout: RecordingLayout, data_path: Path):
        """A `sigmf.SigMFFile` over the recording's samples (metadata without annotations)."""
        from sigmf.error import SigMFError
        from sigmf.sigmffile import SigMFFile

        metadata = {"global": layout.global_info, "captures": layout.captures, "annotations": []}
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                if layout.archive_path is None:
                    return SigMFFile(metadata=metadata, data_file=data_path, skip_checksum=True)
                with tarfile.open(data_path, "r:") as tar:
                    member = _archive_data_member(tar.getmembers(), layout.global_info)
                if member is None:
                    raise InputError(f"the archive holds no {DATA_EXT} member", file=layout.where)
                recording = SigMFFile(metadata=metadata)
                recording.set_data_file(data_file=data_path, skip_checksum=True,
                                        offset=member.offset_data, size_bytes=member.size)
                return recording
        except (SigMFError, OSError, ValueError, TypeError, tarfile.TarError) as error:
            raise InputError(f"cannot open the samples: {error}", file=layout.where) from None
