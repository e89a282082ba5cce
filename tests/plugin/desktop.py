"""What the real-desktop tests share: the packaged plugin, QGIS's environment, the run.

Each test starts the ``qgis`` binary under ``xvfb-run`` with the plugin from the
``make package`` zip in a private plugin path and profile, and a session script
(``--code``) that drives it and writes a JSON report.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent

#: Skip a test where the desktop package or Xvfb is missing.
needs_desktop = pytest.mark.skipif(
    not (shutil.which("qgis") and shutil.which("xvfb-run")),
    reason="the qgis desktop package and xvfb-run are needed (scripts/setup-env.sh installs them)",
)


def install_zip(tmp_path: Path) -> Path:
    """The packaged plugin (``scripts/package.py``) extracted into a private plugin path."""
    spec = importlib.util.spec_from_file_location("package", ROOT / "scripts" / "package.py")
    assert spec is not None and spec.loader is not None
    package = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(package)
    plugins = tmp_path / "plugins"
    with zipfile.ZipFile(package.build(tmp_path / "tsmask_qgis.zip")) as zf:
        zf.extractall(plugins)
    return plugins


def desktop_env(
    plugins: Path, tmp_path: Path, *, drop: tuple[str, ...] = (), worker: bool = True, **extra: str
) -> dict[str, str]:
    """QGIS's environment: this one without the test runner's Qt and Python settings.

    With ``worker``, Debian's QGIS (which runs /usr/bin/python3) gets this
    environment's packages and the worker this interpreter; without it the
    worker is whatever the plugin finds (a fresh user's situation).
    """
    gone = ("QT_QPA_PLATFORM", "PYTHONPATH", "PYTHONHOME", *drop)
    env = {k: v for k, v in os.environ.items() if k not in gone}
    env.update(QGIS_PLUGINPATH=str(plugins), HOME=str(tmp_path / "home"))
    if worker:
        env.update(PYTHONPATH=sysconfig.get_paths()["purelib"], TSMASK_PYTHON=sys.executable)
    env.update(extra)
    return env


def run_qgis(
    tmp_path: Path, session: str, env: dict[str, str], *, screen: str, timeout: float
) -> subprocess.CompletedProcess[str]:
    """The ``qgis`` desktop under Xvfb running ``session`` (a script beside this file).

    Not ``--noplugins``: QGIS 3.22 started that way never leaves its event loop
    on exit (seen with and without this plugin loaded).
    """
    cmd = [
        "xvfb-run", "-a", "-s", f"-screen 0 {screen}x24",
        "qgis", "--nologo", "--noversioncheck",
        "--profiles-path", str(tmp_path / "profiles"),
        "--code", str(HERE / session),
    ]  # fmt: skip
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout)
