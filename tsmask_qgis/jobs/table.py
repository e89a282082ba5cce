"""The jobs a child runs: name -> function (this module runs only in the child, never in QGIS).

Every job takes keyword arguments of plain values plus ``progress`` (a
:data:`~tsmask_qgis.progress.Progress`) and returns plain values (str,
numbers, lists, dicts, dates, paths) that the QGIS process can unpickle
without importing anything. The jobs import the pipeline, engine, loaders,
writers and evaluation where they run (rasterio, netCDF4, pyproj, numba are
fine here); nothing here imports ``qgis``.

Tests add jobs of their own (a module with a ``JOBS`` dict, named when the
child is started: :class:`tsmask_qgis.jobs.client.Pool`'s ``jobs``); none of
them ship here.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from tsmask_qgis.progress import Progress, emit

__all__ = [
    "JOBS",
    "compare_masks",
    "estimate",
    "make_products",
    "mask_tool",
    "run_pipeline",
    "summary_rows",
]


def _plain(value: Any) -> Any:
    """numpy scalars and other number-likes as Python numbers (None stays None)."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    try:
        return float(value)
    except (TypeError, ValueError):
        return str(value)


def run_pipeline(*, job: dict[str, Any], progress: Progress) -> dict[str, Any]:
    """``pipeline.run(Job(**job))``; the result's plain form (``JobResult.to_plain()``:
    files keyed by format and date, the dates' acquisition times, the summary)."""
    from tsmask_qgis import pipeline

    return dict(pipeline.run(pipeline.Job(**job), progress=progress).to_plain())


def estimate(
    *, request: Any = None, input_path: str | None = None, progress: Progress
) -> dict[str, Any]:
    """What a run would read and hold: the loaders' estimate, or a local stack's size."""
    if input_path is not None:
        from tsmask_qgis.loaders import load_local

        emit(progress, "read", None, f"opening {Path(input_path).name}")
        ds = load_local(Path(input_path))
        t, y, x = (int(ds.sizes["time"]), int(ds.sizes["y"]), int(ds.sizes["x"]))
        memory = t * y * x * (6 * 4 + 1)
        return {
            "text": f"{t} dates of {x} x {y} pixels ({x * y:,} pixels)\n"
            f"memory: about {memory / 1e6:,.1f} MB (reflectance and masks)",
            "memory_bytes": memory,
        }
    from tsmask_qgis.loaders import estimate as loaders_estimate

    est = loaders_estimate(request, progress=progress)
    return {"text": str(est.describe()), "memory_bytes": int(est.memory_bytes)}


def mask_tool(
    *,
    step: str,
    src: str,
    out: str,
    passes: int = 1,
    workers: int | None = None,
    runner: str = "auto",
    progress: Progress,
) -> dict[str, Any]:
    """A spatial step (``seed_filter``, ``buffer``, ``majority``) on a mask raster file."""
    from tsmask_qgis import engine
    from tsmask_qgis.writers import read_mask_raster, write_mask_raster

    stack = read_mask_raster(src)
    options: dict[str, Any] = {"workers": workers, "runner": runner, "progress": progress}
    if step == "seed_filter":
        result = engine.spatial_filter(stack.data.copy(), "seed", **options)
    elif step == "buffer":
        result = engine.buffer(stack.data, **options)
    elif step == "majority":
        result = engine.majority_filter(stack.data, int(passes), **options)
    else:
        raise ValueError(f"unknown mask tool {step!r}")
    emit(progress, "write", None, "writing")
    write_mask_raster(out, result, stack.profile, stack.names, overwrite=True)
    return {"changed": int((result != stack.data).sum()), "bands": int(result.shape[0])}


