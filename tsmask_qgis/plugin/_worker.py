"""Run one function in a separate plain Python process, cancellably.

The QGIS process must never import numba, so work that runs kernels on an
existing mask (filter, buffer, majority) happens in a child interpreter started
with the spawn method from a plain Python executable (never the QGIS binary).
The target is named as ``"module:function"`` so the parent never imports it.
This module does not import ``qgis``: it is imported in the child too.
"""

from __future__ import annotations

import importlib
import multiprocessing
import pickle
import traceback
from collections.abc import Callable
from typing import Any

from tsmask_qgis.progress import Cancelled

__all__ = ["WorkerError", "run_in_process"]


class WorkerError(RuntimeError):
    """The worker process failed; ``details`` holds its traceback."""

    def __init__(self, message: str, details: str = "") -> None:
        super().__init__(message)
        self.details = details


def _entry(conn: Any, target: str, args: tuple, kwargs: dict) -> None:
    """Child side: import and call ``target``, send ("ok", value) or ("error", ...)."""
    try:
        module, _, name = target.partition(":")
        fn = getattr(importlib.import_module(module), name)
        conn.send(("ok", fn(*args, **kwargs)))
    except BaseException as exc:  # report everything, including KeyboardInterrupt
        details = traceback.format_exc()
        try:
            pickle.dumps(exc)
            payload: Any = exc
        except Exception:
            payload = f"{type(exc).__name__}: {exc}"
        conn.send(("error", (payload, details)))
    finally:
        conn.close()


def run_in_process(
    target: str,
    *args: Any,
    is_cancelled: Callable[[], bool] | None = None,
    executable: str | None = None,
    poll: float = 0.1,
    **kwargs: Any,
) -> Any:
    """Call ``target(*args, **kwargs)`` in a fresh child process and return its value.

    ``target`` is ``"package.module:function"``. ``is_cancelled`` is polled every
    ``poll`` seconds; when it returns true the child is terminated and
    :class:`~tsmask_qgis.progress.Cancelled` raised. An exception in the child
    is raised again here when it can be pickled, else as :class:`WorkerError`.
    """
    from tsmask_qgis.plugin.deps import python_for_pip

    ctx = multiprocessing.get_context("spawn")
    ctx.set_executable(executable or python_for_pip())
    receiver, sender = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_entry, args=(sender, target, args, kwargs), daemon=True)
    proc.start()
    sender.close()
    try:
        while True:
            if receiver.poll(poll):
                try:
                    status, payload = receiver.recv()
                except EOFError:
                    status, payload = "died", None
                break
            if is_cancelled is not None and is_cancelled():
                raise Cancelled("cancelled by the user")
            if not proc.is_alive() and not receiver.poll(0):
                status, payload = "died", None
                break
    finally:
        if proc.is_alive():
            proc.join(0.5)
        if proc.is_alive():
            proc.terminate()
            proc.join(5)
        if proc.is_alive():
            proc.kill()
            proc.join()
        receiver.close()
    if status == "ok":
        return payload
    if status == "died":
        raise WorkerError(
            f"the worker process running {target} stopped unexpectedly (exit code {proc.exitcode})"
        )
    exc, details = payload
    if isinstance(exc, BaseException):
        if isinstance(exc, Exception):
            exc.details = details  # type: ignore[attr-defined]
        raise exc
    raise WorkerError(str(exc), details)
