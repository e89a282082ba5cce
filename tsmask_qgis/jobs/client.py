"""The QGIS side of the job protocol: warm child interpreters and :func:`run` (stdlib only).

Why a child at all: the QGIS desktop executable loads Debian's GDAL, netCDF
and PROJ libraries into the global symbol scope, so binary wheels imported
into QGIS (netCDF4, rasterio, pyproj, numba, ...) resolve their C symbols to
Debian's copies — ``import netCDF4`` segfaults there, pyproj crashes at exit.
The plugin therefore imports none of them (:data:`BANNED_MODULES`): every
piece of data work is a job (:mod:`tsmask_qgis.jobs.table`) run in a plain
Python child (:mod:`tsmask_qgis.jobs.child`), with plain values in and out
(:mod:`tsmask_qgis.jobs.protocol`).

A :class:`Pool` keeps its children **warm**: the first job starts one (about a
second of interpreter start-up and imports, plus loading the kernels), later
jobs reuse it with everything loaded. A job runs alone in its child; a job
that starts while the others are busy (an Estimate during a Run, two
Processing algorithms at once) gets a child of its own, and when they finish
at most ``keep_idle`` idle children are kept (the most recently used), the
others are stopped. :func:`shutdown` stops them all (the plugin calls it when
QGIS quits and when the plugin is unloaded); a child whose parent dies sees
end of file on its stdin and ends itself, with its worker processes.

Cancel: :func:`run`'s progress callback raising
:class:`~tsmask_qgis.progress.Cancelled` (it is called at every report and
at least every :data:`POLL` seconds) sends a cancel message; the child
stops the job at its next progress report, inside the job, so the atomic
writers remove their temporary files, and stays warm for the next job. A
child that does not answer within ``grace`` seconds is killed with its
process group, and its temporary files (the ``temp_globs`` of the job,
:func:`tsmask_qgis.tempfiles.temp_patterns`) and shared-memory segments
(:data:`tsmask_qgis.tempfiles.SHM_PREFIX` + pid) are removed; the next job
starts a fresh child.
"""

from __future__ import annotations

import atexit
import contextlib
import glob
import itertools
import os
import pickle  # nosec B403: pickle only with the child processes this module starts
import selectors
import shutil
import signal
import subprocess  # nosec B404: runs only our own Python interpreter, with a fixed argument list
import tempfile
import threading
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from tsmask_qgis import errors
from tsmask_qgis.jobs.protocol import BANNED_MODULES, FrameReader, ProtocolError, dump_frame
from tsmask_qgis.progress import HEARTBEAT, Cancelled, Progress, Report
from tsmask_qgis.tempfiles import SHM_PREFIX

__all__ = [
    "BANNED_MODULES",
    "GRACE",
    "POLL",
    "Child",
    "Pool",
    "WorkerCrashed",
    "busy",
    "child_env",
    "default_pool",
    "pids",
    "run",
    "shutdown",
]

#: Seconds a cancelled job may take to stop before its child is killed.
GRACE = 4.0
#: The progress callback is called (with a heartbeat) at least this often.
POLL = 0.2
#: Seconds an idle child may take to exit when stopped before it is killed.
STOP_TIMEOUT = 3.0


class WorkerCrashed(errors.WorkerError):
    """The child process died without answering (killed, crashed, bad interpreter)."""


def _package_root() -> str:
    return str(Path(__file__).resolve().parents[2])


def child_env() -> dict[str, str]:
    """The environment a worker Python is started with (the package on its path)."""
    env = dict(os.environ)
    root = _package_root()
    parts = [root, *[p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p and p != root]]
    env["PYTHONPATH"] = os.pathsep.join(parts)
    env.pop("PYTHONHOME", None)  # QGIS's own, if any: the child is another interpreter
    env["PYTHONUNBUFFERED"] = "1"
    return env


def _group_pids(pgid: int) -> list[int]:
    """The processes of process group ``pgid`` (Linux ``/proc``; else just ``pgid``)."""
    found = [pgid]
    with contextlib.suppress(OSError):
        for entry in os.scandir("/proc"):
            if not entry.name.isdigit():
                continue
            with contextlib.suppress(OSError, ValueError, IndexError):
                stat = Path(entry.path, "stat").read_text()
                fields = stat[stat.rindex(")") + 2 :].split()
                if int(fields[2]) == pgid and int(entry.name) != pgid:
                    found.append(int(entry.name))
    return found


