"""How the window labels a coverage result that is not (yet) the exact result of the settings
on screen: an estimate, or a result of settings the user has already moved past
(docs/live-tuning.md)."""

from __future__ import annotations

from gui.state import AppState

UPDATING = "updating…"


def status_text(state: AppState) -> str:
    """'' when `state.result` is exact and current, else what it is, e.g. 'estimate from
    2,163 of 11,200 images · updating…'."""
    result = state.result
    if result is None:
        return "computing coverage…" if state.table is not None else ""
    if state.is_current:
        return ""
    parts = []
    if result.estimate is not None:
        estimate = result.estimate
        parts.append(f"estimate from {estimate.images:,d} of {estimate.total_images:,d} images")
    parts.append(UPDATING if not state.result_is_for_config else "exact result follows")
    return " · ".join(parts)
