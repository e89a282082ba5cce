"""Link this checkout into the default QGIS profile's plugins (run with `make install-plugin`).

Creates ``<profile>/python/plugins/tsmask_qgis`` -> ``<checkout>/tsmask_qgis`` and
links ``metadata.txt`` and ``resources/`` inside the package folder, where QGIS
looks for them. Set ``QGIS_PROFILE_DIR`` to use another profile folder.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def profile_dir() -> Path:
    """The default profile folder of QGIS 3 on this system."""
    if os.environ.get("QGIS_PROFILE_DIR"):
        return Path(os.environ["QGIS_PROFILE_DIR"])
    if sys.platform == "win32":
        return Path(os.environ["APPDATA"]) / "QGIS" / "QGIS3" / "profiles" / "default"
    if sys.platform == "darwin":
        base = Path.home() / "Library" / "Application Support"
        return base / "QGIS" / "QGIS3" / "profiles" / "default"
    return Path.home() / ".local" / "share" / "QGIS" / "QGIS3" / "profiles" / "default"


def _link(target: Path, link: Path) -> None:
    if link.is_symlink() and link.resolve() == target.resolve():
        return
    if link.exists() or link.is_symlink():
        sys.exit(f"{link} exists and is not a link to {target}: remove it first")
    link.symlink_to(target, target_is_directory=target.is_dir())


def main() -> None:
    plugins = profile_dir() / "python" / "plugins"
    plugins.mkdir(parents=True, exist_ok=True)
    package = ROOT / "tsmask_qgis"
    _link(package, plugins / "tsmask_qgis")
    _link(ROOT / "metadata.txt", package / "metadata.txt")
    _link(ROOT / "resources", package / "resources")
    print(f"linked {package} into {plugins}; enable 'tsmask' in Plugins > Manage and Install")


if __name__ == "__main__":
    main()
