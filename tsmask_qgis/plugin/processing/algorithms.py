"""The ``tsmask`` Processing algorithms.

Every algorithm keeps no per-run state on ``self`` (``createInstance`` returns a
fresh ``type(self)()``), reports progress through ``QgsProcessingMultiStepFeedback``,
stops when cancelled and leaves no partial output. No data work runs in the
QGIS process: every algorithm hands plain values to a job run in a child
Python process (:mod:`tsmask_qgis.worker`, jobs in
:mod:`tsmask_qgis.plugin.worker_jobs`) — detection is
:func:`tsmask_qgis.pipeline.run` there with the engine's process-pool runner,
the mask tools the engine's spatial functions with the same runner — and gets
plain values back (paths, rows, numbers); QGIS loads the outputs itself.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from qgis.core import (
    QgsCoordinateReferenceSystem,
    QgsFeature,
    QgsFeatureSink,
    QgsField,
    QgsFields,
    QgsProcessing,
    QgsProcessingAlgorithm,
    QgsProcessingContext,
    QgsProcessingException,
    QgsProcessingFeedback,
    QgsProcessingMultiStepFeedback,
    QgsProcessingOutputNumber,
    QgsProcessingParameterBoolean,
    QgsProcessingParameterDateTime,
    QgsProcessingParameterDefinition,
    QgsProcessingParameterEnum,
    QgsProcessingParameterExtent,
    QgsProcessingParameterFeatureSink,
    QgsProcessingParameterFile,
    QgsProcessingParameterFileDestination,
    QgsProcessingParameterNumber,
    QgsProcessingParameterRasterDestination,
    QgsProcessingParameterRasterLayer,
    QgsProcessingParameterString,
    QgsWkbTypes,
)
from qgis.PyQt.QtCore import QVariant
from qgis.PyQt.QtGui import QIcon

from tsmask_qgis.plugin import deps
from tsmask_qgis.progress import Cancelled, Progress, Report, plan

__all__ = [
    "ALGORITHMS",
    "BufferAlgorithm",
    "CompareMasksAlgorithm",
    "DetectLocalAlgorithm",
    "DetectStacAlgorithm",
    "MajorityFilterAlgorithm",
    "SeedFilterAlgorithm",
    "SummaryAlgorithm",
]

PRESETS = ("seed", "dea")
WGS84 = QgsCoordinateReferenceSystem("EPSG:4326")
#: The engine runner of every algorithm (in the child process): kernels in a pool of
#: plain Python worker processes.
RUNNER = "processes"


def _advanced(param: QgsProcessingParameterDefinition) -> QgsProcessingParameterDefinition:
    param.setFlags(param.flags() | QgsProcessingParameterDefinition.FlagAdvanced)
    return param


def _help(param: QgsProcessingParameterDefinition, text: str) -> QgsProcessingParameterDefinition:
    # setHelp exists from QGIS 3.16; the text also shows as a tooltip in the dialog.
    if hasattr(param, "setHelp"):
        param.setHelp(text)
    return param


def _workers_parameter(name: str, help_text: str) -> QgsProcessingParameterDefinition:
    """The advanced 'worker processes' number (0 = all cores)."""
    workers = QgsProcessingParameterNumber(
        name,
        "Worker processes (0 = all cores)",
        QgsProcessingParameterNumber.Integer,
        0,
        False,
        0,
        256,
    )
    return _advanced(_help(workers, help_text))


def _progress_adapter(
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


def _local_file(layer: Any, what: str) -> str:
    if layer is None:
        raise QgsProcessingException(f"Choose the {what} raster.")
    path = layer.source().split("|")[0]
    if not os.path.isfile(path):
        raise QgsProcessingException(
            f"The {what} layer must be a raster file on disk (found {layer.source()!r})."
        )
    return path


def _layer_file(layer: Any, what: str) -> tuple[str, str | None]:
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
    return _local_file(layer, what), None


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

    def _check(self) -> None:
        ok, message = self.canExecute()
        if not ok:
            raise QgsProcessingException(message)

    def processAlgorithm(self, parameters, context, feedback):
        """Run :meth:`process` (its data work runs in a child process) and return its outputs.

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


