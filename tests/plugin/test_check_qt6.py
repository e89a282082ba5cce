"""scripts/check_qt6.py: the Qt 6 readiness check flags Qt 5-only forms and gives fixes.

The enum rules resolve names against the QGIS bindings of the lane they run on, so
these tests run on every QGIS lane (3.22's sip enums, 3.40/3.44's Python enums).
"""

from __future__ import annotations

import textwrap

import pytest

from tests import qt6_checker


@pytest.fixture(scope="module")
def qt6():
    return qt6_checker.load()


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
    # the fix names the same value in these bindings (or, for an enum QGIS moved to Qgis
    # after this version, says so), and is not flagged itself
    fix = finding.fix.split(" (")[0]
    if not _defined(fix):
        assert _newer_than_here(finding.fix), finding
        return
    namespace: dict = {}
    exec(IMPORTS, namespace)
    assert eval(fix, namespace) == eval(expr, namespace)
    fixed = IMPORTS + f"value = {fix}\n"
    assert [f for f in check(fixed) if f.code in ("Q6005", "Q6006")] == []


MODULES = ("qgis.core", "qgis.gui", "qgis.PyQt.QtCore", "qgis.PyQt.QtGui", "qgis.PyQt.QtWidgets")
_UNDEFINED = object()


def _lookup(dotted: str):
    """``Owner.Enum.Member`` in these bindings (the owner from one of MODULES)."""
    import importlib

    head, *rest = dotted.split(".")
    for name in MODULES:
        obj = getattr(importlib.import_module(name), head, _UNDEFINED)
        if obj is not _UNDEFINED:
            break
    for part in rest:
        obj = getattr(obj, part, _UNDEFINED)
    return obj


def _defined(dotted: str) -> bool:
    return _lookup(dotted) is not _UNDEFINED


def _newer_than_here(fix: str) -> bool:
    """A fix 'Qgis.X.Y (QGIS before 3.36: ...)' on a QGIS older than 3.36."""
    from qgis.core import Qgis

    if "(QGIS before " not in fix:
        return False
    major, minor = fix.split("(QGIS before ")[1].split(":")[0].split(".")
    return Qgis.QGIS_VERSION_INT < int(major) * 10000 + int(minor) * 100


def test_by_name_rules_agree_with_these_bindings(qt6):
    """Every built-in rule: the fix means what the old spelling meant, where both exist."""
    rules = {**qt6.UNSCOPED_RULES, **qt6.ALIAS_RULES}
    checked = 0
    for old, fix_text in rules.items():
        fix = fix_text.split(" (")[0]
        if not _defined(old.split(".")[0]):
            continue  # a class these bindings do not have (e.g. not in qgis.gui here)
        if not _defined(fix):
            assert _newer_than_here(fix_text), (old, fix_text)
            continue
        if _defined(old):  # QGIS 4 / PyQt6 drop the old spellings
            assert _lookup(old) == _lookup(fix), (old, fix)
            checked += 1
    assert checked > 100


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
    # flagged on every QGIS (by name): QGIS 4 spells it Qgis.ProcessingNumberParameterType
    found = check(IMPORTS + "t = QgsProcessingParameterNumber.Type.Integer\n")
    assert [(f.code, f.fix.split()[0]) for f in found] == [
        ("Q6006", "Qgis.ProcessingNumberParameterType.Integer")
    ]


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
