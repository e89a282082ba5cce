"""The registry of output formats: the one place that names every output file.

:data:`FORMATS` maps a format's name (``netcdf``, ``cog``, ...) to a :class:`Format`:
what it is, the files it writes for a job's dates (paths relative to the output
folder, once per job or one per date) and the function that writes them from one
:class:`WriteContext`. The pipeline plans, checks, resumes and reports its outputs
from this table, and a job's result lists its files as :class:`OutputFile` values
(format, path, date), so nobody builds or parses an output file name elsewhere.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import xarray as xr

from tsmask_qgis.errors import InternalError, ParameterError
from tsmask_qgis.progress import Progress
from tsmask_qgis.writers._atomic import check_overwrite
from tsmask_qgis.writers._common import report_date
from tsmask_qgis.writers._envi import write_envi
from tsmask_qgis.writers._netcdf import write_netcdf
from tsmask_qgis.writers._pictures import (
    chart_title,
    quicklook_reasons,
    write_chart,
    write_quicklook,
)
from tsmask_qgis.writers._products import (
    masked_cog_format,
    masked_format,
    per_period,
    series_format,
    write_composite_cog,
    write_composite_qml,
    write_composite_quicklook,
    zonal_format,
)
from tsmask_qgis.writers._qml import write_qml
from tsmask_qgis.writers._raster import (
    write_clear_count,
    write_cogs,
    write_multiband,
    write_truecolour,
)
from tsmask_qgis.writers._summary import DateSummary, write_summary

__all__ = [
    "FORMATS",
    "PRODUCT_FORMATS",
    "Format",
    "OutputFile",
    "WriteContext",
    "get_format",
]

#: The placeholder of a per-date file name: the writers' date label (``2016-01-01``).
DATE = "{date}"


@dataclass(frozen=True)
class OutputFile:
    """One file a job writes: its format, its path, and the date label it holds
    (``None`` for a file of the whole job)."""

    format: str
    path: Path
    date: str | None = None

    def to_plain(self) -> dict[str, Any]:
        """As plain values: ``{"format": str, "path": Path, "date": str | None}``."""
        return {"format": self.format, "path": Path(self.path), "date": self.date}

    @classmethod
    def from_plain(cls, info: Mapping[str, Any]) -> OutputFile:
        date = info.get("date")
        return cls(str(info["format"]), Path(info["path"]), None if date is None else str(date))


class _Evaluation(Protocol):
    """What the evaluation format needs of ``tsmask_qgis.evaluate.Evaluation``."""

    reference_name: str

    def write_report(
        self, folder: Path, *, stem: str = ..., title: str | None = ...
    ) -> dict[str, Path]: ...


@dataclass(frozen=True, kw_only=True)
class WriteContext:
    """Everything a format's writer gets, for one format of one job.

    ``files`` are this format's files in this job (:meth:`Format.files`); those in
    ``skip`` are complete from an earlier run of the same job and are left alone by
    formats that resume file by file, whose writer calls :meth:`written` as each
    other file is complete. ``attrs`` are the job's metadata for files that carry
    it (NetCDF global attributes), ``meta`` what the summary's JSON records about
    the job, ``mask_name`` what reports call the mask. ``reflectance`` is the loaded
    dataset (true colour, quicklooks) and ``evaluation`` computes the comparison
    with a reference when first called (only when its files are to be written).
    ``progress`` receives this writer's part of the ``write`` step (0..1).
    ``products`` holds what the product formats write: ``composite`` (a Dataset on
    ``(period, y, x)``), ``masked`` (the masked reflectance), ``series`` (an index
    DataArray), ``zonal`` (its zonal rows) and ``index`` (the index name).
    """

    out: Path
    files: tuple[OutputFile, ...]
    mask: xr.DataArray
    summary: tuple[DateSummary, ...] = ()
    reflectance: xr.Dataset | None = None
    evaluation: Callable[[], _Evaluation] | None = None
    attrs: Mapping[str, Any] = field(default_factory=dict)
    meta: Mapping[str, Any] = field(default_factory=dict)
    mask_name: str = "tsmask"
    overwrite: bool = False
    skip: frozenset[Path] = frozenset()
    on_written: Callable[[Path], None] | None = None
    progress: Progress | None = None
    products: Mapping[str, Any] = field(default_factory=dict)

    @property
    def paths(self) -> list[Path]:
        return [f.path for f in self.files]

    def todo(self) -> list[OutputFile]:
        """The files still to write (not in :attr:`skip`)."""
        return [f for f in self.files if f.path not in self.skip]

    def written(self, path: Path) -> None:
        """Tell the caller that ``path`` is complete."""
        if self.on_written is not None:
            self.on_written(path)


Writer = Callable[[WriteContext], object]
#: The files of a format derived from the job's other formats (``qml``).
Derive = Callable[[Sequence[str], Collection[str], Path], list[OutputFile]]


@dataclass(frozen=True)
class Format:
    """One output format.

    ``once`` are the files it writes once per job, ``per_date`` the file it writes
    for each date (with ``{date}`` for the date label), both relative to the output
    folder; ``derive`` replaces both for a format whose files follow from the job's
    other formats. ``label`` names it in progress messages, ``about`` says what it
    holds. Flags: ``by_file`` (its files are complete one by one, so a resumed run
    skips each complete one; otherwise they are rewritten together unless all are
    complete), ``selectable`` (a job asks for it among its formats; ``truecolour``
    and ``evaluation`` follow options of their own), ``picked_dates`` (per-date
    files only for the dates the job picks), ``styled`` (class rasters QGIS styles
    with a ``.qml`` beside each: every per-date file, or the first ``once`` file),
    ``reads_reflectance`` (reads the reflectance again while writing). ``per`` says
    what the ``{date}`` of per-date files stands for: a date, or a composite ``period``.
    """

    name: str
    label: str
    about: str
    write: Writer
    once: tuple[str, ...] = ()
    per_date: str | None = None
    derive: Derive | None = None
    shown: str = ""
    by_file: bool = False
    selectable: bool = True
    picked_dates: bool = False
    styled: bool = False
    reads_reflectance: bool = False
    per: str = "date"

    def files(
        self, dates: Sequence[str], *, out: Path = Path(), among: Collection[str] = ()
    ) -> list[OutputFile]:
        """The files this format writes into ``out`` for the date labels ``dates``
        (whole-job files first); ``among`` are the job's formats (for ``derive``)."""
        if self.derive is not None:
            return self.derive(dates, among, Path(out))
        found = [OutputFile(self.name, Path(out) / rel) for rel in self.once]
        if self.per_date is not None:
            template = self.per_date
            found += [
                OutputFile(self.name, Path(out) / template.replace(DATE, d), d) for d in dates
            ]
        return found

    @property
    def pattern(self) -> str | None:
        """A glob pattern (relative to the output folder) of its per-date files."""
        return None if self.per_date is None else self.per_date.replace(DATE, "*")

    @property
    def description(self) -> str:
        """``"<files>: <what it holds>"`` (the ``tsmask run --help`` line)."""
        names = self.shown or " + ".join(
            [*self.once, *([self.per_date.replace(DATE, "<date>")] if self.per_date else [])]
        )
        return f"{names}: {self.about}"


