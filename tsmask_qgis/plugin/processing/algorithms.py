"""The ``tsmask`` Processing algorithms.

Every algorithm keeps no per-run state on ``self`` (``createInstance`` returns a
fresh ``type(self)()``), reports progress through ``QgsProcessingMultiStepFeedback``,
stops when cancelled and leaves no partial output. Kernels never run in the
QGIS process: detection uses the engine's process-pool runner and the mask
tools run in a worker process (:mod:`tsmask_qgis.plugin._worker`).
"""

from __future__ import annotations

import datetime as dt
import os
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
from tsmask_qgis.progress import Cancelled

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


def _advanced(param: QgsProcessingParameterDefinition) -> QgsProcessingParameterDefinition:
    param.setFlags(param.flags() | QgsProcessingParameterDefinition.FlagAdvanced)
    return param


def _help(param: QgsProcessingParameterDefinition, text: str) -> QgsProcessingParameterDefinition:
    # setHelp exists from QGIS 3.16; the text also shows as a tooltip in the dialog.
    if hasattr(param, "setHelp"):
        param.setHelp(text)
    return param


def _progress_adapter(feedback: QgsProcessingFeedback):
    """A plain progress callback writing to ``feedback``; raises Cancelled on cancel."""
    last = [""]

    def progress(fraction: float | None, message: str) -> None:
        if feedback.isCanceled():
            raise Cancelled("cancelled by the user")
        if fraction is not None:
            feedback.setProgress(100.0 * max(0.0, min(1.0, float(fraction))))
        if message and message != last[0]:
            last[0] = message
            feedback.pushInfo(message)

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


class TsmaskAlgorithm(QgsProcessingAlgorithm):
    """Shared behaviour: icon, group, dependency check, fresh instances."""

    #: The feature in :data:`tsmask_qgis.plugin.deps.FEATURES` this algorithm needs.
    FEATURE = "summary"
    GROUP = ("masktools", "Mask tools")

    def createInstance(self):
        return type(self)()

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
    FEATURE = "spatial"
    #: The step :func:`tsmask_qgis.plugin.rasters.filter_file` runs.
    STEP = ""
    HELP = ""

    def shortHelpString(self) -> str:
        return self.HELP

    def initAlgorithm(self, config=None):
        self.addParameter(
            _help(
                QgsProcessingParameterRasterLayer(self.INPUT, "Mask raster (one band per date)"),
                "A tsmask class raster: 0 no observation, 1 clear, 2 cloud, 3 shadow.",
            )
        )
        self._extra_parameters()
        self.addParameter(QgsProcessingParameterRasterDestination(self.OUTPUT, self.displayName()))

    def _extra_parameters(self) -> None:
        pass

    def _options(self, parameters, context) -> dict[str, Any]:
        return {}

    def processAlgorithm(self, parameters, context, feedback):
        self._check()
        from tsmask_qgis.plugin._worker import run_in_process
        from tsmask_qgis.plugin.processing.postprocess import MASK_STYLER
        from tsmask_qgis.plugin.rasters import temp_path

        steps = QgsProcessingMultiStepFeedback(2, feedback)
        src = _local_file(self.parameterAsRasterLayer(parameters, self.INPUT, context), "mask")
        out = self.parameterAsOutputLayer(parameters, self.OUTPUT, context)
        tmp = temp_path(out)
        steps.setCurrentStep(0)
        steps.pushInfo(f"{self.displayName()} in a worker process…")
        try:
            info = run_in_process(
                "tsmask_qgis.plugin.rasters:filter_file",
                src,
                str(tmp),
                self.STEP,
                is_cancelled=feedback.isCanceled,
                **self._options(parameters, context),
            )
            steps.setCurrentStep(1)
            if feedback.isCanceled():
                raise Cancelled("cancelled by the user")
            os.replace(tmp, out)
        except Cancelled:
            raise QgsProcessingException("Cancelled: no output was written.") from None
        except (ValueError, OSError) as exc:
            raise QgsProcessingException(str(exc)) from exc
        finally:
            if tmp.exists():
                tmp.unlink()
        steps.pushInfo(f"{info['changed']} pixel-dates changed in {info['bands']} band(s).")
        self._style_output(context, out, MASK_STYLER, self.displayName())
        return {self.OUTPUT: out}