# ---------------------------------------------------------------------------
# Mask tools run in a worker process
# ---------------------------------------------------------------------------


class _MaskToolAlgorithm(TsmaskAlgorithm):
    INPUT = "INPUT"
    OUTPUT = "OUTPUT"
    WORKERS = "WORKERS"
    FEATURE = "spatial"

    def initAlgorithm(self, config=None):
        self.addParameter(
            _help(
                QgsProcessingParameterRasterLayer(self.INPUT, "Mask raster (one band per date)"),
                "A tsmask class raster: 0 no observation, 1 clear, 2 cloud, 3 shadow.",
            )
        )
        self._extra_parameters()
        self.addParameter(_workers_parameter(self.WORKERS, "Plain Python worker processes."))
        self.addParameter(QgsProcessingParameterRasterDestination(self.OUTPUT, self.displayName()))

    def _extra_parameters(self) -> None:
        pass

    def _step(self, parameters, context) -> dict[str, Any]:
        """The ``mask_tool`` job's ``step`` (and ``passes``) for these parameters."""
        raise NotImplementedError

    def process(self, parameters, context, feedback):
        self._check()
        from tsmask_qgis import worker
        from tsmask_qgis.plugin.processing.postprocess import MASK_STYLER

        steps = QgsProcessingMultiStepFeedback(1, feedback)
        src = _local_file(self.parameterAsRasterLayer(parameters, self.INPUT, context), "mask")
        out = self.parameterAsOutputLayer(parameters, self.OUTPUT, context)
        workers = self.parameterAsInt(parameters, self.WORKERS, context) or None
        steps.pushInfo(f"{self.displayName()} in worker processes…")
        stem, suffix = Path(out).stem, Path(out).suffix
        result = worker.run(
            "mask_tool",
            {"src": src, "out": out, "workers": workers, **self._step(parameters, context)},
            progress=_progress_adapter(steps, feedback),
            temp_globs=[str(Path(out).parent / f".{stem}.*.part{suffix}")],
        )
        if feedback.isCanceled():
            Path(out).unlink(missing_ok=True)
            raise Cancelled("cancelled by the user")
        steps.pushInfo(f"{result['changed']} pixel-dates changed in {result['bands']} band(s).")
        self._style_output(context, out, MASK_STYLER, self.displayName())
        return {self.OUTPUT: out}


class SeedFilterAlgorithm(_MaskToolAlgorithm):
    """``tsmask:seed_filter``: the seed preset's 3x3 spatial filter."""

    NAME = "seed_filter"
    DISPLAY_NAME = "Seed spatial filter"
    HELP = (
        "The seed preset's spatial filter, per date: a cloud or shadow pixel with fewer "
        "than three cloud or shadow pixels in its 3x3 block (itself included) becomes clear. "
        "The scan is in place, as in the original method. Runs in worker processes."
    )

    def _step(self, parameters, context):
        return {"step": "seed_filter"}


class BufferAlgorithm(_MaskToolAlgorithm):
    """``tsmask:buffer``: the seed preset's buffer of cloud and shadow."""

    NAME = "buffer"
    DISPLAY_NAME = "Buffer cloud and shadow"
    HELP = (
        "The seed preset's buffer, per date: grows cloud and shadow into neighbouring clear "
        "pixels as algorithm.md specifies. Runs in worker processes."
    )

    def _step(self, parameters, context):
        return {"step": "buffer"}


class MajorityFilterAlgorithm(_MaskToolAlgorithm):
    """``tsmask:majority_filter``: DEA's majority filter."""

    NAME = "majority_filter"
    DISPLAY_NAME = "Majority filter"
    HELP = (
        "The dea preset's majority filter, per date: a pixel takes the class most of its "
        "neighbours have. DEA runs it twice. Runs in worker processes."
    )
    PASSES = "PASSES"

    def _extra_parameters(self) -> None:
        param = QgsProcessingParameterNumber(
            self.PASSES, "Passes", QgsProcessingParameterNumber.Integer, 1, False, 1, 10
        )
        self.addParameter(_advanced(_help(param, "How many times the filter runs (dea: 2).")))

    def _step(self, parameters, context):
        return {"step": "majority", "passes": self.parameterAsInt(parameters, self.PASSES, context)}


