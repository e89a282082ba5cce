"""The write step: every output of a job, from the writers' registry of formats.

Each format of the job gets its files from :data:`tsmask_qgis.writers.FORMATS`, its
share of the ``write`` step's progress and one :class:`~tsmask_qgis.writers.WriteContext`;
the :class:`Recorder` skips what an earlier run of the same job completed and keeps
the manifest current, so an interruption keeps every complete file.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import xarray as xr

from tsmask_qgis import writers
from tsmask_qgis.errors import InputError, LoadError, OutputExistsError, ParameterError
from tsmask_qgis.pipeline._job import Job
from tsmask_qgis.pipeline._products import period_labels
from tsmask_qgis.progress import Progress, emit, scaled
from tsmask_qgis.writers import DateSummary, Format, Manifest, OutputFile, WriteContext

__all__ = [
    "Recorder",
    "area_name",
    "check_existing",
    "check_quicklook_dates",
    "job_files",
    "other_job",
    "output_layout",
    "quicklook_dates",
    "write_outputs",
]

Planned = list[tuple[Format, list[OutputFile]]]


def quicklook_dates(job: Job, summary: Sequence[DateSummary]) -> list[str]:
    """The date labels the job draws quicklooks of (``ParameterError`` for a date it lacks)."""
    if job.quicklook_dates is None:
        return writers.pick_dates(summary)
    return check_quicklook_dates(job, [s.date for s in summary])


def check_quicklook_dates(job: Job, labels: Sequence[str]) -> list[str]:
    """The job's explicit quicklook dates among the input's date ``labels`` (all of them
    for ``("all",)``); ``ParameterError`` for one the input lacks, before any compute."""
    labels = list(labels)
    if job.quicklook_dates is None or "quicklook" not in job.outputs:
        return []
    if tuple(job.quicklook_dates) == ("all",):
        return labels
    picked = []
    for want in job.quicklook_dates:
        match = [d for d in labels if d == want or d.startswith(want)]
        if not match:
            raise ParameterError(
                f"quicklook date {want} is not among the dates ({labels[0]} .. {labels[-1]})",
                field="quicklook_dates",
            )
        picked.append(match[0])
    return list(dict.fromkeys(picked))


def _planned(
    job: Job, dates: Sequence[str], picked: Sequence[str], periods: Sequence[str] = ()
) -> Planned:
    found: Planned = []
    for name in job.outputs:
        fmt = writers.FORMATS[name]
        labels = periods if fmt.per == "period" else picked if fmt.picked_dates else dates
        found.append((fmt, fmt.files(labels, out=job.out, among=job.outputs)))
    return found


def job_files(job: Job, dates: Sequence[str], picked: Sequence[str] = ()) -> list[OutputFile]:
    """Every file ``job`` writes for the date labels ``dates`` (quicklooks of ``picked``)."""
    return [f for _fmt, files in _planned(job, dates, picked) for f in files]


def output_layout(job: Job, dates: Sequence[str] = ("<date>",)) -> dict[str, list[Path]]:
    """The files ``job`` writes, by format, for the given date labels."""
    return {fmt.name: [f.path for f in files] for fmt, files in _planned(job, dates, ())}


def check_existing(job: Job, same_job: bool) -> None:
    """Refuse (``OutputExistsError``) to write over another job's outputs, before any work:
    the job's whole-job files, and any per-date file of a format written for every date."""
    if job.overwrite or same_job:
        return
    writers.check_overwrite([f.path for f in job_files(job, ())], overwrite=False)
    for fmt in writers.FORMATS.values():
        if fmt.pattern is not None and not fmt.picked_dates:
            found = sorted(job.out.glob(fmt.pattern))
            writers.check_overwrite(found[:1], overwrite=False)


def other_job(job: Job, out: Path, previous: Manifest | None) -> OutputExistsError:
    """The error for a folder that holds another job's outputs (what differs, and the fix)."""
    if previous is None or not previous.job:
        why = "an unreadable manifest of another run"
    else:
        now = job.describe()
        differ = [k for k in now if k != "version" and previous.job.get(k) != now[k]]
        names = {"outputs": "formats", "overrides": "thresholds", "spatial": "spatial steps"}
        why = (
            "the outputs of another job (different "
            + (", ".join(names.get(k, k) for k in differ) or "version")
            + ")"
        )
    return OutputExistsError(
        f"{out} holds {why}: allow overwriting to replace them (every file of that job is "
        "removed first), or choose another output folder",
        field="overwrite",
    )


