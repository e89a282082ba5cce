"""Qt 6 / QGIS 4 readiness check for the plugin's Python code (run with `make qt6-check`).

Reads the code with ``ast`` (nothing of the project is imported or run) and reports,
as ``file:line:col: CODE message; fix: ...``, the forms that PyQt6 builds of QGIS
(QGIS 4) reject:

Q6001  a direct PyQt5/PyQt6/sip import (QGIS 4 ships PyQt6; ``qgis.PyQt`` picks the
       right one)
Q6002  ``exec_()`` (gone in PyQt6; ``exec()`` works on both)
Q6003  ``QVariant.Int``/``QVariant.String``/... field types (QVariant.Type is gone in
       PyQt6; ``QMetaType.Type.X``)
Q6004  a class imported from the Qt 5 module it left in Qt 6 (``QAction``,
       ``QActionGroup``, ``QShortcut`` must come from ``qgis.PyQt.QtWidgets``, which
       QGIS keeps for both), or a class removed in Qt 6 (``QRegExp``,
       ``QDesktopWidget``, ``qApp``)
Q6005  an unscoped enum member (``Qt.ISODate``, ``QgsTask.CanCancel``, ``Qgis.Info``:
       PyQt6 only knows ``Qt.DateFormat.ISODate``, ...)
Q6006  a scoped enum reached through a deprecated class alias of a ``Qgis`` enum
       (``QgsProcessingParameterNumber.Type.Integer`` where this QGIS says the enum
       is ``Qgis.ProcessingNumberParameterType``)

Q6005 and Q6006 are found two ways. By name, with or without QGIS: the enums of
``SCOPED`` and ``MOVED`` below (the common Qt ones, and every enum QGIS moved to ``Qgis``,
whose fix is the QGIS 4 name). Through the bindings: every other ``Name.attr`` chain whose
root is imported from ``qgis.*`` (or PyQt) is resolved against the QGIS Python bindings
installed here (``QgsColorRampShader.ColorRampItem`` is a class,
``QgsColorRampShader.Interpolated`` an enum member: the text alone cannot tell), and the
fix names the enum those bindings define. Without the bindings (``--offline``, or QGIS not
importable) only the by-name rules apply. A line that must keep an old form ends with
``# qt6-check: ignore``.

    python scripts/check_qt6.py [--offline] [PATH ...]     (default: tsmask_qgis tests)

Exit status: 0 clean, 1 findings.
"""

from __future__ import annotations

import argparse
import ast
import enum
import importlib
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
IGNORE = "# qt6-check: ignore"

# QVariant.Type members -> QMetaType.Type members (the names differ for Qt classes)
QVARIANT_TO_QMETATYPE = {
    "Invalid": "UnknownType",
    "Bool": "Bool",
    "Int": "Int",
    "UInt": "UInt",
    "LongLong": "LongLong",
    "ULongLong": "ULongLong",
    "Double": "Double",
    "Char": "QChar",
    "String": "QString",
    "StringList": "QStringList",
    "ByteArray": "QByteArray",
    "Date": "QDate",
    "Time": "QTime",
    "DateTime": "QDateTime",
    "List": "QVariantList",
    "Map": "QVariantMap",
    "Url": "QUrl",
    "Color": "QColor",
    "Point": "QPoint",
    "PointF": "QPointF",
    "Rect": "QRect",
    "RectF": "QRectF",
    "Size": "QSize",
    "SizeF": "QSizeF",
    "UserType": "User",
}
# classes that moved from QtWidgets to QtGui in Qt 6 (qgis.PyQt.QtWidgets keeps them)
MOVED_TO_QTGUI = {"QAction", "QActionGroup", "QShortcut", "QUndoCommand", "QUndoStack"}
REMOVED = {
    "QRegExp": "QRegularExpression (qgis.PyQt.QtCore)",
    "QRegExpValidator": "QRegularExpressionValidator (qgis.PyQt.QtGui)",
    "QDesktopWidget": "QApplication.primaryScreen() / QScreen",
    "qApp": "QApplication.instance()",
}
QT_MODULES = ("PyQt5", "PyQt6", "sip")

