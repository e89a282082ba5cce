"""Putting a finished run on the map: one group, styled masks, temporal ranges.

Runs on the main thread (from ``QgsTask.finished``). Each mask layer covers
its acquisition date as a fixed temporal range, so the Temporal Controller
plays the series; true-colour layers of the same dates sit under the masks;
a clear-observation-count layer closes the group. The layers are styled here
from :mod:`tsmask_qgis.classes`; the ``.qml`` sidecars beside the files (so a
file opened again keeps its style) are the writers' and are left as they are.

Ready to look at: only the first date is visible, every legend is collapsed,
each mask layer is named by its date and cloud percentage, the group by the
area and the data's own dates, and a run into a folder whose group is already
in the project replaces that group. Layers and group carry custom properties
(:data:`DATE_PROPERTY`, :data:`ROLE_PROPERTY`, :data:`OUT_PROPERTY`) so the
mask browser finds them without parsing any name.
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
from tsmask_qgis.plugin.summary import DateRow, date_rows, layer_name, read_summary_csv

__all__ = [
    "DATE_PROPERTY",
    "OUT_PROPERTY",
    "ROLE_PROPERTY",
    "ResultLayers",
    "add_result_layers",
    "date_range",
    "group_name",
    "result_groups",
    "set_date_range",
]

#: Custom property of a result layer: the date label it shows.
DATE_PROPERTY = "tsmask/date"
#: Custom property of a result layer: ``mask``, ``truecolour`` or ``count``.
ROLE_PROPERTY = "tsmask/role"
#: Custom property of a result group: the output folder of its run.
OUT_PROPERTY = "tsmask/out"


@dataclass(frozen=True)
class ResultLayers:
    """Files of a finished run, as plain values: what :func:`add_result_layers` loads.

    ``masks`` maps each date label (as the writers label them: ``2021-12-04``, or
    ``2021-12-04T235958`` where two acquisitions share a day) to its single-band
    mask raster; ``truecolour`` the same labels to RGB rasters; ``times`` each
    label to its acquisition time (UTC); ``count`` is the clear-observation-count
    raster; ``summary`` the per-date class counts (the writers' summary rows);
    ``composites`` maps each composite period to its multi-band COG.
    """

    masks: Mapping[str, Path]
    times: Mapping[str, dt.datetime]
    truecolour: Mapping[str, Path] = field(default_factory=dict)
    count: Path | None = None
    summary: tuple[Any, ...] = ()
    #: The run's output folder (a later run into it replaces this run's group).
    out: Path | None = None
    #: The run's ``summary.csv``, read when ``summary`` is empty.
    summary_csv: Path | None = None
    composites: Mapping[str, Path] = field(default_factory=dict)

    def in_time_order(self, labels: Mapping[str, Any]) -> list[str]:
        """The labels of ``labels`` (``masks`` or ``truecolour``) sorted by acquisition time."""
        return sorted(labels, key=lambda label: (self.times[label], label))

    def rows(self) -> dict[str, DateRow]:
        """The summary's rows by date label (from ``summary``, else from ``summary_csv``)."""
        if self.summary:
            rows = date_rows(self.summary)
        elif self.summary_csv is not None:
            rows = read_summary_csv(self.summary_csv)
        else:
            rows = []
        return {row.label: row for row in rows}


def group_name(where: str, result: ResultLayers) -> str:
    """The group's name: ``tsmask <where> <first day>..<last day>`` of the data's own
    acquisition times (not the dates asked for)."""
    if not result.times:
        return f"tsmask {where}"
    days = sorted(t.date() for t in result.times.values())
    span = days[0].isoformat() if days[0] == days[-1] else f"{days[0]}..{days[-1]}"
    return f"tsmask {where} {span}"


def result_groups(project: QgsProject, out: Path) -> list[QgsLayerTreeGroup]:
    """The groups of ``project`` holding a run's layers from the folder ``out``."""
    key = str(Path(out).resolve())
    return [
        g for g in project.layerTreeRoot().findGroups(True) if g.customProperty(OUT_PROPERTY) == key
    ]


def _remove_group(project: QgsProject, group: QgsLayerTreeGroup) -> int:
    """Remove ``group`` and its layers; return its index in its parent."""
    parent = group.parent()
    index = parent.children().index(group)
    project.removeMapLayers([n.layerId() for n in group.findLayers()])
    parent.removeChildNode(group)
    return index


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


def _load(path: Path, name: str, label: str | None, role: str) -> QgsRasterLayer:
    layer = QgsRasterLayer(str(path), name, "gdal")
    if not layer.isValid():
        raise OSError(f"QGIS cannot open the result file {path}")
    layer.setCustomProperty(ROLE_PROPERTY, role)
    if label is not None:
        layer.setCustomProperty(DATE_PROPERTY, label)
    return layer


def add_result_layers(
    result: ResultLayers,
    *,
    group_name: str,
    project: QgsProject | None = None,
    style_name: str | None = None,
) -> QgsLayerTreeGroup:
    """Add the run's layers to ``project`` in a new group at the top; return the group.

    The group holds one paletted mask layer per date (each with its day as a
    fixed temporal range, named by date and cloud %, in the mask style
    ``style_name``), then a "true colour" sub-group with the images of the
    same dates (drawn under the masks), then the clear-observation count
    (hidden). Only the first date's mask and image are visible; legends are
    collapsed. A group of an earlier run into the same folder is replaced (the
    new group takes its place).
    """
    project = project or QgsProject.instance()
    root = project.layerTreeRoot()
    parent: QgsLayerTreeGroup = root
    index = 0
    if result.out is not None:
        for old in result_groups(project, result.out):
            parent = old.parent()
            index = _remove_group(project, old)
    group = parent.insertGroup(index, group_name)
    if result.out is not None:
        group.setCustomProperty(OUT_PROPERTY, str(Path(result.out).resolve()))
    rows = result.rows()
    labels: Sequence[str] = result.in_time_order(result.masks)
    first = labels[0] if labels else None
    for label in labels:
        row = rows.get(label)
        name = layer_name(row) if row is not None else label
        layer = _load(Path(result.masks[label]), name, label, "mask")
        apply_mask_style(layer, style_name=style_name, over_image=bool(result.truecolour))
        set_date_range(layer, result.times[label])
        project.addMapLayer(layer, False)
        node = group.addLayer(layer)
        node.setItemVisibilityChecked(label == first)
        node.setExpanded(False)
    if result.truecolour:
        sub = group.addGroup("true colour")
        for label in result.in_time_order(result.truecolour):
            layer = _load(
                Path(result.truecolour[label]), f"true colour {label}", label, "truecolour"
            )
            set_date_range(layer, result.times[label])
            project.addMapLayer(layer, False)
            node = sub.addLayer(layer)
            node.setItemVisibilityChecked(label == first)
            node.setExpanded(False)
        sub.setExpanded(False)
    if result.count is not None:
        layer = _load(Path(result.count), "clear observations", None, "count")
        apply_count_style(layer, maximum=max(len(labels), 1))
        project.addMapLayer(layer, False)
        node = group.addLayer(layer)
        node.setItemVisibilityChecked(False)
        node.setExpanded(False)
    _add_composites(result, group, project)
    group.setExpanded(True)
    return group


def _add_composites(result: ResultLayers, group: QgsLayerTreeGroup, project: QgsProject) -> None:
    """The composites in a sub-group above the masks, each in the true-colour style the
    writers put beside it (``.qml``); only the last period is shown."""
    if not result.composites:
        return
    sub = group.insertGroup(0, "composites")
    periods = list(result.composites)
    for i, period in enumerate(reversed(periods)):
        path = Path(result.composites[period])
        layer = _load(path, f"composite {period}", None, "composite")
        style = path.with_suffix(".qml")
        if style.exists():
            layer.loadNamedStyle(str(style))
        project.addMapLayer(layer, False)
        sub.addLayer(layer).setItemVisibilityChecked(i == 0)
