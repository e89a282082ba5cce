"""Local stacks: a NetCDF like the original notebook's, or folders of GeoTIFFs.

Three layouts are read (all lazily, dask-backed):

1. NetCDF (``.nc``): one variable per band on a ``time`` dimension (the notebook's
   layout, e.g. ``nbart_blue`` ... from Digital Earth Australia, or ``blue``/``B02``).
2. A folder of GeoTIFFs, one per date: each file's band descriptions name the bands;
   the date comes from the ``TIFFTAG_DATETIME``/``date``/``datetime`` tag, or else from
   the file name (``2018-01-31`` or ``20180131``).
3. A folder of GeoTIFFs, one per band (the file name or a ``band`` tag names the band):
   each file's band descriptions are the dates.

Integer data are reflectance x 10000 (reflectance = float32(DN) / 10000) with the
declared nodata (``nodata``/``_FillValue`` attribute or the GeoTIFF nodata) becoming
NaN; floating-point data are taken as reflectance 0..1 with NaN for nodata.
"""

from __future__ import annotations

import datetime as dt
import re
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from tsmask_qgis.bands import BANDS, VALUES_CHECKED, band_name
from tsmask_qgis.errors import InputWarning
from tsmask_qgis.loaders._checks import (
    check_netcdf_complete,
    check_netcdf_file,
    check_raw,
    date_reflectance,
    no_repeats,
)
from tsmask_qgis.loaders._errors import InputError

__all__ = ["load_local"]


def _missing_bands_error(
    where: str, found: Sequence[str], have: set[str] | None = None
) -> InputError:
    if have is None:
        have = {b for b in (band_name(f) for f in found) if b}
    missing = [b for b in BANDS if b not in have]
    return InputError(
        f"{where} lacks band(s) {', '.join(missing)}; found {', '.join(found) or 'nothing'}. "
        "Each of blue, green, red, nir (B8A), swir1 (B11), swir2 (B12) must be present "
        "(accepted names include B02/B03/B04/B8A/B11/B12, nbart_* and Earth Search names).",
        field="input",
    )


def _reflectance(da: xr.DataArray, nodata: Any) -> xr.DataArray:
    """Lazily float32 reflectance with NaN nodata (see module docstring)."""
    if np.issubdtype(da.dtype, np.floating):
        out = da.astype(np.float32)
        if nodata is not None and np.isfinite(nodata):
            out = out.where(out != np.float32(nodata))
        return out.where(np.isfinite(out))
    out = da.astype(np.float32) / np.float32(10000.0)
    if nodata is not None:
        out = out.where(da != nodata)
    return out.astype(np.float32)


def load_local(path: str | Path, *, chunks: dict[str, int] | None = None) -> xr.Dataset:
    """Read a local stack into the loaders' Dataset convention.

    ``path`` is a NetCDF file or a folder of GeoTIFFs (see the module docstring).
    Returns float32 reflectance 0..1 with NaN nodata, variables ``blue green red nir
    swir1 swir2`` on ``(time, y, x)``, time sorted and unique, lazily (dask).
    """
    p = Path(path)
    if not p.exists():
        raise InputError(
            f"{p} does not exist; give a NetCDF file or a folder of GeoTIFFs", field="input"
        )
    if p.is_dir():
        tifs = sorted(q for q in p.iterdir() if q.suffix.lower() in (".tif", ".tiff"))
        if not tifs:
            ncs = sorted(q for q in p.iterdir() if q.suffix.lower() in (".nc", ".nc4"))
            if len(ncs) == 1:
                return _load_netcdf(ncs[0], chunks)
            raise InputError(f"folder {p} holds no GeoTIFF (.tif) files", field="input")
        return _load_tif_folder(tifs, chunks)
    if p.suffix.lower() in (".tif", ".tiff"):
        return _load_tif_folder([p], chunks)
    return _load_netcdf(p, chunks)


# -- NetCDF -------------------------------------------------------------------------------