# ---------------------------------------------------------------------------
# Summary and comparison (read and computed in the child process)
# ---------------------------------------------------------------------------


class SummaryAlgorithm(TsmaskAlgorithm):
    """``tsmask:summary``: per-date percentages of each class as a table."""

    NAME = "summary"
    DISPLAY_NAME = "Per-date summary"
    HELP = (
        "One row per date (band) of a tsmask class raster: percent of pixels clear, cloud, "
        "cloud shadow and without observation, and the cloud-or-shadow percent of observed "
        "pixels. Band descriptions (the dates) name the rows."
    )
    INPUT = "INPUT"
    OUTPUT = "OUTPUT"
    FEATURE = "summary"

    def initAlgorithm(self, config=None):
        self.addParameter(QgsProcessingParameterRasterLayer(self.INPUT, "Mask raster"))
        self.addParameter(
            QgsProcessingParameterFeatureSink(
                self.OUTPUT, "Summary", QgsProcessing.TypeVector, None, False
            )
        )

    @staticmethod
    def fields() -> QgsFields:
        """The table's columns."""
        from tsmask_qgis.classes import CLASSES

        fields = QgsFields()
        fields.append(QgsField("band", QVariant.Int))
        fields.append(QgsField("date", QVariant.String))
        for c in CLASSES:
            fields.append(QgsField(f"{c.name}_pct", QVariant.Double))
        fields.append(QgsField("cloud_or_shadow_of_observed_pct", QVariant.Double))
        return fields

    def process(self, parameters, context, feedback):
        self._check()
        from tsmask_qgis import worker

        src = _local_file(self.parameterAsRasterLayer(parameters, self.INPUT, context), "mask")
        rows = worker.run("summary", {"src": src}, progress=_progress_adapter(feedback))["rows"]
        fields = self.fields()
        sink, dest = self.parameterAsSink(
            parameters,
            self.OUTPUT,
            context,
            fields,
            QgsWkbTypes.NoGeometry,
            QgsCoordinateReferenceSystem(),
        )
        if sink is None:
            raise QgsProcessingException(self.invalidSinkError(parameters, self.OUTPUT))
        for row in rows:
            if feedback.isCanceled():
                break
            feature = QgsFeature(fields)
            feature.setAttributes(list(row))
            sink.addFeature(feature, QgsFeatureSink.FastInsert)
        return {self.OUTPUT: dest}


