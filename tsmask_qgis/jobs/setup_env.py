"""*Set up tsmask*: a virtual environment the plugin owns, with the engine's packages.

Standard library only. Two halves:

- :func:`main` (``python -m tsmask_qgis.jobs.setup_env --venv DIR ...``) runs in a
  **child process** of QGIS, started from the plain Python QGIS runs
  (:func:`tsmask_qgis.jobs.interpreter.base_python`). It makes the environment in
  ``DIR.partial`` (``python -m venv``, pip from ``ensurepip``), installs the pinned
  :data:`REQUIREMENTS` with pip (``--no-index --find-links WHEELS`` when a folder of
  wheels is given: offline), compiles the kernels in it
  (:mod:`tsmask_qgis.engine.warm`, :mod:`tsmask_qgis.products.warm`), checks it can import every engine module, and
  only then moves it to ``DIR``: a failed or cancelled set-up leaves no
  half-made environment. Each step is a JSON line on stdout.
- :func:`run_setup` (the QGIS side, on a task's thread) starts that child, relays its
  lines as :class:`~tsmask_qgis.progress.Report` values and, when the progress
  callback raises :class:`~tsmask_qgis.progress.Cancelled`, kills the child's
  process group and removes ``DIR.partial``.

Nothing is ever installed into QGIS's own Python.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import subprocess  # nosec B404: runs our own interpreter, pip and venv, fixed arguments
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tsmask_qgis.errors import DependencyError
from tsmask_qgis.progress import JobProgress, Progress, Report

__all__ = [
    "PLAN",
    "REQUIREMENTS",
    "STAMP",
    "main",
    "missing_venv_hint",
    "ready",
    "run_setup",
]

#: The pinned packages of the worker environment (shipped in the plugin's zip).
REQUIREMENTS = Path(__file__).with_name("engine-requirements.txt")
#: Written into the environment last: its presence means the set-up completed.
STAMP = "tsmask-setup.json"
#: The steps of a set-up (names in :data:`tsmask_qgis.progress.STEPS`).
PLAN = ("venv", "install", "compile")

_ROOT = Path(__file__).resolve().parents[2]


def missing_venv_hint(platform: str | None = None) -> str:
    """What provides ``venv`` and ``ensurepip`` for the Python QGIS runs, per platform."""
    plat = platform or sys.platform
    ver = f"{sys.version_info[0]}.{sys.version_info[1]}"
    if plat.startswith("win"):
        return (
            "On Windows: with the OSGeo4W network installer (osgeo4w-setup.exe, Advanced "
            "Install) add the packages python3-pip and python3-setuptools to your "
            "installation; the standalone QGIS installer's Python includes them (repair or "
            "reinstall QGIS). Then restart QGIS and click Set up tsmask again."
        )
    if plat == "darwin":
        return (
            f"On macOS: install Python {ver} from python.org or Homebrew "
            f"(brew install python@{ver}) and choose it as the worker Python in the tsmask "
            "dialog (Advanced), then click Set up tsmask again."
        )
    return (
        f"On Debian or Ubuntu: sudo apt install python3-venv (on Ubuntu also "
        f"python{ver}-venv); on Fedora: sudo dnf install python3-libs. Then click Set up "
        "tsmask again."
    )


def ready(venv: str | os.PathLike[str]) -> bool:
    """The set-up of ``venv`` completed (its stamp is there)."""
    return (Path(venv) / STAMP).is_file()


# -- the child -----------------------------------------------------------------------


def _say(step: str, fraction: float | None, message: str) -> None:
    print(json.dumps({"step": step, "fraction": fraction, "message": message}), flush=True)


def _venv_python(venv: Path) -> Path:
    return venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


#: Compile every kernel a run may use: the engine's, then the composites'.
_WARM_ALL = (
    "from tsmask_qgis.engine import warm as e; from tsmask_qgis.products import warm as p; "
    "raise SystemExit(e.main() or p.main())"
)


def _stream(cmd: list[str], step: str, expected: int, env: dict[str, str] | None = None) -> None:
    """Run ``cmd``, reporting each output line as a step of ``expected`` lines."""
    proc = subprocess.Popen(  # nosec B603: our interpreter, pip or the warm module; no shell
        cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env
    )
    assert proc.stdout is not None  # nosec B101: type narrowing (stdout=PIPE)
    lines: list[str] = []
    for raw in proc.stdout:
        line = raw.strip()
        if not line:
            continue
        lines.append(line)
        _say(step, min(len(lines) / max(expected, 1), 0.99), line[:160])
    if proc.wait() != 0:
        tail = "\n".join(lines[-15:])
        raise RuntimeError(f"{' '.join(cmd[:4])} … failed (exit code {proc.returncode}):\n{tail}")


def _setup(venv: Path, wheels: Path | None, requirements: Path, system_site: bool) -> None:
    try:
        import ensurepip  # noqa: F401
        import venv as _venv  # noqa: F401
    except ImportError as exc:
        raise DependencyError(
            f"the Python QGIS runs ({sys.executable}) cannot make a virtual environment "
            f"(no {exc.name}). {missing_venv_hint()}"
        ) from None
    partial = venv.with_name(venv.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.parent.mkdir(parents=True, exist_ok=True)
    _say("venv", 0.0, f"creating {venv}")
    cmd = [sys.executable, "-m", "venv", *(["--system-site-packages"] * system_site), str(partial)]
    res = subprocess.run(cmd, capture_output=True, text=True)  # nosec B603: fixed arguments
    if res.returncode != 0:
        text = (res.stderr or res.stdout).strip()[-800:]
        hint = missing_venv_hint() if "ensurepip" in text else ""
        raise DependencyError(f"python -m venv failed: {text} {hint}".strip())
    _say("venv", 1.0, "environment created")
    python = _venv_python(partial)
    source = ["--no-index", "--find-links", str(wheels)] if wheels else []
    where = f"from {wheels} (offline)" if wheels else "from the Python Package Index"
    _say("install", 0.0, f"installing the pinned packages {where}")
    n_wheels = len(list(wheels.glob("*.whl"))) if wheels else 80
    pip = [str(python), "-m", "pip", "install", "--disable-pip-version-check"]
    _stream(
        [*pip, "--progress-bar", "off", *source, "-r", str(requirements)], "install", 2 * n_wheels
    )
    _say("install", 1.0, "packages installed")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONHOME"}
    env["PYTHONPATH"] = str(_ROOT)
    _say("compile", 0.0, "numba compiles them once, into its cache; runs then load them")
    _stream([str(python), "-c", _WARM_ALL], "compile", 8 + 17, env)
    from tsmask_qgis.jobs.interpreter import ENGINE_MODULES, _probe

    info = _probe(str(python), ENGINE_MODULES)
    if info is None or info[2]:
        lacking = "it does not run" if info is None else "it lacks " + ", ".join(info[2])
        raise DependencyError(f"the new environment is not usable: {lacking}")
    _say("compile", 1.0, "kernels ready")
    (partial / STAMP).write_text(
        json.dumps({"requirements": requirements.read_text(), "wheels": str(wheels or "")})
    )
    old = venv.with_name(venv.name + ".old")
    shutil.rmtree(old, ignore_errors=True)
    if venv.exists():
        venv.rename(old)
    partial.rename(venv)
    shutil.rmtree(old, ignore_errors=True)


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m tsmask_qgis.jobs.setup_env --venv DIR [--wheels DIR] [--system-site-packages]``."""
    parser = argparse.ArgumentParser(prog="python -m tsmask_qgis.jobs.setup_env")
    parser.add_argument("--venv", required=True, type=Path)
    parser.add_argument("--wheels", type=Path)
    parser.add_argument("--requirements", type=Path, default=REQUIREMENTS)
    parser.add_argument("--system-site-packages", action="store_true")
    args = parser.parse_args(argv)
    try:
        _setup(args.venv, args.wheels, args.requirements, args.system_site_packages)
    except Exception as exc:
        shutil.rmtree(args.venv.with_name(args.venv.name + ".partial"), ignore_errors=True)
        print(json.dumps({"error": str(exc), "type": type(exc).__name__}), flush=True)
        return 1
    print(json.dumps({"done": str(_venv_python(args.venv))}), flush=True)
    return 0