class Recorder:
    """Writes the formats one by one, skipping complete outputs, keeping the manifest current.

    ``reuse``: this run continues an earlier run of the same job, whose complete
    outputs are kept (and may be replaced when incomplete).
    """

    def __init__(self, job: Job, manifest: Manifest, *, reuse: bool) -> None:
        self.job = job
        self.manifest = manifest
        self.reuse = reuse
        self.files: list[OutputFile] = []
        self.reused: list[Path] = []

    def complete(self, path: Path) -> bool:
        return self.reuse and self.manifest.is_complete(path)

    def record(self, path: Path) -> None:
        self.manifest = self.manifest.with_output(path)
        self.manifest.save()

    def write(self, fmt: Format, ctx: WriteContext) -> None:
        """Write ``ctx.files`` with ``fmt`` unless complete; record them in the manifest.

        A format that resumes file by file skips each complete file and records each
        one as it is written; another is rewritten whole unless all its files are complete.
        """
        paths = ctx.paths
        self.files.extend(ctx.files)
        done = [p for p in paths if self.complete(p)]
        if fmt.by_file or len(done) == len(paths):
            self.reused.extend(done)
        if len(done) == len(paths):
            emit(ctx.progress, "write", 1.0, f"{fmt.label}: complete from an earlier run")
            return
        emit(ctx.progress, "write", 0.0, fmt.label)
        # Outputs of this same job may be replaced (an earlier attempt's), others not.
        overwrite = self.job.overwrite or self.reuse
        if fmt.by_file:
            fmt.write(
                dataclasses.replace(
                    ctx, overwrite=overwrite, skip=frozenset(done), on_written=self.record
                )
            )
            return
        fmt.write(dataclasses.replace(ctx, overwrite=overwrite))
        for p in paths:
            self.manifest = self.manifest.with_output(p)
        self.manifest.save()


def _evaluation(job: Job, mask: xr.DataArray, ds: xr.Dataset) -> Callable[[], Any]:
    def compare() -> Any:
        from tsmask_qgis.evaluate import compare

        if "scl" not in ds.data_vars:
            raise InputError(
                "the loaded data has no scl band to evaluate against; the source must "
                "provide a scene classification (SCL) asset",
                field="reference",
            )
        # DEA's scene classification is its Fmask layer (reference_kind "fmask")
        kind = str(ds["scl"].attrs.get("reference_kind", "scl"))
        return compare(
            mask,
            ds["scl"],
            reference_kind=kind,
            mask_name=f"tsmask {job.preset}",
            reference_name="DEA Fmask" if kind == "fmask" else "Sentinel-2 SCL",
        )

    return compare


def area_name(job: Job) -> str:
    """A short name for the job's area: the local stack's name, or the source and the
    box's centre (latitude, longitude)."""
    if job.input is not None:
        return Path(job.input).stem
    request = job.request
    w, s, e, n = request.bbox
    return f"{request.source} {(s + n) / 2:.3f}, {(w + e) / 2:.3f}"


def _attrs(job: Job) -> dict[str, Any]:
    """The job's metadata in the files that carry it (NetCDF global attributes)."""
    return {
        "preset": job.preset,
        "thresholds": dataclasses.asdict(job.preset_values()),
        "spatial_steps": int(job.spatial),
        **({"input": str(job.input)} if job.input else {}),
        **({"request": job.request.key()} if job.request is not None else {}),
        **dict(job.meta),
    }


def write_outputs(
    job: Job,
    recorder: Recorder,
    mask: xr.DataArray,
    summary: Sequence[DateSummary],
    ds: xr.Dataset,
    *,
    streamed: bool,
    progress: Progress | None,
    products: Mapping[str, Any] | None = None,
) -> None:
    """Write every format of ``job`` in the registry's order, each with its share of
    the ``write`` step. A failed read of a streamed input while drawing the
    reflectance removes every file of the formats that draw it."""
    labels = [s.date for s in summary]
    picked = quicklook_dates(job, summary) if "quicklook" in job.outputs else []
    products = dict(products or {})
    planned = _planned(job, labels, picked, period_labels(products))
    base = WriteContext(
        out=job.out,
        files=(),
        mask=mask,
        summary=tuple(summary),
        reflectance=ds,
        evaluation=_evaluation(job, mask, ds),
        attrs=_attrs(job),
        meta={
            "preset": job.preset,
            "spatial": job.spatial,
            "overrides": dict(job.overrides),
            "area": area_name(job),
        },
        mask_name=f"tsmask {job.preset}",
        products=products,
    )
    total = sum(len(files) for _fmt, files in planned) or 1
    at = 0
    try:
        for fmt, files in planned:
            part = scaled(progress, at / total, (at + len(files)) / total)
            at += len(files)
            recorder.write(fmt, dataclasses.replace(base, files=tuple(files), progress=part))
    except LoadError:
        if streamed:  # keep no part of what the failed read was drawing
            for fmt, files in planned:
                if fmt.reads_reflectance:
                    for f in files:
                        f.path.unlink(missing_ok=True)
        raise
    emit(progress, "write", 1.0, f"{len(recorder.files)} files in {job.out}")
