"""The QGIS process imports no binary data library: all data work runs in a child process.

The QGIS desktop binary puts Debian's GDAL/netCDF/PROJ in the global symbol
scope, so wheels such as netCDF4 crash when imported into it. This runs, in a
fresh interpreter with a QgsApplication (this test process has imported
rasterio for its fixtures), a whole session of plugin use and checks that it
leaves none of the banned modules in ``sys.modules``. (The job protocol
itself: test_jobs.py.)
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def test_a_plugin_session_imports_no_banned_module(scene_nc, mask_stack, tmp_path):
    stack, _ = scene_nc
    mask, _ = mask_stack
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    root = str(HERE.parents[1])
    env["PYTHONPATH"] = os.pathsep.join([root, env.get("PYTHONPATH", "")])
    proc = subprocess.run(
        [sys.executable, str(HERE / "isolated_session.py"), str(stack), str(mask), str(tmp_path)],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
        cwd=tmp_path,
    )
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("REPORT ")]
    assert proc.returncode == 0 and lines, proc.stdout[-2000:] + proc.stderr[-3000:]
    report = json.loads(lines[-1][len("REPORT ") :])
    assert report["banned"] == []
    assert report["estimate"] and "12 dates of 16 x 16 pixels" in report["estimate_text"]
    assert report["run"] and report["steps"] == ["read", "detect", "spatial", "write"]
    assert len(report["layers"]) == 12 + 12 + 1  # masks, true colour, clear count
    got = report["processing"]
    assert got["summary"] == 3 and got["compare_masks"] == 1.0
    for name in ("detect_local", "seed_filter", "buffer", "majority_filter"):
        assert Path(got[name]).is_file(), name
    # one warm child served the whole session; unloading the plugin stopped it
    assert len(report["children_used"]) == 1 and report["children_after_unload"] == []
