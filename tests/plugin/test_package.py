"""`make package` builds a zip QGIS can install."""

from __future__ import annotations

import configparser
import importlib.util
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_package_zip(tmp_path):
    spec = importlib.util.spec_from_file_location("package", ROOT / "scripts" / "package.py")
    package = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(package)
    out = package.build(tmp_path / "tsmask_qgis.zip")
    with zipfile.ZipFile(out) as zf:
        names = set(zf.namelist())
        meta = configparser.ConfigParser()
        meta.read_string(zf.read("tsmask_qgis/metadata.txt").decode())
    assert {
        "tsmask_qgis/__init__.py",
        "tsmask_qgis/plugin/plugin.py",
        "tsmask_qgis/resources/icon.svg",
        "tsmask_qgis/plugin/models/detect_filter_buffer.model3",
    } <= names
    assert all(n.startswith("tsmask_qgis/") for n in names)
    assert not any("__pycache__" in n or n.endswith(".pyc") for n in names)
    general = meta["general"]
    assert general["qgisMinimumVersion"] == "3.22"
    assert general["hasProcessingProvider"] == "yes" and general["category"] == "Raster"
    assert f"tsmask_qgis/{general['icon']}" in names
    for key in (
        "name",
        "description",
        "about",
        "version",
        "author",
        "email",
        "tracker",
        "repository",
    ):
        assert general[key].strip(), key
