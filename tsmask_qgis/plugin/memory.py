"""How much memory a run needs and what the dialog says about it (no ``qgis``, no numpy).

:func:`rough_bytes` guesses a run's size offline (the Estimate button asks the
catalogue for the real figure); :func:`memory_advice` turns a size, the Max
memory setting and the memory available into the dialog's error or warning.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tsmask_qgis.plugin.convert import RunSettings

__all__ = ["available_memory", "memory_advice", "rough_bytes"]

#: Sentinel-2 revisit in days with both satellites: used for a quick size guess.
_REVISIT_DAYS = 5


def rough_bytes(settings: RunSettings) -> int:
    """A quick, offline guess of the memory a run of ``settings`` holds without streaming.

    Assumes a five-day revisit, six float32 bands and the uint8 mask; the
    Estimate button asks the catalogue for the real figures.
    """
    if settings.bbox is None:
        return 0
    w, s, e, n = settings.bbox
    lat = math.radians((s + n) / 2)
    width_m = (e - w) * 111_320 * max(math.cos(lat), 0.01)
    height_m = (n - s) * 110_574
    pixels = max(width_m / settings.resolution, 1) * max(height_m / settings.resolution, 1)
    dates = (settings.end - settings.start).days // _REVISIT_DAYS + 1
    return int(pixels * dates * (6 * 4 + 1))


def available_memory() -> int | None:
    """The memory available now, in bytes (``None`` when psutil cannot tell)."""
    try:
        import psutil

        return int(psutil.virtual_memory().available)
    except Exception:
        return None


def _gb(n: float) -> str:
    return f"{n / 1e9:.1f} GB" if n >= 1e8 else f"{n / 1e6:.0f} MB"


def memory_advice(
    need: int, *, max_memory: int | None, available: int | None
) -> tuple[str | None, str | None]:
    """(error, warning) about holding ``need`` bytes in memory; both ``None`` when it fits.

    The budget is ``max_memory`` or, when automatic, half the ``available``
    memory (the engine's default). A budget larger than the available memory
    is an error (the system would swap); a run larger than the budget is a
    warning: the engine then streams tile by tile, and the message suggests the
    max-memory value that would keep it in memory when there is room for it.
    """
    if available is None:
        return None, None
    if max_memory is not None and max_memory > available:
        return (
            f"Max memory {_gb(max_memory)} is more than the {_gb(available)} available now: "
            f"set it to at most {math.floor(available * 0.8 / 1e9 * 10) / 10:.1f} GB "
            "(or 0 for automatic).",
            None,
        )
    budget = max_memory if max_memory is not None else available // 2
    if need <= budget:
        return None, None
    text = (
        f"About {_gb(need)} for this area and these dates, more than the memory budget of "
        f"{_gb(budget)}: the run will stream it tile by tile (slower, bounded memory)."
    )
    suggest = math.ceil(need * 1.2 / 1e8) / 10  # GB, one decimal, 20 % headroom
    if suggest * 1e9 <= available * 0.8:
        text += f" To keep it in memory, set Max memory to {suggest:.1f} GB."
    else:
        text += (
            f" It cannot fit the {_gb(available)} available: choose a smaller area, fewer "
            "dates or a coarser resolution to avoid streaming."
        )
    return None, text
