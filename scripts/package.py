"""Build tsmask_qgis.zip for QGIS "Install from ZIP" (run with `make package`).

The zip holds one folder, ``tsmask_qgis/``, with the package, ``metadata.txt``,
``resources/`` (icon), ``LICENSE`` and the README, and no caches or tests.
"""

from __future__ import annotations

import configparser
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SKIP_DIRS = {"__pycache__", ".mypy_cache", ".pytest_cache", ".ruff_cache"}
SKIP_SUFFIXES = {".pyc", ".pyo", ".nbi", ".nbc"}


def _files(base: Path):
    for path in sorted(base.rglob("*")):
        if path.is_file() and not SKIP_DIRS & set(path.parts) and path.suffix not in SKIP_SUFFIXES:
            yield path


def build(out: Path = ROOT / "tsmask_qgis.zip") -> Path:
    """Write the plugin zip and return its path."""
    meta = configparser.ConfigParser()
    meta.read(ROOT / "metadata.txt")
    icon = meta["general"]["icon"]
    if not (ROOT / icon).is_file():
        sys.exit(f"metadata.txt names the icon {icon}, which does not exist")
    tmp = out.with_suffix(".zip.part")
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in _files(ROOT / "tsmask_qgis"):
            rel = path.relative_to(ROOT / "tsmask_qgis")
            if rel.parts[0] in ("metadata.txt", "resources"):  # links made by install_plugin
                continue
            zf.write(path, path.relative_to(ROOT))
        for path in _files(ROOT / "resources"):
            zf.write(path, Path("tsmask_qgis") / path.relative_to(ROOT))
        for name in ("metadata.txt", "LICENSE", "README.md"):
            if (ROOT / name).is_file():
                zf.write(ROOT / name, Path("tsmask_qgis") / name)
    tmp.replace(out)
    return out


if __name__ == "__main__":
    path = build()
    with zipfile.ZipFile(path) as zf:
        names = zf.namelist()
    print(f"{path} ({path.stat().st_size / 1e6:.1f} MB, {len(names)} files)")
