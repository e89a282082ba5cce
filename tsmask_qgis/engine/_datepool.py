"""A small thread pool for the geometric steps (shadow geometry, buffers in metres).

Each task is independent (a block of rows or one date); the numba kernels
release the GIL, so threads run them in parallel and the result never depends
on the number of workers. The first task runs in the calling thread, so a
kernel is compiled (or loaded from numba's cache) once, before any worker
thread starts.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait

from tsmask_qgis.progress import Progress, emit

__all__ = ["run_tasks", "workers_count"]


def workers_count(workers: int | None) -> int:
    """``workers`` checked (``None``: all cores)."""
    if workers is None:
        return os.cpu_count() or 1
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ValueError(f"workers must be a positive integer or None (all cores), got {workers!r}")
    return workers


def run_tasks(
    tasks: Sequence[Callable[[], object]],
    workers: int,
    progress: Progress | None,
    message: str,
    start: float = 0.0,
    stop: float = 1.0,
) -> None:
    """Run ``tasks``; progress goes from ``start`` to ``stop`` (each report a cancel point).

    A progress callback that raises stops the queue: tasks not started are
    dropped, running ones finish, then the error propagates.
    """
    total = len(tasks)
    if total == 0:
        return

    def tick(done: int) -> None:
        emit(progress, "spatial", start + (stop - start) * done / total, message)

    tasks[0]()
    tick(1)
    rest = list(tasks[1:])
    if workers <= 1 or not rest:
        for i, task in enumerate(rest):
            task()
            tick(i + 2)
        return
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="tsmask-geom") as pool:
        pending: set[Future[object]] = {pool.submit(t) for t in rest}
        done = 1
        try:
            while pending:
                finished, pending = wait(pending, return_when=FIRST_COMPLETED)
                for f in finished:
                    f.result()
                done += len(finished)
                tick(done)
        except BaseException:
            for f in pending:
                f.cancel()
            raise
