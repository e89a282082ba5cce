"""A ``QgsTask`` that runs plain work in QGIS's task manager.

``run()`` calls ``work(progress)`` — a callable built from plain values before
the task starts (the plugin's work runs a job in a warm child Python process,
:mod:`tsmask_qgis.jobs.client`) — on a background thread. It touches no project, layer or widget; the progress
callback receives :class:`~tsmask_qgis.progress.Report` values, updates the
task's bar from their overall fraction and raises
:class:`~tsmask_qgis.progress.Cancelled` once the user cancels, so every
report is a cancel point. The task keeps the current step, logs every step
change (and the messages, throttled) to the log panel, and emits
:attr:`TsmaskTask.status` so the dialog can show it. ``finished()`` runs on
the main thread and hands the result, the error or the cancellation to
callbacks (the plugin adds layers or shows the message bar there).
"""

from __future__ import annotations

import threading
import time
import traceback
from collections.abc import Callable
from typing import Any

from qgis.core import Qgis, QgsMessageLog, QgsTask
from qgis.PyQt.QtCore import pyqtSignal

from tsmask_qgis.progress import Cancelled, CancelToken, Progress, Report

__all__ = ["LOG_TAG", "TsmaskTask", "application_quits", "quiet_flags"]

#: The log panel tab the plugin writes to.
LOG_TAG = "tsmask"


Work = Callable[[Progress], Any]

#: Set when QGIS quits (:func:`application_quits`): a task then logs nothing and calls
#: no callback — QGIS's task manager cancels what is left after its message log is gone.
_QUITTING = {"now": False}


def application_quits() -> None:
    """QGIS quits: from now on the tasks stop at their next report, silently."""
    _QUITTING["now"] = True


def quiet_flags() -> Any:
    """``CanCancel``, and ``Silent`` where QGIS has it (3.26+): no "Task complete/failed"
    notice of QGIS's own over the plugin's message (which says what happened and why)."""
    flags = QgsTask.Flag.CanCancel
    silent = getattr(QgsTask.Flag, "Silent", None)
    return flags | silent if silent is not None else flags


class TsmaskTask(QgsTask):
    """Run ``work(progress)`` in the background with progress and cancel.

    ``on_success(result)``, ``on_error(exc, details)`` and ``on_cancel()`` are
    called from ``finished()`` on the main thread. Keep a reference to the task
    while it runs (QGIS owns the C++ side only). :attr:`status` carries
    ``(step label, message)`` to the main thread as the work progresses.
    """

    #: Emitted (from the task's thread; delivered queued) with (step label, message).
    status = pyqtSignal(str, str)

    def __init__(
        self,
        description: str,
        work: Work,
        *,
        on_success: Callable[[Any], None] | None = None,
        on_error: Callable[[BaseException, str], None] | None = None,
        on_cancel: Callable[[], None] | None = None,
        flags: Any = None,
    ) -> None:
        super().__init__(description, QgsTask.Flag.CanCancel if flags is None else flags)
        self._work = work
        self._token = CancelToken()
        self._on_success = on_success
        self._on_error = on_error
        self._on_cancel = on_cancel
        self._last_message: tuple[str, str] = ("", "")
        self._last_log = 0.0
        #: The value ``work`` returned (``None`` until it succeeded).
        self.result: Any = None
        #: The exception ``work`` raised, with its traceback text.
        self.error: BaseException | None = None
        self.error_details = ""
        #: Every distinct message reported, in order.
        self.messages: list[str] = []
        #: The pipeline steps seen, in order (``search``, ``load``, ...).
        self.steps: list[str] = []
        #: The step running now (``None`` before the first step message).
        self.step: str | None = None
        #: Set when :meth:`run` has returned (from the task's thread): a wait in the main
        #: thread needs no event processing to see it, unlike ``status()``.
        self.ran = threading.Event()

    # -- background thread -------------------------------------------------
    def _progress(self, r: Report) -> None:
        if self.isCanceled() or _QUITTING["now"]:
            self._token.cancel()
        self._token.check()
        if not r.step:  # a heartbeat: only a cancel point
            return
        fraction = r.overall if r.overall is not None else r.fraction
        if fraction is not None:
            self.setProgress(max(0.0, min(100.0, 100.0 * float(fraction))))
        message = r.message
        if not message or (r.step, message) == self._last_message:
            return
        self._last_message = (r.step, message)
        self.messages.append(message)
        now = time.monotonic()
        if r.step != self.step:
            self.step = r.step
            if r.step not in self.steps:
                self.steps.append(r.step)
            QgsMessageLog.logMessage(
                f"{self.description()}: {r.label}…", LOG_TAG, Qgis.MessageLevel.Info
            )
            self._last_log = 0.0
        if now - self._last_log > 0.5 or r.fraction in (0.0, 1.0):
            self._last_log = now
            QgsMessageLog.logMessage(f"{self.description()}: {r}", LOG_TAG, Qgis.MessageLevel.Info)
            self.status.emit(r.label, message)

    def run(self) -> bool:
        """Do the work (background thread): plain values only, no project or GUI."""
        try:
            return self._run()
        finally:
            self.ran.set()

    def _run(self) -> bool:
        try:
            self.result = self._work(self._progress)
        except Cancelled:
            return False
        except Exception as exc:
            self.error = exc
            self.error_details = traceback.format_exc()
            return False
        if self.isCanceled():
            return False
        self.setProgress(100.0)
        return True

    def cancel(self) -> None:
        """Ask the work to stop at its next progress report."""
        self._token.cancel()
        super().cancel()

    # -- main thread -------------------------------------------------------
    def finished(self, result: bool) -> None:
        """Hand the outcome to the callbacks (main thread); nothing once QGIS quits."""
        if _QUITTING["now"]:
            return
        if result:
            if self._on_success is not None:
                try:
                    self._on_success(self.result)
                except Exception as exc:
                    self.error = exc
                    self.error_details = traceback.format_exc()
                    self._report_error()
            return
        if self.error is not None:
            self._report_error()
        else:
            QgsMessageLog.logMessage(
                f"{self.description()}: cancelled", LOG_TAG, Qgis.MessageLevel.Info
            )
            if self._on_cancel is not None:
                self._on_cancel()

    def _report_error(self) -> None:
        assert self.error is not None  # nosec B101: internal invariant (type narrowing), not a check of input
        QgsMessageLog.logMessage(
            f"{self.description()} failed: {self.error}\n{self.error_details}",
            LOG_TAG,
            Qgis.MessageLevel.Critical,
        )
        if self._on_error is not None:
            self._on_error(self.error, self.error_details)