# Enums checked by name, with or without the QGIS bindings: "Owner.Enum: Member ...".
# ``Owner.Member`` is unscoped (Q6005); the fix is ``Owner.Enum.Member``.
SCOPED = """
Qt.DateFormat: ISODate ISODateWithMs TextDate RFC2822Date
Qt.TimeSpec: UTC LocalTime OffsetFromUTC
Qt.AlignmentFlag: AlignLeft AlignRight AlignHCenter AlignVCenter AlignCenter AlignTop AlignBottom
Qt.TextInteractionFlag: TextSelectableByMouse TextSelectableByKeyboard TextBrowserInteraction
Qt.ConnectionType: DirectConnection QueuedConnection BlockingQueuedConnection AutoConnection
Qt.CheckState: Checked Unchecked PartiallyChecked
Qt.Orientation: Horizontal Vertical
Qt.ItemDataRole: DisplayRole EditRole ToolTipRole UserRole DecorationRole
Qt.ItemFlag: ItemIsEnabled ItemIsSelectable ItemIsEditable ItemIsUserCheckable
Qt.CursorShape: WaitCursor ArrowCursor BusyCursor PointingHandCursor
Qt.WindowModality: WindowModal ApplicationModal NonModal
Qt.TextFormat: RichText PlainText
Qt.MouseButton: LeftButton RightButton
Qt.GlobalColor: white black red green blue transparent gray
Qt.PenStyle: NoPen SolidLine DashLine
Qt.BrushStyle: NoBrush SolidPattern
Qgis.MessageLevel: Info Warning Critical Success NoLevel
QgsTask.Flag: CanCancel CancelWithoutPrompt
QgsTask.TaskStatus: Queued OnHold Running Complete Terminated
QgsFeatureSink.Flag: FastInsert
QgsFileWidget.StorageMode: GetFile GetDirectory GetMultipleFiles SaveFile
QDialogButtonBox.StandardButton: Ok Cancel Close Apply Help Reset Save Open Yes No
QDialogButtonBox.ButtonRole: AcceptRole RejectRole ActionRole HelpRole ApplyRole ResetRole
QMessageBox.StandardButton: Ok Cancel Yes No Abort Retry
QSizePolicy.Policy: Expanding Preferred Fixed Minimum Maximum MinimumExpanding
QFrame.Shape: HLine VLine NoFrame StyledPanel
QFrame.Shadow: Sunken Raised Plain
QHeaderView.ResizeMode: Stretch ResizeToContents Interactive
QAbstractItemView.SelectionBehavior: SelectRows SelectItems SelectColumns
QAbstractItemView.SelectionMode: SingleSelection MultiSelection ExtendedSelection NoSelection
QLineEdit.EchoMode: Password PasswordEchoOnEdit
QIODevice.OpenModeFlag: ReadOnly WriteOnly ReadWrite
"""
# Enums QGIS moved to ``Qgis`` (QGIS 4 keeps only those): "Owner.Enum -> Qgis.Enum since:
# Member[=NewName] ...". Both ``Owner.Member`` (Q6005) and ``Owner.Enum.Member`` (Q6006)
# are flagged; before ``since`` the new name does not exist (use a compatibility module).
MOVED = """
QgsProcessingParameterNumber.Type -> Qgis.ProcessingNumberParameterType 3.36: Integer Double
QgsProcessingParameterFile.Behavior -> Qgis.ProcessingFileParameterBehavior 3.36: File Folder
QgsProcessingParameterDateTime.Type -> Qgis.ProcessingDateTimeParameterDataType 3.36: DateTime Date Time
QgsProcessingParameterDefinition.Flag -> Qgis.ProcessingParameterFlag 3.36: FlagAdvanced=Advanced FlagHidden=Hidden FlagOptional=Optional FlagIsModelOutput=IsModelOutput
QgsProcessing.SourceType -> Qgis.ProcessingSourceType 3.36: TypeMapLayer=MapLayer TypeVectorAnyGeometry=VectorAnyGeometry TypeVectorPoint=VectorPoint TypeVectorLine=VectorLine TypeVectorPolygon=VectorPolygon TypeRaster=Raster TypeFile=File TypeVector=Vector
QgsRasterBandStats.Stats -> Qgis.RasterBandStatistic 3.36: Min Max Range Sum Mean StdDev SumOfSquares All
QgsWkbTypes.Type -> Qgis.WkbType 3.30: NoGeometry Unknown Point LineString Polygon MultiPoint MultiLineString MultiPolygon
QgsWkbTypes.GeometryType -> Qgis.GeometryType 3.30: PointGeometry=Point LineGeometry=Line PolygonGeometry=Polygon UnknownGeometry=Unknown NullGeometry=Null
QgsColorRampShader.Type -> Qgis.ShaderInterpolationMethod 3.30: Interpolated=Linear Discrete Exact
QgsRasterLayerTemporalProperties.TemporalMode -> Qgis.RasterTemporalMode 3.22: ModeFixedTemporalRange=FixedTemporalRange ModeTemporalRangeFromDataProvider=TemporalRangeFromDataProvider ModeRedrawLayerOnly=RedrawLayerOnly
"""


