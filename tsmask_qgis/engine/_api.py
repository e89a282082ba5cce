"""The xarray layer of the engine: ``classify``, ``detect`` and the spatial steps.

Kernels take and return numpy (``_core.py``); this layer owns validation,
dims, coords, CRS and attributes, and chooses how the work runs:

- ``runner="threads"``: kernels in threads of this process;
- ``runner="processes"``: kernels in worker processes started with a plain
  Python interpreter (this process never imports numba — use it inside QGIS);
- ``runner="dask"``: kernels through ``dask.array.map_blocks``, on a
  ``dask.distributed`` cluster when a ``client`` is given;
- ``runner="auto"`` (default): ``dask`` when a client is given; ``processes``
  when numba must not be imported here (inside QGIS); ``dask`` when the
  dataset is dask-backed, larger than ``max_memory`` and its class cube fits
  it; otherwise threads — streaming tile by tile through a memory-mapped class
  cube when a dask-backed input does not fit ``max_memory``.
"""

from __future__ import annotations

import dataclasses
import json
import sys
from typing import Any

import numpy as np

from tsmask_qgis.classes import flag_attrs
from tsmask_qgis.engine._post import SUN_COORDS, check_options, post_steps
from tsmask_qgis.engine._presets import DeaPreset, Preset, get_preset
from tsmask_qgis.engine._procpool import prestart_workers, shutdown_workers
from tsmask_qgis.engine._runner import Monitor
from tsmask_qgis.engine._tiling import cpu_count, date_chunks, default_budget, parse_memory
from tsmask_qgis.engine._validate import DIMS, InputError, validate_dataset, validate_mask
from tsmask_qgis.errors import ParameterError
from tsmask_qgis.progress import CancelToken, Progress

__all__ = [
    "RUNNERS",
    "buffer",
    "choose_runner",
    "classify",
    "detect",
    "majority_filter",
    "numba_allowed",
    "prestart_workers",
    "shutdown_workers",
    "spatial_filter",
]

RUNNERS = ("auto", "threads", "processes", "dask")


def numba_allowed() -> bool:
    """False inside QGIS (numba and QGIS in one process crash some QGIS builds)."""
    return "qgis" not in sys.modules and "qgis.core" not in sys.modules


def _workers(workers: int | None) -> int:
    if workers is None:
        return cpu_count()
    if isinstance(workers, bool) or not isinstance(workers, (int, np.integer)) or workers < 1:
        raise ParameterError(
            f"workers must be a positive integer or None (all cores), got {workers!r}",
            field="workers",
        )
    return int(workers)


def choose_runner(
    runner: str,
    *,
    lazy: bool,
    input_bytes: int,
    output_bytes: int,
    budget: int,
    client: Any = None,
) -> str:
    """The runner ``runner="auto"`` resolves to (others are checked and returned)."""
    if runner not in RUNNERS:
        raise ParameterError(
            f"unknown runner {runner!r}: use one of {', '.join(RUNNERS)}", field="runner"
        )
    if client is not None and runner not in ("auto", "dask"):
        raise ValueError(f"a dask client is only used with runner='dask' (got runner={runner!r})")
    if runner != "auto":
        return runner
    if client is not None:
        return "dask"
    if not numba_allowed():
        return "processes"
    if lazy and input_bytes > budget and output_bytes <= budget // 2:
        return "dask"
    return "threads"


def _attrs(preset: Preset, spatial: bool) -> dict[str, Any]:
    attrs = dict(flag_attrs())
    thresholds = {
        k: (list(v) if isinstance(v, tuple) else v) for k, v in dataclasses.asdict(preset).items()
    }
    if isinstance(preset, DeaPreset):
        steps = f"majority filter x{preset.majority_passes}" if spatial else "none"
    else:
        steps = "spatial filter, buffer" if spatial else "none"
    attrs.update(
        preset=preset.name,
        thresholds=json.dumps(thresholds, sort_keys=True),
        spatial_steps=steps,
        method="tsmask (algorithm.md)",
    )
    return attrs


def _wrap(ds: Any, data: Any, preset: Preset, spatial: bool) -> Any:
    import xarray as xr

    coords = {
        name: c
        for name, c in ds.coords.items()
        if set(c.dims) <= set(DIMS) and name not in SUN_COORDS
    }
    attrs = _attrs(preset, spatial)
    if "spatial_ref" in coords:
        attrs["grid_mapping"] = "spatial_ref"
    return xr.DataArray(data, dims=DIMS, coords=coords, name="tsmask", attrs=attrs)


