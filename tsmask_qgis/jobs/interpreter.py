"""The one interpreter probe: which plain Python runs tsmask's child processes.

Standard library only (the QGIS process uses it). Both the plugin's job child
and the engine's worker pool start their processes with :func:`python_executable`;
inside the QGIS desktop ``sys.executable`` is the QGIS binary, never a Python.

Which packages an interpreter has is asked **of that interpreter** (a probe in
a subprocess, :func:`missing_modules`), never of the QGIS process. The plugin
may :func:`configure` a chosen interpreter (its settings) and the environment
its *Set up tsmask* made (:mod:`tsmask_qgis.jobs.setup_env`).
"""

from __future__ import annotations

import functools
import os
import subprocess  # nosec B404: runs only our own Python interpreter, with a fixed argument list
import sys
from pathlib import Path

from tsmask_qgis.errors import DependencyError

__all__ = [
    "ENGINE_MODULES",
    "base_python",
    "configure",
    "missing_modules",
    "python_executable",
    "reset",
    "venv_python",
]

#: The modules a worker needs to run detection on a local stack and from a catalogue.
ENGINE_MODULES: tuple[str, ...] = (
    "numpy",
    "numba",
    "xarray",
    "dask",
    "rasterio",
    "netCDF4",
    "psutil",
    "pystac_client",
    "odc.stac",
)

_PROBE_SCRIPT = (
    "import sys, importlib.util as u\n"
    "def has(m):\n"
    "    try:\n"
    "        return u.find_spec(m) is not None\n"
    "    except (ImportError, ValueError):\n"
    "        return False\n"
    "print(sys.version_info[0], sys.version_info[1], "
    "*[m for m in sys.argv[1:] if not has(m)])\n"
)

#: Set by :func:`configure`: the interpreter chosen in the plugin's settings, the
#: plugin's own virtual environment.
_CONFIG: dict[str, str | None] = {"python": None, "venv": None}


def configure(*, python: str | None = None, venv: str | os.PathLike[str] | None = None) -> None:
    """The plugin's choices: ``python`` (its settings; empty: automatic) and ``venv``
    (the environment *Set up tsmask* makes). Clears the cached answers."""
    _CONFIG["python"] = python or None
    _CONFIG["venv"] = os.fspath(venv) if venv else None
    reset()


def reset() -> None:
    """Forget the cached probes (after a set-up installed packages)."""
    _resolve.cache_clear()
    _missing.cache_clear()


def venv_python(venv: str | os.PathLike[str]) -> Path:
    """The python of the virtual environment ``venv`` (``bin/python`` or ``Scripts\\python.exe``)."""
    if os.name == "nt":
        return Path(venv) / "Scripts" / "python.exe"
    return Path(venv) / "bin" / "python"


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k != "PYTHONHOME"}


def _probe(
    exe: str, modules: tuple[str, ...] = ENGINE_MODULES
) -> tuple[int, int, tuple[str, ...]] | None:
    """(major, minor, modules it lacks) of an interpreter, or None if it does not run as Python."""
    try:
        res = subprocess.run(  # nosec B603: argv is our own interpreter and fixed arguments, no shell
            [exe, "-c", _PROBE_SCRIPT, *modules],
            capture_output=True,
            text=True,
            timeout=30,
            env=_env(),
        )
    except (OSError, subprocess.SubprocessError):
        return None
    parts = res.stdout.split()
    if res.returncode != 0 or len(parts) < 2 or not all(p.isdigit() for p in parts[:2]):
        return None
    return int(parts[0]), int(parts[1]), tuple(parts[2:])


def _bin_names() -> list[str]:
    ver = f"{sys.version_info[0]}.{sys.version_info[1]}"
    return [f"python{ver}", "python3", "python"]


def base_python() -> str | None:
    """The plain Python that QGIS runs (its version, its installation), or ``None``.

    Inside QGIS ``sys.executable`` is the QGIS binary; the interpreter with QGIS's
    version lives under ``sys.base_exec_prefix`` (``bin/python3.X`` on Linux and
    macOS, ``python.exe`` or ``apps/Python3X/python.exe`` in OSGeo4W on Windows).
    """
    want = (sys.version_info[0], sys.version_info[1])
    seen: list[str] = []
    for prefix in dict.fromkeys((sys.base_exec_prefix, sys.exec_prefix, sys.base_prefix)):
        root = Path(prefix)
        if os.name == "nt":
            seen += [str(root / "python.exe"), str(root / "python3.exe")]
        else:
            seen += [str(root / "bin" / n) for n in _bin_names()]
    if Path(sys.executable).name.lower().startswith("python"):
        seen.append(sys.executable)
    for exe in dict.fromkeys(seen):
        if Path(exe).is_file():
            info = _probe(exe, ())
            if info is not None and info[:2] == want:
                return exe
    return None


