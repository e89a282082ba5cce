"""Jobs only the tests run in a child (a :class:`tsmask_qgis.jobs.client.Pool` started with
``jobs=("tests.plugin.child_jobs",)``): nothing here ships in the product."""

from __future__ import annotations

import os
import sys
import time
from typing import Any

from tsmask_qgis.progress import Cancelled, Progress, emit


def echo(*, value: Any = None, steps: int = 0, delay: float = 0.0, fail: str = "",
         progress: Progress) -> Any:  # fmt: skip
    """Report ``steps`` progress messages ``delay`` s apart, then return ``value``.

    ``fail`` names an exception to raise instead (one of ``tsmask_qgis.errors``, with
    ``field="input"``, or a built-in one), or ``"crash"`` to kill the process outright.
    """
    for i in range(steps):
        emit(progress, "detect", i / max(steps, 1), f"echo: {i}")
        time.sleep(delay)
    if fail == "crash":
        os._exit(9)
    if fail:
        import builtins

        from tsmask_qgis import errors

        if hasattr(errors, fail):
            raise getattr(errors, fail)(f"asked to fail with {fail}", field="input")
        raise getattr(builtins, fail)(f"asked to fail with {fail}")
    if value == "cancel-self":
        raise Cancelled("cancelled in the job")
    return value


def pid(*, progress: Progress) -> int:
    """The child's process id."""
    return os.getpid()


def loaded_modules(*, progress: Progress) -> list[str]:
    """The top-level modules imported in the child."""
    return sorted({name.split(".")[0] for name in sys.modules})


def ignore_cancel(*, seconds: float, progress: Progress) -> str:
    """Report once, then work ``seconds`` s without reporting (a cancel cannot reach it)."""
    emit(progress, "detect", 0.0, "started")
    time.sleep(seconds)
    return "done"


def write_then_wait(*, path: str, seconds: float, progress: Progress) -> str:
    """Create a temporary file as the writers name them, report, then wait without reporting."""
    from tsmask_qgis.tempfiles import temp_name

    tmp = temp_name(path)
    tmp.write_bytes(b"half")
    emit(progress, "write", 0.0, f"writing {tmp.name}")
    time.sleep(seconds)
    return str(tmp)


def shared_memory_then_wait(*, seconds: float, progress: Progress) -> str:
    """Create a shared-memory segment named as the engine names them, report, then wait."""
    from multiprocessing import resource_tracker, shared_memory

    from tsmask_qgis.tempfiles import shm_name

    seg = shared_memory.SharedMemory(name=shm_name(), create=True, size=4096)
    resource_tracker.unregister(seg._name, "shared_memory")  # a killed owner leaves it
    emit(progress, "detect", 0.0, f"segment {seg.name}")
    time.sleep(seconds)
    return seg.name


def runner(*, progress: Progress) -> str:
    """What the engine's ``runner="auto"`` resolves to in the child for a small in-memory job."""
    from tsmask_qgis import engine

    return engine.choose_runner(
        "auto", lazy=False, input_bytes=1 << 20, output_bytes=1 << 18, budget=1 << 30
    )


JOBS = {
    "echo": echo,
    "pid": pid,
    "modules": loaded_modules,
    "ignore_cancel": ignore_cancel,
    "write_then_wait": write_then_wait,
    "shared_memory_then_wait": shared_memory_then_wait,
    "runner": runner,
}