def classify(
    ds: Any,
    *,
    preset: str | Preset = "dea",
    spatial: bool = True,
    workers: int | None = None,
    runner: str = "auto",
    max_memory: int | str | None = None,
    client: Any = None,
    progress: Progress | None = None,
    out: Any = None,
    cancel: CancelToken | None = None,
    lazy: bool = False,
    shadow_geometry: bool = False,
    cloud_buffer_m: float | str = 0,
    shadow_buffer_m: float | str = 0,
    shadow_params: Any = None,
    sun: Any = None,
    **overrides: Any,
) -> Any:
    """Cloud and cloud-shadow classes for every pixel and date of ``ds``.

    ``ds`` is an ``xarray.Dataset`` with ``blue green red nir swir1 swir2`` on
    ``(time, y, x)``: float reflectance 0..1 with NaN for nodata, or integers
    scaled by 10000 with a ``nodata`` attribute (only that value is nodata).
    Returns a uint8 ``DataArray`` named ``"tsmask"`` on ``(time, y, x)`` with
    ``ds``'s coordinates (CRS via ``spatial_ref``) and CF flag attributes:
    0 no observation, 1 clear, 2 cloud, 3 cloud shadow.

    Options (keyword-only): ``preset`` ``"seed"`` or ``"dea"`` (thresholds can
    be overridden by name, e.g. ``cloud_spike=0.4``); ``spatial`` false for
    the temporal part only; ``workers`` (default all cores); ``runner`` (see
    the module docstring); ``max_memory`` as bytes or ``"4GB"`` (default half
    the available memory): a dask-backed input larger than this streams tile
    by tile; ``client`` a ``dask.distributed`` Client; ``progress`` a callable
    ``(fraction, message)`` that may raise ``Cancelled``; ``cancel`` a
    :class:`~tsmask_qgis.progress.CancelToken`; ``out`` a ``(time, y, x)``
    uint8 array to write into (e.g. a ``np.memmap``); ``lazy`` (dask runner
    only) returns the uncomputed dask-backed result.

    Optional steps after the preset (docs/shadow_geometry.md; the mask is then no
    longer the exact preset, its attributes say so): ``shadow_geometry=True`` finds
    cloud shadow from the sun's position (per date from the ``sun_azimuth`` /
    ``sun_elevation`` coordinates the loaders fill from item metadata, or ``sun``
    given as a SunTable or (azimuths, elevations), else computed at the grid's
    centre; ``shadow_params`` a :class:`~tsmask_qgis.engine.shadow.ShadowParams`);
    ``cloud_buffer_m`` / ``shadow_buffer_m`` buffer each class by that many metres
    (numbers or ``"60m"``; 0 = none). Messages for the user (computed sun positions,
    skipped dates) are in the result's ``notes`` attribute.
    """
    geometry, cloud_m, shadow_m = check_options(shadow_geometry, cloud_buffer_m, shadow_buffer_m)
    post = geometry or cloud_m > 0 or shadow_m > 0
    if post and lazy:
        raise ValueError(
            "lazy=True returns the preset's mask only: run the shadow geometry and buffers "
            "on the computed mask"
        )
    if post and not spatial:
        raise ParameterError(
            "the shadow geometry and the buffers run after the spatial steps: leave the "
            "spatial steps on",
            field="spatial",
        )
    p = get_preset(preset, **overrides)
    ds, stack = validate_dataset(ds)
    nworkers = _workers(workers)
    budget = parse_memory(max_memory) or default_budget()
    t, ny, nx = stack.shape
    chosen = choose_runner(
        runner,
        lazy=stack.lazy,
        input_bytes=stack.nbytes,
        output_bytes=t * ny * nx,
        budget=budget,
        client=client,
    )
    if lazy and chosen != "dask":
        raise ValueError("lazy=True needs runner='dask' (or a client)")
    monitor = Monitor(progress, cancel, steps=("detect", "spatial") if spatial else ("detect",))
    if chosen == "dask":
        from tsmask_qgis.engine import _dask

        result = _dask.build(stack, p, spatial=spatial)
        if lazy:
            return _wrap(ds, result, p, spatial)
        monitor.report("starting")
        data = _dask.compute(result, client=client, out=out, monitor=monitor)
        observed = bool(np.any(data))
        # one graph did both phases: the detect counters carried all of it
        monitor.spatial_done = monitor.spatial_total
        monitor.report("done", "spatial" if spatial else "detect")
    else:
        from tsmask_qgis.engine._stream import run_local

        data = run_local(
            stack,
            p,
            runner=chosen,
            workers=nworkers,
            budget=budget,
            spatial=spatial,
            monitor=monitor,
            out=out,
        )
        observed = monitor.observed
    if not observed:
        raise InputError(
            "the input has no observation at all: every pixel-date has a nodata or "
            "non-finite band (declared nodata: "
            f"{', '.join(sorted({str(v) for v in stack.nodata})) or 'none'}). Check the "
            "area, the dates and the bands' nodata attributes"
        )
    mask = _wrap(ds, data, p, spatial)
    if not post:
        return mask
    return post_steps(
        mask,
        ds,
        shadow_geometry=geometry,
        cloud_buffer_m=cloud_m,
        shadow_buffer_m=shadow_m,
        shadow_params=shadow_params,
        sun=sun,
        workers=nworkers,
        progress=progress,
    )


