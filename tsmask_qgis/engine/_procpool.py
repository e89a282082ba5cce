"""The process-pool runner: kernels in plain Python worker processes.

Used inside QGIS (where numba must not be imported) and whenever
``runner="processes"``. This module imports neither numba nor qgis; the
workers import the kernels (``_core``) themselves.

- Workers are started with a plain Python interpreter found by
  :func:`python_executable` (never ``sys.executable``, which is the QGIS
  binary inside the desktop application), through a forkserver (Linux) or
  spawn context.
- Arrays travel through ``multiprocessing.shared_memory`` (or a memory-mapped
  file for the streamed class cube), never pickled: tasks are a few numbers.
- Progress is reported from the parent as tasks complete; every report is a
  cancel point. Cancelling (or any error) terminates the workers at once and
  frees the shared memory.
"""

from __future__ import annotations

import atexit
import math
import os
import queue
import threading
import time
import traceback
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np

from tsmask_qgis.engine._shared import ArrayRef, SharedArray, open_array
from tsmask_qgis.errors import DependencyError, WorkerError
from tsmask_qgis.jobs.interpreter import python_executable

__all__ = [
    "ArrayRef",
    "SharedArray",
    "WorkerError",
    "WorkerPool",
    "acquire_pool",
    "prestart_workers",
    "python_executable",
    "recycle",
    "release_pool",
    "shared_array",
    "shutdown_workers",
]


# --------------------------------------------------------------------------- worker side


def _task_detect(
    src: ArrayRef,
    dst: ArrayRef,
    src_win: tuple[int, int, int, int],
    dst_win: tuple[int, int, int, int],
    preset: Any,
    nodata: float | None,
    scale: float | None,
) -> tuple[int, bool]:
    """Detect one tile: ``src[:, :, win]`` (6, T, y, x) -> ``dst[:, win]`` (T, y, x)."""
    from tsmask_qgis.engine import _core

    y0, y1, x0, x1 = src_win
    v0, v1, u0, u1 = dst_win
    with open_array(src, write=False) as bands, open_array(dst) as out:
        target = out[:, v0:v1, u0:u1]
        _core.detect_block(
            bands[:, :, y0:y1, x0:x1], preset, nodata=nodata, scale=scale, out=target
        )
        observed = bool(target.any())
        del target
    return (v1 - v0) * (u1 - u0), observed


def _task_spatial(dst: ArrayRef, t0: int, t1: int, preset: Any, step: str) -> int:
    """Run the spatial step(s) on whole dates ``t0:t1`` of ``dst``, in place."""
    from tsmask_qgis.engine import _core

    with open_array(dst) as out:
        dates = out[t0:t1]
        _core.spatial_block(np.array(dates), preset, step=step, out=dates)
        del dates
    return t1 - t0


_TASKS: dict[str, Callable[..., Any]] = {
    "detect": _task_detect,
    "spatial": _task_spatial,
}


def _task(name: str) -> Callable[..., Any]:
    """The task called ``name``: one of :data:`_TASKS`, or ``"package.module:function"``
    (how tests run tasks of their own; nothing but the parent names them)."""
    if name in _TASKS:
        return _TASKS[name]
    module, _, function = name.partition(":")
    if not function:
        raise KeyError(f"no worker task {name!r}")
    import importlib

    return getattr(importlib.import_module(module), function)  # type: ignore[no-any-return]


def _worker_main(tasks: Any, results: Any) -> None:
    """Loop of a worker process: run tasks until the ``None`` sentinel."""
    while True:
        item = tasks.get()
        if item is None:
            break
        key, name, args = item
        try:
            results.put((key, True, _task(name)(*args)))
        except BaseException as exc:  # report everything, including KeyboardInterrupt
            tb = traceback.format_exc()
            try:
                import pickle  # nosec B403: pickle only between this process and the worker children it started

                pickle.dumps(exc)
                payload: Any = exc
            except Exception:
                payload = None
            results.put((key, False, (payload, type(exc).__name__, str(exc), tb)))


# --------------------------------------------------------------------------- parent side

#: Modules the forkserver imports once; workers fork from it with the kernels loaded.
_PRELOAD = ["tsmask_qgis.engine._procpool", "tsmask_qgis.engine._prewarm"]


def _context(exe: str) -> Any:
    import multiprocessing as mp

    method = "forkserver" if "forkserver" in mp.get_all_start_methods() else "spawn"
    ctx = mp.get_context(method)
    # Must happen before the first shared-memory segment: the resource tracker
    # is started with this interpreter too.
    ctx.set_executable(exe)
    if method == "forkserver":
        ctx.set_forkserver_preload(_PRELOAD)
    return ctx


