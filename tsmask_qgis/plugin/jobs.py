"""What the dialog's Run and Estimate do, as plain callables for :class:`TsmaskTask`.

:func:`to_job` turns the dialog's plain :class:`RunSettings` into a
:class:`tsmask_qgis.pipeline.Job` on the main thread (so a bad value fails
before any task starts); :func:`job_work` returns ``work(progress)`` that runs
:func:`tsmask_qgis.pipeline.run` on the task's thread with the engine's
process-pool runner (kernels run only in plain Python worker processes) and
maps the :class:`~tsmask_qgis.pipeline.JobResult` to :class:`ResultLayers`.
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
    "RUNNER",
    "EstimateInfo",
    "estimate_work",
    "friendly_error",
    "job_work",
    "label_date",
    "result_layers",
    "to_job",
]

#: Outputs every plugin run writes: per-date COGs (the map layers), their ``.qml``
#: sidecars, the clear-observation count and the per-date summary table.
ALWAYS_FORMATS: tuple[str, ...] = ("cog", "qml", "count", "summary")
#: The engine runner of every plugin run: kernels in plain Python worker processes.
RUNNER = "processes"


def to_job(settings: RunSettings) -> Any:
    """The pipeline ``Job`` for ``settings`` (catalogue preset, custom STAC or local files).

    Raises ``ValueError`` (the loaders' and pipeline's own checks) with a
    user-facing message when the settings cannot run.
    """
    from tsmask_qgis.pipeline import Job

    formats = tuple(dict.fromkeys((*ALWAYS_FORMATS, *settings.formats)))
    source: dict[str, Any]
    if settings.source == LOCAL:
        if settings.input_path is None:
            raise ValueError("Choose the local stack (a NetCDF, a GeoTIFF or a folder).")
        source = {"input": Path(settings.input_path)}
    else:
        source = {"request": settings.to_request()}
    return Job(
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


def result_layers(result: Any) -> ResultLayers:
    """The layers of a finished :class:`~tsmask_qgis.pipeline.JobResult`."""
    count = Path(result.out) / "clear_count.tif"
    return ResultLayers(
        masks=_by_label(tuple(result.cogs), "tsmask_"),
        truecolour=_by_label(tuple(result.truecolour), "truecolour_"),
        count=count if count in set(map(Path, result.paths)) and count.exists() else None,
        summary=tuple(result.summary),
    )


def friendly_error(exc: BaseException) -> str:
    """The message the plugin shows for a failed run (the command-line hints reworded)."""
    text = str(exc)
    from tsmask_qgis.writers import OutputExistsError

    if isinstance(exc, OutputExistsError):
        head = text.split(": use --overwrite", 1)[0]
        return (
            f"{head}: another run's outputs are in this folder. Tick “Overwrite existing "
            "outputs” or choose another output folder."
        )
    return text.replace("--source", "the source").replace("--out folder", "output folder")


def job_work(settings: RunSettings) -> Callable[[Progress], ResultLayers]:
    """The work of one Run: ``work(progress) -> ResultLayers`` (plain values only).

    The ``Job`` is built now (on the caller's thread), so invalid settings raise
    ``ValueError`` here rather than in the background.
    """
    job = to_job(settings)

    def work(progress: Progress) -> ResultLayers:
        from tsmask_qgis import pipeline

        return result_layers(pipeline.run(job, progress=progress))

    return work


@dataclass(frozen=True)
class EstimateInfo:
    """What Estimate found: ``text`` to show, ``memory_bytes`` the run would hold in memory."""

    text: str
    memory_bytes: int | None = None


def estimate_work(settings: RunSettings) -> Callable[[Progress], EstimateInfo]:
    """The work of Estimate: the loaders' estimate (catalogue) or the stack's size (local)."""

    def _local(progress: Progress) -> EstimateInfo:
        from tsmask_qgis.loaders import load_local

        assert settings.input_path is not None
        progress(None, f"opening {settings.input_path.name}")
        ds = load_local(settings.input_path)
        t, y, x = (ds.sizes["time"], ds.sizes["y"], ds.sizes["x"])
        memory = t * y * x * (6 * 4 + 1)
        return EstimateInfo(
            f"{t} dates of {x} x {y} pixels ({x * y:,} pixels)\n"
            f"memory: about {memory / 1e6:,.1f} MB (reflectance and masks)",
            memory,
        )

    def _catalogue(progress: Progress) -> EstimateInfo:
        from tsmask_qgis.loaders import estimate

        est = estimate(settings.to_request(), progress=progress)
        return EstimateInfo(est.describe(), int(est.memory_bytes))

    return _local if settings.source == LOCAL else _catalogue
