"""Products of a mask (Processing algorithms): *Cloud-free composite* and *Masked index
series*, which chain after *Detect* in a model (the mask input takes Detect's output).

Each hands the stack's and the mask's paths to the ``products`` job in a warm child
(:func:`tsmask_qgis.jobs.table.make_products`); QGIS loads the outputs itself (a
composite COG with the true-colour ``.qml`` the writers put beside it).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from qgis.core import (
    QgsProcessingContext,
    QgsProcessingException,
    QgsProcessingMultiStepFeedback,
    QgsProcessingOutputFile,
    QgsProcessingOutputFolder,
    QgsProcessingOutputRasterLayer,
    QgsProcessingParameterBoolean,
    QgsProcessingParameterEnum,
    QgsProcessingParameterFile,
    QgsProcessingParameterFolderDestination,
    QgsProcessingParameterNumber,
    QgsProcessingParameterRasterLayer,
    QgsProcessingParameterString,
    QgsProcessingParameterVectorLayer,
)

from tsmask_qgis.plugin import compat
from tsmask_qgis.plugin.processing.common import (
    TsmaskAlgorithm,
    help_text,
    local_file,
    progress_adapter,
    run_job,
    runner_parameter,
    workers_parameter,
)
from tsmask_qgis.progress import Cancelled

__all__ = ["CompositeAlgorithm", "IndexSeriesAlgorithm"]

#: The composite methods and indices (as the products package names them; kept here so
#: the QGIS process imports no data package).
METHODS = ("median", "geomedian", "mean", "medoid")
INDICES = ("ndvi", "ndwi", "nbr")


class _ProductAlgorithm(TsmaskAlgorithm):
    INPUT = "INPUT"
    MASK = "MASK"
    WORKERS = "WORKERS"
    OUTPUT = "OUTPUT"
    FEATURE = "detect_local"
    GROUP = ("products", "Products")

    def _inputs(self) -> None:
        self.addParameter(
            help_text(
                QgsProcessingParameterFile(self.INPUT, "Reflectance stack (file or folder)"),
                "The stack the mask was made from: a NetCDF or GeoTIFF file, or a folder.",
            )
        )
        self.addParameter(
            help_text(
                QgsProcessingParameterRasterLayer(self.MASK, "Mask (one band per date)"),
                "The tsmask mask of that stack (the output of Detect), on its grid and dates.",
            )
        )

    def _engine(self) -> None:
        self.addParameter(workers_parameter(self.WORKERS, "Threads or worker processes."))
        self.addParameter(runner_parameter(self.RUNNER))
        self.addParameter(QgsProcessingParameterFolderDestination(self.OUTPUT, "Output folder"))

    def _run(self, options: dict[str, Any], parameters, context, feedback) -> dict[str, Any]:
        stack = self.parameterAsFile(parameters, self.INPUT, context)
        if not stack or not os.path.exists(stack):
            raise QgsProcessingException(f"The stack {stack!r} does not exist.")
        mask = local_file(self.parameterAsRasterLayer(parameters, self.MASK, context), "mask")
        out = self.parameterAsString(parameters, self.OUTPUT, context)
        runner = self.runner_of(parameters, context)
        steps = QgsProcessingMultiStepFeedback(1, feedback)
        steps.pushInfo(f"{self.displayName()} in the worker process (runner {runner})…")
        job = {
            "input": stack,
            "mask": mask,
            "out": out,
            "options": options,
            "workers": self.parameterAsInt(parameters, self.WORKERS, context) or None,
            "runner": "processes" if runner == "processes" else "auto",
        }
        result = run_job("products", job, progress_adapter(steps, feedback), [out])
        if feedback.isCanceled():
            raise Cancelled("cancelled by the user")
        for note in result["notes"]:
            feedback.pushInfo(f"note: {note}")
        return result

    @staticmethod
    def files(result: dict[str, Any], fmt: str) -> list[str]:
        return [str(f["path"]) for f in result["files"] if f["format"] == fmt]


class CompositeAlgorithm(_ProductAlgorithm):
    """``tsmask:composite``: cloud-free composites per period."""

    NAME = "composite"
    DISPLAY_NAME = "Cloud-free composite"
    HELP = (
        "Cloud-free composites of a stack from the clear pixels of its tsmask mask, one "
        "multi-band COG per period (each band's composite, then the number of clear "
        "observations used; nodata where there is none), with a true-colour style and a PNG "
        "quicklook. Methods: median and mean per band, geomedian (the geometric median of "
        "Roberts et al. 2017, as in the Open Data Cube products) and medoid. Periods: year, "
        "month, season, all, or date ranges START/END separated by commas. Chains after "
        "Detect in a model. Runs in the worker process."
    )
    PERIOD = "PERIOD"
    METHOD = "METHOD"
    MAX_CLOUD = "MAX_CLOUD"
    COMPOSITE = "COMPOSITE"
    FOLDER = "FOLDER"

    def initAlgorithm(self, config=None):
        self._inputs()
        self.addParameter(
            help_text(
                QgsProcessingParameterString(self.PERIOD, "Period", defaultValue="year"),
                "year, month, season, all, or 2017-01-01/2017-06-30,2017-07-01/2017-12-31",
            )
        )
        self.addParameter(
            QgsProcessingParameterEnum(self.METHOD, "Method", options=list(METHODS), defaultValue=0)
        )
        cloud = QgsProcessingParameterNumber(
            self.MAX_CLOUD, "Leave out dates with more cloud and shadow than (%)",
            compat.NUMBER_DOUBLE, None, True, 0.0, 100.0,
        )  # fmt: skip
        self.addParameter(help_text(cloud, "Empty: every date's clear pixels count."))
        self._engine()
        self.addOutput(QgsProcessingOutputRasterLayer(self.COMPOSITE, "Composite (first period)"))
        self.addOutput(QgsProcessingOutputFolder(self.FOLDER, "Composite folder"))

    def process(self, parameters, context, feedback):
        self._check()
        method = METHODS[self.parameterAsEnum(parameters, self.METHOD, context)]
        period = self.parameterAsString(parameters, self.PERIOD, context).strip() or "year"
        cloud = parameters.get(self.MAX_CLOUD)
        options = {
            "composite": f"{period}:{method}",
            "max_cloud": None
            if cloud in (None, "")
            else self.parameterAsDouble(parameters, self.MAX_CLOUD, context),
        }
        result = self._run(options, parameters, context, feedback)
        cogs = self.files(result, "composite")
        feedback.pushInfo(f"{len(cogs)} composite(s): {', '.join(Path(c).name for c in cogs)}")
        for cog in cogs:  # loaded with the true-colour .qml the writers put beside each
            details = QgsProcessingContext.LayerDetails(
                f"composite {Path(cog).stem.removeprefix('composite_')}", context.project()
            )
            context.addLayerToLoadOnCompletion(cog, details)
        out = self.parameterAsString(parameters, self.OUTPUT, context)
        return {self.COMPOSITE: cogs[0], self.FOLDER: out, self.OUTPUT: out}


class IndexSeriesAlgorithm(_ProductAlgorithm):
    """``tsmask:index_series``: an index series masked to clear pixels, its zonal means."""

    NAME = "index_series"
    DISPLAY_NAME = "Masked index series"
    HELP = (
        "An index (NDVI, NDWI, NBR) per date, NaN where the mask is not clear (NetCDF), "
        "and for a point or polygon layer (GeoJSON or GeoPackage; reprojected from its "
        "CRS) the per-date mean of the index over each feature's clear pixels with the "
        "clear-pixel share (CSV). Optionally the masked reflectance itself. Chains after "
        "Detect in a model. Runs in the worker process."
    )
    INDEX = "INDEX"
    ZONES = "ZONES"
    MASKED = "MASKED"
    SERIES = "SERIES"
    ZONAL = "ZONAL"

    def initAlgorithm(self, config=None):
        self._inputs()
        self.addParameter(
            QgsProcessingParameterEnum(self.INDEX, "Index", options=list(INDICES), defaultValue=0)
        )
        self.addParameter(
            help_text(
                QgsProcessingParameterVectorLayer(self.ZONES, "Points or polygons", optional=True),
                "A GeoJSON or GeoPackage layer: the index's mean over each feature per date.",
            )
        )
        self.addParameter(
            QgsProcessingParameterBoolean(self.MASKED, "Also the masked reflectance", False)
        )
        self._engine()
        self.addOutput(QgsProcessingOutputFile(self.SERIES, "Index series (NetCDF)"))
        self.addOutput(QgsProcessingOutputFile(self.ZONAL, "Zonal means (CSV)"))

    def process(self, parameters, context, feedback):
        self._check()
        zones = self.parameterAsVectorLayer(parameters, self.ZONES, context)
        zones_path = None
        if zones is not None:
            zones_path = zones.source().split("|")[0]
            if Path(zones_path).suffix.lower() not in (".geojson", ".json", ".gpkg"):
                raise QgsProcessingException(
                    "The points or polygons must be a GeoJSON or GeoPackage file; save the "
                    "layer as one first."
                )
        options = {
            "index": INDICES[self.parameterAsEnum(parameters, self.INDEX, context)],
            "zones": zones_path,
            "masked": self.parameterAsBool(parameters, self.MASKED, context),
        }
        result = self._run(options, parameters, context, feedback)
        out = self.parameterAsString(parameters, self.OUTPUT, context)
        zonal = self.files(result, "zonal")
        return {
            self.SERIES: self.files(result, "series")[0],
            self.ZONAL: zonal[0] if zonal else "",
            self.OUTPUT: out,
        }
