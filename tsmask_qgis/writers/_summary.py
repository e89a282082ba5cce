"""Per-date summary of a mask: class percentages, as CSV and JSON."""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import overload

import numpy as np
import xarray as xr

from tsmask_qgis.classes import CLEAR, CLOUD, NO_OBSERVATION, SHADOW
from tsmask_qgis.writers._atomic import atomic_output
from tsmask_qgis.writers._common import as_mask, date_slice, software
from tsmask_qgis.writers._grid import date_labels

__all__ = ["DateSummary", "format_table", "summarise", "write_summary"]


class _Percent:
    """A read-only percentage: attribute ``count`` of attribute ``of`` (``nan`` when ``of`` is 0)."""

    def __init__(self, count: str, of: str) -> None:
        self.count = count
        self.of = of
        self.__doc__ = (
            f"{count} as a percentage of the {'observed' if of == 'observed' else 'all'} pixels"
        )

    @overload
    def __get__(self, obj: None, owner: type | None = None) -> _Percent: ...
    @overload
    def __get__(self, obj: object, owner: type | None = None) -> float: ...
    def __get__(self, obj: object | None, owner: type | None = None) -> _Percent | float:
        if obj is None:
            return self
        n, total = getattr(obj, self.count), getattr(obj, self.of)
        return 100.0 * n / total if total else float("nan")


@dataclass(frozen=True)
class DateSummary:
    """Pixel counts of one date and their percentages.

    ``*_pct`` are percentages of all pixels; ``*_pct_observed`` of the observed
    pixels (``nan`` when nothing was observed that date).
    """

    date: str
    pixels: int
    no_observation: int
    clear: int
    cloud: int
    shadow: int

    @property
    def observed(self) -> int:
        return self.pixels - self.no_observation

    clear_pct = _Percent("clear", "pixels")
    cloud_pct = _Percent("cloud", "pixels")
    shadow_pct = _Percent("shadow", "pixels")
    no_observation_pct = _Percent("no_observation", "pixels")
    clear_pct_observed = _Percent("clear", "observed")
    cloud_pct_observed = _Percent("cloud", "observed")
    shadow_pct_observed = _Percent("shadow", "observed")

    def as_row(self) -> dict[str, object]:
        """A flat record: counts and percentages (rounded to 0.01)."""
        row: dict[str, object] = asdict(self)
        row["observed"] = self.observed
        for name in _PERCENTS:
            v = getattr(self, name)
            row[name] = None if np.isnan(v) else round(v, 2)
        return row


_PERCENTS = (
    "clear_pct",
    "cloud_pct",
    "shadow_pct",
    "no_observation_pct",
    "clear_pct_observed",
    "cloud_pct_observed",
    "shadow_pct_observed",
)
FIELDS = ("date", "pixels", "observed", "no_observation", "clear", "cloud", "shadow", *_PERCENTS)


def summarise(mask: xr.DataArray) -> list[DateSummary]:
    """Count each class on each date of ``mask``."""
    mask = as_mask(mask)
    out = []
    for t, label in enumerate(date_labels(mask.time)):
        counts = np.bincount(date_slice(mask, t).ravel(), minlength=4)
        out.append(
            DateSummary(
                date=label,
                pixels=int(counts.sum()),
                no_observation=int(counts[NO_OBSERVATION.value]),
                clear=int(counts[CLEAR.value]),
                cloud=int(counts[CLOUD.value]),
                shadow=int(counts[SHADOW.value]),
            )
        )
    return out


def write_summary(
    summary: Sequence[DateSummary],
    csv_path: str | os.PathLike[str] | None,
    json_path: str | os.PathLike[str] | None,
    *,
    overwrite: bool = False,
    meta: dict[str, object] | None = None,
) -> list[Path]:
    """Write the summary as CSV (one row per date) and/or JSON (``{"dates": [...]}``).

    Empty percentages (nothing observed) are blank in CSV and ``null`` in JSON.
    """
    written = []
    if csv_path is not None:
        buf = io.StringIO()
        w = csv.DictWriter(buf, fieldnames=FIELDS, lineterminator="\n")
        w.writeheader()
        for s in summary:
            w.writerow({k: ("" if v is None else v) for k, v in s.as_row().items()})
        with atomic_output(csv_path, overwrite=overwrite) as tmp:
            tmp.write_text(buf.getvalue(), encoding="utf-8")
        written.append(Path(csv_path))
    if json_path is not None:
        doc = {
            "software": software(),
            "classes": {"0": "no_observation", "1": "clear", "2": "cloud", "3": "cloud_shadow"},
            **(meta or {}),
            "dates": [s.as_row() for s in summary],
        }
        with atomic_output(json_path, overwrite=overwrite) as tmp:
            tmp.write_text(json.dumps(doc, indent=2, default=str) + "\n", encoding="utf-8")
        written.append(Path(json_path))
    return written


def format_table(summary: Sequence[DateSummary]) -> str:
    """A short plain-text table: date, % clear / cloud / shadow of observed, % no observation."""

    def f(v: float) -> str:
        return "    -" if np.isnan(v) else f"{v:5.1f}"

    lines = ["date        clear  cloud shadow  no-obs   (% of observed; no-obs % of all)"]
    for s in summary:
        lines.append(
            f"{s.date:<11} {f(s.clear_pct_observed)}  {f(s.cloud_pct_observed)}  "
            f"{f(s.shadow_pct_observed)}   {f(s.no_observation_pct)}"
        )
    return "\n".join(lines)
