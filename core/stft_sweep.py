"""The STFT sweep (docs/datasets.md#stft-sweep): exact coverage of a `sigmf:` dataset under the
current anchors as the FFT size (and with it the hop) varies, so a researcher can pick the
spectrogram resolution at which their signals become coverable.

Per FFT size the dataset spec gets that `nfft` and a `hop`, its boxes are loaded by the `sigmf:`
source itself (meta files only, never pixels: about a millisecond for a recording with hundreds
of annotations, so each size simply loads again) and `core.analysis.analyze` gives the exact
report. Everything else — the recordings, window, channel, classes, anchors, matcher and model
input — stays fixed.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from urllib.parse import parse_qsl, quote, urlencode

from core.analysis import ModelInput, analyze
from core.anchor_config import AnchorConfig
from core.errors import InputError
from core.optimizer import CancelCheck, ProgressCallback
from core.sources import Cancelled, load_table, parse_spec
from core.sources.sigmf_source import DEFAULT_NFFT, MAX_NFFT, SigMFSource

SIGMF_KIND = "sigmf"
GEOMETRY_OPTIONS = ("nfft", "hop")  # the spec options the sweep replaces
DEFAULT_NFFTS = (64, 128, 256, 512, 1024, 2048, 4096)


@dataclass(frozen=True)
class StftPoint:
    """The exact coverage of the dataset rendered with `nfft` (rows) and `hop` (samples per
    column).

    `images` and `boxes` are the loaded (valid) counts; `recall`, `best_possible_recall`,
    `ceiling_recall` (shares of boxes, 0..1) and `mean_positives_per_box` are the report's
    (docs/coverage.md); `per_class_recall` maps class names to recall. `hz_per_row` = fs / nfft
    and `seconds_per_column` = hop / fs when every recording has the same sample rate fs, else
    None. `seconds` is the wall time of this point (loading + coverage); `spec` the dataset spec
    that reopens the dataset at this geometry.
    """

    nfft: int
    hop: int
    images: int
    boxes: int
    recall: float
    best_possible_recall: float
    ceiling_recall: float
    mean_positives_per_box: float
    per_class_recall: dict[str, float]
    seconds: float
    hz_per_row: float | None
    seconds_per_column: float | None
    spec: str

    def to_dict(self) -> dict:
        """One JSON row of `analyze --stft-sweep --json`."""
        return asdict(self)


def hop_for(nfft: int, hop_ratio: float) -> int:
    """Samples per column for `nfft` at `hop_ratio` (hop / nfft): `nfft * hop_ratio` rounded
    half up, then clamped to 1..nfft (the `sigmf:` source's range)."""
    return min(max(math.floor(nfft * hop_ratio + 0.5), 1), nfft)


def spec_hop_ratio(spec: str) -> float:
    """hop / nfft of a `sigmf:` spec, with the source's defaults (nfft 512, hop = nfft)."""
    options = parse_spec(spec).options
    nfft = options.get("nfft", DEFAULT_NFFT)
    return options.get("hop", nfft) / nfft


def spec_at(spec: str, nfft: int, hop: int) -> str:
    """`spec` with its `nfft` and `hop` options set (in place if present, else appended); the
    path and every other option are kept as written."""
    head, _, query = spec.partition("?")
    values = {"nfft": str(nfft), "hop": str(hop)}
    pairs = [(key, values.pop(key) if key in values else value)
             for key, value in parse_qsl(query, keep_blank_values=True)
             if key not in GEOMETRY_OPTIONS or key in values]  # a repeated key: its first place
    pairs += list(values.items())
    return f"{head}?{urlencode(pairs, quote_via=quote, safe=',:/')}"


def check_sweep_spec(spec: str) -> SigMFSource:
    """The `sigmf:` source of `spec` (options and files checked); InputError naming the spec for
    any other kind."""
    parsed = parse_spec(spec)
    if parsed.kind != SIGMF_KIND:
        raise InputError(f"the STFT sweep needs a {SIGMF_KIND}: dataset (its spectrogram is "
                         f"computed from samples, so its FFT size can change), got a "
                         f"{parsed.kind!r} dataset", file=spec)
    return SigMFSource(parsed)


def check_nffts(nffts: Sequence[int]) -> list[int]:
    """The FFT sizes of a sweep, ascending, each once; InputError for none or one outside
    2..MAX_NFFT."""
    values = sorted(set(nffts))
    if not values:
        raise InputError("the STFT sweep needs at least one FFT size")
    bad = [n for n in values if type(n) is not int or not 2 <= n <= MAX_NFFT]
    if bad:
        raise InputError(f"FFT sizes must be whole numbers from 2 to {MAX_NFFT}, got {bad[0]!r}")
    return values


def check_hop_ratio(hop_ratio: float | None) -> float | None:
    if hop_ratio is not None and not (math.isfinite(hop_ratio) and 0 < hop_ratio <= 1):
        raise InputError(f"the hop ratio (hop / nfft) must be above 0 and at most 1, got "
                         f"{hop_ratio!r}")
    return hop_ratio


def stft_sweep(
    spec: str,
    config: AnchorConfig,
    nffts: Sequence[int] = DEFAULT_NFFTS,
    hop_ratio: float | None = None,
    model_input: ModelInput | None = None,
    progress: ProgressCallback | None = None,
    *,
    strict: bool = False,
    cancelled: CancelCheck | None = None,
) -> list[StftPoint]:
    """Exact coverage of the `sigmf:` dataset `spec` under `config` at each FFT size of `nffts`
    (ascending, each once). The hop of each point is `hop_for(nfft, ratio)` with `ratio` =
    `hop_ratio` if given, else the spec's own hop / nfft (1 when it sets neither). `progress`
    gets (fraction done, message) after each point; `cancelled()` is polled between points and
    ends the sweep with the points done so far. InputError for another kind of dataset."""
    check_sweep_spec(spec)
    model_input = model_input or ModelInput()
    nffts = check_nffts(nffts)
    ratio = check_hop_ratio(hop_ratio)
    if ratio is None:
        ratio = spec_hop_ratio(spec)
    points: list[StftPoint] = []
    for done, nfft in enumerate(nffts):
        if cancelled is not None and cancelled():
            break
        started = time.perf_counter()
        hop = hop_for(nfft, ratio)
        source = SigMFSource(parse_spec(spec_at(spec, nfft, hop)))
        try:
            table = load_table(source, strict=strict, cancelled=cancelled)
        except Cancelled:
            break
        report = analyze(table, config, model_input).report
        rates = {float(r.global_info["core:sample_rate"]) for r in source.recordings}
        rate = rates.pop() if len(rates) == 1 else None
        points.append(StftPoint(
            nfft=nfft, hop=hop, images=table.image_count, boxes=len(table),
            recall=report.recall, best_possible_recall=report.best_possible_recall,
            ceiling_recall=report.ceiling_recall,
            mean_positives_per_box=report.mean_positives_per_box,
            per_class_recall={name: row.recall for name, row in report.per_class.items()},
            seconds=time.perf_counter() - started,
            hz_per_row=None if rate is None else rate / nfft,
            seconds_per_column=None if rate is None else hop / rate, spec=source.spec.text))
        if progress is not None:
            progress((done + 1) / len(nffts), f"nfft {nfft}: recall {report.recall:.1%}")
    return points


def best_point(points: Sequence[StftPoint]) -> StftPoint | None:
    """The point with the highest recall (the smallest nfft among ties), None for no points."""
    return max(points, key=lambda p: (p.recall, -p.nfft), default=None)
