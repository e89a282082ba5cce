"""Progress and cancellation as plain callables (no Qt, no tqdm).

A progress callback has the signature ``progress(fraction, message) -> None``
with ``fraction`` in 0..1 (or ``None`` when unknown). To cancel, the callback
raises :class:`Cancelled`; every progress report is therefore a cancel point.
Adapters to ``QgsFeedback``/``QgsTask`` live in ``tsmask_qgis.plugin`` and to a
terminal progress bar in ``tsmask_qgis.cli``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

__all__ = ["CancelToken", "Cancelled", "Progress", "report", "scaled", "steps"]

Progress = Callable[[float | None, str], None]


class Cancelled(Exception):
    """The user cancelled the job. Raised from a progress callback or a worker."""


class CancelToken:
    """A thread-safe flag; ``check()`` raises :class:`Cancelled` once set."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def check(self) -> None:
        if self._event.is_set():
            raise Cancelled("cancelled by the user")

    def progress(self, inner: Progress | None = None) -> Progress:
        """A progress callback that checks this token, then forwards to ``inner``."""

        def _progress(fraction: float | None, message: str) -> None:
            self.check()
            if inner is not None:
                inner(fraction, message)

        return _progress


def report(progress: Progress | None, fraction: float | None, message: str) -> None:
    """Call ``progress`` if there is one (a cancel point)."""
    if progress is not None:
        progress(fraction, message)


def scaled(progress: Progress | None, start: float, stop: float) -> Progress | None:
    """A callback mapping 0..1 onto ``start..stop`` of ``progress``.

    Use it to give a sub-step its share of a larger job's bar.
    """
    if progress is None:
        return None

    def _scaled(fraction: float | None, message: str) -> None:
        progress(None if fraction is None else start + (stop - start) * fraction, message)

    return _scaled


def steps(progress: Progress | None, weights: dict[str, float]) -> dict[str, Progress | None]:
    """Split ``progress`` into named consecutive steps weighted by ``weights``."""
    total = float(sum(weights.values())) or 1.0
    out: dict[str, Progress | None] = {}
    at = 0.0
    for name, w in weights.items():
        out[name] = scaled(progress, at / total, (at + w) / total)
        at += w
    return out