# -- the QGIS side -------------------------------------------------------------------


def _kill_group(proc: subprocess.Popen[str]) -> None:
    """Kill the set-up child and what it started (pip, the compiler), then reap it."""
    killpg = getattr(os, "killpg", None)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        if killpg is not None:
            killpg(proc.pid, signal.SIGKILL)
        proc.kill()
    proc.wait()


def run_setup(
    venv: str | os.PathLike[str],
    *,
    python: str,
    wheels: str | os.PathLike[str] | None = None,
    progress: Progress | None = None,
    system_site: bool = False,
) -> str:
    """Set up ``venv`` from ``python`` in a child process; returns the environment's python.

    ``progress`` receives the steps (:data:`PLAN`) with their overall fraction, and is
    called at least every half second so it can raise ``Cancelled``: the child is then
    killed with its process group (pip, the compiler) and ``venv.partial`` removed.
    """
    venv = Path(venv)
    cmd = [python, "-m", "tsmask_qgis.jobs.setup_env", "--venv", str(venv)]
    if wheels:
        cmd += ["--wheels", str(wheels)]
    if system_site:
        cmd.append("--system-site-packages")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONHOME", "PYTHONPATH")}
    env["PYTHONPATH"] = str(_ROOT)
    env["PIP_NO_INPUT"] = "1"
    report = JobProgress(progress, PLAN)
    proc = subprocess.Popen(  # nosec B603: the plain Python QGIS runs, fixed arguments
        cmd,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        stdin=subprocess.DEVNULL,
        text=True,
        env=env,
        cwd=str(_ROOT),
        start_new_session=True,
    )
    lines: list[dict[str, Any]] = []
    lock = threading.Lock()

    def read() -> None:
        assert proc.stdout is not None  # nosec B101: type narrowing (stdout=PIPE)
        for raw in proc.stdout:
            with contextlib.suppress(ValueError):
                item = json.loads(raw)
                if isinstance(item, dict):
                    with lock:
                        lines.append(item)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    outcome: dict[str, Any] = {}
    try:
        while True:
            done = proc.poll() is not None
            reader.join(timeout=0 if done else 0.5)
            with lock:
                batch, lines[:] = list(lines), []
            for item in batch:
                if "step" in item:
                    report(Report(item["step"], item.get("fraction"), item.get("message", "")))
                else:
                    outcome = item
            if done and not reader.is_alive():
                break
            if progress is not None:
                progress(Report("", None))  # a cancel point
    except BaseException:
        _kill_group(proc)
        shutil.rmtree(venv.with_name(venv.name + ".partial"), ignore_errors=True)
        raise
    finally:
        if proc.stdout is not None:
            proc.stdout.close()
    if "done" in outcome:
        return str(outcome["done"])
    if outcome.get("type") == "DependencyError":
        raise DependencyError(str(outcome["error"]))
    raise RuntimeError(
        outcome.get("error") or f"the set-up ended without an answer (exit code {proc.returncode})"
    )


if __name__ == "__main__":
    raise SystemExit(main())
