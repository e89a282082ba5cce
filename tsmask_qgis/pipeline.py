"""One job from inputs to files: load -> classify -> write.

``run(job)`` is what the QGIS task and the ``tsmask`` command both call. It
reports progress as :class:`tsmask_qgis.progress.Report` values for the steps of
its plan (``search``, ``load`` or ``read``, ``detect``, ``spatial``, ``write``),
every report being a cancel point, writes every output atomically, and records what it wrote in a
manifest (``tsmask-manifest.json``) so that re-running the same job after an
interruption reuses the outputs that were complete.

Importing this module imports neither numba nor qgis.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import xarray as xr

from tsmask_qgis import __version__, writers
from tsmask_qgis.errors import (
    DependencyError,
    InputError,
    LoadError,
    NoDataError,
    ParameterError,
    TsmaskError,
    UnreachableError,
)
from tsmask_qgis.progress import JobProgress, Progress, emit, plan, scaled
from tsmask_qgis.writers import DateSummary, Manifest

__all__ = [
    "DEFAULT_FORMATS",
    "FORMATS",
    "Job",
    "JobResult",
    "NoDataError",
    "UnreachableError",
    "no_data_for",
    "output_layout",
    "parse_size",
    "run",
]

#: Output formats a job can ask for, and what each writes in the output folder.
FORMATS: dict[str, str] = {
    "netcdf": "tsmask.nc: all dates, CF flag attributes, grid mapping",
    "cog": "cog/tsmask_<date>.tif: one Cloud-Optimized GeoTIFF per date (colour table)",
    "multiband": "tsmask_multiband.tif: one band per date, band descriptions = dates",
    "envi": "tsmask_envi.img + .hdr: ENVI, one band per date, band names = dates",
    "qml": "<raster>.qml: QGIS paletted style beside every mask raster",
    "summary": "summary.csv + summary.json: per-date percent clear/cloud/shadow/no obs.",
    "count": "clear_count.tif: per-pixel number of clear and of observed dates",
    "chart": "chart.png: cloud and shadow fraction through time",
    "quicklook": "quicklooks/quicklook_<date>.png: mask over true colour (chosen dates)",
}
DEFAULT_FORMATS: tuple[str, ...] = ("netcdf", "cog", "qml", "summary", "count", "chart")

REFERENCE_KINDS = ("scl",)


def no_data_for(request: Any) -> NoDataError:
    """The error for a search of ``request`` (a ``loaders.Request``) that found nothing."""
    return NoDataError(
        f"no Sentinel-2 acquisitions in {request.source} for bbox {request.bbox} from "
        f"{request.start} to {request.end}; widen the dates or the area, or try another source",
        field="source",
    )


def parse_size(text: str | int | None) -> int | None:
    """``"4GB"`` (4e9), ``"512MiB"``, ``"1.5g"`` or a number of bytes -> bytes (``None`` stays).

    The same reading as the engine's ``max_memory``: KB/MB/GB are powers of ten,
    KiB/MiB/GiB powers of two.
    """
    if text is None:
        return None
    from tsmask_qgis.engine import parse_memory

    try:
        return parse_memory(text)
    except ValueError:
        raise ParameterError(
            f"cannot read {text!r} as a size; write e.g. 4GB, 512MB or 2GiB", field="max_memory"
        ) from None


@dataclass(frozen=True, kw_only=True)
class Job:
    """Everything one run needs, as plain values (safe to build on the QGIS side).

    Give either ``request`` (a :class:`tsmask_qgis.loaders.Request`) or ``input``
    (a local stack :func:`tsmask_qgis.loaders.load_local` reads). ``overrides``
    are threshold overrides of ``preset`` (name -> value). ``formats`` come from
    :data:`FORMATS`; ``truecolour`` adds a true-colour COG per date; quicklooks
    are drawn for ``quicklook_dates`` (``None``: a few telling dates chosen from
    the summary; ``("all",)``: every date). ``runner``, ``workers``,
    ``max_memory`` (bytes or ``"4GB"``) and ``scheduler`` (a dask.distributed
    address) tune the engine. ``reference="scl"`` loads the catalogue's scene
    classification beside the bands and evaluates the masks against it.
    """

    out: Path
    request: Any = None
    input: Path | None = None
    preset: str = "seed"
    overrides: tuple[tuple[str, Any], ...] = ()
    spatial: bool = True
    formats: tuple[str, ...] = DEFAULT_FORMATS
    truecolour: bool = False
    quicklook_dates: tuple[str, ...] | None = None
    workers: int | None = None
    runner: str = "auto"
    max_memory: int | None = None
    scheduler: str | None = None
    overwrite: bool = False
    reference: str | None = None
    cache: bool = True
    meta: tuple[tuple[str, str], ...] = field(default=())

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        set_(self, "out", Path(self.out))
        if (self.request is None) == (self.input is None):
            raise ParameterError(
                "a job needs exactly one of request (a catalogue search) or input", field="input"
            )
        if self.input is not None:
            set_(self, "input", Path(self.input))
        ov = self.overrides
        pairs = ov.items() if isinstance(ov, Mapping) else ov
        set_(self, "overrides", tuple(sorted((str(k), v) for k, v in pairs)))
        from tsmask_qgis.engine import get_preset  # pure dataclasses: no numba

        get_preset(self.preset, **dict(self.overrides))  # unknown names fail here, clearly
        formats = (self.formats,) if isinstance(self.formats, str) else tuple(self.formats)
        unknown = [f for f in formats if f not in FORMATS]
        if unknown:
            raise ParameterError(
                f"unknown output format(s) {', '.join(unknown)}; choose from {', '.join(FORMATS)}",
                field="formats",
            )
        set_(self, "formats", tuple(dict.fromkeys(formats)))
        if self.quicklook_dates is not None:
            qd = self.quicklook_dates
            set_(self, "quicklook_dates", (qd,) if isinstance(qd, str) else tuple(map(str, qd)))
        set_(self, "max_memory", parse_size(self.max_memory))
        if self.workers is not None and int(self.workers) < 1:
            raise ParameterError("workers must be 1 or more (or all cores)", field="workers")
        if self.reference is not None:
            if self.reference not in REFERENCE_KINDS:
                raise ParameterError(
                    f"reference {self.reference!r} is not supported; use one of {REFERENCE_KINDS}",
                    field="reference",
                )
            if self.request is None:
                raise ParameterError(
                    "a reference (scl) comes from the catalogue: it needs a request, not a "
                    "local input (evaluate local masks against a reference with the evaluate "
                    "tool)",
                    field="reference",
                )
        if isinstance(self.meta, Mapping):
            set_(self, "meta", tuple(sorted((str(k), str(v)) for k, v in self.meta.items())))

    def key(self) -> str:
        """A digest of the parameters that decide the outputs' content (for resume)."""
        return hashlib.sha256(
            json.dumps(self.describe(), sort_keys=True, default=str).encode()
        ).hexdigest()[:20]

    def describe(self) -> dict[str, Any]:
        """The content-deciding parameters as plain JSON values."""
        d: dict[str, Any] = {
            "preset": self.preset,
            "overrides": dict(self.overrides),
            "spatial": self.spatial,
            "truecolour": self.truecolour,
            "reference": self.reference,
            "version": __version__,
        }
        if self.request is not None:
            d["request"] = self.request.key()
        else:
            assert self.input is not None  # nosec B101: internal invariant (type narrowing), not a check of input
            st = self.input.stat() if self.input.exists() else None
            d["input"] = {
                "path": str(self.input.resolve()),
                "size": st.st_size if st else None,
                "mtime": int(st.st_mtime) if st else None,
            }
        return d


