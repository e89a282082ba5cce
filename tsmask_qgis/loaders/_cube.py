"""What both STAC load paths share: the bands asked for, odc-stac's read of items onto
the output grid, the default chunking, and the Dataset they return (``docs/api.md``)."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import xarray as xr

from tsmask_qgis.bands import BANDS, VALUES_CHECKED
from tsmask_qgis.loaders._errors import ParameterError
from tsmask_qgis.loaders._read import AssetName, CheckedDriver, base_url
from tsmask_qgis.loaders._request import Request
from tsmask_qgis.loaders._sources import Source

__all__ = ["BLOCK_BYTES", "asset_names", "band_list", "dataset", "default_chunks", "odc_load"]

#: Largest default block of one band (float32 bytes) when the time axis is whole.
BLOCK_BYTES = 256 * 1024**2


def band_list(extra_bands: Iterable[str]) -> tuple[str, ...]:
    """The six reflectance bands, then the extra ones asked for (``scl``), once each."""
    extra = tuple(dict.fromkeys(extra_bands))
    bad = [b for b in extra if b in BANDS]
    if bad:
        raise ParameterError(
            f"{', '.join(bad)} {'is' if len(bad) == 1 else 'are'} loaded anyway; "
            "ask only for extra bands (the scene classification, scl)",
            field="reference",
        )
    return (*BANDS, *extra)


def asset_names(items: Iterable[Any], bands: Sequence[str], src: Source) -> dict[str, AssetName]:
    """Each asset URL (without query) -> its scene, band, asset key and URL."""
    out: dict[str, AssetName] = {}
    for item in items:
        for band in bands:
            asset = src.asset_for(band)
            if asset in item.assets:
                href = item.assets[asset].href
                out[base_url(href)] = AssetName(item.id, band, asset, base_url(href))
    return out


def odc_load(
    items: list[Any],
    assets: list[str],
    geobox: Any,
    chunks: Any,
    driver: CheckedDriver,
    pool: int | None = None,
) -> xr.Dataset:
    """odc-stac's load of ``items``' ``assets`` as raw DNs onto ``geobox`` (nearest
    neighbour, one time slice per item, by time then id), every read
    through ``driver``; ``pool`` reads at once (without ``chunks``)."""
    import odc.stac

    return odc.stac.load(
        items,
        bands=assets,
        geobox=geobox,
        chunks=chunks,
        groupby="id",
        fail_on_error=True,
        resampling="nearest",
        stac_cfg={"*": {"warnings": "ignore"}},
        driver=driver,  # type: ignore[arg-type]  # odc-stac accepts any ReaderDriver-like object
        pool=pool,
    )


def default_chunks(
    shape: tuple[int, int, int], chunks: dict[str, int] | None
) -> tuple[int, int, int]:
    """(time, y, x) chunk sizes: ``chunks`` where given; time whole by default."""
    t, ny, nx = shape
    c = dict(chunks or {})
    ct = int(c.get("time", -1))
    ct = t if ct in (-1, 0) or ct >= t else ct
    side = int(math.sqrt(BLOCK_BYTES / (4 * max(1, ct))) // 256 * 256)
    side = min(2048, max(256, side))
    cy = int(c.get("y", side))
    cx = int(c.get("x", side))
    cy = ny if cy in (-1, 0) else cy
    cx = nx if cx in (-1, 0) else cx
    return (max(1, ct), max(1, min(ny, cy)), max(1, min(nx, cx)))


def _attrs(src: Source, band: str) -> dict[str, Any]:
    if band in BANDS:
        return {
            "units": "1",
            "long_name": f"{band} surface reflectance",
            "asset": src.asset_for(band),
        }
    return {
        "long_name": "scene classification",
        "reference_kind": src.reference_kind or "scl",
        "asset": src.asset_for(band),
        "nodata": 0,
    }


def dataset(
    gbox: Any,
    times: np.ndarray,
    arrays: dict[str, Any],
    src: Source,
    request: Request,
    sun: tuple[Sequence[float], Sequence[float]] | None = None,
) -> xr.Dataset:
    """The loaders' Dataset: ``arrays`` (time, y, x) on ``gbox``'s coordinates.

    ``sun`` (azimuth, elevation) per date from the items' metadata becomes the time
    coordinates ``sun_azimuth`` and ``sun_elevation`` (degrees, NaN where unknown).
    """
    from odc.geo.xr import xr_coords

    coords: dict[str, Any] = {
        str(k): v for k, v in xr_coords(gbox, crs_coord_name="spatial_ref").items()
    }
    coords["time"] = times.astype("datetime64[ns]")
    if sun is not None and len(sun[0]) == len(times):
        for name, values in zip(("sun_azimuth", "sun_elevation"), sun, strict=True):
            coords[name] = xr.Variable(
                "time",
                np.asarray(values, dtype=np.float64),
                {"units": "degree", "source": "STAC item metadata (NaN: not given)"},
            )
    ds = xr.Dataset(coords=coords)
    for band, arr in arrays.items():
        ds[band] = xr.DataArray(arr, dims=("time", "y", "x"), attrs=_attrs(src, band))
    ds.attrs.update(
        {VALUES_CHECKED: 1},  # made by the loaders: reflectance 0..1 with NaN nodata
        source=request.source,
        stac_url=src.stac_url,
        collections=" ".join(src.collections),
    )
    return ds
