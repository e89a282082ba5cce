"""Writers of the products: composite COGs, quicklooks and styles, masked stacks,
index series and zonal tables (all atomic, none replacing a file without ``overwrite``)."""

from __future__ import annotations

import csv
import os
import warnings
from collections.abc import Callable, Collection, Sequence
from html import escape
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from tsmask_qgis.errors import InternalError
from tsmask_qgis.progress import Progress
from tsmask_qgis.writers._atomic import atomic_output
from tsmask_qgis.writers._common import report_date
from tsmask_qgis.writers._grid import date_labels, grid_of
from tsmask_qgis.writers._raster import _dates_to_write, _write_cog

__all__ = [
    "composite_bands",
    "composite_qml_text",
    "composite_stretch",
    "masked_cog_format",
    "masked_format",
    "per_period",
    "series_format",
    "write_composite_cog",
    "write_composite_qml",
    "write_composite_quicklook",
    "write_masked_cogs",
    "write_product_netcdf",
    "write_zonal_csv",
    "zonal_format",
]

_RGB = ("red", "green", "blue")


def composite_bands(comp: xr.Dataset) -> list[str]:
    """The composite's reflectance bands, then ``count``."""
    return [str(v) for v in comp.data_vars if v != "count"] + ["count"]


def _period_index(comp: xr.Dataset, period: str) -> int:
    labels = [str(p) for p in comp["period"].values]
    if period not in labels:
        raise ValueError(f"no period {period} in the composite ({', '.join(labels)})")
    return labels.index(period)


def write_composite_cog(
    comp: xr.Dataset, period: str, path: str | os.PathLike[str], *, overwrite: bool = False
) -> Path:
    """One multi-band float32 COG of ``period``: each band's composite (reflectance,
    NaN nodata), then the clear-observation count; band descriptions ``<band> <period>``."""
    i = _period_index(comp, period)
    names = composite_bands(comp)
    data = np.stack([np.asarray(comp[n][i], dtype=np.float32) for n in names])
    grid = grid_of(comp)
    path = Path(path)
    tags = {"METHOD": str(comp.attrs.get("method", "")), "PERIOD": period}
    with atomic_output(path, overwrite=overwrite) as tmp:
        _write_cog(
            tmp,
            data,
            grid,
            nodata=float("nan"),
            resampling="average",
            blocksize=512,
            descriptions=[f"{n} {period}" for n in names],
            tags=tags,
        )
    return path


def composite_stretch(comp: xr.Dataset, period: str) -> dict[str, tuple[float, float]]:
    """Per true-colour band, the 2nd and 98th percentile of ``period``'s composite."""
    i = _period_index(comp, period)
    found = {}
    for b in _RGB:
        if b in comp.data_vars:
            v = np.asarray(comp[b][i], dtype=np.float64)
            v = v[np.isfinite(v)]
            lo, hi = (float(x) for x in np.percentile(v, (2, 98))) if v.size else (0.0, 0.3)
            found[b] = (lo, hi if hi > lo else lo + 1e-3)
    return found


def composite_qml_text(comp: xr.Dataset, period: str) -> str:
    """A QGIS style: red, green, blue bands of the composite COG as true colour with
    the period's 2-98 % stretch (the count band stays for the identify tool)."""
    names = composite_bands(comp)
    stretch = composite_stretch(comp, period)
    if not all(b in stretch for b in _RGB):
        raise ValueError("a true-colour style needs the red, green and blue bands")
    parts = []
    for role, b in zip(("red", "green", "blue"), _RGB, strict=True):
        lo, hi = stretch[b]
        parts.append(
            f"      <{role}ContrastEnhancement><minValue>{lo:.6g}</minValue>"
            f"<maxValue>{hi:.6g}</maxValue><algorithm>StretchToMinimumMaximum</algorithm>"
            f"</{role}ContrastEnhancement>"
        )
    bands = " ".join(
        f'{r}Band="{names.index(b) + 1}"'
        for r, b in zip(("red", "green", "blue"), _RGB, strict=True)
    )
    return (
        "<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n"
        '<qgis version="3.22" styleCategories="AllStyleCategories">\n'
        "  <pipe>\n"
        f'    <rasterrenderer type="multibandcolor" opacity="1" alphaBand="-1" {bands}>\n'
        + "\n".join(parts)
        + "\n    </rasterrenderer>\n"
        '    <brightnesscontrast brightness="0" contrast="0"/>\n'
        "  </pipe>\n"
        f"  <!-- {escape(str(comp.attrs.get('method', '')))} composite {escape(period)} -->\n"
        "</qgis>\n"
    )


def write_composite_qml(
    comp: xr.Dataset, period: str, path: str | os.PathLike[str], *, overwrite: bool = False
) -> Path:
    """:func:`composite_qml_text` written beside the composite COG."""
    path = Path(path)
    text = composite_qml_text(comp, period)
    with atomic_output(path, overwrite=overwrite) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return path