def _remove(paths: Iterable[Path]) -> None:
    for p in paths:
        with contextlib.suppress(OSError):
            if p.is_dir() and not p.is_symlink():
                shutil.rmtree(p, ignore_errors=True)
            else:
                p.unlink()


def remove_leftovers(pids: Iterable[int], temp_globs: Iterable[str | os.PathLike[str]]) -> None:
    """Remove the shared-memory segments of ``pids`` and the files matching ``temp_globs``."""
    shm = Path("/dev/shm")  # nosec B108: looks for a killed child's shared-memory segments, to remove them
    if shm.is_dir():
        for pid in pids:
            _remove(shm.glob(f"{SHM_PREFIX}{pid}_*"))
    for pattern in temp_globs:
        _remove([Path(p) for p in glob.glob(os.fspath(pattern))])


class Child:
    """One child interpreter (``python -P -m tsmask_qgis.jobs``) and its two pipes.

    ``jobs`` names modules of extra jobs the child adds to its table. The
    owner of a child (the thread running a job in it, or the pool while it is
    idle) reads its answers and :meth:`close`\\ s it; :meth:`kill` may come
    from any thread.
    """

    def __init__(self, python: str, jobs: Sequence[str] = ()) -> None:
        self.log = tempfile.TemporaryFile()
        read_fd, write_fd = os.pipe()
        cmd = [python, "-P", "-m", "tsmask_qgis.jobs", "--channel", str(write_fd)]
        for module in jobs:
            cmd += ["--jobs", module]
        try:
            self.proc = subprocess.Popen(  # nosec B603: our own interpreter, fixed arguments, no shell
                cmd,
                stdin=subprocess.PIPE,
                stdout=self.log,
                stderr=subprocess.STDOUT,
                env={**child_env(), "TSMASK_PYTHON": python},
                pass_fds=(write_fd,),
                start_new_session=True,  # its own process group: killed as one
                close_fds=True,
            )
        except OSError as exc:
            os.close(read_fd)
            self.log.close()
            raise WorkerCrashed(
                f"cannot start the worker interpreter {python!r}: {exc}. Set TSMASK_PYTHON to "
                "a Python with the tsmask dependencies."
            ) from exc
        finally:
            os.close(write_fd)
        self.pid = self.proc.pid
        self.reader = FrameReader(read_fd)
        self._selector = selectors.DefaultSelector()
        self._selector.register(read_fd, selectors.EVENT_READ)
        self._write_lock = threading.Lock()
        #: The job running now (its id) and the glob patterns of its temporary files.
        self.job_id: int | None = None
        self.temp_globs: tuple[str, ...] = ()
        #: Jobs this child has run.
        self.jobs_run = 0
        #: Set when the pool stops the child while it runs a job.
        self.stopping = False
        self._log_start = 0
        self._closed = False

    def alive(self) -> bool:
        """The process runs and its answer pipe is open."""
        return self.proc.poll() is None and not self.reader.eof

    def send(self, message: dict[str, Any]) -> None:
        """Write one message on the child's stdin (``OSError`` when it is gone)."""
        data = dump_frame(message)
        with self._write_lock:
            stdin = self.proc.stdin
            if stdin is None or stdin.closed:
                raise BrokenPipeError("the job process's input is closed")
            stdin.write(data)
            stdin.flush()

    def frames(self, timeout: float) -> list[Any]:
        """The frames that arrive within ``timeout`` seconds (``[]`` if none; see ``reader.eof``)."""
        if self.reader.eof:
            return []
        if not self._selector.select(timeout):
            return []
        return self.reader.read()

    def begin(self, job_id: int, temp_globs: Sequence[str | os.PathLike[str]]) -> None:
        """Note the job that starts now (for a kill from another thread)."""
        self.job_id = job_id
        self.temp_globs = tuple(map(str, temp_globs))
        self.jobs_run += 1
        with contextlib.suppress(OSError):
            self._log_start = os.fstat(self.log.fileno()).st_size

    def end(self) -> None:
        self.job_id = None
        self.temp_globs = ()

    def log_tail(self, limit: int = 2000) -> str:
        """What the child printed since the current job started (its last ``limit`` characters)."""
        try:
            size = os.fstat(self.log.fileno()).st_size
            start = max(self._log_start, size - 4 * limit)
            # pread: the child shares this file's offset, which must not move
            data = os.pread(self.log.fileno(), size - start, start)
        except (OSError, ValueError):
            return ""
        return data.decode("utf-8", "replace").strip()[-limit:]

    def close_input(self) -> None:
        """Close the child's stdin: an idle child then exits; a busy one cancels and exits."""
        with self._write_lock, contextlib.suppress(OSError):
            if self.proc.stdin is not None:
                self.proc.stdin.close()

    def kill(self) -> None:
        """Kill the child and its process group; remove their leftovers (any thread)."""
        members = _group_pids(self.pid)
        # Once reaped, the pid may be reused; the group id is still ours while a member lives.
        if self.proc.returncode is None or len(members) > 1:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.pid, signal.SIGKILL)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            self.proc.kill()
        self.proc.wait()
        remove_leftovers(members, self.temp_globs)

    def stop(self, timeout: float = STOP_TIMEOUT) -> None:
        """End an idle child: close its input, wait ``timeout`` s, kill it if it is still there."""
        self.close_input()
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
        self.close()

    def close(self) -> None:
        """Release the pipes and the log (after the process has ended or been killed)."""
        if self._closed:
            return
        self._closed = True
        self.close_input()
        if self.proc.poll() is None:
            self.kill()
        self._selector.close()
        with contextlib.suppress(OSError):
            os.close(self.reader.fd)
        self.log.close()


