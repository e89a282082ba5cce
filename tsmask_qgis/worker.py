"""Run a named job in a plain Python child process, with progress, cancel and errors.

Why: the QGIS desktop executable loads Debian's GDAL, netCDF and PROJ
libraries into the global symbol scope, so binary wheels imported into QGIS
(netCDF4, rasterio, pyproj, numba, ...) resolve their C symbols to Debian's
copies — ``import netCDF4`` segfaults there, pyproj crashes at exit. The plugin
therefore imports none of them: every piece of data work is a job run by
:func:`run` in a child interpreter (``python -m tsmask_qgis.worker``).

Protocol: the parent writes one length-prefixed pickle ``{"job", "kwargs"}``
on the child's stdin and keeps stdin open (its end-of-file tells the child the
parent is gone). The child answers on its original stdout (its own fd 1 is
redirected to stderr, so nothing a library prints can corrupt the channel)
with lines ``TSMASK <base64 pickle>``: ``("progress", step, fraction, message, overall)``,
then one of ``("result", value)``, ``("error", info)`` or ``("cancelled",)``.
Results must be plain values (builtins, ``datetime``, ``pathlib``): the parent
unpickles with an allow-list, so a stray numpy scalar fails loudly instead of
importing numpy into QGIS.

Cancel: the parent's progress callback raising
:class:`~tsmask_qgis.progress.Cancelled` (it is called at every report and at
least every 0.2 s) makes the parent send SIGTERM; the child turns it into
``Cancelled`` at its next progress report, inside ``pipeline.run``, so the
atomic writers remove their temporary files. After a grace period the whole
process group is killed and leftover temporary files are removed.

This module imports no ``qgis`` and, in the parent, nothing beyond the
standard library (plus the engine's interpreter resolver).
"""

from __future__ import annotations

import base64
import importlib
import io
import os
import pickle  # nosec B403: pickle only between this process and the worker children it started
import selectors
import signal
import subprocess  # nosec B404: runs only our own Python interpreter, with a fixed argument list
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from tsmask_qgis import errors
from tsmask_qgis.progress import HEARTBEAT, Cancelled, Progress, Report

__all__ = [
    "BANNED_MODULES",
    "JOBS",
    "WorkerCrashed",
    "active_workers",
    "run",
    "worker_python",
]

#: Jobs a child runs: name -> "module:function". The function takes keyword
#: arguments and ``progress`` and returns plain values.
JOBS: dict[str, str] = {
    "pipeline": "tsmask_qgis.plugin.worker_jobs:run_pipeline",
    "estimate": "tsmask_qgis.plugin.worker_jobs:estimate",
    "mask_tool": "tsmask_qgis.plugin.worker_jobs:mask_tool",
    "summary": "tsmask_qgis.plugin.worker_jobs:summary_rows",
    "compare": "tsmask_qgis.plugin.worker_jobs:compare_masks",
    "sources": "tsmask_qgis.plugin.worker_jobs:sources",
    "echo": "tsmask_qgis.plugin.worker_jobs:echo",
    "modules": "tsmask_qgis.plugin.worker_jobs:loaded_modules",
}

#: Modules that must never be imported into the QGIS process (binary wheels whose
#: C symbols would resolve to QGIS's own GDAL/netCDF/PROJ, or heavy runtimes).
BANNED_MODULES: tuple[str, ...] = (
    "numba",
    "netCDF4",
    "rasterio",
    "pyproj",
    "odc",
    "pystac_client",
    "distributed",
    "matplotlib",
)

_MARK = b"TSMASK "
#: Prefix of the atomic writers' temporary files (tsmask_qgis.writers._atomic).
WRITER_TMP_PREFIX = ".tsmask-tmp-"
#: Prefix of the engine's shared-memory segments (tsmask_qgis.engine._procpool).
SHM_PREFIX = "tsmask_"
_POLL = 0.2

_ACTIVE: dict[int, subprocess.Popen[bytes]] = {}
_ACTIVE_LOCK = threading.Lock()


class WorkerCrashed(errors.WorkerError):
    """The child process died without answering (killed, crashed, bad interpreter)."""


def active_workers() -> list[int]:
    """Process ids of the child processes running now."""
    with _ACTIVE_LOCK:
        return [pid for pid, p in _ACTIVE.items() if p.poll() is None]


def worker_python() -> str:
    """The plain Python interpreter for the child (never the QGIS binary)."""
    from tsmask_qgis.jobs.interpreter import python_executable

    return str(python_executable())


def _package_root() -> str:
    return str(Path(__file__).resolve().parent.parent)


