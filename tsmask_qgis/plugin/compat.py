"""QGIS enums and field types spelt differently on QGIS 3.22 and 4.x, in one place.

QGIS moved many enums from their class to ``Qgis`` (``Qgis.ProcessingNumberParameterType``
from 3.36, ``Qgis.WkbType`` from 3.30, ...); QGIS 4 (PyQt6) knows only scoped names, and
QGIS 3.22 only the class enums. Each name below is the first spelling these bindings define,
the new one first, so the rest of the plugin writes ``compat.NUMBER_INTEGER`` and never
checks versions itself. Field types: ``QgsField`` takes ``QMetaType.Type`` from QGIS 3.38
(``QVariant.Type`` is gone in PyQt6), older QGIS only ``QVariant.Type``.

Nothing here is a check scattered through the code: the alternatives are written as text,
so ``scripts/check_qt6.py`` has nothing to flag, and tests/plugin/test_compat.py proves that
every name resolves on the QGIS the tests run on.
"""

from __future__ import annotations

from typing import Any

from qgis import core
from qgis.PyQt import QtCore

__all__ = [
    "DATETIME_DATE",
    "FIELD_DOUBLE",
    "FIELD_INT",
    "FIELD_STRING",
    "FILE_FOLDER",
    "NAVIGATION_ANIMATED",
    "NUMBER_DOUBLE",
    "NUMBER_INTEGER",
    "PARAMETER_ADVANCED",
    "SHADER_LINEAR",
    "SOURCE_VECTOR",
    "STAT_MAX",
    "TEMPORAL_SOURCE_STEP",
    "WKB_NO_GEOMETRY",
    "resolve",
]

#: QgsField takes QMetaType.Type from QGIS 3.38 on.
QMETATYPE_FIELDS_FROM = 33800


def resolve(root: object, *paths: str) -> Any:
    """The first of the dotted ``paths`` (attributes of ``root``) that these bindings define."""
    for path in paths:
        obj: Any = root
        try:
            for part in path.split("."):
                obj = getattr(obj, part)
        except AttributeError:
            continue
        return obj
    raise ImportError(
        f"this QGIS ({core.Qgis.QGIS_VERSION}) defines none of {', '.join(paths)}: "
        "tsmask supports QGIS 3.22 to 4.x"
    )


def _core(*paths: str) -> Any:
    return resolve(core, *paths)


# -- Processing parameters (Qgis.* from 3.36) -------------------------------------------
NUMBER_INTEGER = _core(
    "Qgis.ProcessingNumberParameterType.Integer", "QgsProcessingParameterNumber.Type.Integer"
)
NUMBER_DOUBLE = _core(
    "Qgis.ProcessingNumberParameterType.Double", "QgsProcessingParameterNumber.Type.Double"
)
FILE_FOLDER = _core(
    "Qgis.ProcessingFileParameterBehavior.Folder", "QgsProcessingParameterFile.Behavior.Folder"
)
DATETIME_DATE = _core(
    "Qgis.ProcessingDateTimeParameterDataType.Date", "QgsProcessingParameterDateTime.Type.Date"
)
PARAMETER_ADVANCED = _core(
    "Qgis.ProcessingParameterFlag.Advanced", "QgsProcessingParameterDefinition.Flag.FlagAdvanced"
)
SOURCE_VECTOR = _core("Qgis.ProcessingSourceType.Vector", "QgsProcessing.SourceType.TypeVector")

# -- geometry and rasters ----------------------------------------------------------------
WKB_NO_GEOMETRY = _core("Qgis.WkbType.NoGeometry", "QgsWkbTypes.Type.NoGeometry")  # 3.30
SHADER_LINEAR = _core(  # 3.30
    "Qgis.ShaderInterpolationMethod.Linear", "QgsColorRampShader.Type.Interpolated"
)
STAT_MAX = _core("Qgis.RasterBandStatistic.Max", "QgsRasterBandStats.Stats.Max")  # 3.36

# -- the Temporal Controller ---------------------------------------------------------------
TEMPORAL_SOURCE_STEP = _core(  # 3.30: the "source timestamps" frame step
    "Qgis.TemporalUnit.IrregularStep", "QgsUnitTypes.TemporalUnit.TemporalIrregularStep"
)
NAVIGATION_ANIMATED = _core(  # 3.36
    "Qgis.TemporalNavigationMode.Animated", "QgsTemporalNavigationObject.NavigationMode.Animated"
)

# -- attribute field types ---------------------------------------------------------------
if core.Qgis.QGIS_VERSION_INT >= QMETATYPE_FIELDS_FROM:
    _FIELD_TYPES = ("QMetaType.Type.Int", "QMetaType.Type.Double", "QMetaType.Type.QString")
else:
    _FIELD_TYPES = ("QVariant.Int", "QVariant.Double", "QVariant.String")
FIELD_INT, FIELD_DOUBLE, FIELD_STRING = (resolve(QtCore, name) for name in _FIELD_TYPES)
