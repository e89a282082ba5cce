"""The detection step: the engine on the loaded reflectance (or on a dask cluster), or
the mask of an earlier run of the same job read back from its NetCDF."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import xarray as xr

from tsmask_qgis import writers
from tsmask_qgis.bands import BANDS
from tsmask_qgis.errors import DependencyError, UnreachableError
from tsmask_qgis.pipeline._job import Job
from tsmask_qgis.progress import Progress, emit

__all__ = ["SCHEDULER_TIMEOUT", "detect"]

#: How long to try to reach a ``scheduler`` before giving up (a dask duration).
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


def _classify(job: Job, ds: xr.Dataset, progress: Progress | None) -> xr.DataArray:
    from tsmask_qgis import engine

    with _client(job.scheduler) as client:
        kw: dict[str, Any] = {} if client is None else {"client": client}
        mask = engine.classify(
            ds[list(BANDS)],
            preset=job.preset,
            spatial=job.spatial,
            workers=job.workers,
            runner="dask" if client is not None and job.runner == "auto" else job.runner,
            max_memory=job.max_memory,
            progress=progress,
            shadow_geometry=job.shadow_geometry,
            cloud_buffer_m=job.cloud_buffer_m,
            shadow_buffer_m=job.shadow_buffer_m,
            **kw,
            **dict(job.overrides),
        )
        if mask.chunks is not None:
            mask = mask.compute()
    return mask


def crop(data: Any, margin: tuple[int, int, int, int]) -> Any:
    """``data`` (a Dataset or DataArray on y/x) without the loaded margin (pixels:
    top, bottom, left, right)."""
    top, bottom, left, right = margin
    if not (top or bottom or left or right):
        return data
    ny, nx = data.sizes["y"], data.sizes["x"]
    return data.isel(y=slice(top, ny - bottom), x=slice(left, nx - right))


def detect(
    job: Job,
    ds: xr.Dataset,
    progress: Progress | None,
    *,
    earlier: Path | None = None,
    margin: tuple[int, int, int, int] = (0, 0, 0, 0),
) -> xr.DataArray:
    """The mask of ``job``: read from ``earlier`` (a complete NetCDF of the same job),
    or classified (on ``ds`` with its loaded ``margin``, cropped off after). A lazy (streamed) input reads the catalogue while it classifies;
    the loaders check every read and raise a ``LoadError`` naming the file."""
    if earlier is not None:
        emit(progress, "detect", 1.0, f"mask from {earlier.name} (earlier run)")
        mask = writers.read_netcdf_mask(earlier)
    else:
        mask = crop(_classify(job, ds, progress), margin)
    emit(progress, "spatial" if job.spatial else "detect", 1.0, "done")
    return mask