def _child_env() -> dict[str, str]:
    env = dict(os.environ)
    root = _package_root()
    parts = [root, *[p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p and p != root]]
    env["PYTHONPATH"] = os.pathsep.join(parts)
    env.pop("PYTHONHOME", None)  # QGIS's own, if any: the child is another interpreter
    env["PYTHONUNBUFFERED"] = "1"
    return env


_SAFE: dict[str, frozenset[str]] = {
    "builtins": frozenset(
        {"tuple", "list", "dict", "set", "frozenset", "str", "bytes", "int", "float", "bool"}
    ),
    "datetime": frozenset({"date", "datetime", "time", "timedelta", "timezone"}),
    "pathlib": frozenset({"Path", "PosixPath", "WindowsPath", "PurePosixPath", "PureWindowsPath"}),
    # Python 3.13 defines the pathlib classes in pathlib._local
    "pathlib._local": frozenset(
        {"Path", "PosixPath", "WindowsPath", "PurePosixPath", "PureWindowsPath"}
    ),
    "collections": frozenset({"OrderedDict"}),
    "copyreg": frozenset({"_reconstructor"}),
}


class _PlainUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if name in _SAFE.get(module, ()):
            return super().find_class(module, name)
        raise pickle.UnpicklingError(
            f"the worker returned a {module}.{name}: jobs must return plain values"
        )


def _loads_plain(data: bytes) -> Any:
    return _PlainUnpickler(io.BytesIO(data)).load()


def _remove_leftovers(pid: int, temp_globs: Iterable[str | os.PathLike[str]]) -> None:
    shm = Path("/dev/shm")  # nosec B108: looks for the shared-memory segments of a killed child, to remove them
    if shm.is_dir():
        for seg in shm.glob(f"{SHM_PREFIX}{pid}_*"):
            try:
                seg.unlink()
            except OSError:
                pass
    for pattern in temp_globs:
        pattern = Path(pattern)
        try:
            matches = list(pattern.parent.glob(pattern.name))
        except OSError:
            continue
        for p in matches:
            try:
                if p.is_dir() and not p.is_symlink():
                    import shutil

                    shutil.rmtree(p, ignore_errors=True)
                else:
                    p.unlink()
            except OSError:
                pass


def writer_temporaries(*folders: str | os.PathLike[str]) -> list[str]:
    """Glob patterns of the atomic writers' temporary files in ``folders`` (and below one level)."""
    out = []
    for folder in folders:
        out.append(str(Path(folder) / f"{WRITER_TMP_PREFIX}*"))
        out.append(str(Path(folder) / "*" / f"{WRITER_TMP_PREFIX}*"))
    return out


def _stop(proc: subprocess.Popen[bytes], grace: float, temp_globs: Sequence[Any]) -> None:
    """SIGTERM the child (it cancels cooperatively); SIGKILL its group after ``grace`` s."""
    try:
        if proc.stdin is not None:
            proc.stdin.close()
    except OSError:
        pass
    if proc.poll() is None:
        try:
            proc.send_signal(signal.SIGTERM)
        except ProcessLookupError:
            pass
    try:
        proc.wait(timeout=grace)
        killed = False
    except subprocess.TimeoutExpired:
        killed = True
    if killed:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        proc.wait()
        _remove_leftovers(proc.pid, temp_globs)