class CompareMasksAlgorithm(TsmaskAlgorithm):
    """``tsmask:compare_masks``: accuracy of a mask against a reference mask."""

    NAME = "compare_masks"
    DISPLAY_NAME = "Compare masks"
    HELP = (
        "Confusion matrix, overall accuracy, producer's and user's accuracy per class and "
        "the F1 score of cloud-or-shadow against clear, overall and per date, of a tsmask "
        "mask against a reference: another four-class mask (tsmask), Sentinel-2 L2A scene "
        "classification (scl: 3 shadow; 8, 9, 10 cloud; 2, 4-7, 11 clear; 0, 1 no "
        "observation) or DEA's oa_fmask (fmask: 2 cloud, 3 shadow, 1/4/5 clear, 0 nodata). "
        "The mask is a multi-band raster (one band per date, dates in the band "
        "descriptions or DATE tags) or a NetCDF layer; the reference is such a raster or a "
        "folder of single-date GeoTIFFs (dated by tags or file/folder names). "
        "Dates are matched by day (dates on one side only are listed and left out); a "
        "raster nodata value becomes no observation; pixel-dates without an observation on "
        "either side are left out and counted. Both must be on the same grid, unless "
        "'Resample the reference' is ticked (mode resampling onto the mask's grid)."
    )
    MASK = "MASK"
    REFERENCE = "REFERENCE"
    REFERENCE_FOLDER = "REFERENCE_FOLDER"
    REFERENCE_KIND = "REFERENCE_KIND"
    RESAMPLE = "RESAMPLE"
    OUTPUT_HTML = "OUTPUT_HTML"
    OVERALL_ACCURACY = "OVERALL_ACCURACY"
    F1 = "CLOUD_SHADOW_F1"
    DATES = "MATCHED_DATES"
    KINDS = ("tsmask", "scl", "fmask")
    FEATURE = "compare"

    def initAlgorithm(self, config=None):
        self.addParameter(
            _help(
                QgsProcessingParameterRasterLayer(self.MASK, "tsmask mask"),
                "The mask to assess: a multi-band raster (one band per date) or tsmask.nc.",
            )
        )
        self.addParameter(
            _help(
                QgsProcessingParameterRasterLayer(
                    self.REFERENCE, "Reference mask (raster)", optional=True
                ),
                "A reference raster, one band per date. Or give a folder below.",
            )
        )
        self.addParameter(
            _help(
                QgsProcessingParameterFile(
                    self.REFERENCE_FOLDER,
                    "Reference folder (single-date GeoTIFFs)",
                    QgsProcessingParameterFile.Folder,
                    optional=True,
                ),
                "A folder of one GeoTIFF per date, dated by tags or file/folder names "
                "(e.g. S2B_55HFA_20200105_0_L2A/SCL.tif).",
            )
        )
        self.addParameter(
            _help(
                QgsProcessingParameterEnum(
                    self.REFERENCE_KIND, "Reference kind", options=list(self.KINDS), defaultValue=0
                ),
                "tsmask: four classes like ours; scl: Sentinel-2 L2A SCL; fmask: DEA oa_fmask.",
            )
        )
        self.addParameter(
            _help(
                QgsProcessingParameterBoolean(
                    self.RESAMPLE, "Resample the reference onto the mask's grid", False
                ),
                "Mode resampling (classes are never averaged); pixels outside become no "
                "observation.",
            )
        )
        self.addParameter(
            QgsProcessingParameterFileDestination(self.OUTPUT_HTML, "Report", "HTML files (*.html)")
        )
        self.addOutput(QgsProcessingOutputNumber(self.OVERALL_ACCURACY, "Overall accuracy"))
        self.addOutput(QgsProcessingOutputNumber(self.F1, "F1 of cloud or shadow"))
        self.addOutput(QgsProcessingOutputNumber(self.DATES, "Dates compared"))

    def process(self, parameters, context, feedback):
        self._check()
        from tsmask_qgis import worker

        mask_path, mask_var = _layer_file(
            self.parameterAsRasterLayer(parameters, self.MASK, context), "mask"
        )
        ref_layer = self.parameterAsRasterLayer(parameters, self.REFERENCE, context)
        folder = self.parameterAsFile(parameters, self.REFERENCE_FOLDER, context)
        if (ref_layer is None) == (not folder):
            raise QgsProcessingException(
                "Give the reference either as a raster layer or as a folder of single-date "
                "GeoTIFFs (one of the two)."
            )
        if folder and not os.path.isdir(folder):
            raise QgsProcessingException(f"The reference folder {folder} does not exist.")
        ref_path, ref_var = (folder, None) if folder else _layer_file(ref_layer, "reference")
        kind = self.KINDS[self.parameterAsEnum(parameters, self.REFERENCE_KIND, context)]
        resample = self.parameterAsBool(parameters, self.RESAMPLE, context)
        out = self.parameterAsFileOutput(parameters, self.OUTPUT_HTML, context)
        steps = QgsProcessingMultiStepFeedback(1, feedback)
        result = worker.run(
            "compare",
            {
                "mask_path": mask_path,
                "mask_var": mask_var,
                "ref_path": ref_path,
                "ref_var": ref_var,
                "kind": kind,
                "resample": resample,
                "out": out,
            },
            progress=_progress_adapter(steps, feedback),
            temp_globs=[str(Path(out).parent / f".{Path(out).stem}.*.part{Path(out).suffix}")],
        )
        for line in result["info"]:
            steps.pushInfo(line)
        for label, key in (
            ("mask", "unmatched_mask_dates"),
            ("reference", "unmatched_reference_dates"),
        ):
            dates = result[key]
            if dates:
                steps.pushWarning(
                    f"{len(dates)} date(s) only in the {label}, left out: {', '.join(dates)}"
                )
        oa, f1 = result["overall_accuracy"], result["f1"]
        steps.pushInfo(
            f"{len(result['dates'])} dates, overall accuracy "
            f"{'n/a' if oa is None else f'{oa:.3f}'}, cloud-or-shadow F1 "
            f"{'n/a' if f1 is None else f'{f1:.3f}'}"
        )
        return {
            self.OUTPUT_HTML: out,
            self.OVERALL_ACCURACY: oa,
            self.F1: f1,
            self.DATES: len(result["dates"]),
        }