class SeedFilterAlgorithm(_MaskToolAlgorithm):
    """``tsmask:seed_filter``: the seed preset's 3x3 spatial filter."""

    STEP = "seed_filter"
    HELP = (
        "The seed preset's spatial filter, per date: a cloud or shadow pixel with fewer "
        "than three cloud or shadow pixels in its 3x3 block (itself included) becomes clear. "
        "The scan is in place, as in the original method. Runs in a worker process."
    )

    def name(self) -> str:
        return "seed_filter"

    def displayName(self) -> str:
        return "Seed spatial filter"


class BufferAlgorithm(_MaskToolAlgorithm):
    """``tsmask:buffer``: the seed preset's buffer of cloud and shadow."""

    STEP = "buffer"
    HELP = (
        "The seed preset's buffer, per date: grows cloud and shadow into neighbouring clear "
        "pixels as algorithm.md specifies. Runs in a worker process."
    )

    def name(self) -> str:
        return "buffer"

    def displayName(self) -> str:
        return "Buffer cloud and shadow"


class MajorityFilterAlgorithm(_MaskToolAlgorithm):
    """``tsmask:majority_filter``: DEA's majority filter."""

    STEP = "majority_filter"
    PASSES = "PASSES"
    HELP = (
        "The dea preset's majority filter, per date: a pixel takes the class most of its "
        "neighbours have. DEA runs it twice. Runs in a worker process."
    )

    def name(self) -> str:
        return "majority_filter"

    def displayName(self) -> str:
        return "Majority filter"

    def _extra_parameters(self) -> None:
        param = QgsProcessingParameterNumber(
            self.PASSES, "Passes", QgsProcessingParameterNumber.Integer, 1, False, 1, 10
        )
        self.addParameter(_advanced(_help(param, "How many times the filter runs (dea: 2).")))

    def _options(self, parameters, context) -> dict[str, Any]:
        return {"passes": self.parameterAsInt(parameters, self.PASSES, context)}


# ---------------------------------------------------------------------------
# Summary and comparison (numpy in the QGIS process; no kernels)
# ---------------------------------------------------------------------------


class SummaryAlgorithm(TsmaskAlgorithm):
    """``tsmask:summary``: per-date percentages of each class as a table."""

    INPUT = "INPUT"
    OUTPUT = "OUTPUT"
    FEATURE = "summary"

    def name(self) -> str:
        return "summary"

    def displayName(self) -> str:
        return "Per-date summary"

    def shortHelpString(self) -> str:
        return (
            "One row per date (band) of a tsmask class raster: percent of pixels clear, cloud, "
            "cloud shadow and without observation, and the cloud-or-shadow percent of observed "
            "pixels. Band descriptions (the dates) name the rows."
        )

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

    def processAlgorithm(self, parameters, context, feedback):
        self._check()
        import numpy as np

        from tsmask_qgis.classes import CLASSES, CLOUD, NO_OBSERVATION, SHADOW
        from tsmask_qgis.plugin.rasters import read_stack

        src = _local_file(self.parameterAsRasterLayer(parameters, self.INPUT, context), "mask")
        try:
            stack = read_stack(src)
        except ValueError as exc:
            raise QgsProcessingException(str(exc)) from exc
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
        n = stack.data.shape[0]
        for i in range(n):
            if feedback.isCanceled():
                break
            band = stack.data[i]
            total = band.size or 1
            counts = {c.value: int(np.count_nonzero(band == c.value)) for c in CLASSES}
            observed = total - counts[NO_OBSERVATION.value]
            bad = counts[CLOUD.value] + counts[SHADOW.value]
            feature = QgsFeature(fields)
            values: list[Any] = [i + 1, stack.names[i]]
            values += [100.0 * counts[c.value] / total for c in CLASSES]
            values.append(100.0 * bad / observed if observed else None)
            feature.setAttributes(values)
            sink.addFeature(feature, QgsFeatureSink.FastInsert)
            feedback.setProgress(100.0 * (i + 1) / n)
        return {self.OUTPUT: dest}


