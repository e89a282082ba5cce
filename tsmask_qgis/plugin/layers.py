"""Putting a finished run on the map: one group, styled masks, temporal ranges.

Runs on the main thread (from ``QgsTask.finished``). Each mask layer covers
its acquisition date as a fixed temporal range, so the Temporal Controller
plays the series; true-colour layers of the same dates sit under the masks;
a clear-observation-count layer closes the group. Styles are saved as
``.qml`` sidecars so they persist when the files are opened again.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from qgis.core import (
    QgsDateTimeRange,
    QgsLayerTreeGroup,
    QgsProject,
    QgsRasterLayer,
    QgsRasterLayerTemporalProperties,
)
from qgis.PyQt.QtCore import QDate, QDateTime, Qt, QTime

from tsmask_qgis.plugin.styling import apply_count_style, apply_mask_style, save_sidecar

__all__ = [
    "MASK_OPACITY_OVER_TRUECOLOUR",
    "ResultLayers",
    "add_result_layers",
    "date_range",
    "set_date_range",
]


@dataclass(frozen=True)
class ResultLayers:
    """Files of a finished run, as plain values: what :func:`add_result_layers` loads.

    ``masks`` maps each acquisition date to its single-band mask raster;
    ``truecolour`` the same dates to RGB rasters; ``count`` is the
    clear-observation-count raster; ``summary`` the per-date class counts
    (:class:`tsmask_qgis.writers.DateSummary`). Dates are ``datetime.date``, or
    ``datetime.datetime`` where two acquisitions share a day.
    """

    masks: Mapping[dt.date, Path]
    truecolour: Mapping[dt.date, Path] = field(default_factory=dict)
    count: Path | None = None
    summary: tuple[Any, ...] = ()


def date_range(day: dt.date | dt.datetime) -> QgsDateTimeRange:
    """The whole day ``day`` (UTC) as a range including its start, excluding its end."""
    if isinstance(day, dt.datetime):
        day = day.date()
    begin = QDateTime(QDate(day.year, day.month, day.day), QTime(0, 0), Qt.UTC)
    end = begin.addDays(1)
    return QgsDateTimeRange(begin, end, True, False)


def set_date_range(layer: QgsRasterLayer, day: dt.date | dt.datetime) -> None:
    """Give ``layer`` a fixed temporal range covering ``day``."""
    props = layer.temporalProperties()
    props.setMode(QgsRasterLayerTemporalProperties.ModeFixedTemporalRange)
    props.setFixedTemporalRange(date_range(day))
    props.setIsActive(True)


def _load(path: Path, name: str) -> QgsRasterLayer:
    layer = QgsRasterLayer(str(path), name, "gdal")
    if not layer.isValid():
        raise OSError(f"QGIS cannot open the result file {path}")
    return layer


#: Opacity of the mask layers when true-colour layers sit under them.
MASK_OPACITY_OVER_TRUECOLOUR = 0.6


def add_result_layers(
    result: ResultLayers,
    *,
    group_name: str,
    project: QgsProject | None = None,
    sidecars: bool = True,
) -> QgsLayerTreeGroup:
    """Add the run's layers to ``project`` in a new group at the top; return the group.

    The group holds one paletted mask layer per date (each with its date as a
    fixed temporal range), then a "true colour" sub-group with the images of
    the same dates (drawn under the masks, which are then 60 % opaque), then the
    clear-observation count (hidden).
    """
    project = project or QgsProject.instance()
    root = project.layerTreeRoot()
    group = root.insertGroup(0, group_name)
    dates: Sequence[dt.date] = sorted(result.masks)
    for day in dates:
        layer = _load(Path(result.masks[day]), f"mask {day.isoformat()}")
        apply_mask_style(layer)
        if result.truecolour:
            layer.setOpacity(MASK_OPACITY_OVER_TRUECOLOUR)
        set_date_range(layer, day)
        if sidecars:
            save_sidecar(layer, overwrite=True)
        project.addMapLayer(layer, False)
        group.addLayer(layer)
    if result.truecolour:
        sub = group.addGroup("true colour")
        for day in sorted(result.truecolour):
            layer = _load(Path(result.truecolour[day]), f"true colour {day.isoformat()}")
            set_date_range(layer, day)
            project.addMapLayer(layer, False)
            sub.addLayer(layer)
    if result.count is not None:
        layer = _load(Path(result.count), "clear observations")
        apply_count_style(layer, maximum=max(len(dates), 1))
        if sidecars:
            save_sidecar(layer, overwrite=True)
        project.addMapLayer(layer, False)
        node = group.addLayer(layer)
        node.setItemVisibilityChecked(False)
    return group
