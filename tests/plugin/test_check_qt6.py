"""scripts/check_qt6.py: the Qt 6 readiness check flags Qt 5-only forms and gives fixes.

The enum rules resolve names against the QGIS bindings of the lane they run on, so
these tests run on every QGIS lane (3.22's sip enums, 3.40/3.44's Python enums).
"""

from __future__ import annotations

import importlib.util
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def qt6():
    spec = importlib.util.spec_from_file_location("check_qt6", ROOT / "scripts" / "check_qt6.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules["check_qt6"] = mod  # its dataclass looks its module up there
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def check(qt6):
    bindings = qt6.Bindings()

    def run(source: str):
        return qt6.check_source("snippet.py", textwrap.dedent(source), bindings)

    return run


IMPORTS = """\
from qgis.core import (
    Qgis, QgsColorRampShader, QgsField, QgsProcessing, QgsProcessingParameterDefinition,
    QgsProcessingParameterFile, QgsProcessingParameterNumber, QgsProject, QgsTask,
)
from qgis.PyQt import QtCore
from qgis.PyQt.QtCore import QMetaType, Qt, QVariant
from qgis.PyQt.QtWidgets import QDialogButtonBox
"""
N_IMPORTS = len(IMPORTS.splitlines())

UNSCOPED = [
    "Qt.ISODate",
    "Qt.UTC",
    "Qt.TextSelectableByMouse",
    "QtCore.Qt.AlignLeft",
    "Qgis.Info",
    "Qgis.Critical",
    "QgsTask.CanCancel",
    "QgsTask.Complete",
    "QgsProcessingParameterNumber.Integer",
    "QgsProcessingParameterFile.Folder",
    "QgsProcessingParameterDefinition.FlagAdvanced",
    "QgsColorRampShader.Interpolated",
    "QDialogButtonBox.Close",
]


@pytest.mark.parametrize("expr", UNSCOPED)
def test_unscoped_enum_flagged_with_a_fix_that_means_the_same(check, expr):
    (finding,) = check(IMPORTS + f"value = {expr}\n")
    assert finding.code == "Q6005" and finding.line == N_IMPORTS + 1, finding
    assert expr in finding.message
    # the fix names the same value in these bindings, and is not flagged itself
    namespace: dict = {}
    exec(IMPORTS, namespace)
    assert eval(finding.fix, namespace) == eval(expr, namespace)
    fixed = IMPORTS + f"value = {finding.fix}\n"
    assert [f for f in check(fixed) if f.code in ("Q6005", "Q6006")] == []


def test_known_fixes_on_every_qgis(check):
    fixes = {f.message.split()[0]: f.fix for f in check(IMPORTS + "\n".join(UNSCOPED) + "\n")}
    assert fixes["Qt.ISODate"] == "Qt.DateFormat.ISODate"
    assert fixes["Qt.UTC"] == "Qt.TimeSpec.UTC"
    assert fixes["QtCore.Qt.AlignLeft"] == "Qt.AlignmentFlag.AlignLeft"
    assert fixes["Qgis.Info"] == "Qgis.MessageLevel.Info"
    assert fixes["QDialogButtonBox.Close"] == "QDialogButtonBox.StandardButton.Close"


GOOD = """\
a = Qt.DateFormat.ISODate
b = QtCore.Qt.TimeSpec.UTC
c = Qgis.MessageLevel.Info
d = QDialogButtonBox.StandardButton.Close | QDialogButtonBox.StandardButton.Ok
item = QgsColorRampShader.ColorRampItem(1.0, None, "one")  # a nested class, not an enum
out = QgsProcessing.TEMPORARY_OUTPUT  # a constant
project = QgsProject.instance()
kind = QMetaType.Type.Int
version = Qgis.QGIS_VERSION
self_like = object()
self_like.exec()
"""


def test_scoped_forms_and_non_enums_not_flagged(check):
    assert check(IMPORTS + GOOD) == []


def test_names_not_from_qgis_are_left_alone(check):
    source = """\
    class Qt:
        ISODate = 1
    x = Qt.ISODate
    import enum
    class Colour(enum.Enum):
        RED = 1
    y = Colour.RED
    """
    assert check(source) == []


def test_pyqt_imports_exec_and_moved_classes(check):
    source = """\
    from PyQt5.QtCore import QDate
    import PyQt5.QtWidgets
    import sip
    from qgis.PyQt.QtGui import QAction
    from qgis.PyQt.QtCore import QRegExp
    from qgis.PyQt.QtWidgets import QAction as Fine, QDialog
    QDialog().exec_()
    QDialog().exec()
    """
    got = [(f.line, f.code, f.fix) for f in check(source)]
    assert got == [
        (1, "Q6001", "from qgis.PyQt.QtCore import ..."),
        (2, "Q6001", "from qgis.PyQt import QtWidgets"),
        (3, "Q6001", "from qgis.PyQt import sip"),
        (4, "Q6004", "from qgis.PyQt.QtWidgets import QAction"),
        (5, "Q6004", "QRegularExpression (qgis.PyQt.QtCore)"),
        (7, "Q6002", "exec()"),
    ]


def test_qvariant_field_types(check):
    source = IMPORTS + 'f = QgsField("n", QVariant.Int)\ng = QgsField("s", QVariant.Type.String)\n'
    got = [(f.code, f.fix.split()[0]) for f in check(source)]
    assert got == [("Q6003", "QMetaType.Type.Int"), ("Q6003", "QMetaType.Type.QString")]


def test_deprecated_class_alias_of_a_qgis_enum(check):
    from qgis.core import Qgis

    found = check(IMPORTS + "t = QgsProcessingParameterNumber.Type.Integer\n")
    if hasattr(Qgis, "ProcessingNumberParameterType"):  # QGIS 3.36+: the enum moved
        assert [(f.code, f.fix) for f in found] == [
            ("Q6006", "Qgis.ProcessingNumberParameterType.Integer")
        ]
    else:  # 3.22: the class's own enum, and the scoped form is fine
        assert found == []


def test_ignore_comment(check):
    assert check(IMPORTS + "x = Qt.ISODate  # qt6-check: ignore\n") == []


def test_command_line_lists_file_line_and_fix(qt6, tmp_path, capsys):
    bad = tmp_path / "bad.py"
    bad.write_text(IMPORTS + "x = Qt.UTC\ny = w.exec_()\n")
    assert qt6.main([str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert (
        f"{bad}:{N_IMPORTS + 1}:5: Q6005 Qt.UTC is an unscoped enum member; fix: Qt.TimeSpec.UTC"
        in out
    )
    assert f"{bad}:{N_IMPORTS + 2}:5: Q6002" in out
    assert "check_qt6: 2 findings in 1 files" in out
    bad.write_text(IMPORTS + "x = Qt.TimeSpec.UTC\n")
    assert qt6.main([str(bad)]) == 0