@dataclass(frozen=True)
class JobResult:
    """What a run wrote (``paths``; ``reused`` were complete from an earlier run)."""

    out: Path
    dates: tuple[str, ...]
    summary: tuple[DateSummary, ...]
    paths: tuple[Path, ...]
    reused: tuple[Path, ...] = ()
    netcdf: Path | None = None
    cogs: tuple[Path, ...] = ()
    truecolour: tuple[Path, ...] = ()
    quicklooks: tuple[Path, ...] = ()
    evaluation: Path | None = None
    notes: tuple[str, ...] = ()


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 600 else text[:600] + "..."


def output_layout(job: Job, dates: Sequence[str] = ("<date>",)) -> dict[str, list[Path]]:
    """The files ``job`` writes, by format, for the given date labels."""
    o = job.out
    lay: dict[str, list[Path]] = {}
    f = job.formats
    if "netcdf" in f:
        lay["netcdf"] = [o / "tsmask.nc"]
    if "cog" in f:
        lay["cog"] = [o / "cog" / f"tsmask_{d}.tif" for d in dates]
    if "multiband" in f:
        lay["multiband"] = [o / "tsmask_multiband.tif"]
    if "envi" in f:
        lay["envi"] = [o / "tsmask_envi.img", o / "tsmask_envi.hdr"]
    if "qml" in f:
        rasters = [p for k in ("cog", "multiband", "envi") for p in lay.get(k, [])]
        lay["qml"] = [p.with_suffix(".qml") for p in rasters if p.suffix != ".hdr"]
        lay["qml"].append(o / "tsmask.qml")
    if "summary" in f:
        lay["summary"] = [o / "summary.csv", o / "summary.json"]
    if "count" in f:
        lay["count"] = [o / "clear_count.tif"]
    if "chart" in f:
        lay["chart"] = [o / "chart.png"]
    if job.truecolour:
        lay["truecolour"] = [o / "truecolour" / f"truecolour_{d}.tif" for d in dates]
    if job.reference:
        lay["evaluation"] = [o / f"evaluation.{x}" for x in ("md", "json", "html")] + [
            o / "evaluation_confusion.png"
        ]
    return lay