def _load_netcdf(path: Path, chunks: dict[str, int] | None) -> xr.Dataset:
    import odc.geo.xr  # noqa: F401  (registers .odc)

    kind = check_netcdf_file(path)
    try:
        raw = xr.open_dataset(path, mask_and_scale=False, chunks=chunks or {})
    except Exception as exc:  # netCDF4/h5netcdf raise many types for a damaged file
        raise InputError(
            f"cannot read {path} as NetCDF ({type(exc).__name__}: {exc}); "
            "the file is damaged or not NetCDF — re-export or re-download it",
            field="input",
        ) from None
    found: dict[str, str] = {}
    for var in raw.data_vars:
        b = band_name(str(var))
        if b is not None and b not in found:
            found[b] = str(var)
    if set(found) != set(BANDS):
        raise _missing_bands_error(f"NetCDF {path}", [str(v) for v in raw.data_vars])
    check_netcdf_complete(path, raw, kind, [found[b] for b in BANDS])
    tdim = next((d for d in raw.dims if str(d).lower() in ("time", "t", "date")), None)
    if tdim is None:
        raise InputError(
            f"NetCDF {path} has no time dimension (dims: {', '.join(map(str, raw.dims))}); "
            "one variable per band on (time, y, x) is expected, with the dates as time",
            field="input",
        )
    rename = {tdim: "time"} if tdim != "time" else {}
    for cand_y, cand_x in (("latitude", "longitude"), ("lat", "lon"), ("northing", "easting")):
        if cand_y in raw.dims and cand_x in raw.dims:
            rename.update({cand_y: "y", cand_x: "x"})
    raw = raw.rename(rename) if rename else raw
    if "time" not in raw.coords:
        raise InputError(
            f"NetCDF {path} has a time dimension but no dates (time coordinate)", field="input"
        )
    try:
        times = xr.decode_cf(raw[["time"]]).time.values if raw.time.dtype.kind != "M" else None
    except Exception:
        times = None
    if times is not None:
        raw = raw.assign_coords(time=times)
    if raw.time.dtype.kind != "M":
        raise InputError(
            f"NetCDF {path}: the time coordinate is not dates (units missing?); "
            "give CF units such as 'days since 1970-01-01'",
            field="input",
        )
    if bool(np.isnat(raw.time.values).any()):
        raise InputError(
            f"NetCDF {path} has missing (NaT) dates in its time coordinate", field="input"
        )
    check_raw(
        {
            b: (raw[found[b]].transpose("time", ...).data, _nodata_attr(raw[found[b]]))
            for b in BANDS
        },
        str(path),
    )
    out = xr.Dataset()
    for band in BANDS:
        da = raw[found[band]]
        if set(da.dims) != {"time", "y", "x"}:
            raise InputError(
                f"NetCDF {path}: variable {found[band]} has dims {da.dims}; expected (time, y, x)",
                field="input",
            )
        nodata = da.attrs.get("nodata", da.attrs.get("_FillValue"))
        scale = da.attrs.get("scale_factor")
        da = da.transpose("time", "y", "x")
        if scale is not None and not np.issubdtype(da.dtype, np.floating):
            # CF-scaled integers: decode with the declared scale and offset
            offset = float(da.attrs.get("add_offset", 0.0))
            ref = (da.astype(np.float64) * float(scale) + offset).astype(np.float32)
            if nodata is not None:
                ref = ref.where(da != nodata)
            out[band] = ref.astype(np.float32)
        else:
            out[band] = _reflectance(da, nodata)
        out[band].attrs = {"units": "1", "long_name": f"{band} surface reflectance"}
    grid_var = raw[found["blue"]].attrs.get("grid_mapping")
    for name in (grid_var, "spatial_ref", "crs"):
        if name and name in raw.variables:
            out = out.assign_coords(spatial_ref=raw[name].variable.copy())
            for band in BANDS:
                out[band].attrs["grid_mapping"] = "spatial_ref"
            break
    out = _tidy_time(out, str(path))
    try:
        crs = out.odc.crs
    except Exception:
        crs = None
    if crs is None:
        warnings.warn(
            f"{path} has no coordinate reference system; masks will be written without one "
            "(add a grid mapping to the file to place them)",
            InputWarning,
            stacklevel=3,
        )
    out.attrs["source"] = str(path)
    out.attrs[VALUES_CHECKED] = 1
    return out


def _nodata_attr(da: xr.DataArray) -> Any:
    nodata = da.attrs.get("nodata", da.attrs.get("_FillValue"))
    if nodata is None and da.attrs.get("scale_factor") is not None:
        return np.nan  # CF-scaled: not the integers x 10000 convention (no fill check)
    return nodata


def _tidy_time(ds: xr.Dataset, where: str) -> xr.Dataset:
    ds = ds.sortby("time")
    t = ds.time.values
    if len(t) == 0:
        raise InputError(f"{where} holds no dates", field="input")
    if len(np.unique(t)) != len(t):
        dup = sorted({str(v)[:19] for v in t[1:][t[1:] == t[:-1]]})
        raise InputError(
            f"{where} has the same date more than once: {', '.join(dup)}", field="input"
        )
    return ds


# -- GeoTIFF folders ------------------------------------------------------------------------

_DATE_RE = re.compile(r"(\d{4})-?(\d{2})-?(\d{2})(?:[T_ ]?(\d{2}):?(\d{2}):?(\d{2}))?")