# ---------------------------------------------------------------------------
# Detection: the pipeline with the engine's process-pool runner
# ---------------------------------------------------------------------------


class _DetectAlgorithm(TsmaskAlgorithm):
    PRESET = "PRESET"
    SPATIAL = "SPATIAL"
    WORKERS = "WORKERS"
    MAX_MEMORY = "MAX_MEMORY"
    OUTPUT = "OUTPUT"
    CLEAR_COUNT = "CLEAR_COUNT"
    GROUP = ("detection", "Detection")
    #: Preset thresholds offered as advanced parameters: (name, label).
    KNOBS = (
        ("brightness", "Bright-cloud threshold (six-band mean)"),
        ("cloud_spike", "Cloud spike (relative rise)"),
        ("shadow_spike", "Shadow spike (relative drop)"),
    )

    def _method_parameters(self) -> None:
        self.addParameter(
            _help(
                QgsProcessingParameterEnum(
                    self.PRESET, "Preset", options=list(PRESETS), defaultValue=0
                ),
                "seed: the original method (the notebook); dea: DEA's production form.",
            )
        )
        self.addParameter(
            _help(
                QgsProcessingParameterBoolean(self.SPATIAL, "Spatial steps", defaultValue=True),
                "seed: filter then buffer; dea: majority filter twice.",
            )
        )
        self.addParameter(
            _workers_parameter(self.WORKERS, "Plain Python worker processes for detection.")
        )
        memory = QgsProcessingParameterNumber(
            self.MAX_MEMORY,
            "Max memory in GB (0 = half the available memory)",
            QgsProcessingParameterNumber.Double,
            0.0,
            False,
            0.0,
            4096.0,
        )
        self.addParameter(_advanced(_help(memory, "A run larger than this streams tile by tile.")))
        for name, label in self.KNOBS:
            knob = QgsProcessingParameterNumber(
                name.upper(), label, QgsProcessingParameterNumber.Double, None, True, 0.0, 10.0
            )
            self.addParameter(_advanced(_help(knob, "Leave empty for the preset's value.")))
        self.addParameter(
            QgsProcessingParameterRasterDestination(self.OUTPUT, "Mask (one band per date)")
        )
        self.addParameter(
            _help(
                QgsProcessingParameterRasterDestination(
                    self.CLEAR_COUNT,
                    "Clear-observation count",
                    optional=True,
                    createByDefault=False,
                ),
                "Band 1: dates clear at each pixel; band 2: dates observed.",
            )
        )

    def _spatial(self, parameters, context) -> bool:
        return self.parameterAsBool(parameters, self.SPATIAL, context)

    def _job_options(self, parameters, context) -> dict[str, Any]:
        preset = PRESETS[self.parameterAsEnum(parameters, self.PRESET, context)]
        overrides = {}
        for name, _ in self.KNOBS:
            key = name.upper()
            if parameters.get(key) not in (None, ""):
                overrides[name] = self.parameterAsDouble(parameters, key, context)
        memory = self.parameterAsDouble(parameters, self.MAX_MEMORY, context)
        return {
            "preset": preset,
            "spatial": self._spatial(parameters, context),
            "workers": self.parameterAsInt(parameters, self.WORKERS, context) or None,
            "max_memory": int(memory * 1e9) if memory > 0 else None,
            "overrides": tuple(sorted(overrides.items())),
        }

    def _run_job(self, source: dict[str, Any], parameters, context, feedback) -> dict[str, Any]:
        """Run the pipeline into a private folder beside the outputs, then move them in place."""
        from tsmask_qgis import worker
        from tsmask_qgis.plugin.processing.postprocess import COUNT_STYLER, MASK_STYLER

        out = self.parameterAsOutputLayer(parameters, self.OUTPUT, context)
        count = (
            self.parameterAsOutputLayer(parameters, self.CLEAR_COUNT, context)
            if parameters.get(self.CLEAR_COUNT) not in (None, "")
            else ""
        )
        formats = ("multiband", "count") if count else ("multiband",)
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(prefix=".tsmask-", dir=Path(out).parent))
        job_plan = plan(catalogue="request" in source, spatial=self._spatial(parameters, context))
        steps = QgsProcessingMultiStepFeedback(len(job_plan), feedback)
        try:
            job = dict(
                out=work,
                **source,
                **self._job_options(parameters, context),
                formats=formats,
                runner=RUNNER,
                overwrite=True,
            )
            steps.pushInfo(
                f"{job['preset']} preset, spatial steps {'on' if job['spatial'] else 'off'}, "
                "detection in worker processes"
            )
            result = worker.run(
                "pipeline",
                {"job": job},
                progress=pipeline_feedback(steps, feedback, job_plan),
                temp_globs=[str(work)],
            )
            if feedback.isCanceled():
                raise Cancelled("cancelled by the user")
            os.replace(work / "tsmask_multiband.tif", out)
            if count:
                Path(count).parent.mkdir(parents=True, exist_ok=True)
                os.replace(work / "clear_count.tif", count)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        steps.pushInfo(f"{len(result['dates'])} dates: {', '.join(result['dates'])}")
        self._style_output(context, out, MASK_STYLER, "tsmask mask")
        outputs: dict[str, Any] = {self.OUTPUT: out}
        if count:
            self._style_output(context, count, COUNT_STYLER, "clear observations")
            outputs[self.CLEAR_COUNT] = count
        return outputs