def write_composite_quicklook(
    comp: xr.Dataset, period: str, path: str | os.PathLike[str], *, overwrite: bool = False
) -> Path:
    """A true-colour PNG of ``period``'s composite (2-98 % stretch; no clear observation
    transparent)."""
    import matplotlib.image

    i = _period_index(comp, period)
    stretch = composite_stretch(comp, period)
    rgb = []
    for b in _RGB:
        lo, hi = stretch[b]
        v = (np.asarray(comp[b][i], dtype=np.float32) - lo) / (hi - lo)
        rgb.append(np.clip(np.nan_to_num(v, nan=0.0), 0, 1))
    alpha = (np.asarray(comp["count"][i]) > 0).astype(np.float32)
    image = np.dstack([*rgb, alpha])
    path = Path(path)
    with atomic_output(path, overwrite=overwrite) as tmp, warnings.catch_warnings():
        # Debian's mpl_toolkits beside pip's matplotlib warns about Axes3D; we draw 2-D only.
        warnings.filterwarnings("ignore", message="Unable to import Axes3D")
        matplotlib.image.imsave(tmp, image, format="png")
    return path


def write_product_netcdf(
    data: xr.Dataset | xr.DataArray, path: str | os.PathLike[str], *, overwrite: bool = False
) -> Path:
    """A masked stack or an index series as compressed NetCDF (its grid mapping kept;
    dask input is written chunk by chunk)."""
    ds = data.to_dataset() if isinstance(data, xr.DataArray) else data
    encoding = {}
    for name, var in ds.data_vars.items():
        enc: dict[str, Any] = {"zlib": True, "complevel": 4}
        if np.dtype(var.dtype).kind != "f" and "nodata" in var.attrs:
            enc["_FillValue"] = var.attrs["nodata"]
        encoding[name] = enc
    path = Path(path)
    with atomic_output(path, overwrite=overwrite) as tmp:
        ds.to_netcdf(tmp, encoding=encoding, engine="netcdf4")
    return path


def write_masked_cogs(
    ds: xr.Dataset,
    paths: Sequence[Path],
    *,
    overwrite: bool = False,
    skip: Collection[Path] = (),
    progress: Progress | None = None,
    on_written: Callable[[Path], None] | None = None,
) -> list[Path]:
    """A multi-band COG per date of the masked reflectance (band descriptions = bands)."""
    names = [str(v) for v in ds.data_vars if set(ds[v].dims) == {"time", "y", "x"}]
    if len(paths) != ds.sizes["time"]:
        raise ValueError(f"{len(paths)} file names for {ds.sizes['time']} dates")
    grid = grid_of(ds)
    labels = date_labels(ds["time"].values)
    written = []
    for t, path in _dates_to_write(
        list(paths), skip=skip, progress=progress, on_written=on_written, what="masked COG"
    ):
        data = np.stack([np.asarray(ds[n][t]) for n in names])
        nd = ds[names[0]].attrs.get("nodata")
        nodata = float("nan") if data.dtype.kind == "f" else (None if nd is None else float(nd))
        with atomic_output(path, overwrite=overwrite) as tmp:
            _write_cog(tmp, data, grid, nodata=nodata, resampling="average", blocksize=512,
                       descriptions=names, tags={"DATE": labels[t]})  # fmt: skip
        written.append(path)
    return written


def write_zonal_csv(rows: Sequence[Any], path: str | os.PathLike[str], index: str, *,
                    overwrite: bool = False) -> Path:  # fmt: skip
    """The zonal table: zone, date, mean of the index over its clear pixels (empty when
    none), clear share of its pixels, clear pixels, pixels."""
    path = Path(path)
    with atomic_output(path, overwrite=overwrite) as tmp, open(tmp, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["zone", "date", f"{index}_mean", "clear_share", "clear_pixels", "pixels"])
        for r in rows:
            mean = "" if not np.isfinite(r.mean) else f"{r.mean:.5f}"
            w.writerow([r.zone, r.date, mean, f"{r.clear_share:.4f}", r.clear_pixels, r.pixels])
    return path


# -- the registry's writers of the product formats (``ctx``: a WriteContext) ------------


def _product(ctx: Any, name: str) -> Any:
    if name not in ctx.products:
        raise InternalError(f"the {name} product was not made, but its format was asked for")
    return ctx.products[name]


def per_period(write: Callable[..., object]) -> Callable[[Any], None]:
    """A writer of one file per composite period (``f.date`` is the period label)."""

    def run(ctx: Any) -> None:
        comp = _product(ctx, "composite")
        todo = ctx.todo()
        for i, f in enumerate(todo):
            report_date(ctx.progress, i, len(todo), "composite")
            write(comp, str(f.date), f.path, overwrite=ctx.overwrite)
            ctx.written(f.path)

    return run


def masked_format(ctx: Any) -> None:
    (path,) = ctx.paths
    write_product_netcdf(_product(ctx, "masked"), path, overwrite=ctx.overwrite)


def masked_cog_format(ctx: Any) -> None:
    write_masked_cogs(
        _product(ctx, "masked"),
        ctx.paths,
        overwrite=ctx.overwrite,
        skip=ctx.skip,
        progress=ctx.progress,
        on_written=ctx.on_written,
    )


def series_format(ctx: Any) -> None:
    (path,) = ctx.paths
    write_product_netcdf(_product(ctx, "series"), path, overwrite=ctx.overwrite)


def zonal_format(ctx: Any) -> None:
    (path,) = ctx.paths
    write_zonal_csv(
        _product(ctx, "zonal"), path, str(_product(ctx, "index")), overwrite=ctx.overwrite
    )