class CompareMasksAlgorithm(TsmaskAlgorithm):
    """``tsmask:compare_masks``: accuracy of a mask against a reference mask."""

    MASK = "MASK"
    REFERENCE = "REFERENCE"
    REFERENCE_KIND = "REFERENCE_KIND"
    OUTPUT_HTML = "OUTPUT_HTML"
    KINDS = ("tsmask", "scl", "fmask")
    FEATURE = "compare"

    def name(self) -> str:
        return "compare_masks"

    def displayName(self) -> str:
        return "Compare masks"

    def shortHelpString(self) -> str:
        return (
            "Confusion matrix, overall accuracy, producer's and user's accuracy per class and "
            "the F1 score of cloud-or-shadow against clear, overall and per date, of a tsmask "
            "mask against a reference on the same grid: another four-class mask (tsmask), "
            "Sentinel-2 L2A scene classification (scl: 3 shadow; 8, 9, 10 cloud; 2, 4-7, 11 "
            "clear; 0, 1 no observation) or DEA's oa_fmask (fmask: 2 cloud, 3 shadow, "
            "1/4/5 clear, 0 nodata). Both rasters need one band per date, in the same order."
        )

    def initAlgorithm(self, config=None):
        self.addParameter(QgsProcessingParameterRasterLayer(self.MASK, "tsmask mask"))
        self.addParameter(QgsProcessingParameterRasterLayer(self.REFERENCE, "Reference mask"))
        self.addParameter(
            _help(
                QgsProcessingParameterEnum(
                    self.REFERENCE_KIND, "Reference kind", options=list(self.KINDS), defaultValue=0
                ),
                "tsmask: four classes like ours; scl: Sentinel-2 L2A SCL; fmask: DEA oa_fmask.",
            )
        )
        self.addParameter(
            QgsProcessingParameterFileDestination(self.OUTPUT_HTML, "Report", "HTML files (*.html)")
        )

    def processAlgorithm(self, parameters, context, feedback):
        self._check()
        from tsmask_qgis.plugin.rasters import read_raw, temp_path

        mask_path = _local_file(self.parameterAsRasterLayer(parameters, self.MASK, context), "mask")
        ref_path = _local_file(
            self.parameterAsRasterLayer(parameters, self.REFERENCE, context), "reference"
        )
        kind = self.KINDS[self.parameterAsEnum(parameters, self.REFERENCE_KIND, context)]
        out = self.parameterAsFileOutput(parameters, self.OUTPUT_HTML, context)
        steps = QgsProcessingMultiStepFeedback(3, feedback)
        steps.setCurrentStep(0)
        mask = read_raw(mask_path)
        ref = read_raw(ref_path)
        if mask.shape != ref.shape:
            raise QgsProcessingException(
                f"The mask {mask.shape} and the reference {ref.shape} differ in bands, rows or "
                "columns: both need one band per date on the same grid."
            )
        if steps.isCanceled():
            return {}
        steps.setCurrentStep(1)
        from tsmask_qgis.evaluate import compare

        try:
            evaluation = compare(mask, ref, reference_kind=kind)
        except ValueError as exc:
            raise QgsProcessingException(str(exc)) from exc
        steps.setCurrentStep(2)
        tmp = temp_path(out)
        try:
            Path(tmp).write_text(evaluation.to_html(), encoding="utf-8")
            os.replace(tmp, out)
        finally:
            if tmp.exists():
                tmp.unlink()
        return {self.OUTPUT_HTML: out}


# ---------------------------------------------------------------------------
# Detection: loaders + the engine's process-pool runner
# ---------------------------------------------------------------------------


