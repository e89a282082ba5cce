"""tsmask_qgis/plugin/compat.py: every QGIS enum and field type resolves and means what it says.

Runs on every QGIS lane: 3.22 gets the class enums and QVariant field types, 3.40/3.44
the Qgis.* enums and QMetaType field types (QGIS 4 has only those).
"""

from __future__ import annotations

import warnings

import pytest
from qgis.core import (
    Qgis,
    QgsColorRampShader,
    QgsField,
    QgsProcessingParameterDateTime,
    QgsProcessingParameterFeatureSink,
    QgsProcessingParameterFile,
    QgsProcessingParameterNumber,
    QgsWkbTypes,
)

from tsmask_qgis.plugin import compat


def test_every_name_resolves():
    for name in compat.__all__:
        if name != "resolve":
            assert getattr(compat, name) is not None, name


def test_newest_spelling_first():
    if hasattr(Qgis, "ProcessingNumberParameterType"):  # 3.36+
        assert compat.NUMBER_INTEGER is Qgis.ProcessingNumberParameterType.Integer
        assert compat.PARAMETER_ADVANCED is Qgis.ProcessingParameterFlag.Advanced
    else:
        old = QgsProcessingParameterNumber.Type.Integer  # qt6-check: ignore
        assert compat.NUMBER_INTEGER == old


def test_processing_parameters_take_them():
    number = QgsProcessingParameterNumber("n", "n", compat.NUMBER_INTEGER)
    assert number.dataType() == compat.NUMBER_INTEGER
    real = QgsProcessingParameterNumber("x", "x", compat.NUMBER_DOUBLE)
    assert real.dataType() == compat.NUMBER_DOUBLE != compat.NUMBER_INTEGER
    folder = QgsProcessingParameterFile("f", "f", compat.FILE_FOLDER)
    assert folder.behavior() == compat.FILE_FOLDER
    day = QgsProcessingParameterDateTime("d", "d", compat.DATETIME_DATE)
    assert day.dataType() == compat.DATETIME_DATE
    sink = QgsProcessingParameterFeatureSink("s", "s", compat.SOURCE_VECTOR)
    assert sink.dataType() == compat.SOURCE_VECTOR
    number.setFlags(number.flags() | compat.PARAMETER_ADVANCED)
    assert number.flags() & compat.PARAMETER_ADVANCED


def test_geometry_and_shader():
    assert QgsWkbTypes.displayString(compat.WKB_NO_GEOMETRY) == "NoGeometry"
    shader = QgsColorRampShader(0.0, 1.0)
    shader.setColorRampType(compat.SHADER_LINEAR)
    assert shader.colorRampTypeAsQString() == "INTERPOLATED"


def test_field_types_without_deprecation_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)
        fields = [
            QgsField("n", compat.FIELD_INT),
            QgsField("x", compat.FIELD_DOUBLE),
            QgsField("s", compat.FIELD_STRING),
        ]
    # QVariant.Type and QMetaType.Type number these the same: Int 2, Double 6, QString 10
    assert [int(f.type()) for f in fields] == [2, 6, 10]


def test_resolve_names_what_is_missing():
    from qgis import core

    with pytest.raises(ImportError, match=r"defines none of Qgis\.NoSuchEnum\.X: .* 3\.22 to 4\.x"):
        compat.resolve(core, "Qgis.NoSuchEnum.X")
