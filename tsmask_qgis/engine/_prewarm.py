"""Load the cached kernels once in the forkserver, so every forked worker starts warm.

Imported only by the process pool's forkserver (``set_forkserver_preload``),
never by the engine itself. Failures are ignored here: a worker that lacks the
kernels reports the real error when its first task runs.
"""

from __future__ import annotations

__all__: list[str] = []

try:
    import numpy as np

    from tsmask_qgis.engine import _core

    for _dtype in ("int16", "float32"):
        _core._detect_kernel("detect_cube", np.dtype(_dtype))
    for _name in ("seed_filter", "seed_buffer", "majority"):
        _core._spatial_kernel(_name)
except Exception:  # pragma: no cover - reported by the worker instead  # nosec B110: deliberate fallback
    pass
