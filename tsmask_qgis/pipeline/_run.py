"""The run: load -> detect -> write, resumable from the manifest of an earlier attempt."""

from __future__ import annotations

from pathlib import Path

from tsmask_qgis import writers
from tsmask_qgis.errors import NoDataError
from tsmask_qgis.pipeline._detect import detect
from tsmask_qgis.pipeline._job import Job
from tsmask_qgis.pipeline._load import load
from tsmask_qgis.pipeline._result import (
    JobResult,
    acquisition_times,
    finished,
    result_if_complete,
)
from tsmask_qgis.pipeline._write import Recorder, check_existing, write_outputs
from tsmask_qgis.progress import JobProgress, Progress, emit, plan
from tsmask_qgis.writers import Manifest

__all__ = ["run"]


def _start(job: Job, out: Path) -> tuple[Manifest | None, Recorder]:
    """The manifest of an earlier run of the same job that this run continues (``None``
    when it starts afresh, always with ``overwrite``), and the recorder of this run.
    Refuses to write over another job's outputs."""
    key = job.key()
    previous = Manifest.read(out)
    if previous is None or previous.key != key or job.overwrite:
        previous = None
    check_existing(job, previous is not None)
    outputs = dict(previous.outputs) if previous is not None else {}
    manifest = Manifest(out, key, outputs, False, job.describe())
    return previous, Recorder(job, manifest, reuse=previous is not None)


def run(job: Job, *, progress: Progress | None = None) -> JobResult:
    """Run ``job``: load (or search and load), classify, write the outputs.

    ``progress`` gets :class:`~tsmask_qgis.progress.Report` values of the steps of
    :func:`~tsmask_qgis.progress.plan`, each a cancel point. Raises
    :class:`~tsmask_qgis.errors.NoDataError` when nothing is found,
    :class:`~tsmask_qgis.errors.UnreachableError` when the catalogue or scheduler
    cannot be reached, :class:`~tsmask_qgis.errors.OutputExistsError` when another
    job's outputs exist and ``job.overwrite`` is false,
    :class:`~tsmask_qgis.errors.OutputNotWritableError` for an unwritable folder, and
    :class:`~tsmask_qgis.errors.Cancelled` when ``progress`` raises it (no
    half-written file remains in any case).
    """
    progress = JobProgress(progress, plan(catalogue=job.request is not None, spatial=job.spatial))
    out = writers.ensure_writable_dir(job.out)
    writers.clean_temporaries(out)
    previous, recorder = _start(job, out)
    done = result_if_complete(job, previous) if previous is not None else None
    if done is not None:
        emit(progress, "write", 1.0, "all outputs complete from an earlier run")
        return done

    loaded = load(job, progress)
    if loaded.ds.sizes.get("time", 0) == 0:
        raise NoDataError("the input holds no dates")
    nc = writers.FORMATS["netcdf"].files((), out=out)[0].path
    earlier = nc if "netcdf" in job.formats and recorder.complete(nc) else None
    mask = detect(job, loaded.ds, progress, earlier=earlier, margin=loaded.margin)
    if any(loaded.margin):
        from tsmask_qgis.pipeline._detect import crop

        loaded.ds = crop(loaded.ds, loaded.margin)
    notes = [*loaded.notes, *str(mask.attrs.get("notes", "")).splitlines()]

    summary = writers.summarise(mask)
    write_outputs(
        job, recorder, mask, summary, loaded.ds, streamed=loaded.streamed, progress=progress
    )
    result = JobResult(
        out=out,
        dates=tuple(s.date for s in summary),
        summary=tuple(summary),
        files=tuple(recorder.files),
        reused=tuple(recorder.reused),
        notes=tuple(n for n in notes if n),
        times=acquisition_times(mask),
    )
    return finished(job, recorder.manifest, result)