# -- the run ----------------------------------------------------------------------------


#: How long to try to reach a ``--scheduler`` before giving up (a dask duration).
SCHEDULER_TIMEOUT = "20s"


@contextlib.contextmanager
def _client(address: str | None) -> Iterator[Any]:
    if address is None:
        yield None
        return
    try:
        from distributed import Client
    except ImportError:
        raise DependencyError(
            "a dask scheduler needs the 'distributed' package: pip install distributed",
            field="scheduler",
        ) from None
    try:
        client = Client(address, timeout=SCHEDULER_TIMEOUT)
    except (OSError, TimeoutError) as exc:
        raise UnreachableError(
            f"cannot reach the dask scheduler at {address} ({exc}); check the address "
            "and that the scheduler is running",
            field="scheduler",
        ) from exc
    try:
        yield client
    finally:
        client.close()


@contextlib.contextmanager
def _network() -> Iterator[None]:
    """A built-in network error from a library (not one of ours) as :class:`UnreachableError`."""
    try:
        yield
    except (ConnectionError, TimeoutError) as exc:
        if isinstance(exc, TsmaskError):
            raise
        raise UnreachableError(_one_line(exc)) from exc


def _bands(job: Job) -> tuple[str, ...]:
    from tsmask_qgis.loaders import BANDS

    return (*BANDS, *((job.reference,) if job.reference else ()))


def _in_cache(job: Job) -> bool:
    """Whether the reflectance of ``job.request`` is in the local cache (a lookup, no I/O)."""
    from tsmask_qgis.loaders import _cache

    return _cache.lookup(job.request.key(_bands(job))) is not None


def _cache_limit() -> int:
    from tsmask_qgis.loaders import _cache

    return _cache.max_bytes()


