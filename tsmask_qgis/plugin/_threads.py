"""Run Python work on a fresh Python thread (and wait for it).

QGIS runs ``QgsTask.run()`` and background Processing algorithms on pooled Qt
threads that are reused from one task to the next. pyproj keeps per-thread PROJ
contexts; on a reused Qt thread the second task that creates a transformer
crashed QGIS with a segmentation fault inside ``proj_create`` (seen with QGIS
3.22 and pyproj's bundled PROJ; a fresh ``threading.Thread`` each time never
crashed). So every piece of work that may touch pyproj (the loaders, odc-geo,
the writers) runs through :func:`call_in_thread`. No ``qgis`` import.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, TypeVar

__all__ = ["call_in_thread"]

T = TypeVar("T")


def call_in_thread(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """``fn(*args, **kwargs)`` on a new Python thread; its result, or its exception re-raised."""
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = fn(*args, **kwargs)
        except BaseException as exc:  # handed over as is, traceback included
            box["error"] = exc

    thread = threading.Thread(target=target, name="tsmask-work", daemon=True)
    thread.start()
    thread.join()
    if "error" in box:
        raise box["error"]
    return box["value"]
