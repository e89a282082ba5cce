"""scripts/check_qt6.py without QGIS: the by-name rules catch the Qt 5-only forms.

These run in the engine suite (no QGIS application, no QGIS bindings needed):
``Bindings(offline=True)`` never imports QGIS, and one test runs the script with a
Python that cannot see the QGIS bindings at all. tests/plugin/test_check_qt6.py checks
the same rules against the real bindings of each QGIS lane.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from tests import qt6_checker

IMPORTS = """\
from qgis.core import (
    Qgis, QgsField, QgsProcessing, QgsProcessingParameterDefinition, QgsProcessingParameterFile,
    QgsProcessingParameterNumber, QgsTask, QgsWkbTypes,
)
from qgis.PyQt import QtCore
from qgis.PyQt.QtCore import QMetaType, Qt, QVariant
from qgis.PyQt.QtWidgets import QDialogButtonBox
"""
N = len(IMPORTS.splitlines())


@pytest.fixture(scope="module")
def qt6():
    return qt6_checker.load()


@pytest.fixture(scope="module")
def check(qt6):
    bindings = qt6.Bindings(offline=True)

    def run(source: str):
        return qt6.check_source("snippet.py", textwrap.dedent(source), bindings)

    return run


def test_offline_bindings_import_nothing(qt6):
    bindings = qt6.Bindings(offline=True)
    assert bindings.module("qgis.core") is qt6._MISSING
    assert "no QGIS bindings" in bindings.qgis_version()


MOVED_NOTE = "(QGIS before 3.36: through a compatibility module)"


@pytest.mark.parametrize(
    ("expr", "fix"),
    [
        ("Qt.ISODate", "Qt.DateFormat.ISODate"),
        ("Qt.UTC", "Qt.TimeSpec.UTC"),
        ("Qt.TextSelectableByMouse", "Qt.TextInteractionFlag.TextSelectableByMouse"),
        ("QtCore.Qt.AlignLeft", "Qt.AlignmentFlag.AlignLeft"),
        ("Qt.DirectConnection", "Qt.ConnectionType.DirectConnection"),
        ("Qgis.Info", "Qgis.MessageLevel.Info"),
        ("QgsTask.Complete", "QgsTask.TaskStatus.Complete"),
        ("QDialogButtonBox.Close", "QDialogButtonBox.StandardButton.Close"),
        (
            "QgsProcessingParameterNumber.Integer",
            f"Qgis.ProcessingNumberParameterType.Integer {MOVED_NOTE}",
        ),
        (
            "QgsProcessingParameterFile.Folder",
            f"Qgis.ProcessingFileParameterBehavior.Folder {MOVED_NOTE}",
        ),
        (
            "QgsProcessingParameterDefinition.FlagAdvanced",
            f"Qgis.ProcessingParameterFlag.Advanced {MOVED_NOTE}",
        ),
        ("QgsProcessing.TypeVector", f"Qgis.ProcessingSourceType.Vector {MOVED_NOTE}"),
        (
            "QgsWkbTypes.NoGeometry",
            "Qgis.WkbType.NoGeometry (QGIS before 3.30: through a compatibility module)",
        ),
    ],
)
def test_unscoped_enums_flagged_by_name(check, expr, fix):
    (finding,) = check(IMPORTS + f"value = {expr}\n")
    assert (finding.code, finding.line, finding.fix) == ("Q6005", N + 1, fix)
    assert finding.message == f"{expr} is an unscoped enum member"


def test_class_alias_of_a_moved_enum_flagged(check):
    (finding,) = check(IMPORTS + "t = QgsProcessingParameterNumber.Type.Integer\n")
    assert finding.code == "Q6006"
    assert finding.message.endswith("deprecated alias of Qgis.ProcessingNumberParameterType")
    assert finding.fix.startswith("Qgis.ProcessingNumberParameterType.Integer ")


def test_an_alias_of_the_imported_name_is_followed(check):
    (finding,) = check("from qgis.core import QgsTask as T\nx = T.CanCancel\n")
    assert (finding.code, finding.fix) == ("Q6005", "QgsTask.Flag.CanCancel")


@pytest.mark.parametrize(
    ("expr", "fix"),
    [
        ("QVariant.Int", "QMetaType.Type.Int"),
        ("QVariant.String", "QMetaType.Type.QString"),
        ("QVariant.Double", "QMetaType.Type.Double"),
        ("QVariant.Type.String", "QMetaType.Type.QString"),
    ],
)
def test_qvariant_field_types(check, expr, fix):
    (finding,) = check(IMPORTS + f'f = QgsField("x", {expr})\n')
    assert finding.code == "Q6003" and finding.fix.split()[0] == fix


def test_pyqt5_imports_exec_and_moved_classes(check):
    source = """\
    from PyQt5.QtCore import QDate
    import PyQt5.QtWidgets
    from PyQt5 import QtGui
    import sip
    from qgis.PyQt.QtGui import QAction
    from qgis.PyQt.QtWidgets import QAction as Fine, QDialog
    QDialog().exec_()
    QDialog().exec()
    """
    got = [(f.line, f.code) for f in check(source)]
    assert got == [
        (1, "Q6001"),
        (2, "Q6001"),
        (3, "Q6001"),
        (4, "Q6001"),
        (5, "Q6004"),
        (7, "Q6002"),
    ]


GOOD = """\
a = Qt.DateFormat.ISODate
b = QtCore.Qt.TimeSpec.UTC
c = Qgis.MessageLevel.Info
d = QDialogButtonBox.StandardButton.Close | QDialogButtonBox.StandardButton.Ok
e = Qgis.ProcessingNumberParameterType.Integer
f = QgsTask.Flag.CanCancel
g = QgsField("n", QMetaType.Type.Int)
out = QgsProcessing.TEMPORARY_OUTPUT
version = Qgis.QGIS_VERSION
"""


def test_scoped_forms_not_flagged(check):
    assert check(IMPORTS + GOOD) == []


def test_names_not_from_qgis_left_alone(check):
    source = """\
    class Qt:
        ISODate = 1
    x = Qt.ISODate
    Qgis = object()
    y = Qgis.Info
    """
    assert check(source) == []


def test_script_without_qgis_bindings_still_fails_on_findings(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text(IMPORTS + "x = Qt.UTC\ny = QgsProcessingParameterFile.Folder\nw.exec_()\n")
    # -S: no site packages, so neither the venv's nor Debian's QGIS bindings are importable
    cmd = [sys.executable, "-S", str(qt6_checker.SCRIPT), str(tmp_path)]
    got = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert got.returncode == 1, got
    assert "only the built-in enum list" in got.stderr
    assert f"{bad}:{N + 1}:5: Q6005 Qt.UTC is an unscoped enum member" in got.stdout
    assert f"{bad}:{N + 2}:5: Q6005" in got.stdout and f"{bad}:{N + 3}:1: Q6002" in got.stdout
    assert "3 findings in 1 files" in got.stdout
    bad.write_text(IMPORTS + "x = Qt.TimeSpec.UTC\nw.exec()\n")
    again = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert again.returncode == 0, again


def test_lint_runs_the_check():
    dry = subprocess.run(["make", "-n", "lint"], capture_output=True, text=True, timeout=60)
    assert "scripts/check_qt6.py tsmask_qgis tests" in dry.stdout