def get_format(name: str) -> Format:
    """The :class:`Format` called ``name`` (:class:`ParameterError` for another name)."""
    try:
        return FORMATS[name]
    except KeyError:
        raise ParameterError(
            f"unknown output format {name}; choose from {', '.join(FORMATS)}", field="formats"
        ) from None


# -- how each format is written -----------------------------------------------------------


def _netcdf(ctx: WriteContext) -> None:
    (path,) = ctx.paths
    write_netcdf(
        ctx.mask, path, overwrite=ctx.overwrite, attrs=dict(ctx.attrs), progress=ctx.progress
    )


def _per_date(ctx: WriteContext, write: Callable[..., object], data: object) -> None:
    """A COG per date (the mask's or the true colour's) on the registry's paths,
    skipping the complete ones and reporting each one written."""
    write(
        data,
        ctx.out,
        paths=ctx.paths,
        overwrite=ctx.overwrite,
        skip=ctx.skip,
        progress=ctx.progress,
        on_written=ctx.on_written,
    )


def _cog(ctx: WriteContext) -> None:
    _per_date(ctx, write_cogs, ctx.mask)


def _multiband(ctx: WriteContext) -> None:
    (path,) = ctx.paths
    write_multiband(ctx.mask, path, overwrite=ctx.overwrite, progress=ctx.progress)