def _parse_date(text: str | None) -> np.datetime64 | None:
    if not text:
        return None
    t = (
        str(text).strip().replace(":", "-", 2)
        if re.match(r"^\d{4}:\d{2}:\d{2}", str(text))
        else str(text)
    )
    m = _DATE_RE.search(t)
    if not m:
        return None
    y, mo, d = (int(m.group(i)) for i in (1, 2, 3))
    try:
        when = dt.datetime(y, mo, d)
        if m.group(4):
            when = when.replace(
                hour=int(m.group(4)), minute=int(m.group(5)), second=int(m.group(6))
            )
    except ValueError:
        return None
    if not 1990 <= y <= 2100:
        return None
    return np.datetime64(when, "ns")


def _open_tif(path: Path) -> Any:
    import rasterio

    try:
        return rasterio.open(path)
    except Exception as exc:
        raise InputError(
            f"cannot read {path} as GeoTIFF ({exc}); the file is damaged or not a GeoTIFF",
            field="input",
        ) from None


def _tif_date(src: Any, path: Path) -> np.datetime64 | None:
    tags = {k.lower(): v for k, v in src.tags().items()}
    for key in ("tiffdatetime", "tifftag_datetime", "datetime", "date", "acquisition_date", "time"):
        if key in tags:
            when = _parse_date(tags[key])
            if when is not None:
                return when
    return _parse_date(path.stem)


def _grid_of(src: Any) -> tuple[Any, ...]:
    return (
        src.crs.to_string() if src.crs else None,
        tuple(src.transform)[:6],
        src.width,
        src.height,
    )


def _load_tif_folder(tifs: Sequence[Path], chunks: dict[str, int] | None) -> xr.Dataset:
    first = _open_tif(tifs[0])
    with first:
        descs = [d or "" for d in first.descriptions]
        per_band = all(_parse_date(d) is not None for d in descs) and bool(descs)
    if per_band:
        return _load_per_band(tifs, chunks)
    return _load_per_date(tifs, chunks)


def _dask_read(path: Path, bidx: int, shape: tuple[int, int], dtype: Any, chunks: Any) -> Any:
    import dask
    import dask.array as da

    def _read(p: str = str(path), b: int = bidx) -> np.ndarray:
        import rasterio

        try:
            with rasterio.open(p) as src:
                return src.read(b)
        except Exception as exc:
            raise InputError(
                f"cannot read band {b} of {p} ({exc}); the file is damaged", field="input"
            ) from None

    arr = da.from_delayed(dask.delayed(_read)(), shape=shape, dtype=dtype)
    return arr.rechunk(chunks) if chunks else arr


def _coords(grid: tuple[Any, ...]) -> dict[str, Any]:
    from affine import Affine
    from odc.geo.geobox import GeoBox
    from odc.geo.xr import xr_coords

    crs, transform, width, height = grid
    gbox = GeoBox((height, width), Affine(*transform), crs)
    return {str(k): v for k, v in xr_coords(gbox, crs_coord_name="spatial_ref").items()}


def _build(
    stacks: dict[str, list[Any]], times: list[np.datetime64], grid: tuple[Any, ...], where: str
) -> xr.Dataset:
    import dask.array as da

    coords = _coords(grid)
    coords["time"] = np.array(times, dtype="datetime64[ns]")
    order = np.argsort(coords["time"], kind="stable")
    coords["time"] = coords["time"][order]
    out = xr.Dataset(coords=coords)
    for band in BANDS:
        # each date by its own dtype and nodata (files of one folder may differ)
        dates = [date_reflectance(*stacks[band][i]) for i in order]
        out[band] = xr.DataArray(da.stack(dates), dims=("time", "y", "x"))
        out[band].attrs = {"units": "1", "long_name": f"{band} surface reflectance"}
    out = _tidy_time(out, where)
    out.attrs["source"] = where
    out.attrs[VALUES_CHECKED] = 1
    return out


def _load_per_date(tifs: Sequence[Path], chunks: dict[str, int] | None) -> xr.Dataset:
    stacks: dict[str, list[Any]] = {b: [] for b in BANDS}
    times: list[np.datetime64] = []
    grid = None
    for path in tifs:
        with _open_tif(path) as src:
            when = _tif_date(src, path)
            if when is None:
                raise InputError(
                    f"{path}: no date found (no TIFFTAG_DATETIME/date tag and no YYYY-MM-DD or "
                    "YYYYMMDD in the file name); add one",
                    field="input",
                )
            g = _grid_of(src)
            if grid is None:
                grid = g
            elif g != grid:
                raise InputError(
                    f"{path} is on a different grid (CRS, transform or size) than {tifs[0]}; "
                    "all dates must share one grid",
                    field="input",
                )
            descs = [d or "" for d in src.descriptions]
            idx = {}
            for i, d in enumerate(descs, start=1):
                b = band_name(d)
                if b is not None and b not in idx:
                    idx[b] = i
            if set(idx) != set(BANDS):
                raise _missing_bands_error(
                    f"GeoTIFF {path} (band descriptions)", [d or "(no description)" for d in descs]
                )
            shape = (src.height, src.width)
            check_raw(_window_sample(src, {b: idx[b] for b in BANDS}), str(path))
            for b in BANDS:
                i = idx[b]
                nodata = src.nodatavals[i - 1]
                stacks[b].append(
                    (_dask_read(path, i, shape, src.dtypes[i - 1], _yx(chunks)), nodata)
                )
            times.append(when)
    no_repeats(times, [p.name for p in tifs], f"the GeoTIFF folder {tifs[0].parent}")
    assert grid is not None  # nosec B101: internal invariant (type narrowing), not a check of input
    return _build(stacks, times, grid, f"{len(tifs)} GeoTIFFs in {tifs[0].parent}")


