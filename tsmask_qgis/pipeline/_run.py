"""The run: load -> detect -> write, resumable from the manifest of an earlier attempt."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

from tsmask_qgis import writers
from tsmask_qgis.errors import NoDataError, TsmaskWarning
from tsmask_qgis.pipeline._detect import detect
from tsmask_qgis.pipeline._job import Job
from tsmask_qgis.pipeline._load import load
from tsmask_qgis.pipeline._products import products_of
from tsmask_qgis.pipeline._result import (
    JobResult,
    acquisition_times,
    finished,
    result_if_complete,
)
from tsmask_qgis.pipeline._write import (
    Recorder,
    check_existing,
    check_quicklook_dates,
    other_job,
    write_outputs,
)
from tsmask_qgis.progress import JobProgress, Progress, emit, plan
from tsmask_qgis.writers import MANIFEST_NAME, Manifest

__all__ = ["run"]


def _start(job: Job, out: Path) -> tuple[Manifest | None, Manifest | None, Recorder]:
    """The manifest of an earlier run of the same job that this run continues (``None``
    when it starts afresh, always with ``overwrite``), the manifest of the job this run
    replaces (with ``overwrite``: its files are removed once the new masks are made),
    and the recorder of this run.

    The folder is one job's: another job's manifest there is refused unless ``overwrite``."""
    key = job.key()
    previous = Manifest.read(out)
    replaced = None
    if job.overwrite:
        replaced, previous = previous, None
    elif (out / MANIFEST_NAME).exists() and (previous is None or previous.key != key):
        raise other_job(job, out, previous)
    check_existing(job, previous is not None)
    outputs = dict(previous.outputs) if previous is not None else {}
    manifest = Manifest(out, key, outputs, False, job.describe())
    return previous, replaced, Recorder(job, manifest, reuse=previous is not None)


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
    steps = plan(
        catalogue=job.request is not None, spatial=job.spatial, products=bool(job.products)
    )
    progress = JobProgress(progress, steps)
    out = writers.ensure_writable_dir(job.out)
    with writers.folder_lock(out):
        writers.clean_dead_temporaries(out, _stream_dir())
        return _locked_run(job, out, progress)


def _stream_dir() -> Path:
    from tsmask_qgis.engine._stream import temp_dir

    return temp_dir()


def _locked_run(job: Job, out: Path, progress: JobProgress) -> JobResult:
    previous, replaced, recorder = _start(job, out)
    done = result_if_complete(job, previous) if previous is not None else None
    if done is not None:
        emit(progress, "write", 1.0, "all outputs complete from an earlier run")
        return done

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", TsmaskWarning)
        loaded = load(job, progress)
        if loaded.ds.sizes.get("time", 0) == 0:
            raise NoDataError("the input holds no dates")
        check_quicklook_dates(job, writers.date_labels(loaded.ds["time"].values))
        nc = writers.FORMATS["netcdf"].files((), out=out)[0].path
        earlier = nc if "netcdf" in job.formats and recorder.complete(nc) else None
        mask = detect(job, loaded.ds, progress, earlier=earlier, margin=loaded.margin)
    for w in caught:  # our warnings become notes of the result, each once
        if issubclass(w.category, TsmaskWarning):
            if str(w.message) not in loaded.notes:
                loaded.notes.append(str(w.message))
        else:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    if any(loaded.margin):
        from tsmask_qgis.pipeline._detect import crop

        loaded.ds = crop(loaded.ds, loaded.margin)
    notes = [*loaded.notes, *str(mask.attrs.get("notes", "")).splitlines()]

    if replaced is not None:  # the new masks are made: the job they replace goes whole
        replaced.remove_outputs()
    # the folder is this job's from now on: a failed write (a full disk) is resumed by a
    # re-run of the same job, whatever it left
    recorder.manifest.save()
    summary = writers.summarise(mask)
    found: dict[str, Any] = {}
    if job.products is not None:
        found, product_notes = products_of(
            job.products, loaded.ds, mask, workers=job.workers, runner=job.runner,
            max_memory=job.max_memory, progress=progress,
        )  # fmt: skip
        notes += product_notes
    write_outputs(
        job, recorder, mask, summary, loaded.ds, streamed=loaded.streamed, progress=progress,
        products=found,
    )  # fmt: skip
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
