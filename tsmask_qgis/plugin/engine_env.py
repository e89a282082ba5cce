"""The worker interpreter the plugin uses, and *Set up tsmask* (its own environment).

The engine's packages are looked for **in the worker interpreter** (a probe in
a subprocess, :func:`tsmask_qgis.jobs.interpreter.missing_modules`), never in
QGIS's Python. The interpreter is, in order: the one chosen in the dialog's
Advanced settings (``tsmask/python``), ``$TSMASK_PYTHON``, the environment
*Set up tsmask* made in the profile (:func:`venv_dir`), then the Python QGIS
runs; the first that has every package wins.

*Set up tsmask* (:func:`setup_work`) makes that environment from the plain
Python QGIS runs, in a child process (:mod:`tsmask_qgis.jobs.setup_env`),
offline from a folder of wheels when there is one (:func:`wheels_dir`).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from qgis.core import QgsApplication, QgsSettings

from tsmask_qgis.errors import DependencyError
from tsmask_qgis.jobs import interpreter, setup_env
from tsmask_qgis.progress import Progress

__all__ = [
    "PYTHON_KEY",
    "WHEELS_KEY",
    "apply_settings",
    "setup_work",
    "venv_dir",
    "wheels_dir",
]

#: QgsSettings key of the interpreter chosen in the dialog (empty: automatic).
PYTHON_KEY = "tsmask/python"
#: QgsSettings key of a folder of wheels for an offline set-up.
WHEELS_KEY = "tsmask/wheels"
_ROOT = Path(__file__).resolve().parents[2]


def venv_dir() -> Path:
    """The plugin's own environment, in the QGIS profile's folder (``…/tsmask/venv``)."""
    return Path(QgsApplication.qgisSettingsDirPath()) / "tsmask" / "venv"


def _has_wheels(folder: Path) -> bool:
    return folder.is_dir() and any(folder.glob("*.whl"))


def wheels_dir() -> Path | None:
    """A folder of wheels for an offline set-up, or ``None`` (pip then uses its index).

    In order: ``$TSMASK_WHEELS``, the setting ``tsmask/wheels``, ``tsmask/wheels`` in the
    profile, ``wheels/`` in the plugin's folder, ``build/wheels`` of a checkout
    (``make env`` downloads them there).
    """
    candidates = [
        os.environ.get("TSMASK_WHEELS") or "",
        str(QgsSettings().value(WHEELS_KEY, "") or ""),
        str(venv_dir().parent / "wheels"),
        str(_ROOT / "tsmask_qgis" / "wheels"),
        str(_ROOT / "build" / "wheels"),
    ]
    for c in candidates:
        if c and _has_wheels(Path(c)):
            return Path(c)
    return None


def apply_settings() -> None:
    """Tell the interpreter probe the chosen interpreter and the plugin's environment."""
    venv = venv_dir()
    interpreter.configure(
        python=str(QgsSettings().value(PYTHON_KEY, "") or "") or None,
        venv=venv if setup_env.ready(venv) else None,
    )


def setup_work() -> Callable[[Progress], str]:
    """``work(progress) -> python`` of *Set up tsmask*, for a :class:`TsmaskTask`."""
    venv = venv_dir()
    wheels = wheels_dir()

    def work(progress: Progress) -> str:
        python = interpreter.base_python()
        if python is None:
            raise DependencyError(
                "cannot find the plain Python that QGIS runs, to make the environment from. "
                + setup_env.missing_venv_hint()
            )
        return setup_env.run_setup(venv, python=python, wheels=wheels, progress=progress)

    return work
