"""What detection costs, for estimates made before any pixel is read (standard library only)."""

from __future__ import annotations

__all__ = ["DETECT_S_PER_PIXEL_DATE", "seconds_per_pixel_date"]

#: Wall time of the temporal detection per pixel and date, all steps included: a rough,
#: conservative figure for one job on an ordinary machine (not a measurement of this one).
DETECT_S_PER_PIXEL_DATE = 10e-6


def seconds_per_pixel_date() -> float:
    """The engine's assumed detection cost, seconds per pixel and date."""
    return DETECT_S_PER_PIXEL_DATE