def _candidates() -> list[str]:
    """Interpreters to try, in order of preference."""
    names = _bin_names()
    out: list[str] = []
    explicit = [c for c in (_CONFIG["python"], os.environ.get("TSMASK_PYTHON")) if c]
    out.extend(explicit)
    if _CONFIG["venv"]:
        out.append(str(venv_python(_CONFIG["venv"])))
    venvs = []
    if sys.prefix != sys.base_prefix:
        venvs.append(sys.prefix)
    if os.environ.get("VIRTUAL_ENV"):
        venvs.append(os.environ["VIRTUAL_ENV"])
    for prefix in venvs:
        bindir = Path(prefix) / ("Scripts" if os.name == "nt" else "bin")
        out.extend(str(bindir / n) for n in names)
    for prefix in (sys.base_exec_prefix, sys.exec_prefix):
        out.append(str(Path(prefix) / "bin" / names[0]))
    # sys.executable only when it is evidently a Python (inside QGIS it is the QGIS binary).
    if Path(sys.executable).name.lower().startswith("python"):
        out.append(sys.executable)
    seen: set[str] = set()
    unique = []
    for c in out:
        if c not in seen and (c in explicit or Path(c).is_file()):
            seen.add(c)
            unique.append(c)
    return unique


@functools.lru_cache(maxsize=8)
def _resolve(_key: tuple[str | None, ...]) -> str:
    want = (sys.version_info[0], sys.version_info[1])
    tried = []
    fallback = None
    override = os.environ.get("TSMASK_PYTHON") or _CONFIG["python"]
    explicit = {c for c in (_CONFIG["python"], os.environ.get("TSMASK_PYTHON")) if c}
    for exe in _candidates():
        info = _probe(exe)
        tried.append(f"{exe} ({'not runnable' if info is None else f'{info[0]}.{info[1]}'})")
        if info is None or info[:2] != want:
            continue
        if not info[2] or exe in explicit:  # a chosen interpreter is used as it is
            return exe
        fallback = fallback or exe
    if fallback is not None:
        return fallback
    hint = f" ({override} is not a working Python {want[0]}.{want[1]})" if override else ""
    raise DependencyError(
        f"no Python {want[0]}.{want[1]} interpreter found for the worker processes{hint}; "
        f"tried: {', '.join(tried) or 'nothing'}. Use “Set up tsmask”, or set the "
        "TSMASK_PYTHON environment variable to the python of an environment where "
        "tsmask-qgis's dependencies are installed"
    )


def _key() -> tuple[str | None, ...]:
    return (
        os.environ.get("TSMASK_PYTHON"),
        os.environ.get("VIRTUAL_ENV"),
        sys.executable,
        _CONFIG["python"],
        _CONFIG["venv"],
    )


def python_executable() -> str:
    """The plain Python interpreter for worker processes.

    In order: the interpreter chosen in the plugin's settings, ``$TSMASK_PYTHON``,
    the plugin's own environment, the virtual environment's python, then
    ``{sys.base_exec_prefix}/bin/python3.X``; the first whose version equals
    the running interpreter's; a chosen one (settings, ``$TSMASK_PYTHON``) as it is,
    the others only with every module of :data:`ENGINE_MODULES` (else the first of
    the right version). Never the QGIS binary that
    ``sys.executable`` is inside the desktop application.
    """
    return _resolve(_key())


@functools.lru_cache(maxsize=8)
def _missing(exe: str, modules: tuple[str, ...]) -> tuple[str, ...] | None:
    info = _probe(exe, modules)
    return None if info is None else info[2]


def missing_modules(modules: tuple[str, ...] = ENGINE_MODULES) -> tuple[str, tuple[str, ...]]:
    """(the worker interpreter, the ``modules`` it cannot import), asked of that interpreter.

    Raises :class:`~tsmask_qgis.errors.DependencyError` when no interpreter runs.
    """
    exe = python_executable()
    found = _missing(exe, tuple(modules))
    if found is None:
        raise DependencyError(f"the worker interpreter {exe} does not run")
    return exe, found
