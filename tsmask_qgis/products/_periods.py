"""Periods of a composite: calendar years, months, seasons, the whole stack or given ranges."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from tsmask_qgis.errors import NoDataError, ParameterError

__all__ = ["PERIODS", "Period", "periods"]

#: The named period kinds (besides custom ranges).
PERIODS = ("year", "month", "season", "all")

# Meteorological seasons; December counts to the next year's DJF.
_SEASONS = {12: "DJF", 1: "DJF", 2: "DJF", 3: "MAM", 4: "MAM", 5: "MAM",
            6: "JJA", 7: "JJA", 8: "JJA", 9: "SON", 10: "SON", 11: "SON"}  # fmt: skip


@dataclass(frozen=True)
class Period:
    """One period: its ``label`` (``2017``, ``2017-03``, ``2017-DJF``, ``all``,
    ``2017-01-01_2017-06-30``), its first and last day and the stack's dates in it."""

    label: str
    start: np.datetime64
    end: np.datetime64
    index: tuple[int, ...]


def _days(times: Any) -> np.ndarray:
    return np.asarray(times).astype("datetime64[D]")


def _parse_day(text: str, what: str) -> np.datetime64:
    try:
        return np.datetime64(text.strip(), "D")
    except ValueError:
        raise ParameterError(
            f"{what} {text!r} is not a date: write ranges as 2017-01-01/2017-06-30",
            field="period",
        ) from None


def _ranges(spec: Any) -> list[tuple[np.datetime64, np.datetime64]]:
    """Custom ranges from ``"2017-01-01/2017-06-30,2017-07-01/2017-12-31"`` or pairs."""
    items: Sequence[Any] = spec.split(",") if isinstance(spec, str) else spec
    found = []
    for item in items:
        parts = item.split("/") if isinstance(item, str) else list(item)
        if len(parts) != 2:
            raise ParameterError(
                f"the period {item!r} is not a date range: use year, month, season, all or "
                "ranges like 2017-01-01/2017-06-30",
                field="period",
            )
        a, b = (_parse_day(str(p), "the date") for p in parts)
        if b < a:
            raise ParameterError(f"the period {item!r} ends before it starts", field="period")
        found.append((a, b))
    return found


def periods(times: Any, spec: Any = "year") -> list[Period]:
    """The periods of ``spec`` over the acquisition ``times``.

    Named kinds give every period holding at least one date; each custom range
    gives one period and must hold a date (:class:`NoDataError` names the
    empty one).
    """
    days = _days(times)
    if days.size == 0:
        raise NoDataError("the stack holds no dates", field="input")
    if isinstance(spec, str) and spec.strip().lower() in PERIODS:
        kind = spec.strip().lower()
        if kind == "all":
            return [Period("all", days.min(), days.max(), tuple(range(days.size)))]
        years = days.astype("datetime64[Y]").astype(int) + 1970
        months = days.astype("datetime64[M]").astype(int) % 12 + 1
        if kind == "year":
            keys = [f"{y:04d}" for y in years]
        elif kind == "month":
            keys = [f"{y:04d}-{m:02d}" for y, m in zip(years, months, strict=True)]
        else:
            keys = [
                f"{y + (m == 12):04d}-{_SEASONS[int(m)]}"
                for y, m in zip(years, months, strict=True)
            ]
        found: dict[str, list[int]] = {}
        for i, k in enumerate(keys):
            found.setdefault(k, []).append(i)
        return [
            Period(k, days[idx].min(), days[idx].max(), tuple(idx))
            for k, idx in sorted(found.items(), key=lambda kv: days[kv[1][0]])
        ]
    out = []
    for a, b in _ranges(spec):
        idx = tuple(int(i) for i in np.flatnonzero((days >= a) & (days <= b)))
        label = f"{a}_{b}"
        if not idx:
            raise NoDataError(
                f"the period {a}/{b} holds none of the stack's dates "
                f"({days.min()} .. {days.max()}): choose a range within them",
                field="period",
            )
        out.append(Period(label, a, b, idx))
    return out
