"""The products step of a job: composites, masked stacks and index series from the
reflectance and the mask, and ``make_products`` for a stack and a mask on disk."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tsmask_qgis import writers
from tsmask_qgis.errors import InputError, ParameterError
from tsmask_qgis.progress import JobProgress, Progress, emit

__all__ = ["ProductOptions", "make_products", "parse_composite", "product_formats", "products_of"]


def parse_composite(text: str) -> tuple[str, str]:
    """``"year:median"`` -> ``("year", "median")``; the method defaults to median and the
    period may be custom ranges (``2017-01-01/2017-06-30,...:geomedian``)."""
    from tsmask_qgis.products import METHODS

    period, sep, method = str(text).strip().rpartition(":")
    if not sep:
        period, method = method, "median"
    if method not in METHODS:
        if sep:
            raise ParameterError(
                f"composite {text!r}: unknown method {method!r}; write PERIOD:METHOD with a "
                f"method of {', '.join(METHODS)}",
                field="composite",
            )
        period, method = text, "median"
    return period.strip() or "year", method


@dataclass(frozen=True, kw_only=True)
class ProductOptions:
    """Which products a job makes: a ``composite`` (``"year:median"``; with
    ``max_cloud``, dates above that cloud percentage left out), the ``masked``
    reflectance (NetCDF; a COG per date with ``masked_cog``), an ``index`` series
    (``ndvi``, ``ndwi``, ``nbr``) and its means over the ``zones`` of a vector file."""

    composite: str | None = None
    max_cloud: float | None = None
    masked: bool = False
    masked_cog: bool = False
    index: str | None = None
    zones: Path | None = None

    def __post_init__(self) -> None:
        from tsmask_qgis.products import INDICES

        if self.composite is not None:
            parse_composite(self.composite)
        if self.index is not None and self.index.lower() not in INDICES:
            raise ParameterError(
                f"unknown index {self.index!r}: use one of {', '.join(INDICES)}", field="index"
            )
        if self.zones is not None:
            object.__setattr__(self, "zones", Path(self.zones))
            if self.index is None:
                raise ParameterError("zonal means need an index (e.g. ndvi)", field="index")
        if self.max_cloud is not None and not 0 <= float(self.max_cloud) <= 100:
            raise ParameterError(
                f"the cloud limit must be 0..100 percent, got {self.max_cloud}", field="max_cloud"
            )

    @property
    def any(self) -> bool:
        return bool(self.composite or self.masked or self.masked_cog or self.index)

    def describe(self) -> dict[str, Any]:
        return {
            "composite": self.composite,
            "max_cloud": self.max_cloud,
            "masked": self.masked,
            "masked_cog": self.masked_cog,
            "index": self.index,
            "zones": str(self.zones) if self.zones else None,
        }


def product_formats(opts: ProductOptions | None) -> tuple[str, ...]:
    """The registry's formats ``opts`` writes."""
    if opts is None:
        return ()
    found = []
    if opts.composite:
        found += ["composite", "composite_qml", "composite_quicklook"]
    if opts.masked:
        found.append("masked")
    if opts.masked_cog:
        found.append("masked_cog")
    if opts.index:
        found.append("series")
    if opts.zones:
        found.append("zonal")
    return tuple(found)


def products_of(
    opts: ProductOptions,
    ds: Any,
    mask: Any,
    *,
    workers: int | None = None,
    runner: str = "auto",
    max_memory: Any = None,
    progress: Progress | None = None,
) -> tuple[dict[str, Any], list[str]]:
    """The products ``opts`` asks for (what :class:`~tsmask_qgis.writers.WriteContext`
    takes as ``products``) and notes for the user."""
    from tsmask_qgis import products

    found: dict[str, Any] = {}
    notes: list[str] = []
    if opts.composite:
        period, method = parse_composite(opts.composite)
        found["composite"] = products.composite(
            ds, mask, period=period, method=method, max_cloud=opts.max_cloud,
            workers=workers, runner="processes" if runner == "processes" else "auto",
            max_memory=max_memory, progress=progress,
        )  # fmt: skip
    if opts.masked or opts.masked_cog:
        found["masked"] = products.masked(ds, mask)
    if opts.index:
        emit(progress, "products", None, f"{opts.index} series")
        series = products.index_series(ds, mask, opts.index)
        found["series"] = series
        found["index"] = opts.index.lower()
        if opts.zones:
            rows, zone_notes = products.zonal_means(series, mask, opts.zones)
            found["zonal"] = rows
            notes += zone_notes
    return found, notes