class _DetectAlgorithm(TsmaskAlgorithm):
    PRESET = "PRESET"
    SPATIAL = "SPATIAL"
    WORKERS = "WORKERS"
    OUTPUT = "OUTPUT"
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
        workers = QgsProcessingParameterNumber(
            self.WORKERS,
            "Worker processes (0 = all cores)",
            QgsProcessingParameterNumber.Integer,
            0,
            False,
            0,
            256,
        )
        self.addParameter(_advanced(_help(workers, "Plain Python worker processes for detection.")))
        for name, label in self.KNOBS:
            knob = QgsProcessingParameterNumber(
                name.upper(), label, QgsProcessingParameterNumber.Double, None, True, 0.0, 10.0
            )
            self.addParameter(_advanced(_help(knob, "Leave empty for the preset's value.")))
        self.addParameter(
            QgsProcessingParameterRasterDestination(self.OUTPUT, "Mask (one band per date)")
        )

    def _method(self, parameters, context) -> tuple[str, bool, int | None, dict[str, float]]:
        preset = PRESETS[self.parameterAsEnum(parameters, self.PRESET, context)]
        spatial = self.parameterAsBool(parameters, self.SPATIAL, context)
        workers = self.parameterAsInt(parameters, self.WORKERS, context) or None
        overrides = {}
        for name, _ in self.KNOBS:
            key = name.upper()
            if parameters.get(key) not in (None, ""):
                overrides[name] = self.parameterAsDouble(parameters, key, context)
        return preset, spatial, workers, overrides

    def _classify(self, ds, parameters, context, steps: QgsProcessingMultiStepFeedback, first: int):
        from tsmask_qgis.engine import classify

        preset, spatial, workers, overrides = self._method(parameters, context)
        steps.setCurrentStep(first)
        steps.pushInfo(f"Detecting with the {preset} preset in worker processes…")
        return classify(
            ds,
            preset=preset,
            spatial=spatial,
            workers=workers,
            runner="processes",
            progress=_progress_adapter(steps),
            **overrides,
        )

    def _write(self, mask, parameters, context, steps, step: int) -> dict[str, Any]:
        from tsmask_qgis.plugin.processing.postprocess import MASK_STYLER
        from tsmask_qgis.plugin.rasters import write_mask_dataarray

        steps.setCurrentStep(step)
        out = self.parameterAsOutputLayer(parameters, self.OUTPUT, context)
        write_mask_dataarray(mask, out)
        self._style_output(context, out, MASK_STYLER, "tsmask mask")
        return {self.OUTPUT: out}


class DetectLocalAlgorithm(_DetectAlgorithm):
    """``tsmask:detect_local``: detect on a local stack (NetCDF, GeoTIFF or folder)."""

    INPUT = "INPUT"
    FEATURE = "detect_local"

    def name(self) -> str:
        return "detect_local"

    def displayName(self) -> str:
        return "Detect cloud and shadow (local stack)"

    def shortHelpString(self) -> str:
        return (
            "Cloud and cloud-shadow mask of a local Sentinel-2 stack: a NetCDF with one "
            "variable per band (blue green red nir swir1 swir2) and a time dimension, a "
            "multi-band GeoTIFF per band with dates in the band descriptions, or a folder of "
            "GeoTIFFs (one per date). The output has one band per date (0 no observation, "
            "1 clear, 2 cloud, 3 cloud shadow) named by date. Detection runs in worker processes."
        )

    def initAlgorithm(self, config=None):
        self.addParameter(
            _help(
                QgsProcessingParameterFile(self.INPUT, "Local stack (file or folder)"),
                "A NetCDF or GeoTIFF file, or a folder of GeoTIFFs.",
            )
        )
        self._method_parameters()

    def processAlgorithm(self, parameters, context, feedback):
        self._check()
        from tsmask_qgis.plugin._worker import run_in_process
        from tsmask_qgis.plugin.processing.postprocess import MASK_STYLER
        from tsmask_qgis.plugin.rasters import temp_path

        steps = QgsProcessingMultiStepFeedback(2, feedback)
        path = self.parameterAsFile(parameters, self.INPUT, context)
        if not path or not os.path.exists(path):
            raise QgsProcessingException(f"The local stack {path!r} does not exist.")
        preset, spatial, workers, overrides = self._method(parameters, context)
        out = self.parameterAsOutputLayer(parameters, self.OUTPUT, context)
        tmp = temp_path(out)
        steps.setCurrentStep(0)
        steps.pushInfo(f"Reading {path}; detecting with the {preset} preset in a worker process")
        try:
            info = run_in_process(
                "tsmask_qgis.plugin.rasters:detect_file",
                path,
                str(tmp),
                is_cancelled=feedback.isCanceled,
                preset=preset,
                spatial=spatial,
                workers=workers,
                overrides=overrides,
            )
            steps.setCurrentStep(1)
            if feedback.isCanceled():
                raise Cancelled("cancelled by the user")
            os.replace(tmp, out)
        except Cancelled:
            raise QgsProcessingException("Cancelled: no output was written.") from None
        except (ValueError, OSError) as exc:
            raise QgsProcessingException(str(exc)) from exc
        finally:
            if tmp.exists():
                tmp.unlink()
        steps.pushInfo(f"{info['dates']} dates of {info['shape'][0]} x {info['shape'][1]} pixels.")
        self._style_output(context, out, MASK_STYLER, "tsmask mask")
        return {self.OUTPUT: out}