def run(
    job: str,
    kwargs: dict[str, Any] | None = None,
    *,
    progress: Progress | None = None,
    temp_globs: Sequence[str | os.PathLike[str]] = (),
    grace: float = 4.0,
    python: str | None = None,
) -> Any:
    """Run the job ``job`` (a name in :data:`JOBS`) with ``kwargs`` in a child process.

    ``progress(report)`` receives the child's :class:`~tsmask_qgis.progress.Report` values on the
    calling thread, and is also called with :data:`~tsmask_qgis.progress.HEARTBEAT` at least
    every 0.2 s so it can raise :class:`Cancelled`: the child is then stopped (see
    the module docstring), ``temp_globs`` (glob patterns of temporary files)
    are removed if it had to be killed, and ``Cancelled`` is re-raised.
    Returns the job's plain result; raises the job's error rebuilt from
    :mod:`tsmask_qgis.errors` (a foreign exception as
    :class:`~tsmask_qgis.errors.InternalError` naming its type) for an error in the job and
    :class:`WorkerCrashed` when the child dies without answering.
    """
    if job not in JOBS:
        raise ValueError(f"unknown worker job {job!r}; known: {', '.join(JOBS)}")
    report = progress or (lambda r: None)
    payload = pickle.dumps({"job": job, "kwargs": dict(kwargs or {})}, protocol=4)
    exe = python or worker_python()
    errlog = tempfile.TemporaryFile()
    try:
        proc = subprocess.Popen(  # nosec B603: argv is our own interpreter and fixed arguments, no shell
            [exe, "-m", "tsmask_qgis.worker"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=errlog,
            env=_child_env(),
            start_new_session=True,
            close_fds=True,
        )
    except OSError as exc:
        errlog.close()
        raise WorkerCrashed(
            f"cannot start the worker interpreter {exe!r}: {exc}. Set TSMASK_PYTHON to a "
            "Python with the tsmask dependencies."
        ) from exc
    with _ACTIVE_LOCK:
        _ACTIVE[proc.pid] = proc
    outcome: tuple[Any, ...] | None = None
    try:
        assert proc.stdin is not None and proc.stdout is not None  # nosec B101: internal invariant (type narrowing), not a check of input
        try:
            proc.stdin.write(len(payload).to_bytes(8, "big") + payload)
            proc.stdin.flush()
        except BrokenPipeError:
            pass  # the child died at start: reported below with its stderr
        fd = proc.stdout.fileno()
        buffer = b""
        with selectors.DefaultSelector() as sel:
            sel.register(fd, selectors.EVENT_READ)
            eof = False
            while not eof:
                if not sel.select(_POLL):
                    report(HEARTBEAT)  # a cancel point while the child is quiet
                    continue
                chunk = os.read(fd, 1 << 16)
                if not chunk:
                    eof = True
                buffer += chunk
                *lines, buffer = buffer.split(b"\n")
                for line in lines:
                    if not line.startswith(_MARK):
                        continue
                    frame = _loads_plain(base64.b64decode(line[len(_MARK) :]))
                    if frame[0] == "progress":
                        report(Report(*frame[1:]))
                    else:
                        outcome = frame
        proc.wait()
    except BaseException:
        _stop(proc, grace, temp_globs)
        raise
    finally:
        with _ACTIVE_LOCK:
            _ACTIVE.pop(proc.pid, None)
        for stream in (proc.stdin, proc.stdout):
            try:
                if stream is not None:
                    stream.close()
            except OSError:
                pass
    try:
        if outcome is None:
            errlog.seek(0)
            tail = errlog.read().decode("utf-8", "replace").strip()[-2000:]
            _remove_leftovers(proc.pid, temp_globs)
            raise WorkerCrashed(
                f"the worker process ended without an answer (exit code {proc.returncode})"
                + (f":\n{tail}" if tail else "")
            )
    finally:
        errlog.close()
    if outcome[0] == "result":
        return outcome[1]
    if outcome[0] == "cancelled":
        raise Cancelled("cancelled by the user")
    raise errors.from_plain(outcome[1])


# ----------------------------------------------------------------------------- child side


def _resolve(name: str) -> Callable[..., Any]:
    module, _, func = JOBS[name].partition(":")
    return getattr(importlib.import_module(module), func)


def _watch_parent(stdin: Any, cancel: threading.Event) -> None:
    """Parent gone (stdin closed): cancel; exit outright if the job ignores it."""
    try:
        while stdin.read(1 << 16):
            pass
    except (OSError, ValueError):
        pass
    cancel.set()
    time.sleep(30.0)
    os._exit(4)


def main() -> int:
    """The child: read the job, run it, answer on the protocol channel."""
    channel = os.fdopen(os.dup(1), "wb", buffering=0)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    lock = threading.Lock()

    def send(frame: tuple[Any, ...]) -> None:
        data = _MARK + base64.b64encode(pickle.dumps(frame, protocol=4)) + b"\n"
        with lock:
            channel.write(data)

    stdin = sys.stdin.buffer
    size = int.from_bytes(stdin.read(8), "big")
    spec = pickle.loads(stdin.read(size))  # nosec B301: the job spec comes over the pipe from the parent that started this worker
    cancel = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: cancel.set())
    threading.Thread(target=_watch_parent, args=(stdin, cancel), daemon=True).start()
    last: dict[str, Any] = {"message": None, "time": 0.0}

    def progress(r: Report) -> None:
        if cancel.is_set():
            raise Cancelled("cancelled by the user")
        now = time.monotonic()
        if (
            (r.step, r.message) != last["message"]
            or now - float(last["time"] or 0.0) > 0.1
            or r.fraction in (0.0, 1.0)
        ):
            last.update(message=(r.step, r.message), time=now)
            send(("progress", r.step, r.fraction, r.message, r.overall))

    try:
        value = _resolve(spec["job"])(**spec["kwargs"], progress=progress)
        send(("result", value))
        return 0
    except Cancelled:
        send(("cancelled",))
        return 3
    except BaseException as exc:  # handed to the parent, with the traceback
        send(("error", errors.plain_error(exc, traceback.format_exc())))
        return 1
    finally:
        sys.stderr.flush()


if __name__ == "__main__":
    sys.exit(main())
