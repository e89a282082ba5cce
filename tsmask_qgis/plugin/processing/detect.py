"""Detection as Processing algorithms: the pipeline in a warm child, outputs moved in place.

``tsmask:detect_local`` and ``tsmask:detect_stac`` build the plain keywords of a
``pipeline.Job`` and run the ``pipeline`` job (:mod:`tsmask_qgis.jobs.table`)
into a private folder beside the outputs, then move the files the result names
(its ``files``, by format) to where Processing asked for them.
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
    QgsProcessingException,
    QgsProcessingMultiStepFeedback,
    QgsProcessingParameterBoolean,
    QgsProcessingParameterDateTime,
    QgsProcessingParameterEnum,
    QgsProcessingParameterExtent,
    QgsProcessingParameterFile,
    QgsProcessingParameterNumber,
    QgsProcessingParameterRasterDestination,
    QgsProcessingParameterString,
)

from tsmask_qgis.plugin import compat
from tsmask_qgis.plugin.processing.common import (
    TsmaskAlgorithm,
    advanced,
    help_text,
    pipeline_feedback,
    run_job,
    runner_parameter,
    workers_parameter,
)
from tsmask_qgis.progress import Cancelled, plan
from tsmask_qgis.tempfiles import TMP_PREFIX

__all__ = ["DetectLocalAlgorithm", "DetectStacAlgorithm"]

PRESETS = ("seed", "dea")
THIN_CLOUD_MODES = ("spectral", "temporal", "off")
WGS84 = QgsCoordinateReferenceSystem("EPSG:4326")


# ---------------------------------------------------------------------------
# Detection: the pipeline in the worker process
# ---------------------------------------------------------------------------


class _DetectAlgorithm(TsmaskAlgorithm):
    PRESET = "PRESET"
    SPATIAL = "SPATIAL"
    WORKERS = "WORKERS"
    MAX_MEMORY = "MAX_MEMORY"
    SHADOW_GEOMETRY = "SHADOW_GEOMETRY"
    CLOUD_BUFFER = "CLOUD_BUFFER"
    SHADOW_BUFFER = "SHADOW_BUFFER"
    THIN_CLOUD = "THIN_CLOUD"
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
            help_text(
                QgsProcessingParameterEnum(
                    self.PRESET, "Preset", options=list(PRESETS), defaultValue=PRESETS.index("dea")
                ),
                "dea (default): DEA's production form, few false alarms on clear land; "
                "seed: the research notebook's method, exactly.",
            )
        )
        self.addParameter(
            help_text(
                QgsProcessingParameterBoolean(self.SPATIAL, "Spatial steps", defaultValue=True),
                "seed: filter then buffer; dea: majority filter twice.",
            )
        )
        self._option_parameters()
        self.addParameter(
            workers_parameter(self.WORKERS, "Plain Python worker processes for detection.")
        )
        self.addParameter(runner_parameter(self.RUNNER))
        memory = QgsProcessingParameterNumber(
            self.MAX_MEMORY,
            "Max memory in GB (0 = half the available memory)",
            compat.NUMBER_DOUBLE,
            0.0,
            False,
            0.0,
            4096.0,
        )
        self.addParameter(
            advanced(help_text(memory, "A run larger than this streams tile by tile."))
        )
        for name, label in self.KNOBS:
            knob = QgsProcessingParameterNumber(
                name.upper(), label, compat.NUMBER_DOUBLE, None, True, 0.0, 10.0
            )
            self.addParameter(advanced(help_text(knob, "Leave empty for the preset's value.")))
        self.addParameter(
            QgsProcessingParameterRasterDestination(self.OUTPUT, "Mask (one band per date)")
        )
        self.addParameter(
            help_text(
                QgsProcessingParameterRasterDestination(
                    self.CLEAR_COUNT,
                    "Clear-observation count",
                    optional=True,
                    createByDefault=False,
                ),
                "Band 1: dates clear at each pixel; band 2: dates observed.",
            )
        )

    def _option_parameters(self) -> None:
        """Shadow geometry, buffers in metres and seed's thin-cloud rule."""
        self.addParameter(
            help_text(
                QgsProcessingParameterBoolean(
                    self.SHADOW_GEOMETRY, "Cloud shadow from sun geometry", defaultValue=False
                ),
                "Project each cloud away from the sun over cloud heights of 200 m to 12 km "
                "and keep the dark pixels it falls on as shadow; dark ground no cloud can "
                "reach is clear. A catalogue area is loaded with a margin, then cropped.",
            )
        )
        for name, label, text in (
            (self.CLOUD_BUFFER, "Cloud buffer (metres, 0 = none)", "Clear pixels this close "),
            (self.SHADOW_BUFFER, "Shadow buffer (metres, 0 = none)", "Clear pixels this close "),
        ):
            number = QgsProcessingParameterNumber(
                name, label, compat.NUMBER_DOUBLE, 0.0, False, 0.0, 10000.0
            )
            kind = "cloud" if name == self.CLOUD_BUFFER else "shadow"
            self.addParameter(help_text(number, text + f"to {kind} become {kind}."))
        thin = QgsProcessingParameterEnum(
            self.THIN_CLOUD,
            "Thin-cloud rule (seed)",
            options=list(THIN_CLOUD_MODES),
            defaultValue=0,
        )
        self.addParameter(
            advanced(
                help_text(
                    thin,
                    "seed only: spectral (the notebook's rule), temporal (also brighter blue "
                    "than the clear dates around it) or off.",
                )
            )
        )

    def _options(self, parameters, context, preset: str) -> dict[str, Any]:
        thin = THIN_CLOUD_MODES[self.parameterAsEnum(parameters, self.THIN_CLOUD, context)]
        if thin != "spectral" and preset != "seed":
            raise QgsProcessingException(
                f"The thin-cloud rule is an option of the seed preset ({preset} has none): "
                "choose the seed preset or leave the rule at spectral."
            )
        return {
            "shadow_geometry": self.parameterAsBool(parameters, self.SHADOW_GEOMETRY, context),
            "cloud_buffer_m": self.parameterAsDouble(parameters, self.CLOUD_BUFFER, context),
            "shadow_buffer_m": self.parameterAsDouble(parameters, self.SHADOW_BUFFER, context),
            "thin_cloud": thin,
        }

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
        options = self._options(parameters, context, preset)
        thin = options.pop("thin_cloud")
        if thin != "spectral":
            overrides["thin_cloud"] = thin
        return {
            **options,
            "preset": preset,
            "spatial": self._spatial(parameters, context),
            "workers": self.parameterAsInt(parameters, self.WORKERS, context) or None,
            "max_memory": int(memory * 1e9) if memory > 0 else None,
            "overrides": tuple(sorted(overrides.items())),
            "runner": self.runner_of(parameters, context),
        }

    def _run_job(self, source: dict[str, Any], parameters, context, feedback) -> dict[str, Any]:
        """Run the pipeline into a private folder beside the outputs, then move them in place."""
        from tsmask_qgis.plugin.jobs import files_of
        from tsmask_qgis.plugin.processing.postprocess import COUNT_STYLER, MASK_STYLER

        out = self.parameterAsOutputLayer(parameters, self.OUTPUT, context)
        count = (
            self.parameterAsOutputLayer(parameters, self.CLEAR_COUNT, context)
            if parameters.get(self.CLEAR_COUNT) not in (None, "")
            else ""
        )
        formats = ("multiband", "count") if count else ("multiband",)
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(prefix=TMP_PREFIX, dir=Path(out).parent))
        job_plan = plan(catalogue="request" in source, spatial=self._spatial(parameters, context))
        steps = QgsProcessingMultiStepFeedback(len(job_plan), feedback)
        try:
            job = dict(
                out=work,
                **source,
                **self._job_options(parameters, context),
                formats=formats,
                overwrite=True,
            )
            steps.pushInfo(
                f"{job['preset']} preset, spatial steps {'on' if job['spatial'] else 'off'}, "
                f"detection in the worker process (runner {job['runner']})"
            )
            result = run_job(
                "pipeline",
                {"job": job},
                pipeline_feedback(steps, feedback, job_plan),
                [str(work)],
            )
            if feedback.isCanceled():
                raise Cancelled("cancelled by the user")
            ((_, multiband),) = files_of(result, "multiband")
            os.replace(multiband, out)
            if count:
                ((_, count_file),) = files_of(result, "count")
                Path(count).parent.mkdir(parents=True, exist_ok=True)
                os.replace(count_file, count)
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
            help_text(
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
            from tsmask_qgis.loaders._sources import SOURCES

            names = [n for n in SOURCES if n != "custom"]
        except Exception:
            names = []
        return [*names, "custom"]

    def initAlgorithm(self, config=None):
        self.addParameter(QgsProcessingParameterExtent(self.EXTENT, "Area"))
        self.addParameter(
            QgsProcessingParameterDateTime(self.START, "Start date", compat.DATETIME_DATE)
        )
        self.addParameter(
            QgsProcessingParameterDateTime(self.END, "End date", compat.DATETIME_DATE)
        )
        self.addParameter(
            QgsProcessingParameterEnum(
                self.SOURCE, "Source", options=self.sources(), defaultValue=0
            )
        )
        self.addParameter(
            advanced(
                help_text(
                    QgsProcessingParameterString(
                        self.STAC_URL, "Custom STAC API address", optional=True
                    ),
                    "Needed for custom; for a preset it replaces the preset's address.",
                )
            )
        )
        self.addParameter(
            advanced(
                help_text(
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
            compat.NUMBER_DOUBLE,
            20.0,
            False,
            10.0,
            1000.0,
        )
        self.addParameter(advanced(resolution))
        self._method_parameters()

    def request(self, parameters, context) -> Any:
        """The loaders' ``Request`` for these parameters (``QgsProcessingException`` if bad)."""
        from tsmask_qgis.loaders._request import Request

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
