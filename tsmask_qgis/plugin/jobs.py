"""What the dialog's Run and Estimate do, as plain callables for :class:`TsmaskTask`.

:func:`job_options` turns the dialog's plain :class:`RunSettings` into the
keyword arguments of a :class:`tsmask_qgis.pipeline.Job` on the main thread (so
a bad value fails before any task starts); :func:`job_work` returns
``work(progress)`` that runs :func:`tsmask_qgis.pipeline.run` **in a child
Python process** (:mod:`tsmask_qgis.worker`; there the engine's process-pool
runner runs the kernels) and maps its plain result to :class:`ResultLayers`.
The QGIS process never imports the pipeline, writers, rasterio, netCDF4,
pyproj or numba (see :mod:`tsmask_qgis.worker` for why).
No ``qgis`` import: nothing here may touch the project or widgets.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tsmask_qgis.plugin.convert import LOCAL, RunSettings
from tsmask_qgis.plugin.layers import ResultLayers
from tsmask_qgis.progress import Progress

__all__ = [
    "ALWAYS_FORMATS",
    "FIELD_HINTS",
    "RUNNER",
    "EstimateInfo",
    "estimate_work",
    "friendly_error",
    "job_options",
    "job_work",
    "label_date",
    "result_layers",
    "to_job",
]

#: Outputs every plugin run writes: per-date COGs (the map layers), their ``.qml``
#: sidecars, the clear-observation count and the per-date summary table.
ALWAYS_FORMATS: tuple[str, ...] = ("cog", "qml", "count", "summary")
#: The engine runner of every plugin run (inside the child process): kernels in a
#: pool of plain Python worker processes.
RUNNER = "processes"


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
        runner=RUNNER,
        max_memory=settings.max_memory,
        overwrite=settings.overwrite,
        meta=(("qgis_group", settings.area_name()),),
    )


def to_job(settings: RunSettings) -> Any:
    """The pipeline ``Job`` for ``settings`` (imports the pipeline: not for the QGIS process)."""
    from tsmask_qgis.pipeline import Job

    return Job(**job_options(settings))


def label_date(label: str) -> dt.date | dt.datetime:
    """A writer's date label (``2021-12-04`` or ``2021-12-04T235958``) as a date/datetime."""
    if "T" not in label:
        return dt.date.fromisoformat(label[:10])
    day, clock = label.split("T", 1)
    digits = "".join(ch for ch in clock if ch.isdigit())[:6].ljust(6, "0")
    return dt.datetime.fromisoformat(f"{day}T{digits[:2]}:{digits[2:4]}:{digits[4:6]}")


def _by_label(paths: tuple[Path, ...], prefix: str) -> dict[Any, Path]:
    out: dict[Any, Path] = {}
    for path in paths:
        label = path.stem[len(prefix) :] if path.stem.startswith(prefix) else path.stem
        out[label_date(label)] = path
    return out


def _field(result: Any, name: str) -> Any:
    return result[name] if isinstance(result, dict) else getattr(result, name)


def result_layers(result: Any) -> ResultLayers:
    """The layers of a finished run: the worker's plain result dict (or a ``JobResult``)."""
    count = Path(_field(result, "out")) / "clear_count.tif"
    paths = set(map(Path, _field(result, "paths")))
    return ResultLayers(
        masks=_by_label(tuple(map(Path, _field(result, "cogs"))), "tsmask_"),
        truecolour=_by_label(tuple(map(Path, _field(result, "truecolour"))), "truecolour_"),
        count=count if count in paths and count.exists() else None,
        summary=tuple(_field(result, "summary")),
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
    "max_memory": "check the memory budget",
    "preset": "check the preset",
    "overrides": "check the thresholds",
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
        from tsmask_qgis import worker

        result = worker.run(
            "pipeline",
            {"job": options},
            progress=progress,
            temp_globs=worker.writer_temporaries(out, out / "cog", out / "truecolour"),
        )
        return result_layers(result)

    return work


@dataclass(frozen=True)
class EstimateInfo:
    """What Estimate found: ``text`` to show, ``memory_bytes`` the run would hold in memory."""

    text: str
    memory_bytes: int | None = None


def estimate_work(settings: RunSettings) -> Callable[[Progress], EstimateInfo]:
    """The work of Estimate (in a child process): the loaders' estimate or the stack's size."""
    if settings.source == LOCAL:
        if settings.input_path is None:
            raise ValueError("Choose the local stack (a NetCDF, a GeoTIFF or a folder).")
        kwargs: dict[str, Any] = {"input_path": str(settings.input_path)}
    else:
        kwargs = {"request": settings.to_request()}

    def work(progress: Progress) -> EstimateInfo:
        from tsmask_qgis import worker

        info = worker.run("estimate", kwargs, progress=progress)
        return EstimateInfo(str(info["text"]), info.get("memory_bytes"))

    return work