def _yx(chunks: dict[str, int] | None) -> Any:
    if not chunks:
        return None
    return (chunks.get("y", -1), chunks.get("x", -1))


def _load_per_band(tifs: Sequence[Path], chunks: dict[str, int] | None) -> xr.Dataset:
    files: dict[str, Path] = {}
    for path in tifs:
        with _open_tif(path) as src:
            tag = {k.lower(): v for k, v in src.tags().items()}.get("band")
        b = band_name(tag) if tag else None
        b = b or band_name(path.stem) or _band_in_stem(path.stem)
        if b is not None and b not in files:
            files[b] = path
    if set(files) != set(BANDS):
        raise _missing_bands_error(
            f"folder {tifs[0].parent}", [p.name for p in tifs], have=set(files)
        )
    stacks: dict[str, list[Any]] = {b: [] for b in BANDS}
    per_band_samples: dict[str, tuple[Any, Any]] = {}
    times_ref: list[np.datetime64] | None = None
    grid = None
    for b in BANDS:
        path = files[b]
        with _open_tif(path) as src:
            g = _grid_of(src)
            if grid is None:
                grid = g
            elif g != grid:
                raise InputError(
                    f"{path} is on a different grid than {files['blue']}", field="input"
                )
            whens = []
            for i, d in enumerate(src.descriptions, start=1):
                w = _parse_date(d)
                if w is None:
                    raise InputError(
                        f"{path}: band {i} has no date in its description ({d!r}); "
                        "each band's description must be its date, e.g. 2018-01-31",
                        field="input",
                    )
                whens.append(w)
            if times_ref is None:
                no_repeats(whens, [f"band {i}" for i in range(1, len(whens) + 1)], str(path))
                times_ref = whens
            elif whens != times_ref:
                missing = sorted({str(t)[:10] for t in set(times_ref) ^ set(whens)})
                raise InputError(
                    f"{path} does not hold the same dates as {files['blue']}: "
                    f"differs on {', '.join(missing) or 'the order of dates'}",
                    field="input",
                )
            shape = (src.height, src.width)
            per_band_samples[b] = _window_sample(src, {b: list(range(1, src.count + 1))})[b]
            for i in range(1, src.count + 1):
                stacks[b].append(
                    (
                        _dask_read(path, i, shape, src.dtypes[i - 1], _yx(chunks)),
                        src.nodatavals[i - 1],
                    )
                )
    check_raw(per_band_samples, f"the per-band GeoTIFFs in {tifs[0].parent}")
    assert grid is not None and times_ref is not None  # nosec B101: internal invariant (type narrowing), not a check of input
    return _build(stacks, times_ref, grid, f"per-band GeoTIFFs in {tifs[0].parent}")


def _window_sample(src: Any, bands: dict[str, Any]) -> dict[str, tuple[np.ndarray, Any]]:
    """A central window of the given bands (``name -> band index or indexes``) of an open
    GeoTIFF, as ``name -> ((dates, y, x) raw values, nodata)`` for :func:`check_raw`."""
    from rasterio.windows import Window

    from tsmask_qgis.engine._sample import WINDOW

    w, h = min(WINDOW, src.width), min(WINDOW, src.height)
    window = Window((src.width - w) // 2, (src.height - h) // 2, w, h)
    out = {}
    for name, index in bands.items():
        first = index[0] if isinstance(index, list) else index
        try:
            values = src.read(index, window=window)
        except Exception as exc:
            raise InputError(
                f"cannot read {src.name} ({exc}); the file is damaged", field="input"
            ) from None
        out[name] = (values if values.ndim == 3 else values[None], src.nodatavals[first - 1])
    return out


def _band_in_stem(stem: str) -> str | None:
    for part in re.split(r"[_\-\. ]", stem)[::-1]:
        b = band_name(part)
        if b is not None:
            return b
    for n in (2, 3):
        parts = re.split(r"[_\-\. ]", stem)
        for i in range(len(parts) - n + 1):
            b = band_name("".join(parts[i : i + n]))
            if b is not None:
                return b
    return None