class Pool:
    """Warm child interpreters that run jobs (see the module docstring).

    ``jobs`` are modules of extra jobs every child adds to its table (tests use
    it; the plugin's pool has none); ``keep_idle`` is how many idle children
    are kept warm; ``python`` the interpreter (default:
    :func:`tsmask_qgis.jobs.interpreter.python_executable`).
    """

    def __init__(
        self, *, jobs: Sequence[str] = (), keep_idle: int = 1, python: str | None = None
    ) -> None:
        self.jobs = tuple(jobs)
        self.keep_idle = max(0, int(keep_idle))
        self.python = python
        self._lock = threading.Lock()
        self._idle: list[Child] = []
        self._busy: set[Child] = set()
        self._ids = itertools.count(1)

    # -- children ----------------------------------------------------------
    def pids(self) -> list[int]:
        """Process ids of the living children, idle or busy."""
        with self._lock:
            return sorted(c.pid for c in (*self._idle, *self._busy) if c.alive())

    def busy(self) -> list[int]:
        """Process ids of the children running a job now."""
        with self._lock:
            return sorted(c.pid for c in self._busy)

    def _acquire(self) -> Child:
        dead = []
        with self._lock:
            while self._idle:
                child = self._idle.pop()  # the most recently used
                if child.alive():
                    self._busy.add(child)
                    break
                dead.append(child)
            else:
                child = None
        for c in dead:
            c.close()
        if child is not None:
            return child
        from tsmask_qgis.jobs.interpreter import python_executable

        child = Child(self.python or python_executable(), self.jobs)
        with self._lock:
            self._busy.add(child)
        return child

    def _release(self, child: Child, *, keep: bool) -> None:
        extra: list[Child] = []
        with self._lock:
            self._busy.discard(child)
            if keep and child.alive() and not child.stopping:
                self._idle.append(child)
                while len(self._idle) > self.keep_idle:
                    extra.append(self._idle.pop(0))
            else:
                extra.append(child)
        for c in extra:
            c.stop()

    def shutdown(self, timeout: float = STOP_TIMEOUT) -> None:
        """Stop every child: idle ones at once, busy ones after cancelling their job.

        Waits up to ``timeout`` seconds in all, then kills what is left. A job
        whose child is stopped so raises ``Cancelled``. The pool stays usable.
        """
        with self._lock:
            idle, self._idle = self._idle, []
            busy = list(self._busy)
            for c in busy:
                c.stopping = True
        for c in busy:
            if c.job_id is not None:
                with contextlib.suppress(OSError):
                    c.send({"kind": "cancel", "id": c.job_id})
        for c in (*idle, *busy):
            c.close_input()
        deadline = time.monotonic() + timeout
        for c in (*idle, *busy):
            try:
                c.proc.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                c.kill()
        for c in idle:
            c.close()  # the busy ones are closed by the thread running their job

    # -- one job -----------------------------------------------------------
    def run(
        self,
        job: str,
        kwargs: dict[str, Any] | None = None,
        *,
        progress: Progress | None = None,
        temp_globs: Sequence[str | os.PathLike[str]] = (),
        grace: float = GRACE,
    ) -> Any:
        """Run the job ``job`` (a name in the child's table) with ``kwargs`` in a warm child.

        ``progress(report)`` receives the child's :class:`~tsmask_qgis.progress.Report`
        values on the calling thread, and :data:`~tsmask_qgis.progress.HEARTBEAT` at
        least every :data:`POLL` seconds so it can raise
        :class:`~tsmask_qgis.progress.Cancelled`: the job is then cancelled (see the
        module docstring; ``temp_globs`` are glob patterns of the job's temporary
        files, removed if its child has to be killed) and ``Cancelled`` re-raised.
        Returns the job's plain result; raises the job's error rebuilt from
        :mod:`tsmask_qgis.errors` (a foreign exception as
        :class:`~tsmask_qgis.errors.InternalError` naming its type), and
        :class:`WorkerCrashed` when the child dies without answering.
        """
        report = progress or _ignore
        job_id = next(self._ids)
        message = {"kind": "job", "id": job_id, "job": job, "kwargs": dict(kwargs or {})}
        pickle.dumps(message, protocol=4)  # an unpicklable argument fails here, not in a child
        child = self._start(message, temp_globs)
        keep = False
        try:
            outcome = self._answer_of(child, job_id, report)
            keep = True
        except BaseException:
            keep = self._cancel(child, job_id, grace)
            raise
        finally:
            child.end()
            self._release(child, keep=keep)
        if outcome[0] == "result":
            return outcome[2]
        if outcome[0] == "cancelled":
            raise Cancelled("cancelled by the user")
        raise errors.from_plain(outcome[2])

    def _start(self, message: dict[str, Any], temp_globs: Sequence[Any]) -> Child:
        """A child that has received ``message`` (a fresh one if an idle child died meanwhile)."""
        for attempt in range(2):
            child = self._acquire()
            child.begin(message["id"], temp_globs)
            try:
                child.send(message)
                return child
            except OSError:
                error = self._crashed(child)
                child.end()
                self._release(child, keep=False)
                # a fresh child that cannot even read, or one the pool is stopping
                if attempt or child.jobs_run == 1 or child.stopping:
                    raise error from None
        raise AssertionError("unreachable")

    def _crashed(self, child: Child) -> BaseException:
        child.kill()  # reap it; its workers and leftovers go with it
        if child.stopping:
            return Cancelled("stopped: QGIS is closing or the plugin was unloaded")
        tail = child.log_tail()
        return WorkerCrashed(
            f"the worker process ended without an answer (exit code {child.proc.returncode})"
            + (f":\n{tail}" if tail else "")
        )

    def _answer_of(self, child: Child, job_id: int, report: Progress) -> tuple[Any, ...]:
        """Relay the job's progress to ``report`` until its answer frame arrives."""
        while True:
            frames = child.frames(POLL)
            if not frames:
                if child.reader.eof or child.proc.poll() is not None:
                    raise self._crashed(child)
                report(HEARTBEAT)  # a cancel point while the child is quiet
                continue
            for frame in frames:
                if frame[1] != job_id:
                    continue
                if frame[0] == "progress":
                    report(Report(*frame[2:]))
                else:
                    return tuple(frame)

    def _cancel(self, child: Child, job_id: int, grace: float) -> bool:
        """Cancel the job; True if the child stopped it within ``grace`` s (it stays warm)."""
        if child.alive():
            try:
                child.send({"kind": "cancel", "id": job_id})
                deadline = time.monotonic() + grace
                while (left := deadline - time.monotonic()) > 0 and not child.reader.eof:
                    for frame in child.frames(min(left, POLL)):
                        if frame[1] == job_id and frame[0] != "progress":
                            return True
            except (OSError, ProtocolError, pickle.UnpicklingError):
                pass
        child.kill()
        return False


def _ignore(report: Report) -> None:
    pass


_DEFAULT: Pool | None = None
_DEFAULT_LOCK = threading.Lock()


def default_pool() -> Pool:
    """The pool the plugin's jobs run in (created on first use)."""
    global _DEFAULT
    with _DEFAULT_LOCK:
        if _DEFAULT is None:
            _DEFAULT = Pool()
        return _DEFAULT


def run(job: str, kwargs: dict[str, Any] | None = None, **options: Any) -> Any:
    """:meth:`Pool.run` in :func:`default_pool`."""
    return default_pool().run(job, kwargs, **options)


def shutdown(timeout: float = STOP_TIMEOUT) -> None:
    """Stop the default pool's children (QGIS quits, the plugin unloads); idempotent."""
    if _DEFAULT is not None:
        _DEFAULT.shutdown(timeout)


def pids() -> list[int]:
    """Process ids of the default pool's living children."""
    return [] if _DEFAULT is None else _DEFAULT.pids()


def busy() -> list[int]:
    """Process ids of the default pool's children running a job now."""
    return [] if _DEFAULT is None else _DEFAULT.busy()


atexit.register(shutdown)
