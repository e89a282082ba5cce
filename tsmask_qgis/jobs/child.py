"""The child: a plain Python interpreter that runs jobs for its parent, one at a time, warm.

Started by :mod:`tsmask_qgis.jobs.client` as ``python -P -m tsmask_qgis.jobs
--channel FD [--jobs MODULE ...]`` (see :mod:`tsmask_qgis.jobs.protocol`). It
reads messages from stdin on a thread of its own and runs each job on the main
thread; between jobs it waits, with everything it imported still loaded (the
pipeline, the engine's kernels, a warm worker pool), so the next job starts
at once.

Cancel: a ``cancel`` message sets the running job's flag; its progress
callback raises :class:`~tsmask_qgis.progress.Cancelled` at the next report,
inside the job, so the atomic writers remove their temporary files; the
child answers ``cancelled`` and waits for the next job. SIGTERM does the same
and then ends the child.

Parent gone: end of file on stdin (the parent closed it, exited or was
killed) cancels the running job and ends the child; if the job does not stop
within :data:`EXIT_GRACE` seconds the child kills its own process group (itself
and any worker processes it started), so nothing outlives the parent.

This module imports no ``qgis``; the job table imports the heavy packages
where each job runs.
"""

from __future__ import annotations

import argparse
import importlib
import os
import pickle  # nosec B403: pickle only with the parent process that started this child
import queue
import signal
import sys
import threading
import time
import traceback
from collections.abc import Callable, Sequence
from typing import Any

from tsmask_qgis import errors
from tsmask_qgis.jobs.protocol import dump_frame, loads_plain, read_frame
from tsmask_qgis.progress import Cancelled, Report

__all__ = ["EXIT_GRACE", "job_table", "main"]

#: Seconds a cancelled job may take to stop once the parent is gone.
EXIT_GRACE = 20.0
#: Progress frames of one job are sent at most this often (step changes always go).
_THROTTLE = 0.1


def job_table(extra: Sequence[str] = ()) -> dict[str, Callable[..., Any]]:
    """The product's jobs (:data:`tsmask_qgis.jobs.table.JOBS`) and those of ``extra``
    modules (each defines a ``JOBS`` dict; tests name theirs so)."""
    from tsmask_qgis.jobs.table import JOBS

    table = dict(JOBS)
    for name in extra:
        table.update(importlib.import_module(name).JOBS)
    return table


class _State:
    """The job running now and whether the child is stopping (shared with the reader)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.current: int | None = None
        self.cancel = threading.Event()
        self.cancelled: set[int] = set()
        self.stopping = threading.Event()

    def begin(self, job_id: int) -> threading.Event:
        with self.lock:
            self.current = job_id
            self.cancel = threading.Event()
            if job_id in self.cancelled or self.stopping.is_set():
                self.cancel.set()
            return self.cancel

    def end(self) -> None:
        with self.lock:
            if self.current is not None:
                self.cancelled.discard(self.current)
            self.current = None

    def cancel_job(self, job_id: int | None) -> None:
        with self.lock:
            if job_id is None or job_id == self.current:
                self.cancel.set()
            elif job_id is not None:
                self.cancelled.add(job_id)


def _kill_self_later(seconds: float) -> None:
    """End this process (and its process group, when it leads one) after ``seconds``."""

    def _kill() -> None:
        time.sleep(seconds)
        try:
            if os.getpgrp() == os.getpid():
                os.killpg(os.getpid(), signal.SIGKILL)
        finally:
            os._exit(4)

    threading.Thread(target=_kill, name="tsmask-exit", daemon=True).start()


def _read_parent(stdin: Any, jobs: queue.Queue[dict[str, Any] | None], state: _State) -> None:
    """Messages from the parent; at end of file, stop (cancel the running job)."""
    try:
        while True:
            message = read_frame(stdin)
            if message is None:
                break
            if message.get("kind") == "job":
                jobs.put(message)
            elif message.get("kind") == "cancel":
                state.cancel_job(message.get("id"))
    except Exception:  # a broken channel or a message that is not one: stop, never hang
        traceback.print_exc()
    _stop(jobs, state)


def _stop(jobs: queue.Queue[dict[str, Any] | None], state: _State) -> None:
    if state.stopping.is_set():
        return
    state.stopping.set()
    state.cancel_job(None)
    jobs.put(None)
    _kill_self_later(EXIT_GRACE)


def _plain_check(job: str, value: Any) -> bytes:
    """The result frame's pickle, refused unless it holds plain values only."""
    data = pickle.dumps(value, protocol=4)
    try:
        loads_plain(data)
    except pickle.UnpicklingError as exc:
        raise errors.WorkerError(f"the job {job!r}: {exc}") from None
    return data