def stream_chunks(shape: tuple[int, int, int], budget: int) -> dict[str, int]:
    """Dask chunks for a lazy load that the engine streams under ``budget`` bytes.

    One chunk is no larger than the engine's super tile for that budget (full-width
    rows while a row fits, else squares), so no chunk is read twice.
    """
    from tsmask_qgis.engine._tiling import stream_tile_pixels

    t, ny, nx = shape
    max_px = stream_tile_pixels(t, budget, 4)  # the loaders give float32 reflectance
    if nx <= max_px:
        return {"time": 1, "y": max(1, min(ny, max_px // nx)), "x": nx}
    side = max(1, math.isqrt(max_px))
    return {"time": 1, "y": min(ny, side), "x": min(nx, side)}


_STREAMED = "streamed"  # marker in ``notes``: the dataset reads the network lazily


def _load(job: Job, progress: Progress | None, notes: list[str]) -> xr.Dataset:
    """The reflectance for ``job``: local stack, cache hit, cached download or a lazy
    stream from the catalogue (when the job is larger than ``max_memory`` or the cache)."""
    from tsmask_qgis import loaders

    if job.input is not None:
        emit(progress, "read", 0.0, f"opening {job.input}")
        ds = loaders.load_local(job.input)
        emit(
            progress,
            "read",
            1.0,
            f"{ds.sizes['time']} dates of {ds.sizes['y']} x {ds.sizes['x']} pixels",
        )
        return ds
    request = job.request
    extra = _bands(job)[len(loaders.BANDS) :]
    kw: dict[str, Any] = {"extra_bands": extra} if extra else {}
    if job.cache and _in_cache(job):
        # A cache hit needs no search either: nothing is read from the network.
        emit(progress, "search", 1.0, "in the local cache: no search needed")
        notes.append("reflectance read from the local cache (nothing downloaded)")
        with _network():
            ds = loaders.load(request, progress=progress, cache=True, **kw)
        size = sum(ds[b].nbytes for b in loaders.BANDS)
        if job.max_memory is not None and size > job.max_memory:
            shape = (ds.sizes["time"], ds.sizes["y"], ds.sizes["x"])
            ds = ds.chunk(stream_chunks(shape, job.max_memory))
            notes.append(
                f"the job needs {size / 1e6:,.1f} MB, more than --max-memory "
                f"{job.max_memory / 1e6:,.1f} MB: streamed tile by tile from the cache"
            )
        return ds
    with _network():
        items = loaders.search(request, progress=progress)
    if not items:
        raise no_data_for(request)
    est = loaders.estimate(request, items=items, extra_bands=extra)
    size = int(est.memory_bytes)
    over_budget = job.max_memory is not None and size > job.max_memory
    over_cache = size > _cache_limit()
    cache = job.cache and not over_budget and not over_cache
    chunks = None
    if over_budget:
        assert job.max_memory is not None  # nosec B101: internal invariant (type narrowing), not a check of input
        chunks = stream_chunks(est.shape, job.max_memory)
        notes.append(
            f"the job needs {size / 1e6:,.1f} MB, more than --max-memory "
            f"{job.max_memory / 1e6:,.1f} MB: streamed tile by tile from the catalogue "
            "(not cached)"
        )
    elif over_cache and job.cache:
        notes.append(
            f"the job needs {size / 1e6:,.1f} MB, more than the cache limit "
            f"({_cache_limit() / 1e6:,.1f} MB, TSMASK_CACHE_MAX_BYTES): streamed, not cached"
        )
    if not cache:
        notes.append(_STREAMED)
    with _network():
        return loaders.load(
            request, items=items, chunks=chunks, progress=progress, cache=cache, **kw
        )


def _classify(job: Job, ds: xr.Dataset, progress: Progress | None) -> xr.DataArray:
    from tsmask_qgis import engine

    bands = ds[["blue", "green", "red", "nir", "swir1", "swir2"]]
    with _client(job.scheduler) as client:
        kw: dict[str, Any] = {}
        if client is not None:
            kw["client"] = client
        mask = engine.classify(
            bands,
            preset=job.preset,
            spatial=job.spatial,
            workers=job.workers,
            runner="dask" if client is not None and job.runner == "auto" else job.runner,
            max_memory=job.max_memory,
            progress=progress,
            **kw,
            **dict(job.overrides),
        )
        if mask.chunks is not None:
            mask = mask.compute()
    return mask


def _quicklook_dates(job: Job, summary: Sequence[DateSummary]) -> list[str]:
    labels = [s.date for s in summary]
    if job.quicklook_dates is None:
        return writers.pick_dates(summary)
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


class _Writer:
    """Writes outputs one by one, skipping complete ones, keeping the manifest current."""

    def __init__(self, job: Job, manifest: Manifest, reuse: bool, progress: Progress | None):
        self.job = job
        self.manifest = manifest
        self.reuse = reuse
        self.progress = progress
        self.paths: list[Path] = []
        self.reused: list[Path] = []

    def complete(self, path: Path) -> bool:
        return self.reuse and self.manifest.is_complete(path)

    def do(self, paths: Sequence[Path], write: Callable[..., Any], what: str) -> None:
        """Run ``write(overwrite)`` unless every path is complete; record them."""
        self.paths.extend(paths)
        if all(self.complete(p) for p in paths):
            self.reused.extend(paths)
            emit(self.progress, "write", None, f"{what}: complete from an earlier run")
            return
        emit(self.progress, "write", None, what)
        # Outputs of this same job may be replaced (an earlier attempt's), others not.
        write(self.job.overwrite or self.reuse)
        for p in paths:
            self.manifest = self.manifest.with_output(p)
        self.manifest.save()

    def many(self, paths: Sequence[Path], write: Callable[..., Any], what: str) -> None:
        """Like :meth:`do` for per-date files: ``write(overwrite, skip, on_written)``,
        recording each file as it is completed (so an interruption keeps them)."""
        self.paths.extend(paths)
        skip = [p for p in paths if self.complete(p)]
        self.reused.extend(skip)
        if len(skip) == len(paths):
            return
        emit(self.progress, "write", None, what)

        def written(path: Path) -> None:
            self.manifest = self.manifest.with_output(path)
            self.manifest.save()

        write(self.job.overwrite or self.reuse, skip, written)


def _check_existing(job: Job, same_job: bool) -> None:
    if job.overwrite or same_job:
        return
    fixed = [p for ps in output_layout(job, ()).values() for p in ps]
    writers.check_overwrite(fixed, overwrite=False)
    for sub, prefix in (("cog", "tsmask_"), ("truecolour", "truecolour_")):
        folder = job.out / sub
        if folder.is_dir():
            writers.check_overwrite(sorted(folder.glob(f"{prefix}*.tif"))[:1], overwrite=False)


def run(job: Job, *, progress: Progress | None = None) -> JobResult:
    """Run ``job``: load (or search and load), classify, write the outputs.

    Raises :class:`NoDataError` when nothing is found,
    :class:`~tsmask_qgis.errors.UnreachableError` when the catalogue or scheduler cannot be
    reached, :class:`tsmask_qgis.writers.OutputExistsError` when outputs exist
    and ``job.overwrite`` is false, :class:`tsmask_qgis.writers.OutputNotWritableError`
    for an unwritable folder, and ``Cancelled`` when ``progress`` raises it
    (no half-written file remains in any case).
    """
    progress = JobProgress(progress, plan(catalogue=job.request is not None, spatial=job.spatial))
    out = writers.ensure_writable_dir(job.out)
    writers.clean_temporaries(out)
    key = job.key()
    previous = Manifest.read(out)
    # --overwrite starts afresh; otherwise an earlier run of this same job is resumed.
    same_job = previous is not None and previous.key == key and not job.overwrite
    _check_existing(job, same_job)
    manifest = (
        previous
        if same_job and previous is not None
        else Manifest(out, key, {}, job=job.describe())
    )
    if manifest.complete and manifest.job and "summary" in manifest.job:
        done = _result_if_complete(job, manifest)
        if done is not None:
            emit(progress, "write", 1.0, "all outputs complete from an earlier run")
            return done
    manifest = Manifest(out, key, dict(manifest.outputs), False, job.describe())

    notes: list[str] = []
    ds = _load(job, progress, notes)
    streamed = _STREAMED in notes
    notes = [n for n in notes if n != _STREAMED]
    if ds.sizes.get("time", 0) == 0:
        raise NoDataError("the input holds no dates")
    nc_path = out / "tsmask.nc"
    if same_job and "netcdf" in job.formats and manifest.is_complete(nc_path):
        emit(progress, "detect", 1.0, f"mask from {nc_path.name} (earlier run)")
        mask = writers.read_netcdf_mask(nc_path)
    else:
        # A lazy (streamed) input reads the catalogue while it classifies; the
        # loaders check every read and raise a LoadError naming the file.
        mask = _classify(job, ds, progress)
    emit(progress, "spatial" if job.spatial else "detect", 1.0, "done")

    wp = progress
    summary = writers.summarise(mask)
    labels = [s.date for s in summary]
    layout = output_layout(job, labels)
    w = _Writer(job, manifest, same_job, wp)
    n_items = sum(len(v) for v in layout.values()) or 1
    done_items = 0

    def tick(k: str) -> Progress | None:
        nonlocal done_items
        start = done_items / n_items
        done_items += len(layout.get(k, []))
        return scaled(wp, start, done_items / n_items)

    attrs = {
        "preset": job.preset,
        "thresholds": dataclasses.asdict(_preset(job)),
        "spatial_steps": int(job.spatial),
        **({"input": str(job.input)} if job.input else {}),
        **({"request": job.request.key()} if job.request is not None else {}),
        **dict(job.meta),
    }
    if "netcdf" in layout:
        p = tick("netcdf")
        w.do(
            layout["netcdf"],
            lambda ow: writers.write_netcdf(mask, nc_path, overwrite=ow, attrs=attrs, progress=p),
            "NetCDF",
        )
    cogs: list[Path] = []
    if "cog" in layout:
        p = tick("cog")
        cogs = layout["cog"]
        w.many(
            cogs,
            lambda ow, skip, done: writers.write_cogs(
                mask, out / "cog", overwrite=ow, skip=skip, progress=p, on_written=done
            ),
            "mask COGs",
        )
    if "multiband" in layout:
        p = tick("multiband")
        w.do(
            layout["multiband"],
            lambda ow: writers.write_multiband(
                mask, layout["multiband"][0], overwrite=ow, progress=p
            ),
            "multi-band GeoTIFF",
        )
    if "envi" in layout:
        p = tick("envi")
        w.do(
            layout["envi"],
            lambda ow: writers.write_envi(mask, layout["envi"][0], overwrite=ow, progress=p),
            "ENVI",
        )
    if "qml" in layout:
        tick("qml")
        for q in layout["qml"]:
            w.do([q], lambda ow, q=q: writers.write_qml(q, overwrite=ow), "QML styles")
    if "count" in layout:
        tick("count")
        w.do(
            layout["count"],
            lambda ow: writers.write_clear_count(mask, layout["count"][0], overwrite=ow),
            "clear-observation count",
        )
    meta = {"preset": job.preset, "spatial": job.spatial, "overrides": dict(job.overrides)}
    if "summary" in layout:
        tick("summary")
        csv_path, json_path = layout["summary"]
        w.do(
            layout["summary"],
            lambda ow: writers.write_summary(summary, csv_path, json_path, overwrite=ow, meta=meta),
            "summary",
        )
    if "chart" in layout:
        tick("chart")
        w.do(
            layout["chart"],
            lambda ow: writers.write_chart(summary, layout["chart"][0], overwrite=ow),
            "chart",
        )
    quicklooks: list[Path] = []
    tc: list[Path] = []
    evaluation = None
    try:  # these read the reflectance (and SCL) again
        if "quicklook" in job.formats:
            for d in _quicklook_dates(job, summary):
                q = out / "quicklooks" / f"quicklook_{d}.png"
                quicklooks.append(q)
                w.do(
                    [q],
                    lambda ow, d=d, q=q: writers.write_quicklook(mask, ds, d, q, overwrite=ow),
                    "quicklooks",
                )
        if "truecolour" in layout:
            p = tick("truecolour")
            tc = layout["truecolour"]
            w.many(
                tc,
                lambda ow, skip, done: writers.write_truecolour(
                    ds, out / "truecolour", overwrite=ow, skip=skip, progress=p, on_written=done
                ),
                "true-colour COGs",
            )
        if job.reference:
            tick("evaluation")
            evaluation = _evaluate(job, mask, ds, layout["evaluation"], w)
    except Exception as exc:
        if streamed and isinstance(exc, LoadError):
            # a failed read of the streamed input: keep no part of this set
            for path in [*quicklooks, *tc, *layout.get("evaluation", [])]:
                path.unlink(missing_ok=True)
        raise
    emit(wp, "write", 1.0, f"{len(w.paths)} files in {out}")

    final = w.manifest
    job_info = dict(final.job or {})
    job_info["summary"] = [s.as_row() for s in summary]
    job_info["formats"] = list(job.formats)
    job_info["quicklooks"] = [str(q) for q in quicklooks]
    Manifest(out, key, final.outputs, True, job_info).save()
    return JobResult(
        out=out,
        dates=tuple(labels),
        summary=tuple(summary),
        paths=tuple(w.paths),
        reused=tuple(w.reused),
        netcdf=nc_path if "netcdf" in layout else None,
        cogs=tuple(cogs),
        truecolour=tuple(tc),
        quicklooks=tuple(quicklooks),
        evaluation=evaluation,
        notes=tuple(notes),
    )


def _preset(job: Job) -> Any:
    from tsmask_qgis.engine import get_preset

    return get_preset(job.preset, **dict(job.overrides))


def _evaluate(
    job: Job, mask: xr.DataArray, ds: xr.Dataset, paths: Sequence[Path], w: _Writer
) -> Path:
    from tsmask_qgis.evaluate import compare, write_report

    if "scl" not in ds.data_vars:
        raise InputError(
            "the loaded data has no scl band to evaluate against; the source must provide "
            "a scene classification (SCL) asset",
            field="reference",
        )

    # DEA's scene classification is its Fmask layer (reference_kind "fmask")
    kind = str(ds["scl"].attrs.get("reference_kind", "scl"))
    name = "DEA Fmask" if kind == "fmask" else "Sentinel-2 SCL"

    def write(ow: bool) -> None:
        ev = compare(
            mask,
            ds["scl"],
            reference_kind=kind,
            mask_name=f"tsmask {job.preset}",
            reference_name=name,
        )
        write_report(ev, job.out, stem="evaluation", title=f"tsmask against {name}")

    w.do(paths, write, "evaluation against SCL")
    return paths[0]


def _result_if_complete(job: Job, manifest: Manifest) -> JobResult | None:
    """A result from a finished earlier run of the same job, if its files are all intact."""
    info = manifest.job or {}
    if set(job.formats) - set(info.get("formats", [])):
        return None
    rows = info.get("summary") or []
    summary = tuple(
        DateSummary(
            date=r["date"],
            pixels=r["pixels"],
            no_observation=r["no_observation"],
            clear=r["clear"],
            cloud=r["cloud"],
            shadow=r["shadow"],
        )
        for r in rows
    )
    labels = [s.date for s in summary]
    layout = output_layout(job, labels)
    quick = [Path(q) for q in info.get("quicklooks", [])] if "quicklook" in job.formats else []
    paths = [p for ps in layout.values() for p in ps] + quick
    if job.quicklook_dates is not None and "quicklook" in job.formats:
        return None  # explicit dates may differ from the earlier choice: redo cheaply
    if not all(manifest.is_complete(p) for p in paths):
        return None
    return JobResult(
        out=job.out,
        dates=tuple(labels),
        summary=summary,
        paths=tuple(paths),
        reused=tuple(paths),
        netcdf=layout.get("netcdf", [None])[0],
        cogs=tuple(layout.get("cog", [])),
        truecolour=tuple(layout.get("truecolour", [])),
        quicklooks=tuple(quick),
        evaluation=layout["evaluation"][0] if "evaluation" in layout else None,
    )
