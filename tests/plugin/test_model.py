"""The shipped Graphical Modeler model runs and equals detection with spatial steps."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import rasterio
from qgis.core import QgsProcessingModelAlgorithm

import tsmask_qgis.plugin

MODEL = Path(tsmask_qgis.plugin.__file__).parent / "models" / "detect_filter_buffer.model3"


def test_model_detect_filter_buffer(processing_ready, scene_nc, tmp_path):
    import processing

    path, _ = scene_nc
    model = QgsProcessingModelAlgorithm()
    assert model.fromFile(str(MODEL))
    assert sorted(c.algorithmId() for c in model.childAlgorithms().values()) == [
        "tsmask:buffer",
        "tsmask:detect_local",
        "tsmask:seed_filter",
    ]
    outputs = [p.name() for p in model.destinationParameterDefinitions()]
    assert outputs == ["buffer:Mask"]
    out = tmp_path / "model.tif"
    result = processing.run(model, {"INPUT": str(path), "buffer:Mask": str(out)})
    assert Path(result["buffer:Mask"]) == out
    direct = tmp_path / "direct.tif"
    processing.run(
        "tsmask:detect_local",
        {"INPUT": str(path), "PRESET": 0, "SPATIAL": True, "OUTPUT": str(direct)},
    )
    with rasterio.open(out) as a, rasterio.open(direct) as b:
        np.testing.assert_array_equal(a.read(), b.read())
        assert a.descriptions == b.descriptions
