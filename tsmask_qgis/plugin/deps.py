"""Which Python packages the plugin's features need, and which the worker lacks.

The packages are looked for **in the worker interpreter** (the plain Python the
jobs run in, :mod:`tsmask_qgis.jobs.interpreter`), by a probe in a subprocess:
nothing is imported into the QGIS process, and QGIS's own Python may have none
of them. The fix offered is *Set up tsmask* (:mod:`tsmask_qgis.plugin.engine_env`),
never a ``pip install`` into QGIS's Python. This module does not import ``qgis``.
"""

from __future__ import annotations

from dataclasses import dataclass

from tsmask_qgis.errors import DependencyError
from tsmask_qgis.jobs import interpreter

__all__ = [
    "FEATURES",
    "PACKAGES",
    "Dependency",
    "missing",
    "missing_message",
    "worker_python",
]


@dataclass(frozen=True)
class Dependency:
    """A Python package: the module to look for and the distribution that provides it."""

    module: str
    requirement: str


PACKAGES: dict[str, Dependency] = {
    d.module: d
    for d in (
        Dependency("numpy", "numpy"),
        Dependency("numba", "numba"),
        Dependency("xarray", "xarray"),
        Dependency("dask", "dask"),
        Dependency("rasterio", "rasterio"),
        Dependency("netCDF4", "netCDF4"),
        Dependency("pystac_client", "pystac-client"),
        Dependency("odc.stac", "odc-stac"),
        Dependency("psutil", "psutil"),
    )
}

_RASTER = ("numpy", "rasterio", "xarray")
_DETECT = (*_RASTER, "numba", "dask", "netCDF4", "psutil")

#: The modules each feature needs (in the worker interpreter).
FEATURES: dict[str, tuple[str, ...]] = {
    "detect_stac": (*_DETECT, "pystac_client", "odc.stac"),
    "detect_local": _DETECT,
    "spatial": (*_RASTER, "numba"),
    "summary": _RASTER,
    "compare": _RASTER,
}


def worker_python() -> str:
    """The worker interpreter, or the reason there is none (its error text)."""
    try:
        return interpreter.python_executable()
    except DependencyError as exc:
        return str(exc)


def missing(feature: str | None = None) -> list[Dependency]:
    """The packages a feature needs (all features when ``None``) that the worker lacks."""
    if feature is None:
        modules = tuple(dict.fromkeys(m for ms in FEATURES.values() for m in ms))
    else:
        modules = FEATURES[feature]
    try:
        _, lacking = interpreter.missing_modules(tuple(modules))
    except DependencyError:
        lacking = tuple(modules)
    return [PACKAGES[m] for m in modules if m in lacking]


def missing_message(deps: list[Dependency]) -> str:
    """One clear message naming what is missing and what fixes it."""
    names = ", ".join(d.requirement for d in deps)
    return (
        f"tsmask's worker Python ({worker_python()}) lacks {names}. Click “Set up tsmask” "
        "to install them into the plugin's own environment (nothing goes into QGIS's "
        "Python), or choose a Python that has them under Advanced in the tsmask dialog."
    )