class WorkerPool:
    """A small pool of worker processes with hard cancel (terminate).

    ``run(tasks, on_done)`` executes ``(name, args)`` tasks and calls
    ``on_done(result)`` in the parent as each completes; ``tick()`` is called
    about once a second while waiting (a cancel point). Any exception —
    from a worker, from ``on_done`` or ``tick`` — terminates the pool.
    """

    def __init__(self, workers: int, *, executable: str | None = None) -> None:
        self.executable = executable or python_executable()
        self._ctx = _context(self.executable)
        self._tasks = self._ctx.Queue()
        self._results = self._ctx.Queue()
        self._procs: list[Any] = []
        self._counter = 0
        try:
            for _ in range(max(1, int(workers))):
                p = self._ctx.Process(
                    target=_worker_main, args=(self._tasks, self._results), daemon=True
                )
                p.start()
                self._procs.append(p)
        except Exception as exc:
            self.terminate()
            raise WorkerError(
                f"could not start worker processes with {self.executable}: {exc}. Set "
                "TSMASK_PYTHON to a Python where tsmask-qgis's dependencies are installed"
            ) from exc

    @property
    def workers(self) -> int:
        return len(self._procs)

    def _check_alive(self) -> None:
        for p in self._procs:
            if not p.is_alive():
                raise WorkerError(
                    f"a worker process ({self.executable}) exited unexpectedly with code "
                    f"{p.exitcode}; if it could not start, set TSMASK_PYTHON to a Python "
                    "where tsmask-qgis's dependencies are installed"
                )

    @property
    def alive(self) -> bool:
        """Whether every worker is running (false after ``terminate`` or a crash)."""
        return bool(self._procs) and all(p.is_alive() for p in self._procs)

    def run(
        self,
        tasks: Iterable[tuple[str, tuple[Any, ...]]],
        on_done: Callable[[Any], None] | None = None,
        tick: Callable[[], None] | None = None,
        *,
        tick_seconds: float = 0.5,
    ) -> list[Any]:
        """Run ``tasks`` on the workers; results in task order.

        ``tasks`` may be a generator that prepares each task's data (e.g. copies
        a tile into shared memory) before yielding it: each task is queued as
        soon as it is yielded, so the workers start on the first while the
        next ones are prepared, and results are handled in between.
        """
        base = self._counter
        results: dict[int, Any] = {}
        submitted = 0
        last_tick = time.monotonic()

        def handle(item: tuple[int, bool, Any]) -> None:
            key, ok, payload = item
            if not ok:
                raise _rebuild(payload, self.executable)
            results[key - base] = payload
            if on_done is not None:
                on_done(payload)

        try:
            for name, args in tasks:
                self._tasks.put((base + submitted, name, args))
                submitted += 1
                self._counter += 1
                while True:  # handle what finished meanwhile, without waiting
                    try:
                        handle(self._results.get_nowait())
                    except queue.Empty:
                        break
            while len(results) < submitted:
                try:
                    item = self._results.get(timeout=0.1)
                except queue.Empty:
                    self._check_alive()
                    if tick is not None and time.monotonic() - last_tick >= tick_seconds:
                        last_tick = time.monotonic()
                        tick()
                    continue
                handle(item)
        except BaseException:
            self.terminate()
            raise
        return [results[i] for i in range(submitted)]

    def close(self) -> None:
        """Stop the workers after their current task (normal end)."""
        if not self._procs:
            return
        for _ in self._procs:
            self._tasks.put(None)
        deadline = time.monotonic() + 5
        for p in self._procs:
            p.join(max(0.0, deadline - time.monotonic()))
        self.terminate()

    def terminate(self) -> None:
        """Kill the workers now (cancel or error); idempotent."""
        procs, self._procs = self._procs, []
        for p in procs:
            if p.is_alive():
                p.terminate()
        for p in procs:
            p.join(2)
            if p.is_alive():  # pragma: no cover - ignored SIGTERM
                p.kill()
                p.join(2)
        for q in (self._tasks, self._results):
            q.close()
            q.cancel_join_thread()

    def __enter__(self) -> WorkerPool:
        return self

    def __exit__(self, exc_type: object, *rest: object) -> None:
        if exc_type is None:
            self.close()
        else:
            self.terminate()


# --------------------------------------------------------------------------- the kept pool

#: Seconds an idle kept pool stays alive before its workers are stopped.
IDLE_SECONDS = 600.0

_KEPT_LOCK = threading.Lock()
_kept: WorkerPool | None = None
_kept_busy = False
_kept_timer: threading.Timer | None = None
_atexit_registered = False


#: Largest input buffer kept for the next job: writing into fresh shared memory
#: costs about ten times a copy into memory already mapped (page faults).
SPARE_BYTES = 2**30
_spare: SharedArray | None = None


def shared_array(shape: Sequence[int], dtype: Any) -> SharedArray:
    """A shared array of ``shape``, reusing the spare segment of an earlier job when it fits.

    The contents are undefined (like ``np.empty``).
    """
    global _spare
    need = max(1, math.prod(int(n) for n in shape) * np.dtype(dtype).itemsize)
    with _KEPT_LOCK:
        sa = _spare
        if sa is not None and need <= sa.nbytes <= 2 * need:
            _spare = None
            sa.reshape(shape, dtype)
            return sa
    return SharedArray(shape, dtype)


