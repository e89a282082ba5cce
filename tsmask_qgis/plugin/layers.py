"""Putting a finished run on the map: one group, styled masks, temporal ranges.

Runs on the main thread (from ``QgsTask.finished``). Each mask layer covers
its acquisition date as a fixed temporal range, so the Temporal Controller
plays the series; true-colour layers of the same dates sit under the masks;
a clear-observation-count layer closes the group. The layers are styled here
from :mod:`tsmask_qgis.classes`; the ``.qml`` sidecars beside the files (so a
file opened again keeps its style) are the writers' and are left as they are.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from qgis.core import (
    Qgis,
    QgsDateTimeRange,
    QgsLayerTreeGroup,
    QgsProject,
    QgsRasterLayer,
)
from qgis.PyQt.QtCore import QDate, QDateTime, Qt, QTime

from tsmask_qgis.plugin.styling import apply_count_style, apply_mask_style

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

    ``masks`` maps each date label (as the writers label them: ``2021-12-04``, or
    ``2021-12-04T235958`` where two acquisitions share a day) to its single-band
    mask raster; ``truecolour`` the same labels to RGB rasters; ``times`` each
    label to its acquisition time (UTC); ``count`` is the clear-observation-count
    raster; ``summary`` the per-date class counts (the writers' summary rows).
    """

    masks: Mapping[str, Path]
    times: Mapping[str, dt.datetime]
    truecolour: Mapping[str, Path] = field(default_factory=dict)
    count: Path | None = None
    summary: tuple[Any, ...] = ()

    def in_time_order(self, labels: Mapping[str, Any]) -> list[str]:
        """The labels of ``labels`` (``masks`` or ``truecolour``) sorted by acquisition time."""
        return sorted(labels, key=lambda label: (self.times[label], label))


def date_range(day: dt.date | dt.datetime) -> QgsDateTimeRange:
    """The whole day ``day`` (UTC) as a range including its start, excluding its end."""
    if isinstance(day, dt.datetime):
        day = day.date()
    begin = QDateTime(QDate(day.year, day.month, day.day), QTime(0, 0), Qt.TimeSpec.UTC)
    end = begin.addDays(1)
    return QgsDateTimeRange(begin, end, True, False)


def set_date_range(layer: QgsRasterLayer, day: dt.date | dt.datetime) -> None:
    """Give ``layer`` a fixed temporal range covering ``day``."""
    props = layer.temporalProperties()
    props.setMode(Qgis.RasterTemporalMode.FixedTemporalRange)
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
) -> QgsLayerTreeGroup:
    """Add the run's layers to ``project`` in a new group at the top; return the group.

    The group holds one paletted mask layer per date (each with its day as a
    fixed temporal range), then a "true colour" sub-group with the images of
    the same dates (drawn under the masks, which are then 60 % opaque), then the
    clear-observation count (hidden).
    """
    project = project or QgsProject.instance()
    root = project.layerTreeRoot()
    group = root.insertGroup(0, group_name)
    labels: Sequence[str] = result.in_time_order(result.masks)
    for label in labels:
        layer = _load(Path(result.masks[label]), f"mask {label}")
        apply_mask_style(layer)
        if result.truecolour:
            layer.setOpacity(MASK_OPACITY_OVER_TRUECOLOUR)
        set_date_range(layer, result.times[label])
        project.addMapLayer(layer, False)
        group.addLayer(layer)
    if result.truecolour:
        sub = group.addGroup("true colour")
        for label in result.in_time_order(result.truecolour):
            layer = _load(Path(result.truecolour[label]), f"true colour {label}")
            set_date_range(layer, result.times[label])
            project.addMapLayer(layer, False)
            sub.addLayer(layer)
    if result.count is not None:
        layer = _load(Path(result.count), "clear observations")
        apply_count_style(layer, maximum=max(len(labels), 1))
        project.addMapLayer(layer, False)
        node = group.addLayer(layer)
        node.setItemVisibilityChecked(False)
    return group
