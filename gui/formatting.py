"""How the GUI writes an anchor config's numbers, the same in every dialog."""

from __future__ import annotations

from collections.abc import Iterable


def config_numbers(values: Iterable[float]) -> str:
    """A config's ratios, scales or sizes as the dialogs show them (4 significant digits)."""
    return ", ".join(f"{v:.4g}" for v in values)
