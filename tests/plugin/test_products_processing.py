"""The products' Processing algorithms, alone and after Detect in the shipped model."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import rasterio
import xarray as xr
from qgis.core import QgsProcessingModelAlgorithm

import tsmask_qgis.plugin

MODEL = Path(tsmask_qgis.plugin.__file__).parent / "models" / "detect_composite.model3"


def test_shipped_model_detect_then_composite_is_in_the_toolbox_and_runs(
    processing_ready, scene_nc, tmp_path
):
    import processing
    from qgis.core import QgsApplication

    path, _ = scene_nc
    provider = QgsApplication.processingRegistry().providerById("tsmask")
    assert provider.algorithm("Detect then composite") is not None
    model = QgsProcessingModelAlgorithm()
    assert model.fromFile(str(MODEL))
    assert sorted(c.algorithmId() for c in model.childAlgorithms().values()) == [
        "tsmask:composite",
        "tsmask:detect_local",
    ]
    out = tmp_path / "composites"
    result = processing.run(
        model, {"INPUT": str(path), "PERIOD": "all", "METHOD": 1, "composite:Composites": str(out)}
    )
    assert Path(result["composite:Composites"]) == out
    (cog,) = sorted((out / "composite").glob("*.tif"))
    assert cog.name == "composite_all.tif" and cog.with_suffix(".qml").exists()
    with rasterio.open(cog) as src:
        assert src.descriptions[-1] == "count all" and src.count == 7


def test_composite_and_index_series_algorithms(processing_ready, scene_nc, tmp_path):
    import processing

    path, _ = scene_nc
    mask = tmp_path / "mask.tif"
    processing.run("tsmask:detect_local", {"INPUT": str(path), "OUTPUT": str(mask)})
    from qgis.core import QgsProcessingContext, QgsProcessingFeedback, QgsProject

    context = QgsProcessingContext()
    context.setProject(QgsProject.instance())
    res = processing.run(
        "tsmask:composite",
        {
            "INPUT": str(path),
            "MASK": str(mask),
            "PERIOD": "month",
            "METHOD": 0,
            "OUTPUT": str(tmp_path / "c"),
        },
        context=context,
        feedback=QgsProcessingFeedback(),
    )
    assert Path(res["COMPOSITE"]).parent == tmp_path / "c" / "composite"
    loading = context.layersToLoadOnCompletion()
    cogs = sorted(str(p) for p in (tmp_path / "c" / "composite").glob("*.tif"))
    assert sorted(loading) == cogs and len(cogs) >= 2
    assert loading[cogs[0]].name.startswith("composite 20")
    ds = xr.open_dataset(path)
    x, y = float(ds["x"].values[3]), float(ds["y"].values[4])
    zones = tmp_path / "z.geojson"
    crs = ds["spatial_ref"].attrs.get("crs_wkt")
    from pyproj import CRS, Transformer

    lon, lat = Transformer.from_crs(CRS.from_wkt(crs), 4326, always_xy=True).transform(x, y)
    zones.write_text(
        json.dumps(
            {
                "type": "FeatureCollection",
                "features": [
                    {
                        "type": "Feature",
                        "properties": {"name": "p"},
                        "geometry": {"type": "Point", "coordinates": [lon, lat]},
                    }
                ],
            }
        )
    )
    res = processing.run(
        "tsmask:index_series",
        {
            "INPUT": str(path),
            "MASK": str(mask),
            "INDEX": 0,
            "ZONES": str(zones),
            "OUTPUT": str(tmp_path / "s"),
        },
    )
    series = xr.open_dataset(res["SERIES"])["ndvi"]
    lines = Path(res["ZONAL"]).read_text().splitlines()
    assert lines[0].startswith("zone,date,ndvi_mean,clear_share")
    assert len(lines) == 1 + series.sizes["time"]
    first = next(ln.split(",") for ln in lines[1:] if ln.split(",")[2])
    t = [str(d)[:10] for d in series["time"].values].index(first[1])
    assert float(first[2]) == pytest.approx(float(series.values[t, 4, 3]), abs=1e-5)
    assert np.isfinite(series.values).any()
