"""What every ``tsmask`` Processing algorithm shares: parameters, feedback, the job call.

Every algorithm keeps no per-run state on ``self`` (``createInstance`` returns a
fresh ``type(self)()``), reports progress through ``QgsProcessingMultiStepFeedback``,
stops when cancelled and leaves no partial output. No data work runs in the
QGIS process: every algorithm hands plain values to a job run in a warm child
Python process (:func:`run_job`, :mod:`tsmask_qgis.jobs.client`; the jobs are
:mod:`tsmask_qgis.jobs.table`) and gets plain values back (paths, rows,
numbers); QGIS loads the outputs itself.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from qgis.core import (
    QgsProcessingAlgorithm,
    QgsProcessingContext,
    QgsProcessingException,
    QgsProcessingFeedback,
    QgsProcessingMultiStepFeedback,
    QgsProcessingParameterDefinition,
    QgsProcessingParameterEnum,
    QgsProcessingParameterNumber,
)
from qgis.PyQt.QtGui import QIcon

from tsmask_qgis.plugin import compat, deps
from tsmask_qgis.plugin.convert import RUNNERS
from tsmask_qgis.progress import Cancelled, Progress, Report
from tsmask_qgis.tempfiles import TMP_PREFIX

__all__ = [
    "RUNNER_CHOICES",
    "TsmaskAlgorithm",
    "advanced",
    "help_text",
    "layer_file",
    "local_file",
    "pipeline_feedback",
    "progress_adapter",
    "run_job",
    "runner_parameter",
    "temporaries_of",
    "workers_parameter",
]

#: The runner enum's options, in order (the engine's runners; ``auto`` first).
RUNNER_CHOICES: tuple[str, ...] = tuple(RUNNERS)


def advanced(param: QgsProcessingParameterDefinition) -> QgsProcessingParameterDefinition:
    param.setFlags(param.flags() | compat.PARAMETER_ADVANCED)
    return param


def help_text(
    param: QgsProcessingParameterDefinition, text: str
) -> QgsProcessingParameterDefinition:
    # setHelp exists from QGIS 3.16; the text also shows as a tooltip in the dialog.
    if hasattr(param, "setHelp"):
        param.setHelp(text)
    return param


def workers_parameter(name: str, text: str) -> QgsProcessingParameterDefinition:
    """The advanced 'worker processes' number (0 = all cores)."""
    workers = QgsProcessingParameterNumber(
        name,
        "Worker processes (0 = all cores)",
        compat.NUMBER_INTEGER,
        0,
        False,
        0,
        256,
    )
    return advanced(help_text(workers, text))


def runner_parameter(name: str) -> QgsProcessingParameterDefinition:
    """The advanced 'runner' choice (:data:`RUNNER_CHOICES`; automatic by default)."""
    param = QgsProcessingParameterEnum(
        name, "Runner", options=[RUNNERS[r] for r in RUNNER_CHOICES], defaultValue=0
    )
    return advanced(
        help_text(
            param,
            "How the engine runs the kernels in the worker process. Automatic: threads "
            "(or dask for a lazy stack larger than the memory budget).",
        )
    )


def _stamp(path: str | os.PathLike[str]) -> tuple[int, int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_ino, st.st_size, st.st_mtime_ns)


def run_job(
    job: str,
    kwargs: dict[str, Any],
    progress: Progress,
    temp_globs: Sequence[str | os.PathLike[str]] = (),
    *,
    output: str | os.PathLike[str] | None = None,
) -> Any:
    """Run the child job ``job`` (:func:`tsmask_qgis.jobs.client.run`); its plain result.

    ``output`` is the file the job writes: when the run is cancelled after the job
    wrote it (the cancel crossed the job's last moments), it is removed, so a
    cancelled algorithm leaves no output.
    """
    from tsmask_qgis.jobs import client

    before = None if output is None else _stamp(output)
    try:
        return client.run(job, kwargs, progress=progress, temp_globs=temp_globs)
    except Cancelled:
        if output is not None and _stamp(output) != before:
            Path(output).unlink(missing_ok=True)
        raise


def temporaries_of(path: str | os.PathLike[str]) -> list[str]:
    """The glob pattern of the temporary files written for ``path``
    (:func:`tsmask_qgis.tempfiles.temp_name`, and GDAL's sidecars of them)."""
    final = Path(path)
    return [str(final.with_name(f"{TMP_PREFIX}*-{final.name}*"))]


def progress_adapter(
    feedback: QgsProcessingFeedback, parent: QgsProcessingFeedback | None = None
) -> Progress:
    """A progress callback writing to ``feedback``; raises Cancelled on cancel.

    ``parent`` (the algorithm's own feedback, when ``feedback`` is a multi-step
    child) is checked for cancellation too.
    """
    last = [""]

    def progress(r: Report) -> None:
        if feedback.isCanceled() or (parent is not None and parent.isCanceled()):
            raise Cancelled("cancelled by the user")
        if r.fraction is not None:
            feedback.setProgress(100.0 * max(0.0, min(1.0, float(r.fraction))))
        if r.message and r.message != last[0]:
            last[0] = r.message
            feedback.pushDebugInfo(r.message)

    return progress


def pipeline_feedback(
    steps: QgsProcessingMultiStepFeedback, feedback: QgsProcessingFeedback, plan: tuple[str, ...]
) -> Progress:
    """A pipeline progress callback driving ``steps`` (one child step per step of ``plan``).

    Each report's step selects the current child step (never going back); its
    fraction within the step is that child step's 0..100 %. Raises
    :class:`Cancelled` once ``feedback`` is cancelled.
    """
    index = {name: i for i, name in enumerate(plan)}
    state: dict[str, Any] = {"step": None, "last": "", "current": 0}

    def progress(r: Report) -> None:
        if feedback.isCanceled():
            raise Cancelled("cancelled by the user")
        if r.step not in index:
            return
        if r.step != state["step"]:
            state["step"] = r.step
            if index[r.step] >= state["current"]:
                state["current"] = index[r.step]
                steps.setCurrentStep(index[r.step])
            steps.pushInfo(f"{r.label}…")
        if r.fraction is not None and index[r.step] == state["current"]:
            steps.setProgress(100.0 * max(0.0, min(1.0, float(r.fraction))))
        if r.message and r.message != state["last"]:
            state["last"] = r.message
            steps.pushDebugInfo(r.message)

    return progress


def local_file(layer: Any, what: str) -> str:
    if layer is None:
        raise QgsProcessingException(f"Choose the {what} raster.")
    path = layer.source().split("|")[0]
    if not os.path.isfile(path):
        raise QgsProcessingException(
            f"The {what} layer must be a raster file on disk (found {layer.source()!r})."
        )
    return path


def layer_file(layer: Any, what: str) -> tuple[str, str | None]:
    """(file, NetCDF variable or None) behind a raster layer (``NETCDF:"f.nc":var`` too)."""
    if layer is None:
        raise QgsProcessingException(f"Choose the {what} raster.")
    source = layer.source()
    if source.upper().startswith("NETCDF:"):
        rest = source[len("NETCDF:") :]
        if rest.startswith('"'):
            path, _, var = rest[1:].partition('"')
            var = var.lstrip(":")
        else:
            path, _, var = rest.rpartition(":")
        if os.path.isfile(path):
            return path, var or None
    return local_file(layer, what), None


class TsmaskAlgorithm(QgsProcessingAlgorithm):
    """Shared behaviour: icon, group, dependency check, fresh instances."""

    NAME = ""
    DISPLAY_NAME = ""
    HELP = ""
    #: The feature in :data:`tsmask_qgis.plugin.deps.FEATURES` this algorithm needs.
    FEATURE = "summary"
    GROUP = ("masktools", "Mask tools")

    #: ``tsmask:NAME``, the title in the toolbox and the help text (subclasses).
    def createInstance(self):
        return type(self)()

    def name(self) -> str:
        return self.NAME

    def displayName(self) -> str:
        return self.DISPLAY_NAME

    def shortHelpString(self) -> str:
        return self.HELP

    def group(self) -> str:
        return self.GROUP[1]

    def groupId(self) -> str:
        return self.GROUP[0]

    def icon(self) -> QIcon:
        from tsmask_qgis.plugin.plugin import ICON

        return QIcon(ICON)

    def canExecute(self):
        missing = deps.missing(self.FEATURE)
        if missing:
            return False, deps.missing_message(missing)
        return True, ""

    #: The name of the advanced runner parameter (algorithms that run the engine add it).
    RUNNER = "RUNNER"

    def runner_of(self, parameters, context) -> str:
        """The runner chosen (``auto`` when the parameter is absent)."""
        if self.parameterDefinition(self.RUNNER) is None:
            return "auto"
        return RUNNER_CHOICES[self.parameterAsEnum(parameters, self.RUNNER, context)]

    def _check(self) -> None:
        ok, message = self.canExecute()
        if not ok:
            raise QgsProcessingException(message)

    def processAlgorithm(self, parameters, context, feedback):
        """Run :meth:`process` (its data work runs in a warm child) and return its outputs.

        An error of the job (a :class:`tsmask_qgis.errors.TsmaskError`, rebuilt from
        the child) becomes a ``QgsProcessingException`` with its message and the
        dialog's pointer to the field it concerns; the child's traceback goes to the log.
        """
        from tsmask_qgis.errors import TsmaskError
        from tsmask_qgis.plugin.jobs import friendly_error

        try:
            return self.process(parameters, context, feedback)
        except Cancelled:
            raise QgsProcessingException("Cancelled: no output was written.") from None
        except TsmaskError as exc:
            details = getattr(exc, "details", "")
            if details:
                feedback.pushDebugInfo(details)
            raise QgsProcessingException(friendly_error(exc)) from exc

    def process(self, parameters, context, feedback) -> dict[str, Any]:
        """The algorithm's work (subclasses)."""
        raise NotImplementedError

    @staticmethod
    def _style_output(context: QgsProcessingContext, path: str, styler: Any, name: str) -> None:
        if context.willLoadLayerOnCompletion(path):
            details = context.layerToLoadOnCompletionDetails(path)
            details.setPostProcessor(styler)
            details.name = name