def detect(ds: Any, preset: str | Preset = "dea", **kw: Any) -> Any:
    """The temporal part only (no spatial steps); options as :func:`classify`."""
    if "spatial" in kw:
        raise TypeError("detect() runs no spatial steps; use classify(spatial=...) instead")
    return classify(ds, preset=preset, spatial=False, **kw)


# --------------------------------------------------------------------------- spatial steps


def _run_spatial(
    mask: Any,
    preset: Preset,
    steps: list[str],
    *,
    workers: int | None,
    runner: str,
    progress: Progress | None,
) -> Any:
    """Apply ``steps`` (each over all dates) to a mask; same type back."""
    import xarray as xr

    is_da = isinstance(mask, xr.DataArray)
    values = mask.values if is_da else mask
    arr = validate_mask(values)
    flat = arr[None] if arr.ndim == 2 else arr
    nworkers = _workers(workers)
    if runner not in ("auto", "threads", "processes"):
        raise ValueError(f"runner must be auto, threads or processes here, got {runner!r}")
    if runner == "auto":
        runner = "threads" if numba_allowed() else "processes"
    t, ny, nx = flat.shape
    monitor = Monitor(progress, None, steps=("spatial",))
    monitor.spatial_total = t * len(steps)
    chunks = date_chunks(t, ny * nx, workers=nworkers)
    from tsmask_qgis.engine._stream import local_executor, memory_cube

    with local_executor(runner, nworkers) as executor:
        cube = memory_cube(executor, (t, ny, nx))
        cube.array[...] = flat
        for step in steps:
            executor.spatial(cube, chunks, preset, monitor, step=step)
        res = executor.take(cube.array)
    if arr.ndim == 2:
        res = res[0]
    if is_da:
        return mask.copy(data=res)
    return res


def spatial_filter(
    mask: Any,
    preset: str | Preset = "dea",
    *,
    workers: int | None = None,
    runner: str = "auto",
    progress: Progress | None = None,
) -> Any:
    """The preset's spatial filter on every date of a class mask.

    ``seed``: the in-place 3x3 filter (isolated cloud/shadow pixels become
    clear); ``dea``: the majority filter, ``majority_passes`` times (2).
    ``mask`` is a DataArray or numpy array, ``(time, y, x)`` or ``(y, x)``;
    the result has the same type and shape.
    """
    p = get_preset(preset)
    if isinstance(p, DeaPreset):
        one = dataclasses.replace(p, majority_passes=1)
        return _run_spatial(
            mask,
            one,
            ["majority"] * p.majority_passes,
            workers=workers,
            runner=runner,
            progress=progress,
        )
    return _run_spatial(mask, p, ["filter"], workers=workers, runner=runner, progress=progress)


def buffer(
    mask: Any,
    *,
    workers: int | None = None,
    runner: str = "auto",
    progress: Progress | None = None,
) -> Any:
    """The seed buffer: clear pixels next to cloud/shadow take that class (3x3)."""
    return _run_spatial(
        mask, get_preset("seed"), ["buffer"], workers=workers, runner=runner, progress=progress
    )


def majority_filter(
    mask: Any,
    passes: int = 1,
    *,
    workers: int | None = None,
    runner: str = "auto",
    progress: Progress | None = None,
) -> Any:
    """The dea majority filter, ``passes`` times (same type and shape back)."""
    if isinstance(passes, bool) or not isinstance(passes, (int, np.integer)) or passes < 0:
        raise ValueError(f"passes must be a non-negative integer, got {passes!r}")
    one = get_preset("dea", majority_passes=1)
    return _run_spatial(
        mask, one, ["majority"] * int(passes), workers=workers, runner=runner, progress=progress
    )