class DetectStacAlgorithm(_DetectAlgorithm):
    """``tsmask:detect_stac``: search a STAC catalogue, load, detect."""

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

    def name(self) -> str:
        return "detect_stac"

    def displayName(self) -> str:
        return "Detect cloud and shadow (STAC catalogue)"

    def shortHelpString(self) -> str:
        return (
            "Searches a STAC catalogue for Sentinel-2 surface reflectance over the extent and "
            "dates, loads it (20 m by default, in the UTM zone of the extent's centre) and "
            "detects cloud and cloud shadow. Choose custom and give the API address and "
            "collection for another catalogue. Cloudy dates are needed by the method: no "
            "cloud-cover pre-filter is applied."
        )

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
                QgsProcessingParameterString(
                    self.STAC_URL, "Custom STAC API address", optional=True
                )
            )
        )
        self.addParameter(
            _advanced(
                QgsProcessingParameterString(self.COLLECTION, "Custom collection", optional=True)
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

    def processAlgorithm(self, parameters, context, feedback):
        self._check()
        from tsmask_qgis.loaders import Request, load

        extent = self.parameterAsExtent(parameters, self.EXTENT, context, WGS84)
        if extent.isNull() or extent.isEmpty():
            raise QgsProcessingException("The area is empty.")
        start = self.parameterAsDateTime(parameters, self.START, context).date()
        end = self.parameterAsDateTime(parameters, self.END, context).date()
        if end < start:
            raise QgsProcessingException("The end date is before the start date.")
        source = self.sources()[self.parameterAsEnum(parameters, self.SOURCE, context)]
        options: dict[str, Any] = {
            "resolution": self.parameterAsDouble(parameters, self.RESOLUTION, context)
        }
        if source == "custom":
            url = self.parameterAsString(parameters, self.STAC_URL, context).strip()
            collection = self.parameterAsString(parameters, self.COLLECTION, context).strip()
            if not url or not collection:
                raise QgsProcessingException(
                    "A custom STAC source needs an address and a collection."
                )
            options.update(stac_url=url, collections=(collection,), source="custom")
        else:
            options["source"] = source
        steps = QgsProcessingMultiStepFeedback(3, feedback)
        try:
            request = Request(
                (extent.xMinimum(), extent.yMinimum(), extent.xMaximum(), extent.yMaximum()),
                dt.date(start.year(), start.month(), start.day()),
                dt.date(end.year(), end.month(), end.day()),
                **options,
            )
            steps.setCurrentStep(0)
            ds = load(request, progress=_progress_adapter(steps))
            mask = self._classify(ds, parameters, context, steps, 1)
        except Cancelled:
            raise QgsProcessingException("Cancelled: no output was written.") from None
        except (ValueError, OSError) as exc:
            raise QgsProcessingException(str(exc)) from exc
        return self._write(mask, parameters, context, steps, 2)


ALGORITHMS: tuple[type[TsmaskAlgorithm], ...] = (
    DetectStacAlgorithm,
    DetectLocalAlgorithm,
    SeedFilterAlgorithm,
    BufferAlgorithm,
    MajorityFilterAlgorithm,
    SummaryAlgorithm,
    CompareMasksAlgorithm,
)