def _rules() -> tuple[dict[str, str], dict[str, str]]:
    """(unscoped 'Owner.Member' -> fix, deprecated alias 'Owner.Enum.Member' -> fix)."""
    unscoped: dict[str, str] = {}
    aliases: dict[str, str] = {}
    for line in SCOPED.strip().splitlines():
        enum_path, _, members = line.partition(": ")
        owner = enum_path.split(".")[0]
        for m in members.split():
            unscoped[f"{owner}.{m}"] = f"{enum_path}.{m}"
    for line in MOVED.strip().splitlines():
        head, _, members = line.partition(": ")
        old, _, rest = head.partition(" -> ")
        new, since = rest.split()
        owner = old.split(".")[0]
        note = "" if since == "3.22" else f" (QGIS before {since}: through a compatibility module)"
        for m in members.split():
            name, _, new_name = m.partition("=")
            fix = f"{new}.{new_name or name}{note}"
            unscoped[f"{owner}.{name}"] = fix
            aliases[f"{old}.{name}"] = fix
    return unscoped, aliases


UNSCOPED_RULES, ALIAS_RULES = _rules()


@dataclass(frozen=True)
class Finding:
    path: str
    line: int
    col: int
    code: str
    message: str
    fix: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.col}: {self.code} {self.message}; fix: {self.fix}"


_MISSING = object()


class Bindings:
    """Resolves dotted names against the installed QGIS/PyQt bindings (imported lazily).

    ``offline=True`` never imports them (only the by-name rules apply), as on a machine
    without QGIS.
    """

    def __init__(self, offline: bool = False) -> None:
        self._modules: dict[str, object] = {}
        self.offline = offline

    def module(self, name: str) -> object:
        if self.offline:
            return _MISSING
        if name not in self._modules:
            try:
                self._modules[name] = importlib.import_module(name)
            except ImportError:
                self._modules[name] = _MISSING
        return self._modules[name]

    def qgis_version(self) -> str:
        if self.module("qgis.core") is _MISSING:
            return "the built-in list (no QGIS bindings)"
        core = self.module("qgis.core")
        qtcore = self.module("qgis.PyQt.QtCore")
        qgis = getattr(getattr(core, "Qgis", None), "QGIS_VERSION", "?")
        pyqt = getattr(qtcore, "PYQT_VERSION_STR", "?")
        return f"QGIS {qgis}, PyQt {pyqt}"


def _is_enum_type(obj: object) -> bool:
    return isinstance(obj, enum.EnumMeta) or type(obj).__name__ == "enumtype"


def _is_enum_member(obj: object) -> bool:
    return isinstance(obj, enum.Enum) or type(type(obj)).__name__ == "enumtype"


def _enum_path(kind: type) -> str:
    """Where the bindings define an enum type: 'Qt.DateFormat', 'Qgis.MessageLevel'."""
    return kind.__qualname__


def _member_name(obj: object, attr: str) -> str:
    return obj.name if isinstance(obj, enum.Enum) and obj.name else attr


def _chain(node: ast.Attribute) -> tuple[ast.Name, list[str]] | None:
    """(root Name, [attr, ...]) of a Name.attr.attr chain, or None."""
    attrs = []
    cur: ast.expr = node
    while isinstance(cur, ast.Attribute):
        attrs.append(cur.attr)
        cur = cur.value
    return (cur, attrs[::-1]) if isinstance(cur, ast.Name) else None


