"""The plain, frozen description of what to load."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from tsmask_qgis.bands import BANDS
from tsmask_qgis.errors import ParameterError
from tsmask_qgis.loaders._crs import crs_text, proj_allowed, projected_crs
from tsmask_qgis.loaders._sources import DEFAULT_SOURCE, Source, get_source

__all__ = ["REQUEST_HELP", "SENTINEL2_START", "Request", "utm_crs"]

#: The first Sentinel-2 acquisitions (Sentinel-2A launch, 2015-06-23).
SENTINEL2_START = dt.date(2015, 6, 23)

#: Help text for each request field, shared by the command line and the plugin.
REQUEST_HELP: dict[str, str] = {
    "bbox": "Area of interest as west, south, east, north in WGS84 degrees.",
    "start": "First acquisition date (inclusive), not before 2015-06-23.",
    "end": "Last acquisition date (inclusive), not in the future.",
    "source": "Catalogue preset (see `tsmask sources`); 'custom' needs a STAC URL.",
    "resolution": "Output pixel size in metres (default 20 m, the grid of B8A/B11/B12).",
    "crs": "Output CRS, e.g. EPSG:32755. Default: the UTM zone of the area's centre; "
    "scenes from other zones are reprojected onto that one grid.",
    "cloud_cover": "Optional pre-filter: skip scenes whose catalogue cloud cover (percent) "
    "is above this. Off by default, and best left off: tsmask finds cloud and shadow "
    "as spikes against the clear dates around them, so it needs the cloudy dates too; "
    "dropping them leaves clouds unmasked elsewhere and thins the series it compares to.",
    "stac_url": "STAC API root URL (overrides the preset's).",
    "collections": "STAC collection ids to search (override the preset's).",
    "band_map": "Asset key per tsmask band, e.g. blue=B02 (overrides the preset's).",
    "margin_m": "Extra metres loaded around the area on its north, south, east and west "
    "sides (the shadow-geometry step sets it: clouds outside the area cast shadows in); "
    "what the catalogue cannot serve there is nodata.",
}


def utm_crs(lon: float, lat: float) -> str:
    """The WGS84 UTM zone CRS (``EPSG:326zz`` north, ``EPSG:327zz`` south) holding a point."""
    zone = min(max(math.floor((lon + 180.0) / 6.0) + 1, 1), 60)
    return f"EPSG:{32600 + zone if lat >= 0 else 32700 + zone}"


def _as_date(value: Any, what: str) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            raise ParameterError(
                f"{what} date {value!r} is not a date like 2018-12-31", field=what
            ) from None
    raise ParameterError(
        f"{what} date must be a datetime.date, got {type(value).__name__}", field=what
    )


@dataclass(frozen=True)
class Request:
    """What to load: an area, a date range and a catalogue.

    ``bbox`` is ``(west, south, east, north)`` in WGS84 degrees; ``start``/``end`` are
    inclusive ``datetime.date``s (ISO strings are accepted and converted). ``crs=None``
    means the UTM zone of the bbox centre. ``band_map`` is stored as sorted
    ``(band, asset)`` pairs so the request stays hashable; use :meth:`get_source`
    for the effective catalogue settings. See ``REQUEST_HELP`` for each field.
    """

    bbox: tuple[float, float, float, float]
    start: dt.date
    end: dt.date
    source: str = DEFAULT_SOURCE
    resolution: float = 20.0
    crs: str | None = None
    cloud_cover: float | None = None
    stac_url: str | None = None
    collections: tuple[str, ...] | None = None
    band_map: tuple[tuple[str, str], ...] | None = field(default=None)
    margin_m: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0)

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        # bbox
        try:
            bbox = tuple(float(v) for v in self.bbox)
        except (TypeError, ValueError):
            raise ParameterError(
                f"bbox must be four numbers (west, south, east, north), got {self.bbox!r}",
                field="bbox",
            ) from None
        if len(bbox) != 4 or not all(math.isfinite(v) for v in bbox):
            raise ParameterError(
                f"bbox must be four finite numbers (west, south, east, north), got {self.bbox!r}",
                field="bbox",
            )
        w, s, e, n = bbox
        if not (-180.0 <= w <= 180.0 and -180.0 <= e <= 180.0):
            raise ParameterError(
                f"bbox longitudes must be within -180..180, got west={w}, east={e}", field="bbox"
            )
        if not (-90.0 <= s <= 90.0 and -90.0 <= n <= 90.0):
            raise ParameterError(
                f"bbox latitudes must be within -90..90, got south={s}, north={n}", field="bbox"
            )
        if w >= e:
            raise ParameterError(
                f"bbox west ({w}) must be less than east ({e}); give (west, south, east, north) "
                "in degrees (areas across the antimeridian are not supported: split them)",
                field="bbox",
            )
        if s >= n:
            raise ParameterError(
                f"bbox south ({s}) must be less than north ({n}); "
                "give (west, south, east, north) in degrees",
                field="bbox",
            )
        set_(self, "bbox", bbox)
        # dates
        start = _as_date(self.start, "start")
        end = _as_date(self.end, "end")
        if end < start:
            raise ParameterError(
                f"end date {end} is before start date {start}; swap them", field="end"
            )
        if end < SENTINEL2_START or start < SENTINEL2_START:
            raise ParameterError(
                f"start date {start} is before the first Sentinel-2 acquisitions "
                f"({SENTINEL2_START}); start on or after that date",
                field="start",
            )
        today = dt.date.today()
        if start > today:
            raise ParameterError(
                f"start date {start} is in the future (today is {today})", field="start"
            )
        if end > today:
            raise ParameterError(
                f"end date {end} is in the future (today is {today}); end today at the latest",
                field="end",
            )
        set_(self, "start", start)
        set_(self, "end", end)
        # source and overrides
        if self.source == "custom" and not self.stac_url:
            raise ParameterError(
                "source 'custom' needs stac_url (the STAC API root URL)", field="stac_url"
            )
        get_source(self.source)  # raises a clear error for an unknown name
        try:
            res = float(self.resolution)
        except (TypeError, ValueError):
            raise ParameterError(
                f"resolution must be a number of metres, got {self.resolution!r}",
                field="resolution",
            ) from None
        if not math.isfinite(res) or res <= 0:
            raise ParameterError(
                f"resolution must be a positive number of metres, got {res}", field="resolution"
            )
        set_(self, "resolution", res)
        if self.crs is not None:
            # in full where PROJ may run now; else in form, and in full by check()
            set_(self, "crs", projected_crs(self.crs) if proj_allowed() else crs_text(self.crs))
        if self.cloud_cover is not None:
            cc = float(self.cloud_cover)
            if not 0.0 <= cc <= 100.0:
                raise ParameterError(
                    f"cloud_cover must be a percentage 0..100, got {cc}", field="cloud_cover"
                )
            set_(self, "cloud_cover", cc)
        if self.collections is not None:
            cols = (self.collections,) if isinstance(self.collections, str) else self.collections
            cols = tuple(str(c) for c in cols)
            if not cols:
                raise ParameterError(
                    "collections must name at least one STAC collection", field="collections"
                )
            set_(self, "collections", cols)
        if self.band_map is not None:
            bm = self.band_map
            pairs = bm.items() if isinstance(bm, Mapping) else bm
            bm_dict = {str(k): str(v) for k, v in pairs}
            unknown = sorted(set(bm_dict) - set(BANDS) - {"scl"})
            if unknown:
                raise ParameterError(
                    f"band_map has unknown band names {unknown}; use {', '.join(BANDS)} (and scl)",
                    field="band_map",
                )
            set_(self, "band_map", tuple(sorted(bm_dict.items())))
        try:
            margin = tuple(float(v) for v in self.margin_m)
        except (TypeError, ValueError):
            margin = ()
        if len(margin) != 4 or not all(math.isfinite(v) and v >= 0 for v in margin):
            raise ParameterError(
                "margin_m must be four non-negative numbers of metres (north, south, east, "
                f"west), got {self.margin_m!r}",
                field="margin_m",
            )
        set_(self, "margin_m", margin)
        if self.source == "custom":
            src = self.get_source()
            if not src.collections:
                raise ParameterError(
                    "source 'custom' needs collections (the STAC collection ids)",
                    field="collections",
                )

    def check(self) -> Request:
        """The request checked in full, its CRS in canonical form (``self`` if it is).

        Construction checks everything but the meaning of ``crs`` where PROJ may not be
        imported (the QGIS desktop, see ``_crs``); this checks that too, raising the same
        :class:`ParameterError`. ``search``, ``load``, ``estimate`` and :meth:`geobox` call
        it first, so a bad CRS is refused before anything is read.
        """
        if self.crs is None:
            return self
        canonical = projected_crs(self.crs)
        return self if canonical == self.crs else replace(self, crs=canonical)

    # -- derived values -------------------------------------------------------------------

    def get_source(self) -> Source:
        """The catalogue preset with this request's overrides applied."""
        src = get_source(self.source)
        bm = dict(self.band_map) if self.band_map else None
        ref = bm.pop("scl", None) if bm else None
        src = src.with_overrides(
            stac_url=self.stac_url, collections=self.collections, band_map=bm or None
        )
        if ref is not None:
            src = replace(src, reference=ref)
        return src

    @property
    def centre(self) -> tuple[float, float]:
        """(lon, lat) of the bbox centre."""
        w, s, e, n = self.bbox
        return ((w + e) / 2.0, (s + n) / 2.0)

    @property
    def output_crs(self) -> str:
        """The CRS of the output grid: ``crs``, or the UTM zone of the bbox centre."""
        return self.crs if self.crs is not None else utm_crs(*self.centre)

    def geobox(self) -> Any:
        """The output pixel grid (an ``odc.geo.geobox.GeoBox``), snapped to the resolution.

        Raises :class:`ParameterError` for a CRS only PROJ can refuse (see :meth:`check`).
        """
        from odc.geo.geobox import GeoBox
        from odc.geo.geom import box

        crs = self.check().output_crs
        poly = box(*self.bbox, "EPSG:4326").to_crs(crs)
        gbox = GeoBox.from_geopolygon(poly, resolution=self.resolution, crs=crs)
        top, bottom, left, right = self.margin_pixels()
        if not (top or bottom or left or right):
            return gbox
        from affine import Affine

        ny, nx = gbox.shape.y, gbox.shape.x
        moved = gbox.transform @ Affine.translation(-left, -top)
        return GeoBox((ny + top + bottom, nx + left + right), moved, gbox.crs)

    def margin_pixels(self) -> tuple[int, int, int, int]:
        """The margin in pixels: rows on top (north) and bottom, columns left and right."""
        n, s, e, w = self.margin_m
        px = self.resolution
        return tuple(math.ceil(v / px - 1e-9) for v in (n, s, w, e))  # type: ignore[return-value]

    def datetime_range(self) -> str:
        """The STAC ``datetime`` interval covering whole days ``start``..``end`` (UTC)."""
        return f"{self.start.isoformat()}T00:00:00Z/{self.end.isoformat()}T23:59:59.999Z"

    def key(self, bands: Sequence[str] = BANDS) -> dict[str, Any]:
        """What identifies the loaded reflectance (for the cache)."""
        src = self.get_source()
        return {
            "source": self.source,
            "stac_url": src.stac_url,
            "collections": list(src.collections),
            "assets": [src.asset_for(b) for b in bands],
            "bands": list(bands),
            "bbox": [round(v, 9) for v in self.bbox],
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "crs": self.output_crs,
            "resolution": self.resolution,
            "cloud_cover": self.cloud_cover,
            **({"margin_px": list(self.margin_pixels())} if any(self.margin_m) else {}),
        }
