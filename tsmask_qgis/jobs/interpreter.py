"""The one interpreter probe: which plain Python runs tsmask's child processes.

Standard library only (the QGIS process uses it). Both the plugin's job child
and the engine's worker pool start their processes with :func:`python_executable`;
inside the QGIS desktop ``sys.executable`` is the QGIS binary, never a Python.
"""

from __future__ import annotations

import functools
import os
import subprocess  # nosec B404: runs only our own Python interpreter, with a fixed argument list
import sys
from pathlib import Path

from tsmask_qgis.errors import DependencyError

__all__ = ["python_executable"]

_VERSION_SCRIPT = (
    "import sys, importlib.util as u; "
    "print(sys.version_info[0], sys.version_info[1], "
    "int(u.find_spec('numba') is not None and u.find_spec('numpy') is not None))"
)


def _probe(exe: str) -> tuple[int, int, bool] | None:
    """(major, minor, has numba) of an interpreter, or None if it does not run as Python."""
    try:
        res = subprocess.run(  # nosec B603: argv is our own interpreter and fixed arguments, no shell
            [exe, "-c", _VERSION_SCRIPT],
            capture_output=True,
            text=True,
            timeout=30,
            env={k: v for k, v in os.environ.items() if k != "PYTHONHOME"},
        )
    except (OSError, subprocess.SubprocessError):
        return None
    parts = res.stdout.split()
    if res.returncode != 0 or len(parts) != 3 or not all(p.isdigit() for p in parts):
        return None
    return int(parts[0]), int(parts[1]), parts[2] == "1"


def _candidates() -> list[str]:
    """Interpreters to try, in order of preference."""
    ver = f"{sys.version_info[0]}.{sys.version_info[1]}"
    names = [f"python{ver}", "python3", "python"]
    out: list[str] = []
    override = os.environ.get("TSMASK_PYTHON")
    if override:
        out.append(override)
    venvs = []
    if sys.prefix != sys.base_prefix:
        venvs.append(sys.prefix)
    if os.environ.get("VIRTUAL_ENV"):
        venvs.append(os.environ["VIRTUAL_ENV"])
    for prefix in venvs:
        bindir = Path(prefix) / ("Scripts" if os.name == "nt" else "bin")
        out.extend(str(bindir / n) for n in names)
    for prefix in (sys.base_exec_prefix, sys.exec_prefix):
        out.append(str(Path(prefix) / "bin" / f"python{ver}"))
    # sys.executable only when it is evidently a Python (inside QGIS it is the QGIS binary).
    if Path(sys.executable).name.lower().startswith("python"):
        out.append(sys.executable)
    seen: set[str] = set()
    unique = []
    for c in out:
        if c not in seen and (c == override or Path(c).is_file()):
            seen.add(c)
            unique.append(c)
    return unique


@functools.lru_cache(maxsize=8)
def _resolve(_key: tuple[str | None, str | None, str]) -> str:
    want = (sys.version_info[0], sys.version_info[1])
    tried = []
    fallback = None
    override = os.environ.get("TSMASK_PYTHON")
    for exe in _candidates():
        info = _probe(exe)
        tried.append(f"{exe} ({'not runnable' if info is None else f'{info[0]}.{info[1]}'})")
        if info is None or info[:2] != want:
            continue
        if info[2]:
            return exe
        fallback = fallback or exe
    if fallback is not None:
        return fallback
    hint = (
        f" (TSMASK_PYTHON={override} is not a working Python {want[0]}.{want[1]})"
        if override
        else ""
    )
    raise DependencyError(
        f"no Python {want[0]}.{want[1]} interpreter found for the worker processes{hint}; "
        f"tried: {', '.join(tried) or 'nothing'}. Set the TSMASK_PYTHON environment variable "
        "to the python of the environment where tsmask-qgis's dependencies are installed"
    )


def python_executable() -> str:
    """The plain Python interpreter for worker processes.

    In order: ``$TSMASK_PYTHON``, the virtual environment's python, then
    ``{sys.base_exec_prefix}/bin/python3.X``; the first whose version equals
    the running interpreter's (preferring one that can import numba). Never
    the QGIS binary that ``sys.executable`` is inside the desktop application.
    """
    return _resolve(
        (os.environ.get("TSMASK_PYTHON"), os.environ.get("VIRTUAL_ENV"), sys.executable)
    )