def _envi(ctx: WriteContext) -> None:
    data, _header = ctx.paths
    write_envi(ctx.mask, data, overwrite=ctx.overwrite, progress=ctx.progress)


def _qml(ctx: WriteContext) -> None:
    todo = ctx.todo()
    for i, f in enumerate(todo):
        report_date(ctx.progress, i, len(todo), "QML style")
        write_qml(f.path, overwrite=ctx.overwrite)
        ctx.written(f.path)


def _summary(ctx: WriteContext) -> None:
    csv_path, json_path = ctx.paths
    write_summary(ctx.summary, csv_path, json_path, overwrite=ctx.overwrite, meta=dict(ctx.meta))


def _count(ctx: WriteContext) -> None:
    (path,) = ctx.paths
    write_clear_count(ctx.mask, path, overwrite=ctx.overwrite)


def _chart(ctx: WriteContext) -> None:
    (path,) = ctx.paths
    write_chart(ctx.summary, path, overwrite=ctx.overwrite, title=chart_title(ctx.meta))


def _reflectance(ctx: WriteContext) -> xr.Dataset:
    if ctx.reflectance is None:
        raise InternalError("this format draws the reflectance, but none was given")
    return ctx.reflectance


def _quicklook(ctx: WriteContext) -> None:
    ds = _reflectance(ctx)
    reasons = quicklook_reasons(ctx.summary, [f.date for f in ctx.files if f.date is not None])
    todo = ctx.todo()
    for i, f in enumerate(todo):
        report_date(ctx.progress, i, len(todo), "quicklook")
        if f.date is None:
            raise InternalError(f"a quicklook needs a date: {f.path}")
        write_quicklook(
            ctx.mask, ds, f.date, f.path, overwrite=ctx.overwrite, reason=reasons.get(f.date)
        )
        ctx.written(f.path)


def _truecolour(ctx: WriteContext) -> None:
    _per_date(ctx, write_truecolour, _reflectance(ctx))


def _evaluation(ctx: WriteContext) -> None:
    if ctx.evaluation is None:
        raise InternalError("the evaluation format needs the comparison with a reference")
    check_overwrite(ctx.paths, overwrite=ctx.overwrite)
    ev = ctx.evaluation()
    written = ev.write_report(
        ctx.out, stem=ctx.paths[0].stem, title=f"tsmask against {ev.reference_name}"
    )
    if sorted(map(Path, written.values())) != sorted(ctx.paths):
        raise InternalError(f"the evaluation report wrote {sorted(written.values())}")


def _qml_files(dates: Sequence[str], among: Collection[str], out: Path) -> list[OutputFile]:
    """A ``.qml`` beside every class raster of the job, and ``tsmask.qml`` (for the NetCDF)."""
    found = []
    for fmt in FORMATS.values():
        if fmt.styled and fmt.name in among:
            rasters = fmt.files(dates, out=out)
            if fmt.per_date is None:
                rasters = rasters[:1]
            found += [OutputFile("qml", r.path.with_suffix(".qml"), r.date) for r in rasters]
    return [*found, OutputFile("qml", out / "tsmask.qml")]