class DetectLocalAlgorithm(_DetectAlgorithm):
    """``tsmask:detect_local``: detect on a local stack (NetCDF, GeoTIFF or folder)."""

    NAME = "detect_local"
    DISPLAY_NAME = "Detect cloud and shadow (local stack)"
    HELP = (
        "Cloud and cloud-shadow mask of a local Sentinel-2 stack: a NetCDF with one "
        "variable per band (blue green red nir swir1 swir2) and a time dimension, a "
        "multi-band GeoTIFF per band with dates in the band descriptions, or a folder of "
        "GeoTIFFs (one per date). The output has one band per date (0 no observation, "
        "1 clear, 2 cloud, 3 cloud shadow) named by date. Detection runs in worker processes."
    )
    INPUT = "INPUT"
    FEATURE = "detect_local"

    def initAlgorithm(self, config=None):
        self.addParameter(
            _help(
                QgsProcessingParameterFile(self.INPUT, "Local stack (file or folder)"),
                "A NetCDF or GeoTIFF file, or a folder of GeoTIFFs.",
            )
        )
        self._method_parameters()

    def process(self, parameters, context, feedback):
        self._check()
        path = self.parameterAsFile(parameters, self.INPUT, context)
        if not path or not os.path.exists(path):
            raise QgsProcessingException(f"The local stack {path!r} does not exist.")
        return self._run_job({"input": Path(path)}, parameters, context, feedback)