def summary_rows(*, src: str, progress: Progress) -> dict[str, Any]:
    """Per band of a mask raster: [band, name, % of each class..., cloud-or-shadow % observed]."""
    import numpy as np

    from tsmask_qgis.classes import CLASSES, CLOUD, NO_OBSERVATION, SHADOW
    from tsmask_qgis.writers import read_mask_raster

    stack = read_mask_raster(src)
    rows: list[list[Any]] = []
    n = stack.data.shape[0]
    for i in range(n):
        band = stack.data[i]
        total = band.size or 1
        counts = {c.value: int(np.count_nonzero(band == c.value)) for c in CLASSES}
        observed = total - counts[NO_OBSERVATION.value]
        bad = counts[CLOUD.value] + counts[SHADOW.value]
        row: list[Any] = [i + 1, str(stack.names[i])]
        row += [100.0 * counts[c.value] / total for c in CLASSES]
        row.append(100.0 * bad / observed if observed else None)
        rows.append(row)
        emit(progress, "read", (i + 1) / n, f"band {i + 1} of {n}")
    return {"rows": rows}


def _same_grid(a: Any, b: Any) -> bool:
    """Same size and pixel-centre coordinates (a CRS difference is caught by compare)."""
    import numpy as np

    if a.shape[-2:] != b.shape[-2:]:
        return False
    for dim in ("x", "y"):
        if dim in a.coords and dim in b.coords and not np.allclose(a[dim].values, b[dim].values):
            return False
    return True


def compare_masks(
    *,
    mask_path: str,
    mask_var: str | None,
    ref_path: str,
    ref_var: str | None,
    kind: str,
    resample: bool,
    out: str,
    progress: Progress,
) -> dict[str, Any]:
    """Accuracy of a mask against a reference; the HTML report written atomically to ``out``."""
    from tsmask_qgis.evaluate import compare, load_mask, match_grid
    from tsmask_qgis.writers import atomic_output

    info: list[str] = []
    mask = load_mask(mask_path, kind="tsmask", variable=mask_var)
    ref = load_mask(ref_path, kind=kind, variable=ref_var)
    info.append(
        f"mask: {mask.shape[0]} dates of {mask.shape[2]} x {mask.shape[1]} pixels; "
        f"reference: {ref.shape[0]} dates of {ref.shape[2]} x {ref.shape[1]} pixels"
    )
    emit(progress, "read", 1 / 3, info[-1])
    if resample and not _same_grid(mask, ref):
        emit(progress, "read", None, "Resampling the reference onto the mask's grid (mode)…")
        info.append("Resampling the reference onto the mask's grid (mode)…")
        ref = match_grid(ref, mask)
    evaluation = compare(
        mask,
        ref,
        reference_kind=kind,
        mask_name=Path(mask_path).name,
        reference_name=Path(ref_path).name,
    )
    emit(progress, "write", 2 / 3, "writing the report")
    with atomic_output(out, overwrite=True) as tmp:
        Path(tmp).write_text(evaluation.to_html(), encoding="utf-8")
    return {
        "info": info,
        "overall_accuracy": _plain(evaluation.overall_accuracy),
        "f1": _plain(evaluation.f1),
        "dates": [str(d) for d in evaluation.dates],
        "unmatched_mask_dates": [str(d) for d in evaluation.unmatched_mask_dates],
        "unmatched_reference_dates": [str(d) for d in evaluation.unmatched_reference_dates],
    }


def make_products(
    *,
    input: str,
    mask: str,
    out: str,
    options: dict[str, Any],
    workers: int | None = None,
    runner: str = "auto",
    max_memory: int | None = None,
    overwrite: bool = True,
    progress: Progress,
) -> dict[str, Any]:
    """Composites, a masked stack or an index series of a stack and its mask
    (:func:`tsmask_qgis.pipeline.make_products`); the result's plain form."""
    from tsmask_qgis import pipeline

    result = pipeline.make_products(
        input, mask, out, pipeline.ProductOptions(**options), overwrite=overwrite,
        workers=workers, runner=runner, max_memory=max_memory, progress=progress,
    )  # fmt: skip
    return dict(result.to_plain())


#: The jobs a child runs, by name.
JOBS: dict[str, Callable[..., Any]] = {
    "pipeline": run_pipeline,
    "estimate": estimate,
    "mask_tool": mask_tool,
    "summary": summary_rows,
    "compare": compare_masks,
    "products": make_products,
}
