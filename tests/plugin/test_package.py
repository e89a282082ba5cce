"""`make package` builds a zip QGIS can install and plugins.qgis.org accepts."""

from __future__ import annotations

import configparser
import importlib.util
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def package():
    spec = importlib.util.spec_from_file_location("package", ROOT / "scripts" / "package.py")
    package = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(package)
    return package


def test_package_zip(package, tmp_path):
    out = package.build(tmp_path / "tsmask_qgis.zip", check=True)
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
    assert not any("__pycache__" in n or n.endswith((".pyc", ".nbi", ".nbc")) for n in names)
    assert not any("/tests/" in n or "/." in n or "egg-info" in n for n in names)
    general = meta["general"]
    assert general["qgisMinimumVersion"] == "3.22"
    # QGIS ends a plugin without a maximum at 3.99; QGIS 4 (Qt 6) offers it only with these
    assert general["qgisMaximumVersion"] == "4.99"
    assert general["supportsQt6"] == "True"
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


def test_zip_leaves_out_caches_tests_and_build_files(package, tmp_path):
    base = tmp_path / "pkg"
    keep = ["__init__.py", "engine/kernels.py", "data/sample.nc", "plugin/models/m.model3"]
    drop = [
        "__pycache__/x.cpython-311.pyc",
        "engine/__pycache__/kernels.f-1.py311.nbi",
        "engine/kernels.f-1.py311.1.nbc",
        "tests/test_a.py",
        "test_b.py",
        "conftest.py",
        ".hypothesis/examples/1",
        ".ruff_cache/x",
        "build/lib/a.py",
        "tsmask_qgis.egg-info/PKG-INFO",
        "plugin/.hidden",
        "plugin/dialog.py.orig",
    ]
    for rel in keep + drop:
        (base / rel).parent.mkdir(parents=True, exist_ok=True)
        (base / rel).write_text("x")
    got = sorted(p.relative_to(base).as_posix() for p in package._files(base))
    assert got == sorted(keep)


def test_gate_passes_the_real_zip_and_catches_findings(package, tmp_path):
    good = package.build(tmp_path / "good.zip")
    assert package.gate(good) == []
    bad = tmp_path / "bad.zip"
    key = "AKIA" + "ZQ3DT5RW4HYPLXMB"  # an AWS access key id's shape, made at run time
    with zipfile.ZipFile(bad, "w") as zf:
        zf.writestr(
            "tsmask_qgis/bad.py",
            f"import subprocess\n\nsubprocess.call(input(), shell=True)\nKEY = '{key}'\n",
        )
    findings = package.gate(bad)
    assert any(f.startswith("bandit tsmask_qgis/bad.py:3: B602 HIGH") for f in findings), findings
    assert any(
        f.startswith("detect-secrets tsmask_qgis/bad.py:4: AWS Access Key") for f in findings
    ), findings


def test_a_failing_gate_leaves_no_zip(package, tmp_path, monkeypatch):
    monkeypatch.setattr(package, "gate", lambda path: ["bandit x.py:1: B000 LOW/LOW made up"])
    out = tmp_path / "tsmask_qgis.zip"
    with pytest.raises(SystemExit, match=r"1 finding\(s\)[^\n]*\n  bandit x.py:1: B000"):
        package.build(out, check=True)
    assert not out.exists() and not out.with_suffix(".zip.part").exists()