class Checker(ast.NodeVisitor):
    def __init__(self, path: str, source: str, bindings: Bindings) -> None:
        self.path = path
        self.lines = source.splitlines()
        self.bindings = bindings
        self.findings: list[Finding] = []
        # local name -> (module, attribute or None): every import in the file, any scope
        self.names: dict[str, tuple[str, str | None]] = {}
        self._seen: set[int] = set()

    def add(self, node: ast.AST, code: str, message: str, fix: str) -> None:
        line = getattr(node, "lineno", 0)
        if 0 < line <= len(self.lines) and IGNORE in self.lines[line - 1]:
            return
        col = getattr(node, "col_offset", 0) + 1
        self.findings.append(Finding(self.path, line, col, code, message, fix))

    # -- imports -----------------------------------------------------------------------
    def collect_imports(self, tree: ast.AST) -> None:
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    top = alias.name.split(".")[0]
                    if top in QT_MODULES:
                        rest = alias.name.partition(".")[2]
                        fix = f"from qgis.PyQt import {rest or 'QtCore'}"
                        if top == "sip":
                            fix = "from qgis.PyQt import sip"
                        self.add(node, "Q6001", f"direct import of {alias.name}", fix)
                    if alias.asname:
                        self.names[alias.asname] = (alias.name, None)
                    elif top == "qgis":
                        self.names["qgis"] = ("qgis", None)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                mod = node.module
                top = mod.split(".")[0]
                if top in QT_MODULES:
                    fix = "from qgis.PyQt" + (mod[len(top) :] or "") + " import ..."
                    if top == "sip":
                        fix = "from qgis.PyQt import sip"
                    self.add(node, "Q6001", f"direct import from {mod}", fix)
                for alias in node.names:
                    local = alias.asname or alias.name
                    if mod.endswith("QtGui") and alias.name in MOVED_TO_QTGUI:
                        self.add(
                            node,
                            "Q6004",
                            f"{alias.name} imported from {mod} (it is in QtWidgets on Qt 5)",
                            f"from qgis.PyQt.QtWidgets import {alias.name}",
                        )
                    if alias.name in REMOVED and top in ("qgis", *QT_MODULES):
                        self.add(
                            node,
                            "Q6004",
                            f"{alias.name} is removed in Qt 6",
                            REMOVED[alias.name],
                        )
                    if top in ("qgis", *QT_MODULES):
                        self.names[local] = (mod, alias.name)

    def resolve_root(self, name: str) -> object:
        if name not in self.names:
            return _MISSING
        mod, attr = self.names[name]
        if not (mod == "qgis" or mod.startswith(("qgis.", *QT_MODULES))):
            return _MISSING
        if attr is None:
            return self.bindings.module(mod)
        obj = getattr(self.bindings.module(mod), attr, _MISSING)
        if obj is _MISSING:  # `from qgis.PyQt import QtCore` names a module
            obj = self.bindings.module(f"{mod}.{attr}")
        return obj

    # -- calls and attribute chains ----------------------------------------------------
    def visit_Call(self, node: ast.Call) -> None:
        if isinstance(node.func, ast.Attribute) and node.func.attr == "exec_":
            self.add(node.func, "Q6002", "exec_() is gone in PyQt6", "exec()")
        self.generic_visit(node)

    def visit_Attribute(self, node: ast.Attribute) -> None:
        found = _chain(node)
        if found is None or id(node) in self._seen:
            self.generic_visit(node)
            return
        root, attrs = found
        # the inner Attribute nodes of this chain are part of it: don't check them again
        inner = node.value
        while isinstance(inner, ast.Attribute):
            self._seen.add(id(inner))
            inner = inner.value
        self.check_chain(node, root, attrs)
        self.generic_visit(node)

    def check_by_name(self, node: ast.Attribute, root: ast.Name, attrs: list[str]) -> bool:
        """The rules of SCOPED and MOVED (no bindings needed); True when one matched."""
        mod, attr = self.names.get(root.id, ("", None))
        if not (mod == "qgis" or mod.startswith(("qgis.", *QT_MODULES))):
            return False
        written = [root.id, *attrs]
        full = [attr or root.id, *attrs]  # `from qgis.core import Qgis as Q`: Q is Qgis
        for i in range(len(full) - 1):
            three = ".".join(full[i : i + 3]) if i + 2 < len(full) else ""
            if three in ALIAS_RULES:
                where = ".".join(written[: i + 3])
                real = ALIAS_RULES[three].split(".")[:2]
                self.add(
                    node,
                    "Q6006",
                    f"{where} is a deprecated alias of {'.'.join(real)}",
                    ALIAS_RULES[three],
                )
                return True
            two = ".".join(full[i : i + 2])
            if two in UNSCOPED_RULES:
                where = ".".join(written[: i + 2])
                self.add(node, "Q6005", f"{where} is an unscoped enum member", UNSCOPED_RULES[two])
                return True
        return False

    def check_chain(self, node: ast.Attribute, root: ast.Name, attrs: list[str]) -> None:
        text = ".".join([root.id, *attrs])
        full = [root.id, *attrs]
        for i, attr in enumerate(full[1:], 1):  # QVariant.Int / QVariant.Type.Int
            owner = full[i - 1] if full[i - 1] != "Type" or i < 2 else full[i - 2]
            if owner == "QVariant" and attr in QVARIANT_TO_QMETATYPE:
                self.add(
                    node,
                    "Q6003",
                    f"{text}: QVariant.Type is gone in PyQt6",
                    f"QMetaType.Type.{QVARIANT_TO_QMETATYPE[attr]} (QgsField takes it from "
                    "QGIS 3.38; older QGIS needs QVariant: choose in one compatibility place)",
                )
                return
        if root.id in REMOVED and self.names.get(root.id, ("", None))[0].startswith(
            ("qgis", *QT_MODULES)
        ):
            return  # reported at the import
        if self.check_by_name(node, root, attrs):
            return
        obj = self.resolve_root(root.id)
        if obj is _MISSING:
            return
        prev: object = obj
        for i, attr in enumerate(attrs):
            cur = getattr(prev, attr, _MISSING)
            if cur is _MISSING:
                return
            where = ".".join([root.id, *attrs[: i + 1]])
            if _is_enum_type(cur) and i + 1 < len(attrs):
                # Cls.Enum.Member: scoped. Still flag a class alias of a moved Qgis enum.
                real = _enum_path(cur)
                owner = (self.names[root.id][1] or root.id) if i == 0 else attrs[i - 1]
                if real.startswith("Qgis.") and real != f"{owner}.{attr}":
                    member = getattr(cur, attrs[i + 1], _MISSING)
                    name = _member_name(member, attrs[i + 1])
                    self.add(
                        node,
                        "Q6006",
                        f"{where} is a deprecated alias of {real}",
                        f"{real}.{name}",
                    )
                return
            if _is_enum_member(cur):
                if _is_enum_type(prev):
                    return  # already scoped: Enum.Member
                kind = type(cur)
                self.add(
                    node,
                    "Q6005",
                    f"{where} is an unscoped enum member",
                    f"{_enum_path(kind)}.{_member_name(cur, attr)}",
                )
                return
            prev = cur


