"""The per-date summary as the QGIS process reads it: plain rows, percentages, labels.

The run's result carries the summary rows (``JobResult.summary`` as plain
dicts of pixel counts); a folder written earlier has them in ``summary.csv``,
read here with the standard library's :mod:`csv` only (the QGIS process
imports no data library). No ``qgis`` import.
"""

from __future__ import annotations

import csv
import math
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tsmask_qgis.errors import InputError

__all__ = ["DateRow", "date_rows", "layer_name", "read_summary_csv"]

_COUNTS = ("pixels", "no_observation", "clear", "cloud", "shadow")


def _pct(n: int, total: int) -> float:
    return 100.0 * n / total if total else math.nan


@dataclass(frozen=True)
class DateRow:
    """One date of a run: its label, pixel counts and class percentages.

    ``clear``, ``cloud`` and ``shadow`` are percentages of the ``observed``
    pixels (``nan`` when nothing was observed that date), ``no_observation`` a
    percentage of all ``pixels``, as in ``summary.csv``'s ``*_pct_observed`` and
    ``no_observation_pct`` columns.
    """

    label: str
    pixels: int
    observed: int
    clear: float
    cloud: float
    shadow: float
    no_observation: float


def date_rows(rows: Iterable[Mapping[str, Any]]) -> list[DateRow]:
    """The rows of a summary (the result's plain rows or ``summary.csv``'s records)."""
    out = []
    for row in rows:
        try:
            pixels, noobs, clear, cloud, shadow = (int(row[k]) for k in _COUNTS)
        except (KeyError, TypeError, ValueError) as exc:
            raise InputError(
                f"the summary row {dict(row)!r} lacks a pixel count ({exc}): "
                "write the summary again with this version of tsmask"
            ) from exc
        observed = pixels - noobs
        out.append(
            DateRow(
                label=str(row["date"]),
                pixels=pixels,
                observed=observed,
                clear=_pct(clear, observed),
                cloud=_pct(cloud, observed),
                shadow=_pct(shadow, observed),
                no_observation=_pct(noobs, pixels),
            )
        )
    return out


def read_summary_csv(path: str | os.PathLike[str]) -> list[DateRow]:
    """The rows of a ``summary.csv`` the writers wrote (one row per date)."""
    path = Path(path)
    try:
        with path.open(newline="", encoding="utf-8") as f:
            return date_rows(csv.DictReader(f))
    except OSError as exc:
        raise InputError(
            f"cannot read the summary {path}: {exc.strerror or exc}; run tsmask into that "
            "folder again to write it"
        ) from exc


def layer_name(row: DateRow) -> str:
    """The mask layer's name: the date and its cloud percentage (``2016-01-01 · 24 % cloud``),
    and its shadow percentage where there is some (``· 92 % shadow``)."""
    if not row.observed:
        return f"{row.label} · no observation"
    name = f"{row.label} · {row.cloud:.0f} % cloud"
    if round(row.shadow) >= 1:
        name += f" · {row.shadow:.0f} % shadow"
    return name