def period_labels(found: Mapping[str, Any]) -> list[str]:
    comp = found.get("composite")
    return [] if comp is None else [str(p) for p in comp["period"].values]


def _read_mask(path: Path) -> Any:
    """A tsmask mask from its NetCDF, multi-band GeoTIFF or folder of per-date COGs."""
    if not path.exists():
        raise InputError(f"the mask {path} does not exist", field="mask")
    if path.suffix.lower() in (".nc", ".nc4", ".netcdf"):
        return writers.read_netcdf_mask(path)
    from tsmask_qgis.evaluate.io import load_mask

    return load_mask(path, kind="tsmask")


def make_products(
    input: str | Path,
    mask: str | Path,
    out: str | Path,
    opts: ProductOptions,
    *,
    overwrite: bool = False,
    workers: int | None = None,
    runner: str = "auto",
    max_memory: Any = None,
    progress: Progress | None = None,
) -> Any:
    """The products of a stack and its mask on disk, written to ``out``; a
    :class:`~tsmask_qgis.pipeline.JobResult` (no summary) listing the files."""
    from tsmask_qgis.loaders import load_local
    from tsmask_qgis.pipeline._result import JobResult, acquisition_times

    if not opts.any:
        raise ParameterError("nothing to make: ask for a composite, a series or a masked stack")
    progress = JobProgress(progress, ("read", "products", "write"))
    out = writers.ensure_writable_dir(out)
    writers.clean_temporaries(out)
    names = product_formats(opts)
    if not overwrite:  # before any work: every whole-job file, and any per-date file
        for name in names:
            fmt = writers.FORMATS[name]
            writers.check_overwrite([f.path for f in fmt.files((), out=out)], overwrite=False)
            if fmt.pattern is not None:
                writers.check_overwrite(sorted(out.glob(fmt.pattern))[:1], overwrite=False)
    emit(progress, "read", 0.0, f"reading {Path(input).name}")
    ds = load_local(input)
    classes = _read_mask(Path(mask))
    emit(progress, "read", 1.0, f"{ds.sizes['time']} dates")
    found, notes = products_of(
        opts, ds, classes, workers=workers, runner=runner, max_memory=max_memory,
        progress=progress,
    )  # fmt: skip
    dates = writers.date_labels(ds["time"].values)
    files = write_products(names, found, out, dates, overwrite=overwrite, progress=progress)
    return JobResult(
        out=out, dates=tuple(dates), summary=(), files=tuple(files), notes=tuple(notes),
        times=acquisition_times(classes),
    )  # fmt: skip


def write_products(
    names: tuple[str, ...],
    found: Mapping[str, Any],
    out: Path,
    dates: list[str],
    *,
    overwrite: bool,
    progress: Progress | None,
) -> list[Any]:
    """Write the product formats ``names`` of ``found`` into ``out``; their files."""
    import xarray as xr

    from tsmask_qgis.progress import scaled

    periods = period_labels(found)
    planned = [
        (
            writers.FORMATS[n],
            writers.FORMATS[n].files(
                periods if writers.FORMATS[n].per == "period" else dates, out=out
            ),
        )
        for n in names
    ]
    total = sum(len(f) for _fmt, f in planned) or 1
    at = 0
    files: list[Any] = []
    empty = xr.DataArray([], dims=("time",))
    for fmt, fmt_files in planned:
        part = scaled(progress, at / total, (at + len(fmt_files)) / total)
        at += len(fmt_files)
        emit(progress, "write", at / total, fmt.label)
        ctx = writers.WriteContext(
            out=out, files=tuple(fmt_files), mask=empty, overwrite=overwrite, progress=part,
            products=found,
        )  # fmt: skip
        fmt.write(ctx)
        files.extend(fmt_files)
    emit(progress, "write", 1.0, f"{len(files)} files in {out}")
    return files
