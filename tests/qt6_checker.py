"""Loads scripts/check_qt6.py (a script, not a package module) for its tests."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "check_qt6.py"


def load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("check_qt6", SCRIPT)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules["check_qt6"] = mod  # its dataclass looks its module up there
    spec.loader.exec_module(mod)
    return mod
