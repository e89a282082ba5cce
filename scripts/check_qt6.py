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

Q6005 and Q6006 cannot be decided from the text alone (``QgsColorRampShader.ColorRampItem``
is a class, ``QgsColorRampShader.Interpolated`` an enum member): each ``Name.attr``
chain whose root is imported from ``qgis.*`` (or PyQt) is resolved against the QGIS
Python bindings installed here, and the fix names the enum those bindings define
(on QGIS 3.40+ that is the ``Qgis.*`` enum QGIS 4 uses; on 3.22 the class's own enum).
A line that must keep an old form (a compatibility module) ends with
``# qt6-check: ignore``.

    python scripts/check_qt6.py [PATH ...]     (default: tsmask_qgis tests)

Exit status: 0 clean, 1 findings, 2 the QGIS bindings cannot be imported.
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
    """Resolves dotted names against the installed QGIS/PyQt bindings (imported lazily)."""

    def __init__(self) -> None:
        self._modules: dict[str, object] = {}

    def module(self, name: str) -> object:
        if name not in self._modules:
            try:
                self._modules[name] = importlib.import_module(name)
            except ImportError:
                self._modules[name] = _MISSING
        return self._modules[name]

    def qgis_version(self) -> str:
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
    args = ap.parse_args(argv)
    paths = args.paths or [ROOT / "tsmask_qgis", ROOT / "tests"]
    bindings = Bindings()
    if bindings.module("qgis.core") is _MISSING:
        print(
            "check_qt6: the QGIS Python bindings are not importable here; run it with the "
            "project's venv (make qt6-check), which sees Debian's python3-qgis",
            file=sys.stderr,
        )
        return 2
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
    print(f"check_qt6: enums resolved against {bindings.qgis_version()}")
    for path, n in sorted(per_file.items()):
        print(f"  {n:4d}  {path}")
    print(f"check_qt6: {len(findings)} findings in {len(per_file)} files")
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main())
