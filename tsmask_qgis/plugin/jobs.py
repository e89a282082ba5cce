"""What the dialog's Run and Estimate do, as plain callables for :class:`TsmaskTask`.

:func:`job_options` turns the dialog's plain :class:`RunSettings` into the
keyword arguments of a :class:`tsmask_qgis.pipeline.Job` on the main thread (so
a bad value fails before any task starts); :func:`job_work` returns
``work(progress)`` that runs the ``pipeline`` job **in a warm child Python
process** (:mod:`tsmask_qgis.jobs.client`; there the engine runs with the
settings' runner, automatic by default) and maps the result's plain form
(:func:`result_layers`) to :class:`ResultLayers`. The QGIS process never
imports the pipeline, writers, rasterio, netCDF4, pyproj or numba (see
:mod:`tsmask_qgis.jobs.client` for why). No ``qgis`` import: nothing here may
touch the project or widgets.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tsmask_qgis.plugin.convert import LOCAL, RunSettings
from tsmask_qgis.plugin.layers import ResultLayers
from tsmask_qgis.progress import Progress
from tsmask_qgis.tempfiles import temp_patterns

__all__ = [
    "ALWAYS_FORMATS",
    "FIELD_HINTS",
    "EstimateInfo",
    "estimate_work",
    "files_of",
    "friendly_error",
    "job_options",
    "job_work",
    "result_layers",
]

#: Outputs every plugin run writes: per-date COGs (the map layers), their ``.qml``
#: sidecars, the clear-observation count and the per-date summary table.
ALWAYS_FORMATS: tuple[str, ...] = ("cog", "qml", "count", "summary")


def job_options(settings: RunSettings) -> dict[str, Any]:
    """The pipeline ``Job`` keyword arguments for ``settings`` (plain, picklable values).

    Raises ``ValueError`` (the loaders' own checks) with a user-facing message
    when the settings cannot run. Imports no pipeline or writer module.
    """
    formats = tuple(dict.fromkeys((*ALWAYS_FORMATS, *settings.formats)))
    source: dict[str, Any]
    if settings.source == LOCAL:
        if settings.input_path is None:
            raise ValueError("Choose the local stack (a NetCDF, a GeoTIFF or a folder).")
        source = {"input": Path(settings.input_path)}
    else:
        source = {"request": settings.to_request()}
    return dict(
        out=Path(settings.out_dir),
        **source,
        preset=settings.preset,
        overrides=tuple(sorted(settings.overrides.items())),
        spatial=settings.spatial,
        formats=formats,
        truecolour=settings.truecolour,
        workers=settings.workers,
        runner=settings.runner,
        max_memory=settings.max_memory,
        overwrite=settings.overwrite,
        shadow_geometry=settings.shadow_geometry,
        cloud_buffer_m=settings.cloud_buffer_m,
        shadow_buffer_m=settings.shadow_buffer_m,
        meta=(("qgis_group", settings.area_name()),),
        **({"products": {"composite": settings.composite}} if settings.composite else {}),
    )


def files_of(result: Mapping[str, Any], fmt: str) -> list[tuple[str | None, Path]]:
    """(date label or ``None``, path) of each file of format ``fmt`` in a result's plain form."""
    return [(f["date"], Path(f["path"])) for f in result["files"] if f["format"] == fmt]


def result_layers(result: Mapping[str, Any]) -> ResultLayers:
    """The layers of a finished run, from the result's plain form (``JobResult.to_plain()``):
    the per-date files of formats ``cog`` and ``truecolour``, the ``count`` file, the
    acquisition ``times`` of the ``dates``, the ``summary`` rows and the ``summary`` format's
    CSV (its first file). No file name is parsed."""
    times = {
        str(label): dt.datetime.fromisoformat(str(when))
        for label, when in zip(result["dates"], result["times"], strict=True)
    }
    count = [path for _, path in files_of(result, "count")]
    tables = [path for _, path in files_of(result, "summary")]  # the CSV, then the JSON
    return ResultLayers(
        masks={str(d): p for d, p in files_of(result, "cog")},
        truecolour={str(d): p for d, p in files_of(result, "truecolour")},
        times=times,
        count=count[0] if count else None,
        summary=tuple(result["summary"]),
        out=Path(result["out"]),
        summary_csv=tables[0] if tables else None,
        composites={str(d): p for d, p in files_of(result, "composite")},
    )


#: How the dialog points at the request or job field an error concerns.
FIELD_HINTS: dict[str, str] = {
    "bbox": "choose another area",
    "start": "check the dates",
    "end": "check the dates",
    "source": "check the source",
    "stac_url": "check the STAC API address",
    "collections": "check the STAC collection",
    "input": "check the local stack",
    "out": "check the output folder",
    "overwrite": "tick “Overwrite existing outputs” or choose another output folder",
    "formats": "check the output formats",
    "workers": "check the number of workers",
    "runner": "check the runner under Advanced",
    "max_memory": "check the memory budget",
    "preset": "check the preset",
    "overrides": "check the thresholds",
    "shadow_geometry": "check Options",
    "cloud_buffer_m": "check the buffers under Options",
    "shadow_buffer_m": "check the buffers under Options",
    "margin_m": "check Options",
}


def friendly_error(exc: BaseException) -> str:
    """The message the plugin shows for a failed run: the error's own words and, for the
    field it concerns (:attr:`tsmask_qgis.errors.TsmaskError.field`), where to look."""
    text = str(exc) or type(exc).__name__
    hint = FIELD_HINTS.get(getattr(exc, "field", None) or "")
    return f"{text} ({hint})" if hint else text


def job_work(settings: RunSettings) -> Callable[[Progress], ResultLayers]:
    """The work of one Run: ``work(progress) -> ResultLayers`` (plain values only).

    The ``Job`` is built now (on the caller's thread), so invalid settings raise
    ``ValueError`` here rather than in the background.
    """
    options = job_options(settings)
    out = Path(options["out"])

    def work(progress: Progress) -> ResultLayers:
        from tsmask_qgis.jobs import client

        result = client.run(
            "pipeline", {"job": options}, progress=progress, temp_globs=temp_patterns(out)
        )
        return result_layers(result)

    return work


@dataclass(frozen=True)
class EstimateInfo:
    """What Estimate found: ``text`` to show, ``memory_bytes`` the run would hold in memory."""

    text: str
    memory_bytes: int | None = None


def estimate_work(settings: RunSettings) -> Callable[[Progress], EstimateInfo]:
    """The work of Estimate (in a warm child): the loaders' estimate or the stack's size."""
    if settings.source == LOCAL:
        if settings.input_path is None:
            raise ValueError("Choose the local stack (a NetCDF, a GeoTIFF or a folder).")
        kwargs: dict[str, Any] = {"input_path": str(settings.input_path)}
    else:
        kwargs = {"request": settings.to_request()}

    def work(progress: Progress) -> EstimateInfo:
        from tsmask_qgis.jobs import client

        info = client.run("estimate", kwargs, progress=progress)
        return EstimateInfo(str(info["text"]), info.get("memory_bytes"))

    return work
