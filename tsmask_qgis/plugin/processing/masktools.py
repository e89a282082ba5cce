"""The mask tools, the per-date summary and the mask comparison (Processing algorithms).

Each hands the raster's path to a job in a warm child (:mod:`tsmask_qgis.jobs.table`:
``mask_tool`` runs the engine's spatial functions, ``summary`` and ``compare`` read
and compute there) and gets plain values back; QGIS loads and styles the output.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from qgis.core import (
    QgsCoordinateReferenceSystem,
    QgsFeature,
    QgsFeatureSink,
    QgsField,
    QgsFields,
    QgsProcessingException,
    QgsProcessingMultiStepFeedback,
    QgsProcessingOutputNumber,
    QgsProcessingParameterBoolean,
    QgsProcessingParameterEnum,
    QgsProcessingParameterFeatureSink,
    QgsProcessingParameterFile,
    QgsProcessingParameterFileDestination,
    QgsProcessingParameterNumber,
    QgsProcessingParameterRasterDestination,
    QgsProcessingParameterRasterLayer,
)

from tsmask_qgis.plugin import compat
from tsmask_qgis.plugin.processing.common import (
    TsmaskAlgorithm,
    advanced,
    help_text,
    layer_file,
    local_file,
    progress_adapter,
    run_job,
    runner_parameter,
    temporaries_of,
    workers_parameter,
)
from tsmask_qgis.progress import Cancelled

__all__ = [
    "BufferAlgorithm",
    "CompareMasksAlgorithm",
    "MajorityFilterAlgorithm",
    "SeedFilterAlgorithm",
    "SummaryAlgorithm",
]


# ---------------------------------------------------------------------------
# Mask tools: the engine's spatial functions in the worker process
# ---------------------------------------------------------------------------


class _MaskToolAlgorithm(TsmaskAlgorithm):
    INPUT = "INPUT"
    OUTPUT = "OUTPUT"
    WORKERS = "WORKERS"
    FEATURE = "spatial"

    def initAlgorithm(self, config=None):
        self.addParameter(
            help_text(
                QgsProcessingParameterRasterLayer(self.INPUT, "Mask raster (one band per date)"),
                "A tsmask class raster: 0 no observation, 1 clear, 2 cloud, 3 shadow.",
            )
        )
        self._extra_parameters()
        self.addParameter(workers_parameter(self.WORKERS, "Plain Python worker processes."))
        self.addParameter(runner_parameter(self.RUNNER))
        self.addParameter(QgsProcessingParameterRasterDestination(self.OUTPUT, self.displayName()))

    def _extra_parameters(self) -> None:
        pass

    #: The ``mask_tool`` job's step (subclasses).
    STEP = ""

    def _step(self, parameters, context) -> dict[str, Any]:
        """The ``mask_tool`` job's ``step`` (and ``passes``) for these parameters."""
        return {"step": self.STEP}

    def process(self, parameters, context, feedback):
        self._check()
        from tsmask_qgis.plugin.processing.postprocess import MASK_STYLER

        steps = QgsProcessingMultiStepFeedback(1, feedback)
        src = local_file(self.parameterAsRasterLayer(parameters, self.INPUT, context), "mask")
        out = self.parameterAsOutputLayer(parameters, self.OUTPUT, context)
        workers = self.parameterAsInt(parameters, self.WORKERS, context) or None
        runner = self.runner_of(parameters, context)
        steps.pushInfo(f"{self.displayName()} in the worker process (runner {runner})…")
        job = {"src": src, "out": out, "workers": workers, "runner": runner}
        result = run_job(
            "mask_tool",
            {**job, **self._step(parameters, context)},
            progress_adapter(steps, feedback),
            temporaries_of(out),
            output=out,
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
    STEP = "seed_filter"


class BufferAlgorithm(_MaskToolAlgorithm):
    """``tsmask:buffer``: the seed preset's buffer of cloud and shadow."""

    NAME = "buffer"
    DISPLAY_NAME = "Buffer cloud and shadow"
    HELP = (
        "The seed preset's buffer, per date: grows cloud and shadow into neighbouring clear "
        "pixels as algorithm.md specifies. Runs in worker processes."
    )
    STEP = "buffer"


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
            self.PASSES, "Passes", compat.NUMBER_INTEGER, 1, False, 1, 10
        )
        self.addParameter(advanced(help_text(param, "How many times the filter runs (dea: 2).")))

    STEP = "majority"

    def _step(self, parameters, context):
        return {
            **super()._step(parameters, context),
            "passes": self.parameterAsInt(parameters, self.PASSES, context),
        }


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
                self.OUTPUT, "Summary", compat.SOURCE_VECTOR, None, False
            )
        )

    @staticmethod
    def fields() -> QgsFields:
        """The table's columns."""
        from tsmask_qgis.classes import CLASSES

        fields = QgsFields()
        fields.append(QgsField("band", compat.FIELD_INT))
        fields.append(QgsField("date", compat.FIELD_STRING))
        for c in CLASSES:
            fields.append(QgsField(f"{c.name}_pct", compat.FIELD_DOUBLE))
        fields.append(QgsField("cloud_or_shadow_of_observed_pct", compat.FIELD_DOUBLE))
        return fields

    def process(self, parameters, context, feedback):
        self._check()
        src = local_file(self.parameterAsRasterLayer(parameters, self.INPUT, context), "mask")
        rows = run_job("summary", {"src": src}, progress_adapter(feedback))["rows"]
        fields = self.fields()
        sink, dest = self.parameterAsSink(
            parameters,
            self.OUTPUT,
            context,
            fields,
            compat.WKB_NO_GEOMETRY,
            QgsCoordinateReferenceSystem(),
        )
        if sink is None:
            raise QgsProcessingException(self.invalidSinkError(parameters, self.OUTPUT))
        for row in rows:
            if feedback.isCanceled():
                break
            feature = QgsFeature(fields)
            feature.setAttributes(list(row))
            sink.addFeature(feature, QgsFeatureSink.Flag.FastInsert)
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
            help_text(
                QgsProcessingParameterRasterLayer(self.MASK, "tsmask mask"),
                "The mask to assess: a multi-band raster (one band per date) or tsmask.nc.",
            )
        )
        self.addParameter(
            help_text(
                QgsProcessingParameterRasterLayer(
                    self.REFERENCE, "Reference mask (raster)", optional=True
                ),
                "A reference raster, one band per date. Or give a folder below.",
            )
        )
        self.addParameter(
            help_text(
                QgsProcessingParameterFile(
                    self.REFERENCE_FOLDER,
                    "Reference folder (single-date GeoTIFFs)",
                    compat.FILE_FOLDER,
                    optional=True,
                ),
                "A folder of one GeoTIFF per date, dated by tags or file/folder names "
                "(e.g. S2B_55HFA_20200105_0_L2A/SCL.tif).",
            )
        )
        self.addParameter(
            help_text(
                QgsProcessingParameterEnum(
                    self.REFERENCE_KIND, "Reference kind", options=list(self.KINDS), defaultValue=0
                ),
                "tsmask: four classes like ours; scl: Sentinel-2 L2A SCL; fmask: DEA oa_fmask.",
            )
        )
        self.addParameter(
            help_text(
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
        mask_path, mask_var = layer_file(
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
        ref_path, ref_var = (folder, None) if folder else layer_file(ref_layer, "reference")
        kind = self.KINDS[self.parameterAsEnum(parameters, self.REFERENCE_KIND, context)]
        resample = self.parameterAsBool(parameters, self.RESAMPLE, context)
        out = self.parameterAsFileOutput(parameters, self.OUTPUT_HTML, context)
        steps = QgsProcessingMultiStepFeedback(1, feedback)
        result = run_job(
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
            progress_adapter(steps, feedback),
            temporaries_of(out),
            output=out,
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