#: Every output format, in the order a job writes them.
FORMATS: dict[str, Format] = {
    f.name: f
    for f in (
        Format(
            "netcdf",
            "NetCDF",
            "all dates, CF flag attributes, grid mapping",
            _netcdf,
            once=("tsmask.nc",),
        ),
        Format(
            "cog",
            "mask COGs",
            "one Cloud-Optimized GeoTIFF per date (colour table)",
            _cog,
            per_date="cog/tsmask_{date}.tif",
            by_file=True,
            styled=True,
        ),
        Format(
            "multiband",
            "multi-band GeoTIFF",
            "one band per date, band descriptions = dates",
            _multiband,
            once=("tsmask_multiband.tif",),
            styled=True,
        ),
        Format(
            "envi",
            "ENVI",
            "ENVI, one band per date, band names = dates",
            _envi,
            once=("tsmask_envi.img", "tsmask_envi.hdr"),
            styled=True,
        ),
        Format(
            "qml",
            "QML styles",
            "QGIS paletted style beside every mask raster",
            _qml,
            derive=_qml_files,
            shown="<raster>.qml + tsmask.qml",
            by_file=True,
        ),
        Format(
            "summary",
            "summary",
            "per-date percent clear/cloud/shadow/no obs.",
            _summary,
            once=("summary.csv", "summary.json"),
        ),
        Format(
            "count",
            "clear-observation count",
            "per-pixel number of clear and of observed dates",
            _count,
            once=("clear_count.tif",),
        ),
        Format(
            "chart",
            "chart",
            "cloud and shadow fraction through time",
            _chart,
            once=("chart.png",),
        ),
        Format(
            "quicklook",
            "quicklooks",
            "mask over true colour (chosen dates)",
            _quicklook,
            per_date="quicklooks/quicklook_{date}.png",
            by_file=True,
            picked_dates=True,
            reads_reflectance=True,
        ),
        Format(
            "truecolour",
            "true-colour COGs",
            "a true-colour COG per date (red, green, blue, alpha)",
            _truecolour,
            per_date="truecolour/truecolour_{date}.tif",
            by_file=True,
            selectable=False,
            reads_reflectance=True,
        ),
        Format(
            "evaluation",
            "evaluation against the reference",
            "the masks against the scene classification: accuracy, confusion matrix",
            _evaluation,
            once=(
                "evaluation.md",
                "evaluation.json",
                "evaluation.html",
                "evaluation_confusion.png",
            ),
            selectable=False,
            reads_reflectance=True,
        ),
        Format(
            "composite",
            "composite COGs",
            "one multi-band COG per period: each band's composite and the clear count",
            per_period(write_composite_cog),
            per_date="composite/composite_{date}.tif",
            by_file=True,
            selectable=False,
            per="period",
        ),
        Format(
            "composite_qml",
            "composite styles",
            "a true-colour QGIS style beside each composite COG",
            per_period(write_composite_qml),
            per_date="composite/composite_{date}.qml",
            by_file=True,
            selectable=False,
            per="period",
        ),
        Format(
            "composite_quicklook",
            "composite quicklooks",
            "a true-colour PNG of each composite period",
            per_period(write_composite_quicklook),
            per_date="composite/composite_{date}.png",
            by_file=True,
            selectable=False,
            per="period",
        ),
        Format(
            "masked",
            "masked reflectance",
            "the reflectance with cloud, shadow and no observation as nodata (NetCDF)",
            masked_format,
            once=("masked/masked.nc",),
            selectable=False,
        ),
        Format(
            "masked_cog",
            "masked reflectance COGs",
            "a multi-band COG of the masked reflectance per date",
            masked_cog_format,
            per_date="masked/masked_{date}.tif",
            by_file=True,
            selectable=False,
        ),
        Format(
            "series",
            "index series",
            "the index per date, NaN where not clear (NetCDF)",
            series_format,
            once=("series/series.nc",),
            selectable=False,
        ),
        Format(
            "zonal",
            "zonal means",
            "per zone and date, the index's mean over clear pixels and the clear share (CSV)",
            zonal_format,
            once=("series/zonal.csv",),
            selectable=False,
        ),
    )
}

#: The formats of the products (made by :mod:`tsmask_qgis.products`).
PRODUCT_FORMATS = (
    "composite",
    "composite_qml",
    "composite_quicklook",
    "masked",
    "masked_cog",
    "series",
    "zonal",
)
