"""Progress and cancellation as plain callables (standard library only: no Qt, no tqdm).

A job is a sequence of named **steps** (:data:`STEPS`): ``search`` the
catalogue, ``load`` the data from it (or ``read`` a local stack), ``detect``
cloud and shadow, the ``spatial`` steps, ``write`` the outputs. Whoever does a
step reports it as a structured :class:`Report` — the step's name, the
fraction done *within that step* and a message — to a :data:`Progress`
callback. The step never travels inside the message text.

A callback cancels the job by raising :class:`Cancelled`: every report is a
cancel point. :class:`JobProgress` knows the steps of one job (its *plan*,
:func:`plan`) and their weights, and fills in :attr:`Report.overall`, the
fraction of the whole job, so that a progress bar needs no table of its own.
Adapters to ``QgsTask``/``QgsProcessingFeedback`` live in ``tsmask_qgis.plugin``,
the terminal bar in ``tsmask_qgis.cli``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from tsmask_qgis.errors import Cancelled

__all__ = [
    "HEARTBEAT",
    "STEPS",
    "CancelToken",
    "Cancelled",
    "JobProgress",
    "Progress",
    "Report",
    "Step",
    "StepProgress",
    "emit",
    "plan",
    "reporter",
    "scaled",
    "step",
]


@dataclass(frozen=True)
class Step:
    """One step of a job: a machine ``name``, the ``label`` people see, its ``weight``
    (its share of a whole job's progress bar, relative to the other steps of the plan)."""

    name: str
    label: str
    weight: float


#: Every step a job can have, in the order a job runs them.
STEPS: tuple[Step, ...] = (
    Step("search", "Searching the catalogue", 0.05),
    Step("load", "Downloading and loading", 0.30),
    Step("read", "Reading the stack", 0.30),
    Step("detect", "Detecting cloud and shadow", 0.40),
    Step("spatial", "Spatial filter and buffer", 0.05),
    Step("products", "Making composites and series", 0.15),
    Step("write", "Writing outputs", 0.20),
)
_BY_NAME: dict[str, Step] = {s.name: s for s in STEPS}


def step(name: str) -> Step:
    """The :class:`Step` called ``name`` (``KeyError`` for an unknown name)."""
    return _BY_NAME[name]


def plan(*, catalogue: bool, spatial: bool = True, products: bool = False) -> tuple[str, ...]:
    """The step names of one job: from a catalogue (search, load) or a local stack (read),
    with the products step when the job makes composites or series."""
    first = ("search", "load") if catalogue else ("read",)
    middle = (*(("spatial",) if spatial else ()), *(("products",) if products else ()))
    return (*first, "detect", *middle, "write")


@dataclass(frozen=True)
class Report:
    """One progress report.

    ``step`` is a name from :data:`STEPS`; ``fraction`` the share of that step
    done (0..1, ``None`` when unknown); ``message`` what is happening, in words
    (never prefixed with the step); ``overall`` the share of the whole job done,
    filled in by :class:`JobProgress` (``None`` until then).
    """

    step: str
    fraction: float | None
    message: str = ""
    overall: float | None = None

    @property
    def label(self) -> str:
        """The step's human name (``"Detecting cloud and shadow"``)."""
        found = _BY_NAME.get(self.step)
        return found.label if found is not None else self.step

    def __str__(self) -> str:
        return f"{self.label}: {self.message}" if self.message else self.label


#: A report that carries nothing (no step): only a cancel point, sent while a worker is quiet.
HEARTBEAT = Report("", None)

#: A progress callback: takes a :class:`Report`; may raise :class:`Cancelled`.
Progress = Callable[[Report], None]
#: A callback within one known step: ``(fraction of the step, message)``.
StepProgress = Callable[[float | None, str], None]


def emit(progress: Progress | None, step: str, fraction: float | None, message: str = "") -> None:
    """Send one :class:`Report` to ``progress`` if there is one (a cancel point)."""
    if progress is not None:
        progress(Report(step, None if fraction is None else float(fraction), message))


def reporter(progress: Progress | None, step: str) -> StepProgress | None:
    """A ``(fraction, message)`` callable reporting ``step`` to ``progress`` (``None`` stays)."""
    if progress is None:
        return None

    def _report(fraction: float | None, message: str) -> None:
        emit(progress, step, fraction, message)

    return _report


def scaled(progress: Progress | None, start: float, stop: float) -> Progress | None:
    """A callback mapping each report's fraction 0..1 onto ``start..stop`` of its step.

    Use it to give one part of a step (one writer of the ``write`` step) its share.
    """
    if progress is None:
        return None

    def _scaled(r: Report) -> None:
        f = None if r.fraction is None else start + (stop - start) * r.fraction
        progress(replace(r, fraction=f, overall=None))

    return _scaled


class JobProgress:
    """Forwards reports to ``progress`` with :attr:`Report.overall` computed for ``steps``.

    The steps' weights (from :data:`STEPS`) split the bar; a step's fraction
    moves within its share. A report of a step outside the plan passes with
    ``overall=None``. Thread-safe; the overall fraction never goes backwards.
    """

    def __init__(self, progress: Progress | None, steps: Sequence[str]) -> None:
        self._progress = progress
        self.steps = tuple(steps)
        weights = [_BY_NAME[s].weight for s in self.steps]
        total = sum(weights) or 1.0
        self._bounds: dict[str, tuple[float, float]] = {}
        at = 0.0
        for name, w in zip(self.steps, weights, strict=True):
            self._bounds[name] = (at / total, (at + w) / total)
            at += w
        self._lock = threading.Lock()
        self._high = 0.0

    def __call__(self, r: Report) -> None:
        if self._progress is None:
            return
        bounds = self._bounds.get(r.step)
        overall = None
        if bounds is not None:
            lo, hi = bounds
            f = lo if r.fraction is None else lo + (hi - lo) * min(max(r.fraction, 0.0), 1.0)
            with self._lock:
                self._high = max(self._high, f)
                overall = self._high
        self._progress(replace(r, overall=overall))

    def step(self, name: str) -> StepProgress:
        """A ``(fraction, message)`` callable for one step of the plan."""

        def _report(fraction: float | None, message: str) -> None:
            self(Report(name, None if fraction is None else float(fraction), message))

        return _report


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

        def _progress(r: Report) -> None:
            self.check()
            if inner is not None:
                inner(r)

        return _progress