class DetectStacAlgorithm(_DetectAlgorithm):
    """``tsmask:detect_stac``: search a STAC catalogue, load, detect."""

    NAME = "detect_stac"
    DISPLAY_NAME = "Detect cloud and shadow (STAC catalogue)"
    HELP = (
        "Searches a STAC catalogue for Sentinel-2 surface reflectance over the extent and "
        "dates, loads it (20 m by default, in the UTM zone of the extent's centre) and "
        "detects cloud and cloud shadow. Choose custom and give the API address and "
        "collection for another catalogue. Cloudy dates are needed by the method: no "
        "cloud-cover pre-filter is applied. A custom address also replaces a preset's "
        "(e.g. a mirror of Earth Search)."
    )
    EXTENT = "EXTENT"
    START = "START"
    END = "END"
    SOURCE = "SOURCE"
    STAC_URL = "STAC_URL"
    COLLECTION = "COLLECTION"
    RESOLUTION = "RESOLUTION"
    FEATURE = "detect_stac"

    @staticmethod
    def sources() -> list[str]:
        """Catalogue preset names offered, then ``custom``."""
        try:
            from tsmask_qgis.loaders import SOURCES

            names = [n for n in SOURCES if n != "custom"]
        except Exception:
            names = []
        return [*names, "custom"]

    def initAlgorithm(self, config=None):
        self.addParameter(QgsProcessingParameterExtent(self.EXTENT, "Area"))
        self.addParameter(
            QgsProcessingParameterDateTime(
                self.START, "Start date", QgsProcessingParameterDateTime.Date
            )
        )
        self.addParameter(
            QgsProcessingParameterDateTime(
                self.END, "End date", QgsProcessingParameterDateTime.Date
            )
        )
        self.addParameter(
            QgsProcessingParameterEnum(
                self.SOURCE, "Source", options=self.sources(), defaultValue=0
            )
        )
        self.addParameter(
            _advanced(
                _help(
                    QgsProcessingParameterString(
                        self.STAC_URL, "Custom STAC API address", optional=True
                    ),
                    "Needed for custom; for a preset it replaces the preset's address.",
                )
            )
        )
        self.addParameter(
            _advanced(
                _help(
                    QgsProcessingParameterString(
                        self.COLLECTION, "Custom collection", optional=True
                    ),
                    "Needed for custom; for a preset it replaces the preset's collections.",
                )
            )
        )
        resolution = QgsProcessingParameterNumber(
            self.RESOLUTION,
            "Resolution (m)",
            QgsProcessingParameterNumber.Double,
            20.0,
            False,
            10.0,
            1000.0,
        )
        self.addParameter(_advanced(resolution))
        self._method_parameters()

    def request(self, parameters, context) -> Any:
        """The loaders' ``Request`` for these parameters (``QgsProcessingException`` if bad)."""
        from tsmask_qgis.loaders import Request

        extent = self.parameterAsExtent(parameters, self.EXTENT, context, WGS84)
        if extent.isNull() or extent.isEmpty():
            raise QgsProcessingException("The area is empty.")
        start = self.parameterAsDateTime(parameters, self.START, context).date()
        end = self.parameterAsDateTime(parameters, self.END, context).date()
        if not start.isValid() or not end.isValid():
            raise QgsProcessingException("Give a start and an end date.")
        if end < start:
            raise QgsProcessingException("The end date is before the start date.")
        source = self.sources()[self.parameterAsEnum(parameters, self.SOURCE, context)]
        url = (self.parameterAsString(parameters, self.STAC_URL, context) or "").strip()
        collection = (self.parameterAsString(parameters, self.COLLECTION, context) or "").strip()
        if source == "custom" and (not url or not collection):
            raise QgsProcessingException("A custom STAC source needs an address and a collection.")
        options: dict[str, Any] = {
            "source": source,
            "resolution": self.parameterAsDouble(parameters, self.RESOLUTION, context),
        }
        if url:
            options["stac_url"] = url
        if collection:
            options["collections"] = tuple(c.strip() for c in collection.split(",") if c.strip())
        try:
            return Request(
                (extent.xMinimum(), extent.yMinimum(), extent.xMaximum(), extent.yMaximum()),
                dt.date(start.year(), start.month(), start.day()),
                dt.date(end.year(), end.month(), end.day()),
                **options,
            )
        except ValueError as exc:
            raise QgsProcessingException(str(exc)) from exc

    def process(self, parameters, context, feedback):
        self._check()
        request = self.request(parameters, context)
        return self._run_job({"request": request}, parameters, context, feedback)


ALGORITHMS: tuple[type[TsmaskAlgorithm], ...] = (
    DetectStacAlgorithm,
    DetectLocalAlgorithm,
    SeedFilterAlgorithm,
    BufferAlgorithm,
    MajorityFilterAlgorithm,
    SummaryAlgorithm,
    CompareMasksAlgorithm,
)