def check_source(path: str, source: str, bindings: Bindings) -> list[Finding]:
    tree = ast.parse(source, filename=path)
    checker = Checker(path, source, bindings)
    checker.collect_imports(tree)
    checker.visit(tree)
    return sorted(set(checker.findings), key=lambda f: (f.line, f.col, f.code))


def python_files(paths: list[Path]) -> list[Path]:
    out: list[Path] = []
    for p in paths:
        if p.is_dir():
            out.extend(
                f
                for f in sorted(p.rglob("*.py"))
                if not {"__pycache__", ".venv", "build"} & set(f.parts)
            )
        elif p.suffix == ".py":
            out.append(p)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("paths", nargs="*", type=Path)
    ap.add_argument(
        "--offline", action="store_true", help="do not import QGIS: the built-in enum list only"
    )
    args = ap.parse_args(argv)
    paths = args.paths or [ROOT / "tsmask_qgis", ROOT / "tests"]
    bindings = Bindings(offline=args.offline)
    if bindings.module("qgis.core") is _MISSING and not args.offline:
        print(
            "check_qt6: the QGIS Python bindings are not importable here, so only the "
            "built-in enum list is checked; run it with the project's venv (make qt6-check), "
            "which sees Debian's python3-qgis, to check every enum",
            file=sys.stderr,
        )
    findings: list[Finding] = []
    for f in python_files(paths):
        try:
            shown = str(f.resolve().relative_to(ROOT))
        except ValueError:
            shown = str(f)
        findings += check_source(shown, f.read_text(encoding="utf-8"), bindings)
    for finding in findings:
        print(finding)
    per_file = Counter(f.path for f in findings)
    print(f"check_qt6: enums checked against {bindings.qgis_version()}")
    for path, n in sorted(per_file.items()):
        print(f"  {n:4d}  {path}")
    print(f"check_qt6: {len(findings)} findings in {len(per_file)} files")
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main())
