"""What this QGIS and the worker Python lack for each tsmask feature, and how to fix it.

The data work runs in a worker Python (:mod:`tsmask_qgis.jobs.interpreter`), not in
QGIS's process, so the packages are looked for *there*: one small standard-library
probe run by the worker Python reports, per package, whether it is found and its
installed version (``importlib.util.find_spec`` and ``importlib.metadata``: nothing is
imported, numba least of all). A package that is missing or older than its minimum
disables the features that need it; a QGIS older than :data:`QGIS_MINIMUM` disables
them all. :func:`check` gathers it into one :class:`Check` whose :attr:`Check.message`
says, in one message, what is missing and the exact command that fixes it.

This module does not import ``qgis`` (the plugin passes the QGIS version in).
"""

from __future__ import annotations

import functools
import json
import os
import re
import shlex
import subprocess  # nosec B404: runs only the worker Python, with a fixed argument list
import sys
from dataclasses import dataclass, field

__all__ = [
    "FEATURES",
    "FEATURE_NAMES",
    "PACKAGES",
    "QGIS_MINIMUM",
    "Check",
    "Dependency",
    "check",
    "install_command",
    "probe_worker",
    "python_for_pip",
]

#: The oldest QGIS tsmask runs on (3.22.0).
QGIS_MINIMUM = (32200, "3.22")
QGIS_DOWNLOAD = "https://qgis.org/download/"


@dataclass(frozen=True)
class Dependency:
    """A Python package: the module to look for, its distribution and minimum version."""

    module: str
    dist: str
    minimum: str
    extra: str = ""
    #: an upper bound for the install command only (never a reason to disable)
    below: str = ""

    @property
    def requirement(self) -> str:
        """What ``pip install`` is given."""
        extra = f"[{self.extra}]" if self.extra else ""
        upper = f",<{self.below}" if self.below else ""
        return f"{self.dist}{extra}>={self.minimum}{upper}"


# numpy 2 breaks Debian 12's GDAL bindings (QGIS's process); Python 3.13 has no numpy 1.
_NUMPY_BELOW = "2" if sys.version_info < (3, 13) else ""

PACKAGES: dict[str, Dependency] = {
    d.module: d
    for d in (
        Dependency("numpy", "numpy", "1.24", below=_NUMPY_BELOW),
        Dependency("numba", "numba", "0.58"),
        Dependency("xarray", "xarray", "2024.1"),
        Dependency("dask", "dask", "2024.1", extra="array"),
        Dependency("rasterio", "rasterio", "1.3"),
        Dependency("netCDF4", "netCDF4", "1.6"),
        Dependency("pystac_client", "pystac-client", "0.7"),
        Dependency("odc.stac", "odc-stac", "0.3.9"),
        Dependency("psutil", "psutil", "5.9"),
    )
}

_RASTER = ("numpy", "rasterio", "xarray")
_DETECT = (*_RASTER, "numba", "dask", "netCDF4", "psutil")

#: The modules each feature needs in the worker Python.
FEATURES: dict[str, tuple[str, ...]] = {
    "detect_stac": (*_DETECT, "pystac_client", "odc.stac"),
    "detect_local": _DETECT,
    "spatial": (*_RASTER, "numba"),
    "summary": _RASTER,
    "compare": _RASTER,
}
FEATURE_NAMES: dict[str, str] = {
    "detect_stac": "detection from STAC catalogues",
    "detect_local": "detection from local files",
    "spatial": "the spatial filters",
    "summary": "per-date summaries",
    "compare": "mask comparison",
}

_PROBE = """
import importlib.metadata as md, importlib.util as u, json, sys
out = {}
for module, dist in json.loads(sys.argv[1]):
    try:
        found = u.find_spec(module) is not None
    except (ImportError, ValueError):
        found = False
    version = None
    if found:
        try:
            version = md.version(dist)
        except md.PackageNotFoundError:
            version = ""
    out[module] = version
print(json.dumps(out))
"""


def _release(version: str) -> tuple[int, ...]:
    """The leading numbers of a version: '1.7.5.1.post1' -> (1, 7, 5, 1)."""
    match = re.match(r"\d+(\.\d+)*", version)
    return tuple(int(p) for p in match.group(0).split(".")) if match else ()


def _too_old(dep: Dependency, version: str | None) -> bool:
    """Missing (None), or a known version older than the minimum ('' is unknown: fine)."""
    if version is None:
        return True
    return bool(version) and _release(version) < _release(dep.minimum)