def _run_one(
    message: dict[str, Any],
    table: dict[str, Callable[..., Any]],
    send: Callable[[tuple[Any, ...]], None],
    state: _State,
) -> None:
    job_id = int(message["id"])
    name = str(message.get("job"))
    cancel = state.begin(job_id)
    last: dict[str, Any] = {"key": None, "time": 0.0}

    def progress(r: Report) -> None:
        if cancel.is_set():
            raise Cancelled("cancelled by the user")
        now = time.monotonic()
        key = (r.step, r.message)
        if key != last["key"] or now - last["time"] > _THROTTLE or r.fraction in (0.0, 1.0):
            last.update(key=key, time=now)
            fraction = None if r.fraction is None else float(r.fraction)
            overall = None if r.overall is None else float(r.overall)
            send(("progress", job_id, str(r.step), fraction, str(r.message), overall))

    frame: tuple[Any, ...]
    try:
        func = table.get(name)
        if func is None:
            raise errors.ParameterError(
                f"unknown job {name!r}; the child runs: {', '.join(sorted(table))}"
            )
        value = func(**message.get("kwargs", {}), progress=progress)
        _plain_check(name, value)
        frame = ("result", job_id, value)
    except Cancelled:
        frame = ("cancelled", job_id)
    except BaseException as exc:  # handed to the parent, with the traceback
        frame = ("error", job_id, errors.plain_error(exc, traceback.format_exc()))
    finally:
        state.end()
    try:
        send(frame)
    except Cancelled:
        pass  # nobody to answer


def main(argv: Sequence[str] | None = None) -> int:
    """The child's loop: run each job the parent sends until its stdin ends."""
    parser = argparse.ArgumentParser(prog="python -m tsmask_qgis.jobs")
    parser.add_argument("--channel", type=int, required=True, help="fd of the answer pipe")
    parser.add_argument("--jobs", action="append", default=[], help="a module of extra jobs")
    args = parser.parse_args(argv)
    channel = os.fdopen(args.channel, "wb", buffering=0)
    lock = threading.Lock()

    state = _State()
    jobs: queue.Queue[dict[str, Any] | None] = queue.Queue()

    def send(frame: tuple[Any, ...]) -> None:
        data = dump_frame(frame)
        try:
            with lock:
                channel.write(data)
        except OSError:  # the parent is gone: stop the job at this report
            _stop(jobs, state)
            raise Cancelled("the parent process is gone") from None

    def on_sigterm(*_: Any) -> None:  # (not in the handler: it may interrupt a queue call)
        threading.Thread(target=_stop, args=(jobs, state), daemon=True).start()

    signal.signal(signal.SIGTERM, on_sigterm)
    table = job_table(args.jobs)
    reader = threading.Thread(
        target=_read_parent, args=(sys.stdin.buffer, jobs, state), name="tsmask-parent", daemon=True
    )
    reader.start()
    while True:
        message = jobs.get()
        if message is None:
            break
        _run_one(message, table, send, state)
    sys.stdout.flush()
    sys.stderr.flush()
    return 0
