"""The engine's one way of running tasks on threads of this process.

The numba kernels release the GIL, so Python threads run blocks (rows, tiles,
dates) in parallel; every task is independent, so a result never depends on
the number of threads. Everything that runs kernels on threads goes through
:func:`run_tasks`: the whole-array path (``_core.classify_array``), the
thread executor of the local runners and the geometric steps.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Any

from tsmask_qgis.progress import Progress, emit

__all__ = ["run_counted", "run_spatial_tasks", "run_tasks", "workers_count"]


def workers_count(workers: int | None) -> int:
    """``workers`` checked (``None``: all cores)."""
    if workers is None:
        return os.cpu_count() or 1
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ValueError(f"workers must be a positive integer or None (all cores), got {workers!r}")
    return workers


def run_tasks(
    tasks: Sequence[Callable[[], Any]],
    workers: int,
    *,
    done: Callable[[Any], None] | None = None,
    tick: Callable[[], None] | None = None,
    tick_seconds: float = 0.5,
    first_inline: bool = False,
    pool: ThreadPoolExecutor | None = None,
) -> None:
    """Run ``tasks`` on ``workers`` threads (or on ``pool``, kept by the caller).

    ``done(result)`` is called in this thread as each task completes, and
    ``tick()`` about every ``tick_seconds`` while waiting: both are cancel
    points. With ``first_inline`` the first task runs in this thread before
    any other starts (a kernel is then compiled, or loaded from numba's cache,
    once). An exception from a task, ``done`` or ``tick`` drops the tasks not
    started, waits for the running ones and propagates.
    """
    todo = list(tasks)
    serial = pool is None and workers <= 1
    inline = len(todo) if serial else min(len(todo), int(first_inline))
    for task in todo[:inline]:
        result = task()
        if done is not None:
            done(result)
    todo = todo[inline:]
    if not todo:
        return
    executor = pool or ThreadPoolExecutor(max_workers=workers, thread_name_prefix="tsmask")
    pending: set[Future[Any]] = set()
    try:
        pending = {executor.submit(t) for t in todo}
        while pending:
            finished, pending = wait(
                pending, timeout=tick_seconds if tick is not None else None,
                return_when=FIRST_COMPLETED,
            )  # fmt: skip
            if not finished and tick is not None:
                tick()
            for f in finished:
                result = f.result()
                if done is not None:
                    done(result)
    except BaseException:
        for f in pending:
            f.cancel()
        wait(pending)
        raise
    finally:
        if pool is None:
            executor.shutdown(wait=True)


def run_counted(
    tasks: Sequence[Callable[[], Any]],
    workers: int,
    report: Callable[[float], None] | None,
    *,
    first_inline: bool = False,
) -> None:
    """:func:`run_tasks`, calling ``report(share of tasks done)`` after each task."""
    total = len(tasks)
    count = 0

    def done(_: Any) -> None:
        nonlocal count
        count += 1
        if report is not None:
            report(count / total)

    run_tasks(tasks, workers, done=done, first_inline=first_inline)


def run_spatial_tasks(
    tasks: Sequence[Callable[[], Any]],
    workers: int,
    progress: Progress | None,
    message: str,
    start: float = 0.0,
    stop: float = 1.0,
) -> None:
    """Tasks of a step after detection (shadow geometry, buffers in metres): the first
    in this thread, the rest on ``workers`` threads; the ``spatial`` step's progress
    goes from ``start`` to ``stop`` (each report a cancel point)."""

    def report(share: float) -> None:
        emit(progress, "spatial", start + (stop - start) * share, message)

    run_counted(tasks, workers, report, first_inline=True)
