"""Which Python packages the plugin needs, which are missing, and how to install them.

Only :func:`importlib.util.find_spec` is used, so checking never imports a
package (numba in particular must never be imported into the QGIS process).
This module does not import ``qgis``.
"""

from __future__ import annotations

import importlib.util
import shlex
import sys
from dataclasses import dataclass

__all__ = [
    "FEATURES",
    "PACKAGES",
    "Dependency",
    "install_command",
    "missing",
    "missing_message",
    "python_for_pip",
]


@dataclass(frozen=True)
class Dependency:
    """A Python package: the module to look for and the requirement to install."""

    module: str
    requirement: str


PACKAGES: dict[str, Dependency] = {
    d.module: d
    for d in (
        Dependency("numpy", "numpy>=1.24,<2"),
        Dependency("numba", "numba>=0.58"),
        Dependency("xarray", "xarray>=2024.1"),
        Dependency("dask", "dask[array]>=2024.1"),
        Dependency("rasterio", "rasterio>=1.3"),
        Dependency("netCDF4", "netCDF4>=1.6"),
        Dependency("pystac_client", "pystac-client>=0.7"),
        Dependency("odc.stac", "odc-stac>=0.3.9"),
        Dependency("psutil", "psutil>=5.9"),
    )
}

_RASTER = ("numpy", "rasterio", "xarray")
_DETECT = (*_RASTER, "numba", "dask", "netCDF4", "psutil")

#: The modules each feature needs (numba only in the worker processes).
FEATURES: dict[str, tuple[str, ...]] = {
    "detect_stac": (*_DETECT, "pystac_client", "odc.stac"),
    "detect_local": _DETECT,
    "spatial": (*_RASTER, "numba"),
    "summary": _RASTER,
    "compare": _RASTER,
}


def _present(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def missing(feature: str | None = None) -> list[Dependency]:
    """The packages a feature needs (all features when ``None``) that cannot be found."""
    if feature is None:
        modules = list(dict.fromkeys(m for ms in FEATURES.values() for m in ms))
    else:
        modules = list(FEATURES[feature])
    return [PACKAGES[m] for m in modules if not _present(m)]


def python_for_pip() -> str:
    """The Python interpreter that QGIS runs, as a path pip can be run with.

    Inside the QGIS desktop ``sys.executable`` is the QGIS binary, so this asks
    the engine's resolver when it can be imported and otherwise looks next to
    the standard library for ``python3.X``.
    """
    try:
        from tsmask_qgis.engine import python_executable  # type: ignore[attr-defined]

        return str(python_executable())
    except Exception:  # the engine itself may be what cannot be imported  # nosec B110: deliberate fallback
        pass
    import os

    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    override = os.environ.get("TSMASK_PYTHON")
    candidates = [override] if override else []
    if sys.prefix != sys.base_prefix:  # a virtual environment: its own python has its packages
        candidates += [
            os.path.join(sys.prefix, "bin", f"python{version}"),
            os.path.join(sys.prefix, "bin", "python3"),
            os.path.join(sys.prefix, "Scripts", "python.exe"),
        ]
    candidates += [
        os.path.join(sys.base_exec_prefix, "bin", f"python{version}"),
        os.path.join(sys.base_exec_prefix, "python.exe"),
    ]
    if os.path.basename(sys.executable).lower().startswith("python"):
        candidates.append(sys.executable)
    for path in candidates:
        if path and os.path.isfile(path) and os.access(path, os.X_OK):
            return path
    return f"python{version}"


def install_command(deps: list[Dependency]) -> str:
    """The exact shell command that installs ``deps`` for the Python QGIS runs."""
    reqs = " ".join(shlex.quote(d.requirement) for d in deps)
    return f"{shlex.quote(python_for_pip())} -m pip install --user {reqs}"


def missing_message(deps: list[Dependency]) -> str:
    """One clear message naming what is missing and the command that fixes it."""
    names = ", ".join(d.requirement.split(">")[0].split("=")[0].split("[")[0] for d in deps)
    return (
        f"tsmask needs Python packages that QGIS's Python cannot find: {names}. "
        f"Install them, then restart QGIS:\n{install_command(deps)}"
    )
