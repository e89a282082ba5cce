"""The one place where Qt/QGIS types become plain values.

The dialog hands ``QgsRectangle`` + ``QgsCoordinateReferenceSystem`` + ``QDate``
here; out come a :class:`RunSettings` (frozen, plain Python: WGS84 bbox tuple,
``datetime.date``, strings) and from it the engine's ``Request`` and the
pipeline's ``Job``. Nothing downstream of this module sees a Qt type.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from qgis.core import (
    QgsCoordinateReferenceSystem,
    QgsCoordinateTransform,
    QgsCoordinateTransformContext,
    QgsProject,
    QgsRectangle,
)
from qgis.PyQt.QtCore import QDate

__all__ = [
    "COMPOSITES",
    "LOCAL",
    "RUNNERS",
    "STAC",
    "WGS84",
    "RunSettings",
    "date_to_qdate",
    "qdate_to_date",
    "rect_to_wgs84",
    "wgs84_to_rect",
]

WGS84 = QgsCoordinateReferenceSystem("EPSG:4326")

#: Source names for the two choices that are not catalogue presets.
STAC = "custom"
LOCAL = "local"

Bbox = tuple[float, float, float, float]

#: The engine's runners (``engine.RUNNERS``, checked by a test) and how the dialog names
#: them. ``auto`` lets the engine choose: inside the plugin's child process that is
#: threads running the compiled kernels, or dask for a lazy stack larger than memory.
RUNNERS: dict[str, str] = {
    "auto": "automatic (recommended)",
    "threads": "threads in the worker process",
    "processes": "a pool of worker processes",
    "dask": "dask (lazy, streamed)",
}

#: The dialog's field (its error label) for each request field an error can concern.
_FIELD_OF: dict[str, str] = {"bbox": "bbox", "start": "dates", "end": "dates"}


def _context(context: QgsCoordinateTransformContext | None) -> QgsCoordinateTransformContext:
    return context if context is not None else QgsProject.instance().transformContext()


def rect_to_wgs84(
    rect: QgsRectangle,
    crs: QgsCoordinateReferenceSystem,
    context: QgsCoordinateTransformContext | None = None,
) -> Bbox:
    """``rect`` in ``crs`` as a WGS84 ``(west, south, east, north)`` tuple.

    The rectangle's edges are densified before transforming, so a projected
    extent yields the geographic box that really contains it. Raises
    ``ValueError`` with a user-facing message for an empty or invalid area.
    """
    if rect is None or rect.isNull() or rect.isEmpty():
        raise ValueError("The area is empty: choose a map extent, a layer or draw a rectangle.")
    if not crs.isValid():
        raise ValueError("The area has no valid coordinate reference system.")
    if crs != WGS84:
        transform = QgsCoordinateTransform(crs, WGS84, _context(context))
        try:
            rect = transform.transformBoundingBox(rect)
        except Exception as exc:  # QgsCsException
            raise ValueError(f"The area cannot be converted to longitude/latitude: {exc}") from exc
    box = (rect.xMinimum(), rect.yMinimum(), rect.xMaximum(), rect.yMaximum())
    if not all(math.isfinite(v) for v in box):
        raise ValueError("The area cannot be converted to longitude/latitude.")
    w, s, e, n = box
    if w < -180.0001 or e > 180.0001 or s < -90.0001 or n > 90.0001:
        raise ValueError(
            f"The area ({w:.4f}, {s:.4f}, {e:.4f}, {n:.4f}) lies outside longitude/latitude "
            "bounds: check the layer's or project's coordinate reference system."
        )
    if w >= e or s >= n:
        raise ValueError("The area is empty: choose a map extent, a layer or draw a rectangle.")
    return (max(w, -180.0), max(s, -90.0), min(e, 180.0), min(n, 90.0))


def wgs84_to_rect(bbox: Bbox) -> QgsRectangle:
    """A WGS84 bbox tuple as a ``QgsRectangle`` (for restoring the dialog)."""
    return QgsRectangle(*bbox)


def qdate_to_date(qdate: QDate) -> date:
    """A valid ``QDate`` as ``datetime.date``; ``ValueError`` for an invalid one."""
    if qdate is None or not qdate.isValid():
        raise ValueError("The date is not valid.")
    return date(qdate.year(), qdate.month(), qdate.day())


def date_to_qdate(value: date) -> QDate:
    """``datetime.date`` as ``QDate``."""
    return QDate(value.year, value.month, value.day)


#: The dialog's Composite choices: the product option (``PERIOD:METHOD``) -> label.
COMPOSITES: dict[str, str] = {
    "": "none",
    "year:median": "yearly median",
    "year:geomedian": "yearly geometric median",
    "season:median": "seasonal median",
    "month:median": "monthly median",
    "all:median": "median of all dates",
}


@dataclass(frozen=True)
class RunSettings:
    """Everything the dialog collects, as plain values.

    ``bbox`` is WGS84 (west, south, east, north); ``source`` is a catalogue
    preset name, :data:`STAC` (``stac_url`` + ``collections``) or :data:`LOCAL`
    (``input_path``). ``formats`` are writer names (``cog``, ``multiband``,
    ``netcdf``, ``envi``; per-date COGs are always written: they are the map
    layers). ``max_memory`` is the engine's memory budget in bytes (``None``:
    half the available memory); ``runner`` the engine's runner (:data:`RUNNERS`,
    an advanced setting); ``overwrite`` replaces outputs of another run in
    ``out_dir``; ``composite`` (``"year:median"``, or ``None``) adds cloud-free
    composites loaded above the masks.
    """

    bbox: Bbox | None
    start: date
    end: date
    out_dir: Path
    source: str = "earth-search-c1"
    stac_url: str | None = None
    collections: tuple[str, ...] = ()
    input_path: Path | None = None
    preset: str = "dea"
    spatial: bool = True
    resolution: float = 20.0
    crs: str | None = None
    formats: tuple[str, ...] = ("cog",)
    truecolour: bool = False
    workers: int | None = None
    max_memory: int | None = None
    runner: str = "auto"
    overwrite: bool = False
    overrides: dict[str, Any] = field(default_factory=dict)
    shadow_geometry: bool = False
    cloud_buffer_m: float = 0.0
    shadow_buffer_m: float = 0.0
    composite: str | None = None

    @classmethod
    def from_qt(
        cls,
        *,
        extent: QgsRectangle | None,
        extent_crs: QgsCoordinateReferenceSystem | None,
        start: QDate,
        end: QDate,
        out_dir: str,
        context: QgsCoordinateTransformContext | None = None,
        **options: Any,
    ) -> RunSettings:
        """Settings from the dialog's Qt values; ``ValueError`` with a clear message if invalid."""
        local = options.get("source") == LOCAL
        bbox = None
        if extent is not None and extent_crs is not None and not (local and extent.isNull()):
            bbox = rect_to_wgs84(extent, extent_crs, context)
        if options.get("input_path"):
            options["input_path"] = Path(options["input_path"])
        if "collections" in options:
            options["collections"] = tuple(options["collections"] or ())
        settings = cls(
            bbox=bbox,
            start=qdate_to_date(start),
            end=qdate_to_date(end),
            out_dir=Path(out_dir) if out_dir else Path(),
            **options,
        )
        problems = settings.problems()
        if problems:
            raise ValueError(" ".join(problems.values()))
        return settings

    def problems(self) -> dict[str, str]:
        """What is wrong, keyed by field name (empty when the settings can run)."""
        out: dict[str, str] = {}
        local = self.source == LOCAL
        if self.bbox is None and not local:
            out["bbox"] = "The area is empty: choose a map extent, a layer or draw a rectangle."
        if self.end < self.start:
            out["dates"] = "The end date is before the start date."
        if self.source == STAC:
            url = (self.stac_url or "").strip()
            if not url.startswith(("http://", "https://")):
                out["source"] = "Enter the STAC API address (starting with https://)."
            elif not self.collections:
                out["source"] = "Enter the STAC collection to search."
        if local:
            if self.input_path is None or not str(self.input_path):
                out["source"] = "Choose the local stack (a NetCDF, a GeoTIFF or a folder)."
            elif not self.input_path.exists():
                out["source"] = f"The local stack {self.input_path} does not exist."
        if not str(self.out_dir) or str(self.out_dir) == ".":
            out["out_dir"] = "Choose an output folder."
        elif self.out_dir.exists() and not self.out_dir.is_dir():
            out["out_dir"] = f"{self.out_dir} is a file, not a folder."
        if not self.formats:
            out["formats"] = "Choose at least one output format."
        if self.preset not in ("seed", "dea"):
            out["preset"] = f"Unknown preset {self.preset!r}: use seed or dea."
        if self.workers is not None and self.workers < 1:
            out["workers"] = "Use at least one worker process."
        if self.max_memory is not None and self.max_memory <= 0:
            out["max_memory"] = "The memory budget must be positive (or automatic)."
        if self.runner not in RUNNERS:
            out["runner"] = f"Unknown runner {self.runner!r}: use one of {', '.join(RUNNERS)}."
        if self.resolution <= 0:
            out["resolution"] = "The resolution must be a positive number of metres."
        if min(self.cloud_buffer_m, self.shadow_buffer_m) < 0:
            out["options"] = "A buffer must be 0 (none) or a positive number of metres."
        elif (self.shadow_geometry or self.cloud_buffer_m or self.shadow_buffer_m) and not (
            self.spatial
        ):
            out["options"] = (
                "The shadow geometry and the buffers run after the spatial steps: "
                "turn the spatial steps on."
            )
        elif self.overrides.get("thin_cloud", "spectral") != "spectral" and self.preset != "seed":
            out["options"] = "The thin-cloud rule is an option of the seed preset."
        if not out and not local:
            try:
                self.to_request()
            except ImportError:
                pass  # reported once as a missing dependency
            except ValueError as exc:  # the loaders' own checks (dates in range, ...)
                text = str(exc)
                where = _FIELD_OF.get(getattr(exc, "field", None) or "", "source")
                out[where] = text[0].upper() + text[1:] + "."
        return out

    def to_request(self) -> Any:
        """The loaders' plain ``Request`` for a catalogue source (not for local files)."""
        from tsmask_qgis.loaders._request import Request

        if self.source == LOCAL or self.bbox is None:
            raise ValueError("local files have no catalogue request")
        options: dict[str, Any] = {}
        if self.source == STAC:
            options = {"stac_url": self.stac_url, "collections": self.collections}
        return Request(
            self.bbox,
            self.start,
            self.end,
            source=self.source,
            resolution=self.resolution,
            crs=self.crs,
            **options,
        )

    def replace(self, **changes: Any) -> RunSettings:
        """A copy with some fields changed."""
        return dataclasses.replace(self, **changes)

    def area_label(self) -> str:
        """A short human name for the area: the local stack's name or the box's centre."""
        if self.source == LOCAL and self.input_path is not None:
            return self.input_path.stem or self.input_path.name
        if self.bbox is not None:
            w, s, e, n = self.bbox
            return f"{(s + n) / 2:.3f}, {(w + e) / 2:.3f}"
        return "area"

    def area_name(self) -> str:
        """A short human name for the area and the dates asked for (the task's name; the
        layer group is named by the data's own dates, :func:`layers.group_name`)."""
        return f"tsmask {self.area_label()} {self.start.isoformat()}..{self.end.isoformat()}"