def recycle(sa: SharedArray) -> None:
    """Keep ``sa`` as the spare segment for a later job (when keeping workers), else free it."""
    global _spare
    if not _keep_enabled() or sa.nbytes > SPARE_BYTES or sa._shm is None:
        sa.close()
        return
    with _KEPT_LOCK:
        old = _spare
        if old is not None and old.nbytes > sa.nbytes:
            old, sa = sa, old
        _spare = sa
    if old is not None:
        old.close()


def _free_spare() -> None:
    global _spare
    with _KEPT_LOCK:
        sa, _spare = _spare, None
    if sa is not None:
        sa.close()


def _keep_enabled() -> bool:
    return os.environ.get("TSMASK_KEEP_WORKERS", "1").strip().lower() not in ("0", "no", "false")


def acquire_pool(workers: int) -> WorkerPool:
    """A pool of ``workers`` warm worker processes for one job.

    Consecutive jobs of one process (the QGIS plugin runs many) reuse one kept
    pool, so only the first pays for starting interpreters and loading the
    kernels. A job that runs while the kept pool is busy (two jobs at once)
    gets a pool of its own. Give the pool back with :func:`release_pool`.
    Set ``TSMASK_KEEP_WORKERS=0`` to start and stop a pool for every job.
    """
    global _kept, _kept_busy, _atexit_registered
    workers = max(1, int(workers))
    if not _keep_enabled():
        return WorkerPool(workers)
    exe = python_executable()
    with _KEPT_LOCK:
        if _kept_busy:
            return WorkerPool(workers)
        _cancel_timer()
        old = _kept
        if old is not None and old.alive and old.workers == workers and old.executable == exe:
            _kept_busy = True
            return old
        _kept = None
        if old is not None:
            old.close()
        _kept = WorkerPool(workers, executable=exe)
        _kept_busy = True
        if not _atexit_registered:
            atexit.register(shutdown_workers)
            _atexit_registered = True
        return _kept


def release_pool(pool: WorkerPool, *, ok: bool = True) -> None:
    """Give back a pool from :func:`acquire_pool`.

    ``ok`` false (an error or a cancel) stops its workers at once; a kept pool
    is then replaced by the next job. A job's own pool is always stopped.
    """
    global _kept, _kept_busy, _kept_timer
    with _KEPT_LOCK:
        if pool is _kept:
            _kept_busy = False
            if ok and pool.alive:
                if IDLE_SECONDS > 0:
                    _kept_timer = threading.Timer(IDLE_SECONDS, _idle_stop, args=(pool,))
                    _kept_timer.daemon = True
                    _kept_timer.start()
                return
            _kept = None
    if ok:
        pool.close()
    else:
        pool.terminate()


def _cancel_timer() -> None:
    global _kept_timer
    timer, _kept_timer = _kept_timer, None
    if timer is not None:
        timer.cancel()


def _idle_stop(pool: WorkerPool) -> None:
    global _kept, _kept_busy
    with _KEPT_LOCK:
        if pool is not _kept or _kept_busy:
            return
        _kept = None
    _free_spare()
    pool.close()


def prestart_workers(workers: int | None = None) -> threading.Thread:
    """Start the kept worker pool in the background (e.g. when the plugin's dialog opens).

    The first job then finds its workers running with the kernels loaded
    instead of waiting about a second for them. Errors are left for that job
    to report. Returns the (daemon) thread doing it.
    """
    from tsmask_qgis.engine._tiling import cpu_count

    n = workers if workers is not None else cpu_count()

    def start() -> None:
        try:
            pool = acquire_pool(n)
        except Exception:
            return
        release_pool(pool)

    thread = threading.Thread(target=start, name="tsmask-prestart", daemon=True)
    thread.start()
    return thread


def shutdown_workers() -> None:
    """Stop the kept worker processes and free the spare buffer now.

    Also done at exit and after :data:`IDLE_SECONDS` without a job.

    Safe to call at any time, e.g. when the QGIS plugin unloads; a job running
    at that moment keeps its workers until it ends.
    """
    global _kept, _kept_busy
    _free_spare()
    with _KEPT_LOCK:
        _cancel_timer()
        if _kept is None:
            return
        if _kept_busy:  # its job stops it when it gives it back
            _kept, _kept_busy = None, False
            return
        pool, _kept = _kept, None
    pool.close()


def _rebuild(payload: tuple[Any, str, str, str], exe: str) -> BaseException:
    exc, type_name, message, tb = payload
    if type_name in ("ModuleNotFoundError", "ImportError"):
        return DependencyError(
            f"a worker process ({exe}) could not import what it needs: {message}. Set "
            "TSMASK_PYTHON to a Python where tsmask-qgis's dependencies are installed"
        )
    if exc is None:
        exc = WorkerError(f"{type_name}: {message}")
    exc.__cause__ = WorkerError(f"in a worker process:\n{tb}")
    return exc
