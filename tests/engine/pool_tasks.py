"""Worker-pool tasks for the tests only (named ``"tests.engine.pool_tasks:NAME"``)."""

from __future__ import annotations

import time


def fail(message: str) -> None:
    """Raise in a worker: errors must surface in the parent."""
    raise ValueError(message)


def sleep(seconds: float) -> float:
    """Sleep in a worker: cancelling must stop it."""
    time.sleep(seconds)
    return seconds