def probe_worker(python: str) -> dict[str, str | None]:
    """Per module of :data:`PACKAGES`: its version in ``python`` ('' unknown, None missing).

    Raises ``RuntimeError`` when ``python`` does not run the probe.
    """
    from tsmask_qgis.jobs.client import child_env

    wanted = json.dumps([[d.module, d.dist] for d in PACKAGES.values()])
    try:
        res = subprocess.run(  # nosec B603: the worker Python and a fixed script, no shell
            [python, "-c", _PROBE, wanted],
            capture_output=True,
            text=True,
            timeout=60,
            env=child_env(),
        )
        found = json.loads(res.stdout) if res.returncode == 0 else None
    except (OSError, subprocess.SubprocessError, ValueError) as exc:
        raise RuntimeError(f"the worker Python {python} does not run: {exc}") from exc
    if not isinstance(found, dict):
        raise RuntimeError(f"the worker Python {python} does not run: {res.stderr.strip()[-300:]}")
    return {m: found.get(m) for m in PACKAGES}


@dataclass(frozen=True)
class Check:
    """What cannot run here and why; empty when everything can."""

    python: str
    #: packages missing (version None) or too old, with the version found
    packages: tuple[tuple[Dependency, str | None], ...] = ()
    #: why nothing can run at all (QGIS too old, no worker Python), else ""
    blocker: str = ""
    disabled: frozenset[str] = field(default_factory=frozenset)
    #: this QGIS is older than :data:`QGIS_MINIMUM` (nothing of tsmask is set up in it)
    qgis_too_old: bool = False

    def can_run(self, feature: str) -> bool:
        return feature not in self.disabled

    @property
    def message(self) -> str | None:
        """One message: what is missing, how to fix it, what is disabled meanwhile."""
        if not self.disabled:
            return None
        parts = [self.blocker] if self.blocker else []
        if self.packages:
            described = [
                f"{d.dist} (missing)" if v is None else f"{d.dist} {v} (needs {d.minimum} or newer)"
                for d, v in self.packages
            ]
            parts.append(
                f"the worker Python {self.python} lacks {', '.join(described)}. Click "
                "“Set up tsmask” to install them into the plugin's own environment "
                "(nothing goes into QGIS's Python), or choose a Python that has them "
                "under Advanced in the tsmask dialog, or install them there:\n"
                f"{install_command([d for d, _ in self.packages])}"
            )
        off = [FEATURE_NAMES[f] for f in FEATURES if f in self.disabled]
        still = [FEATURE_NAMES[f] for f in FEATURES if f not in self.disabled]
        tail = f"\nDisabled until then: {', '.join(off)}."
        if still:
            tail += f" Still available: {', '.join(still)}."
        return "tsmask: " + "; ".join(parts) + tail


def check(qgis_version: tuple[int, str]) -> Check:
    """What this QGIS (``(Qgis.QGIS_VERSION_INT, Qgis.QGIS_VERSION)``) and worker lack."""
    blocker = ""
    if qgis_version[0] < QGIS_MINIMUM[0]:
        blocker = (
            f"QGIS {qgis_version[1]} is older than {QGIS_MINIMUM[1]}, the oldest QGIS tsmask "
            f"supports: update QGIS ({QGIS_DOWNLOAD})"
        )
    from tsmask_qgis.errors import DependencyError
    from tsmask_qgis.jobs.interpreter import python_executable

    try:
        python = str(python_executable())
        versions = _probe_cached(python, os.environ.get("PYTHONPATH", ""))
    except (DependencyError, RuntimeError) as exc:
        reason = "; ".join(p for p in (blocker, str(exc)) if p)
        return Check(python_for_pip(), (), reason, frozenset(FEATURES), bool(blocker))
    bad = tuple((d, versions[m]) for m, d in PACKAGES.items() if _too_old(d, versions[m]))
    bad_modules = {d.module for d, _ in bad}
    disabled = frozenset(
        f for f, modules in FEATURES.items() if blocker or bad_modules & set(modules)
    )
    return Check(python, bad, blocker, disabled, bool(blocker))


@functools.lru_cache(maxsize=4)
def _probe_cached(python: str, _pythonpath: str) -> dict[str, str | None]:
    return probe_worker(python)


def python_for_pip() -> str:
    """The worker Python, as a path pip can be run with.

    Inside the QGIS desktop ``sys.executable`` is the QGIS binary, so this asks
    the one interpreter probe (:mod:`tsmask_qgis.jobs.interpreter`).
    """
    from tsmask_qgis.jobs.interpreter import python_executable

    try:
        return str(python_executable())
    except Exception:  # no interpreter of the right version: name the usual one
        return f"python{sys.version_info.major}.{sys.version_info.minor}"


def install_command(deps: list[Dependency]) -> str:
    """The exact shell command that installs ``deps`` for the worker Python."""
    reqs = " ".join(shlex.quote(d.requirement) for d in deps)
    return f"{shlex.quote(python_for_pip())} -m pip install --user {reqs}"
