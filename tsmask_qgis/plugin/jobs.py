"""What the dialog's Run and Estimate do, as plain callables for :class:`TsmaskTask`.

Built on the main thread from a plain :class:`RunSettings`; called on the
task's thread with a progress callback. No ``qgis`` import: nothing here may
touch the project or widgets. Kernels run only in worker processes.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable
from pathlib import Path

from tsmask_qgis.plugin.convert import LOCAL, RunSettings
from tsmask_qgis.plugin.layers import ResultLayers
from tsmask_qgis.progress import Cancelled, Progress

__all__ = ["estimate_work", "job_work"]


def _cancel_probe(progress: Progress, message: str) -> Callable[[], bool]:
    def probe() -> bool:
        try:
            progress(None, message)
        except Cancelled:
            return True
        return False

    return probe


def _run_local(settings: RunSettings, progress: Progress) -> ResultLayers:
    from tsmask_qgis.plugin._worker import run_in_process
    from tsmask_qgis.plugin.rasters import read_stack, temp_path, write_count, write_stack

    assert settings.input_path is not None
    out_dir = settings.out_dir
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = settings.input_path.stem or "stack"
    multi = out_dir / f"{stem}_tsmask_{settings.preset}.tif"
    tmp = temp_path(multi)
    written: list[Path] = []
    progress(0.0, f"detecting on {settings.input_path.name} in a worker process")
    try:
        run_in_process(
            "tsmask_qgis.plugin.rasters:detect_file",
            str(settings.input_path),
            str(tmp),
            is_cancelled=_cancel_probe(progress, "detecting"),
            preset=settings.preset,
            spatial=settings.spatial,
            workers=settings.workers,
            overrides=dict(settings.overrides),
        )
        progress(0.8, "writing one GeoTIFF per date")
        stack = read_stack(tmp)
        masks: dict[dt.date, Path] = {}
        for i, name in enumerate(stack.names):
            progress(0.8 + 0.15 * i / max(len(stack.names), 1), f"writing {name}")
            day = dt.date.fromisoformat(name[:10])
            path = out_dir / f"{stem}_tsmask_{day.isoformat()}.tif"
            written.append(write_stack(path, stack.data[i], stack.profile, [name]))
            masks[day] = path
        progress(0.97, "counting clear observations")
        count = write_count([tmp], out_dir / f"{stem}_clear_count.tif")
        written.append(count)
        if "multiband" in settings.formats:
            os.replace(tmp, multi)
    except BaseException:
        for path in written:  # a cancelled or failed run keeps no partial result
            path.unlink(missing_ok=True)
        raise
    finally:
        if tmp.exists():
            tmp.unlink()
    progress(1.0, "done")
    return ResultLayers(masks=masks, count=count)


def job_work(settings: RunSettings) -> Callable[[Progress], ResultLayers]:
    """The work of one Run: ``work(progress) -> ResultLayers`` (plain values only)."""
    if settings.source == LOCAL:
        return lambda progress: _run_local(settings, progress)

    def _catalogue(progress: Progress) -> ResultLayers:
        raise RuntimeError(
            f"runs from the catalogue {settings.source!r} need tsmask_qgis.pipeline, which this "
            "build of the plugin does not drive yet; use local files, the Processing algorithm "
            "tsmask:detect_stac or the tsmask command"
        )

    return _catalogue


def estimate_work(settings: RunSettings) -> Callable[[Progress], str]:
    """The work of Estimate: a one-line human summary of dates, pixels, bytes and memory."""

    def _local(progress: Progress) -> str:
        from tsmask_qgis.loaders import load_local

        assert settings.input_path is not None
        ds = load_local(settings.input_path)
        t, y, x = (ds.sizes["time"], ds.sizes["y"], ds.sizes["x"])
        return (
            f"{t} dates of {x} x {y} pixels; {t * x * y * 6 * 4 / 1e6:.0f} MB of reflectance "
            f"in memory, {t * x * y / 1e6:.1f} MB of masks."
        )

    def _catalogue(progress: Progress) -> str:
        from tsmask_qgis import loaders

        estimate = getattr(loaders, "estimate", None)
        if estimate is None:
            raise RuntimeError("estimating a catalogue search is not available in this build")
        return str(estimate(settings.to_request()))

    return _local if settings.source == LOCAL else _catalogue
