"""The result of a job: its files keyed by format and date, the per-date summary, and
its plain form (what crosses a process boundary to the plugin)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from tsmask_qgis.pipeline._job import Job
from tsmask_qgis.pipeline._write import job_files
from tsmask_qgis.writers import DateSummary, Manifest, OutputFile, pick_dates

__all__ = ["JobResult", "acquisition_times", "finished", "result_if_complete"]


def acquisition_times(mask: xr.DataArray) -> tuple[str, ...]:
    """The ISO 8601 UTC acquisition time of each date of ``mask`` (``2016-01-01T00:01:02``)."""
    values = np.asarray(mask["time"].values).astype("datetime64[s]")
    return tuple(str(v) for v in values)


def _summary_of(row: Mapping[str, Any]) -> DateSummary:
    return DateSummary(
        date=str(row["date"]),
        pixels=int(row["pixels"]),
        no_observation=int(row["no_observation"]),
        clear=int(row["clear"]),
        cloud=int(row["cloud"]),
        shadow=int(row["shadow"]),
    )


@dataclass(frozen=True)
class JobResult:
    """What a run wrote.

    ``files`` lists every output of the job (written now or ``reused``, complete
    from an earlier run) with its format and the date label it holds (``None``
    for a whole-job file); ``dates`` are the date labels in time order and
    ``times`` their acquisition times (ISO 8601, UTC); ``summary`` the per-date
    class counts; ``notes`` what the user should know about how it ran.
    """

    out: Path
    dates: tuple[str, ...]
    summary: tuple[DateSummary, ...]
    files: tuple[OutputFile, ...]
    reused: tuple[Path, ...] = ()
    notes: tuple[str, ...] = ()
    times: tuple[str, ...] = ()

    def of(self, name: str) -> tuple[Path, ...]:
        """The paths of format ``name``, in order (per-date files in time order)."""
        return tuple(f.path for f in self.files if f.format == name)

    @property
    def paths(self) -> tuple[Path, ...]:
        return tuple(f.path for f in self.files)

    @property
    def netcdf(self) -> Path | None:
        return next(iter(self.of("netcdf")), None)

    @property
    def cogs(self) -> tuple[Path, ...]:
        return self.of("cog")

    @property
    def truecolour(self) -> tuple[Path, ...]:
        return self.of("truecolour")

    @property
    def quicklooks(self) -> tuple[Path, ...]:
        return self.of("quicklook")

    @property
    def evaluation(self) -> Path | None:
        """The evaluation report (Markdown), when the job had a reference."""
        return next(iter(self.of("evaluation")), None)

    def to_plain(self) -> dict[str, Any]:
        """The result as builtins and paths (the child job returns exactly this)."""
        return {
            "out": Path(self.out),
            "dates": list(self.dates),
            "times": list(self.times),
            "summary": [s.as_row() for s in self.summary],
            "files": [f.to_plain() for f in self.files],
            "reused": [Path(p) for p in self.reused],
            "notes": list(self.notes),
        }

    @classmethod
    def from_plain(cls, plain: Mapping[str, Any]) -> JobResult:
        """The result from :meth:`to_plain`."""
        return cls(
            out=Path(plain["out"]),
            dates=tuple(map(str, plain["dates"])),
            summary=tuple(_summary_of(r) for r in plain["summary"]),
            files=tuple(OutputFile.from_plain(f) for f in plain["files"]),
            reused=tuple(map(Path, plain["reused"])),
            notes=tuple(map(str, plain["notes"])),
            times=tuple(map(str, plain["times"])),
        )


def finished(
    job: Job,
    manifest: Manifest,
    result: JobResult,
) -> JobResult:
    """Mark the job complete in its manifest (with what a later run needs to answer
    without redoing anything) and return ``result``."""
    info = dict(manifest.job or {})
    info["summary"] = [s.as_row() for s in result.summary]
    info["formats"] = list(job.formats)
    info["quicklooks"] = [str(q) for q in result.quicklooks]
    info["times"] = list(result.times)
    Manifest(manifest.folder, manifest.key, manifest.outputs, True, info).save()
    return result


def result_if_complete(job: Job, manifest: Manifest) -> JobResult | None:
    """The result of a finished earlier run of the same job, if its files are all intact."""
    info = manifest.job or {}
    if not manifest.complete or "summary" not in info or "times" not in info:
        return None
    if set(job.formats) - set(info.get("formats", [])):
        return None
    if job.products is not None:
        return None  # per-period files are named after the composite's periods: redo them
    picked: list[str] = []
    summary = tuple(_summary_of(r) for r in info["summary"])
    if "quicklook" in job.formats:
        if job.quicklook_dates is not None:
            return None  # explicit dates may differ from the earlier choice: redo cheaply
        picked = pick_dates(summary)
    labels = [s.date for s in summary]
    files = job_files(job, labels, picked)
    drawn = [Path(q).name for q in info.get("quicklooks", [])]
    now = [f.path.name for f in files if f.format == "quicklook"]
    if "quicklook" in job.formats and now != drawn:
        return None  # the earlier run drew other dates
    paths = [f.path for f in files]
    if not all(manifest.is_complete(p) for p in paths):
        return None
    return JobResult(
        out=job.out,
        dates=tuple(labels),
        summary=summary,
        files=tuple(files),
        reused=tuple(paths),
        times=tuple(map(str, info["times"])),
    )
