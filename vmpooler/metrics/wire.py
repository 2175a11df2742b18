"""Number formatting shared by the line protocols."""

from __future__ import annotations


def number(value: float) -> str:
    """``3`` for whole counts, ``12.34`` for durations: what the Ruby service sent."""
    if isinstance(value, bool):
        value = int(value)
    if isinstance(value, int):
        return str(value)
    return repr(round(float(value), 6))
